package ssl

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenssl/tokenssl/internal/recordproxy"
)

// A man in the middle between our client and our server rewrites one
// handshake message (or record) per test row and reads from the wire the
// alert the receiving side sends back. Rows use SSL_RSA_WITH_NULL_SHA so
// that records after ChangeCipherSpec stay readable to the proxy (alert
// bytes in the clear, followed by the MAC).

const (
	toServer = 0
	toClient = 1
)

// Targets that are not handshake message types.
const (
	targetCCS     = 0x100 + iota // the ChangeCipherSpec record
	targetAppData                // inject before the first handshake message
)

// closeChunk, as a chunk's type, makes the proxy close the connection.
const closeChunk recordType = 0

type chunk struct {
	typ  recordType
	data []byte
}

type hostileRow struct {
	name   string
	dir    int
	target int // handshake type, or targetCCS
	act    func(msg []byte) []chunk
	config func(cc, sc *Config)
	// Exactly one expectation: the fatal alert the receiving side sends on
	// the wire, the alert the receiving side reports as received, or success.
	wantWire     alert
	wantReceived alert
	wantEOF      bool
	wantOK       bool
}

type seenAlert struct {
	dir         int
	level, desc byte
}

// mitm is what runHostile saw: the proxy's transcript.
type mitm struct{ p *recordproxy.Proxy }

// alerts returns the alerts either side sent, in order per direction.
func (m *mitm) alerts() []seenAlert {
	var out []seenAlert
	for _, dir := range []int{toServer, toClient} {
		for _, r := range m.p.Records(recordproxy.Direction(dir)) {
			if recordType(r.Type) == recordTypeAlert && len(r.Payload) >= 2 {
				out = append(out, seenAlert{dir, r.Payload[0], r.Payload[1]})
			}
		}
	}
	return out
}

// hostileHandler applies row to the first record or handshake message it
// targets, in the row's direction; handshake messages are reassembled and
// sent one per record.
func hostileHandler(row *hostileRow) recordproxy.Handler {
	var (
		hs      [2]recordproxy.Messages
		ccsSeen [2]bool
		done    [2]bool
	)
	return func(d recordproxy.Direction, r recordproxy.Record, w *recordproxy.Writer) {
		dir := int(d)
		send := func(ch chunk) {
			if ch.typ == closeChunk {
				w.Close()
				return
			}
			w.Send(recordproxy.Record{Type: uint8(ch.typ), Version: VersionSSL30, Payload: ch.data})
		}
		apply := func(target int, data []byte, typ recordType) {
			if !done[dir] && row.dir == dir && row.target == target {
				done[dir] = true
				for _, ch := range row.act(data) {
					send(ch)
				}
				return
			}
			send(chunk{typ, data})
		}
		typ, body := recordType(r.Type), r.Payload
		switch {
		case typ == recordTypeChangeCipherSpec:
			ccsSeen[dir] = true
			apply(targetCCS, body, typ)
		case typ == recordTypeHandshake && ccsSeen[dir]:
			// Finished, MAC'd: the row may tamper with the whole record.
			apply(int(typeFinished), body, typ)
		case typ == recordTypeHandshake:
			for _, msg := range hs[dir].Add(body) {
				if !done[dir] && row.dir == dir && row.target == targetAppData {
					done[dir] = true
					send(chunk{recordTypeApplicationData, []byte("early data")})
				}
				apply(int(msg[0]), msg, typ)
			}
		default:
			send(chunk{typ, body})
		}
	}
}

// nopTB lets the row table build its configs outside a test.
type nopTB struct{ testing.TB }

func (nopTB) Helper() {}

func runHostile(t *testing.T, row *hostileRow) (m *mitm, cerr, serr error) {
	cc, sc := clientConfig(t), serverConfig(t)
	cc.CipherSuites = []uint16{SSL_RSA_WITH_NULL_SHA}
	sc.CipherSuites = cc.CipherSuites
	if row.config != nil {
		row.config(cc, sc)
	}
	// A server that refuses a handshake must not have made its session
	// resumable: it caches only once the client's Finished verifies.
	puts := &countingSessionCache{SessionCache: NewLRUSessionCache(8, time.Hour)}
	if sc.SessionCache == nil {
		sc.SessionCache = puts
		defer func() {
			var ae *AlertError
			if errors.As(serr, &ae) && ae.Sent && puts.puts.Load() != 0 {
				t.Errorf("server refused the handshake (%v) but cached its session", serr)
			}
		}()
	}
	c1, s2, p := recordproxy.Pipe(t, hostileHandler(row))
	m = &mitm{p}
	// Return only once the proxy has seen everything either side sent.
	defer p.Wait()
	client, server := Client(c1, cc), Server(s2, sc)
	deadline := time.Now().Add(10 * time.Second)
	c1.SetDeadline(deadline)
	s2.SetDeadline(deadline)
	errc := make(chan error, 1)
	go func() {
		err := server.Handshake()
		if err == nil {
			// Finish the exchange so a late failure surfaces.
			_, err = server.Read(make([]byte, 1))
			if err == io.EOF {
				err = nil
			}
		}
		gracefulClose(s2)
		errc <- err
	}()
	cerr = client.Handshake()
	if cerr == nil {
		cerr = client.Close()
	} else {
		gracefulClose(c1)
	}
	serr = <-errc
	return m, cerr, serr
}

// countingSessionCache counts the sessions a server offers its cache.
type countingSessionCache struct {
	SessionCache
	puts atomic.Int32
}

func (c *countingSessionCache) Put(id string, s *SessionState) {
	c.puts.Add(1)
	c.SessionCache.Put(id, s)
}

// gracefulClose half-closes and drains before closing, so that unread
// input (an oversized record we refused to read) does not turn the close
// into a TCP reset that would destroy our alert before the proxy reads it.
func gracefulClose(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.CloseWrite()
		tc.SetReadDeadline(time.Now().Add(2 * time.Second))
		io.Copy(io.Discard, tc)
	}
	c.Close()
}

func truncateMsg(msg []byte) []chunk {
	n := len(msg) - 4 - 1
	out := append([]byte{msg[0], byte(n >> 16), byte(n >> 8), byte(n)}, msg[4:len(msg)-1]...)
	return []chunk{{recordTypeHandshake, out}}
}

func extendMsg(msg []byte) []chunk {
	n := len(msg) - 4 + 1
	out := append([]byte{msg[0], byte(n >> 16), byte(n >> 8), byte(n)}, msg[4:]...)
	return []chunk{{recordTypeHandshake, append(out, 0)}}
}

func duplicateMsg(msg []byte) []chunk {
	return []chunk{{recordTypeHandshake, msg}, {recordTypeHandshake, msg}}
}

func dropMsg([]byte) []chunk { return nil }

// shortLength keeps the body but claims one byte less: the stray byte
// starts a bogus next message.
func shortLength(msg []byte) []chunk {
	n := len(msg) - 4 - 1
	out := append([]byte{msg[0], byte(n >> 16), byte(n >> 8), byte(n)}, msg[4:]...)
	return []chunk{{recordTypeHandshake, out}}
}

func flipLastByte(rec []byte) []chunk {
	out := append([]byte(nil), rec...)
	out[len(out)-1] ^= 0x80
	return []chunk{{recordTypeHandshake, out}}
}

func replaceWith(typ recordType, data []byte) func([]byte) []chunk {
	return func(msg []byte) []chunk { return []chunk{{typ, data}, {recordTypeHandshake, msg}} }
}

// setField rewrites a ClientHello with f applied.
func rewriteClientHello(f func(*clientHelloMsg)) func([]byte) []chunk {
	return func(msg []byte) []chunk {
		var ch clientHelloMsg
		if !ch.unmarshal(msg) {
			panic("test: bad ClientHello")
		}
		f(&ch)
		// Encode by hand so out-of-bounds vectors reach the wire.
		body := []byte{byte(ch.vers >> 8), byte(ch.vers)}
		body = append(body, ch.random...)
		body = append(body, byte(len(ch.sessionID)))
		body = append(body, ch.sessionID...)
		body = append(body, byte(len(ch.cipherSuites)*2>>8), byte(len(ch.cipherSuites)*2))
		for _, s := range ch.cipherSuites {
			body = append(body, byte(s>>8), byte(s))
		}
		body = append(body, byte(len(ch.compressionMethods)))
		body = append(body, ch.compressionMethods...)
		n := len(body)
		return []chunk{{recordTypeHandshake, append([]byte{typeClientHello, byte(n >> 16), byte(n >> 8), byte(n)}, body...)}}
	}
}

func hostileRows() []hostileRow {
	rows := []hostileRow{
		// ClientHello.
		{name: "ClientHello truncated", dir: toServer, target: int(typeClientHello), act: truncateMsg, wantWire: alertIllegalParameter},
		// A trailing byte is legal (forward compatibility), but the proxy
		// changed a hashed message: Finished catches it.
		{name: "ClientHello extended: accepted, tampering caught at Finished", dir: toServer, target: int(typeClientHello), act: extendMsg, wantWire: alertHandshakeFailure},
		{name: "ClientHello duplicated", dir: toServer, target: int(typeClientHello), act: duplicateMsg, wantWire: alertUnexpectedMessage},
		{name: "ClientHello length one short", dir: toServer, target: int(typeClientHello), act: shortLength, wantWire: alertIllegalParameter},
		{name: "ClientHello session_id of 33 bytes", dir: toServer, target: int(typeClientHello), act: rewriteClientHello(func(ch *clientHelloMsg) { ch.sessionID = make([]byte, 33) }), wantWire: alertIllegalParameter},
		{name: "ClientHello with no cipher suites", dir: toServer, target: int(typeClientHello), act: rewriteClientHello(func(ch *clientHelloMsg) { ch.cipherSuites = nil }), wantWire: alertIllegalParameter},
		{name: "ClientHello with no compression methods", dir: toServer, target: int(typeClientHello), act: rewriteClientHello(func(ch *clientHelloMsg) { ch.compressionMethods = nil }), wantWire: alertIllegalParameter},
		{name: "ClientHello version 2.0", dir: toServer, target: int(typeClientHello), act: rewriteClientHello(func(ch *clientHelloMsg) { ch.vers = 0x0200 }), wantWire: alertHandshakeFailure},
		// Roll-back detection: the pre-master secret carries the version the
		// client really offered (3.0), the server compares it with the one
		// it saw (3.1) and continues with a random secret; Finished fails.
		{name: "ClientHello version rewritten to 3.1: roll-back detected", dir: toServer, target: int(typeClientHello), act: rewriteClientHello(func(ch *clientHelloMsg) { ch.vers = 0x0301 }), wantWire: alertBadRecordMAC},
		{name: "application data before the handshake", dir: toServer, target: targetAppData, wantWire: alertUnexpectedMessage},
		// ServerHello.
		{name: "ServerHello truncated", dir: toClient, target: int(typeServerHello), act: truncateMsg, wantWire: alertIllegalParameter},
		{name: "ServerHello extended by a stray byte", dir: toClient, target: int(typeServerHello), act: extendMsg, wantWire: alertIllegalParameter},
		{name: "ServerHello duplicated", dir: toClient, target: int(typeServerHello), act: duplicateMsg, wantWire: alertUnexpectedMessage},
		{name: "ServerHello dropped", dir: toClient, target: int(typeServerHello), act: dropMsg, wantWire: alertUnexpectedMessage},
		{name: "ServerHello length one short", dir: toClient, target: int(typeServerHello), act: shortLength, wantWire: alertIllegalParameter},
		// Certificate.
		{name: "server Certificate truncated", dir: toClient, target: int(typeCertificate), act: truncateMsg, wantWire: alertIllegalParameter},
		{name: "server Certificate extended", dir: toClient, target: int(typeCertificate), act: extendMsg, wantWire: alertIllegalParameter},
		{name: "server Certificate empty", dir: toClient, target: int(typeCertificate), act: func([]byte) []chunk {
			return []chunk{{recordTypeHandshake, []byte{typeCertificate, 0, 0, 3, 0, 0, 0}}}
		}, wantWire: alertHandshakeFailure},
		{name: "server Certificate garbage DER", dir: toClient, target: int(typeCertificate), act: func([]byte) []chunk {
			return []chunk{{recordTypeHandshake, []byte{typeCertificate, 0, 0, 7, 0, 0, 4, 0, 0, 1, 0x30}}}
		}, wantWire: alertBadCertificate},
		{name: "server Certificate dropped", dir: toClient, target: int(typeCertificate), act: dropMsg, wantWire: alertUnexpectedMessage},
		{name: "server Certificate duplicated", dir: toClient, target: int(typeCertificate), act: duplicateMsg, wantWire: alertUnexpectedMessage},
		{name: "ServerKeyExchange injected on an RSA suite", dir: toClient, target: int(typeServerHelloDone), act: replaceWith(recordTypeHandshake, []byte{typeServerKeyExchange, 0, 0, 1, 0}), wantWire: alertUnexpectedMessage},
		// ServerHelloDone.
		{name: "ServerHelloDone extended", dir: toClient, target: int(typeServerHelloDone), act: extendMsg, wantWire: alertIllegalParameter},
		{name: "ServerHelloDone duplicated", dir: toClient, target: int(typeServerHelloDone), act: duplicateMsg, wantWire: alertUnexpectedMessage},
		{name: "unknown handshake type", dir: toClient, target: int(typeServerHelloDone), act: replaceWith(recordTypeHandshake, []byte{99, 0, 0, 0}), wantWire: alertUnexpectedMessage},
		// ClientKeyExchange: a damaged pre-master secret is not detectable
		// until Finished (Bleichenbacher countermeasure), where the keys
		// differ and the record MAC fails.
		{name: "ClientKeyExchange truncated", dir: toServer, target: int(typeClientKeyExchange), act: truncateMsg, wantWire: alertBadRecordMAC},
		{name: "ClientKeyExchange bit flipped", dir: toServer, target: int(typeClientKeyExchange), act: flipLastByte, wantWire: alertBadRecordMAC},
		{name: "ClientKeyExchange duplicated", dir: toServer, target: int(typeClientKeyExchange), act: duplicateMsg, wantWire: alertUnexpectedMessage},
		{name: "ClientKeyExchange dropped", dir: toServer, target: int(typeClientKeyExchange), act: dropMsg, wantWire: alertUnexpectedMessage},
		{name: "ClientKeyExchange empty", dir: toServer, target: int(typeClientKeyExchange), act: func([]byte) []chunk {
			return []chunk{{recordTypeHandshake, []byte{typeClientKeyExchange, 0, 0, 0}}}
		}, wantWire: alertBadRecordMAC},
		// ChangeCipherSpec.
		// A second, unprotected CCS arrives after the keys changed: it fails
		// authentication. (An authenticated second CCS gets
		// unexpected_message: TestAuthenticatedChangeCipherSpecAfterHandshake.)
		{name: "client ChangeCipherSpec twice", dir: toServer, target: targetCCS, act: func(b []byte) []chunk {
			return []chunk{{recordTypeChangeCipherSpec, b}, {recordTypeChangeCipherSpec, b}}
		}, wantWire: alertBadRecordMAC},
		{name: "client ChangeCipherSpec dropped", dir: toServer, target: targetCCS, act: dropMsg, wantWire: alertUnexpectedMessage},
		{name: "client ChangeCipherSpec value 2", dir: toServer, target: targetCCS, act: func([]byte) []chunk {
			return []chunk{{recordTypeChangeCipherSpec, []byte{2}}}
		}, wantWire: alertIllegalParameter},
		{name: "client ChangeCipherSpec early (before ClientKeyExchange)", dir: toServer, target: int(typeClientKeyExchange), act: func(msg []byte) []chunk {
			return []chunk{{recordTypeChangeCipherSpec, []byte{1}}, {recordTypeHandshake, msg}}
		}, wantWire: alertUnexpectedMessage},
		{name: "server ChangeCipherSpec twice", dir: toClient, target: targetCCS, act: func(b []byte) []chunk {
			return []chunk{{recordTypeChangeCipherSpec, b}, {recordTypeChangeCipherSpec, b}}
		}, wantWire: alertBadRecordMAC},
		{name: "server ChangeCipherSpec early (in the first flight)", dir: toClient, target: int(typeCertificate), act: func(msg []byte) []chunk {
			return []chunk{{recordTypeChangeCipherSpec, []byte{1}}, {recordTypeHandshake, msg}}
		}, wantWire: alertUnexpectedMessage},
		{name: "application data between ClientKeyExchange and ChangeCipherSpec", dir: toServer, target: targetCCS, act: func(b []byte) []chunk {
			return []chunk{{recordTypeApplicationData, []byte("too early")}, {recordTypeChangeCipherSpec, b}}
		}, wantWire: alertUnexpectedMessage},
		// Finished (protected: any change breaks the MAC).
		{name: "client Finished tampered", dir: toServer, target: int(typeFinished), act: flipLastByte, wantWire: alertBadRecordMAC},
		{name: "server Finished tampered", dir: toClient, target: int(typeFinished), act: flipLastByte, wantWire: alertBadRecordMAC},
		{name: "server Finished dropped, then close", dir: toClient, target: int(typeFinished), act: func([]byte) []chunk { return []chunk{{typ: closeChunk}} }, wantEOF: true},
		// Records.
		{name: "unknown content type", dir: toServer, target: int(typeClientKeyExchange), act: replaceWith(99, []byte{1}), wantWire: alertUnexpectedMessage},
		{name: "empty handshake record", dir: toServer, target: int(typeClientKeyExchange), act: replaceWith(recordTypeHandshake, nil), wantWire: alertUnexpectedMessage},
		{name: "record over 2^14", dir: toClient, target: int(typeCertificate), act: func([]byte) []chunk {
			return []chunk{{recordTypeHandshake, make([]byte, maxPlaintext+1)}}
		}, wantWire: alertUnexpectedMessage},
		// Client authentication.
		{name: "client certificate required, none sent", dir: toServer, target: int(typeClientKeyExchange), act: func(msg []byte) []chunk {
			return []chunk{{recordTypeHandshake, msg}}
		}, config: func(cc, sc *Config) {
			sc.ClientAuth, sc.ClientCAs = RequireAndVerifyClientCert, testCerts(nopTB{}).roots
		}, wantWire: alertHandshakeFailure},
	}
	// The messages of the other key exchanges and of client authentication.
	onlySuite := func(id uint16) func(cc, sc *Config) {
		return func(cc, sc *Config) {
			cc.CipherSuites = []uint16{id}
			sc.CipherSuites = cc.CipherSuites
		}
	}
	dhe, anon := onlySuite(SSL_DHE_RSA_WITH_3DES_EDE_CBC_SHA), onlySuite(SSL_DH_anon_WITH_3DES_EDE_CBC_SHA)
	withClientCert := func(policy ClientAuthType) func(cc, sc *Config) {
		return func(cc, sc *Config) {
			sc.ClientAuth, sc.ClientCAs = policy, testCerts(nopTB{}).roots
			cc.Certificates = []Certificate{testCerts(nopTB{}).client}
		}
	}
	clientAuth, requestAuth := withClientCert(RequireAndVerifyClientCert), withClientCert(RequestClientCert)
	rows = append(rows, []hostileRow{
		{name: "ServerKeyExchange truncated", dir: toClient, target: int(typeServerKeyExchange), act: truncateMsg, config: dhe, wantWire: alertIllegalParameter},
		{name: "ServerKeyExchange extended", dir: toClient, target: int(typeServerKeyExchange), act: extendMsg, config: dhe, wantWire: alertIllegalParameter},
		{name: "ServerKeyExchange duplicated", dir: toClient, target: int(typeServerKeyExchange), act: duplicateMsg, config: dhe, wantWire: alertUnexpectedMessage},
		{name: "ServerKeyExchange dropped (DHE)", dir: toClient, target: int(typeServerKeyExchange), act: dropMsg, config: dhe, wantWire: alertUnexpectedMessage},
		{name: "ServerKeyExchange signature flipped", dir: toClient, target: int(typeServerKeyExchange), act: flipLastByte, config: dhe, wantWire: alertHandshakeFailure},
		{name: "anonymous ServerKeyExchange truncated", dir: toClient, target: int(typeServerKeyExchange), act: truncateMsg, config: anon, wantWire: alertIllegalParameter},
		{name: "CertificateRequest on an anonymous suite", dir: toClient, target: int(typeServerHelloDone), act: replaceWith(recordTypeHandshake, []byte{typeCertificateRequest, 0, 0, 4, 1, 1, 0, 0}), config: anon, wantWire: alertHandshakeFailure},
		{name: "CertificateRequest truncated", dir: toClient, target: int(typeCertificateRequest), act: truncateMsg, config: requestAuth, wantWire: alertIllegalParameter},
		{name: "CertificateRequest extended", dir: toClient, target: int(typeCertificateRequest), act: extendMsg, config: requestAuth, wantWire: alertIllegalParameter},
		{name: "CertificateRequest duplicated", dir: toClient, target: int(typeCertificateRequest), act: duplicateMsg, config: requestAuth, wantWire: alertUnexpectedMessage},
		{name: "client Certificate truncated", dir: toServer, target: int(typeCertificate), act: truncateMsg, config: clientAuth, wantWire: alertIllegalParameter},
		{name: "CertificateVerify truncated", dir: toServer, target: int(typeCertificateVerify), act: truncateMsg, config: clientAuth, wantWire: alertIllegalParameter},
		{name: "CertificateVerify extended", dir: toServer, target: int(typeCertificateVerify), act: extendMsg, config: clientAuth, wantWire: alertIllegalParameter},
		{name: "CertificateVerify signature flipped", dir: toServer, target: int(typeCertificateVerify), act: flipLastByte, config: clientAuth, wantWire: alertHandshakeFailure},
		{name: "CertificateVerify duplicated", dir: toServer, target: int(typeCertificateVerify), act: duplicateMsg, config: clientAuth, wantWire: alertUnexpectedMessage},
		{name: "CertificateVerify dropped", dir: toServer, target: int(typeCertificateVerify), act: dropMsg, config: clientAuth, wantWire: alertUnexpectedMessage},
	}...)
	// Every alert the spec defines, received at three states: instead of
	// the ClientHello, instead of the server's Certificate, and instead of
	// the ClientKeyExchange. A fatal alert ends the handshake and is
	// reported as received; close_notify ends it as EOF.
	states := []struct {
		name   string
		dir    int
		target int
	}{{"before ClientHello", toServer, int(typeClientHello)}, {"before server Certificate", toClient, int(typeCertificate)}, {"before ClientKeyExchange", toServer, int(typeClientKeyExchange)}}
	for _, st := range states {
		for a := range alertNames {
			a := a
			row := hostileRow{name: fmt.Sprintf("fatal %v %s", a, st.name), dir: st.dir, target: st.target,
				act: func([]byte) []chunk { return []chunk{{recordTypeAlert, []byte{alertLevelFatal, byte(a)}}} }}
			if a == alertCloseNotify {
				row.act = func([]byte) []chunk { return []chunk{{recordTypeAlert, []byte{alertLevelWarning, 0}}} }
				row.wantEOF = true
			} else {
				row.wantReceived = a
			}
			rows = append(rows, row)
		}
	}
	return rows
}

func TestHostileInput(t *testing.T) {
	for _, row := range hostileRows() {
		row := row
		t.Run(row.name, func(t *testing.T) {
			m, cerr, serr := runHostile(t, &row)
			// The receiving side of the mutated message.
			recvErr, recvDir := serr, toClient
			if row.dir == toClient {
				recvErr, recvDir = cerr, toServer
			}
			switch {
			case row.wantOK:
				if cerr != nil || serr != nil {
					t.Fatalf("want success: client %v; server %v", cerr, serr)
				}
			case row.wantEOF:
				if recvErr == nil || !(errors.Is(recvErr, io.EOF) || errors.Is(recvErr, ErrTruncated)) {
					t.Fatalf("want EOF, got %v", recvErr)
				}
			case row.wantReceived != 0:
				assertAlert(t, recvErr, row.wantReceived, false)
				// A fatal alert is not answered with another.
				for _, a := range m.alerts() {
					if a.dir == recvDir {
						t.Fatalf("receiver answered a fatal alert with %v", alert(a.desc))
					}
				}
			default:
				assertAlert(t, recvErr, row.wantWire, true)
				found := false
				for _, a := range m.alerts() {
					if a.dir == recvDir && a.level == alertLevelFatal && alert(a.desc) == row.wantWire {
						found = true
					}
				}
				if !found {
					t.Fatalf("alert %v not seen on the wire; saw %+v", row.wantWire, m.alerts())
				}
			}
		})
	}
}

// TestUnexpectedHandshakeType injects, in each state of either side that
// waits for a handshake message, a message of every type that state does
// not expect, with a one-byte body malformed for every type: the receiver
// must answer unexpected_message, decided from the type before any
// parsing (a parsed body would get illegal_parameter). The states after
// ChangeCipherSpec (Finished) cannot be reached by a proxy without the
// keys; TestHostileInput covers them.
func TestUnexpectedHandshakeType(t *testing.T) {
	allTypes := []uint8{typeHelloRequest, typeClientHello, typeServerHello, typeCertificate, typeServerKeyExchange,
		typeCertificateRequest, typeServerHelloDone, typeCertificateVerify, typeClientKeyExchange, typeFinished}
	clientAuth := func(cc, sc *Config) {
		sc.ClientAuth, sc.ClientCAs = RequireAnyClientCert, testCerts(nopTB{}).roots
		cc.Certificates = []Certificate{testCerts(nopTB{}).client}
	}
	states := []struct {
		name   string
		dir    int
		before uint8 // the injected message precedes this one
		config func(cc, sc *Config)
		// expected are the types the state accepts (HelloRequest, which a
		// client drops, included).
		expected []uint8
	}{
		{"server awaiting ClientHello", toServer, typeClientHello, nil, []uint8{typeClientHello}},
		{"server awaiting ClientKeyExchange", toServer, typeClientKeyExchange, nil, []uint8{typeClientKeyExchange}},
		{"server awaiting Certificate or ClientKeyExchange", toServer, typeCertificate, clientAuth, []uint8{typeCertificate, typeClientKeyExchange}},
		{"server awaiting CertificateVerify", toServer, typeCertificateVerify, clientAuth, []uint8{typeCertificateVerify}},
		{"client awaiting ServerHello", toClient, typeServerHello, nil, []uint8{typeHelloRequest, typeServerHello}},
		{"client awaiting Certificate", toClient, typeCertificate, nil, []uint8{typeHelloRequest, typeCertificate}},
		{"client awaiting ServerKeyExchange, CertificateRequest or ServerHelloDone", toClient, typeServerHelloDone, nil,
			[]uint8{typeHelloRequest, typeServerKeyExchange, typeCertificateRequest, typeServerHelloDone}},
		{"client awaiting ServerHelloDone", toClient, typeServerHelloDone, clientAuth, []uint8{typeHelloRequest, typeServerHelloDone}},
	}
	for _, st := range states {
		for _, typ := range allTypes {
			if bytes.IndexByte(st.expected, typ) >= 0 {
				continue
			}
			row := hostileRow{
				dir: st.dir, target: int(st.before), config: st.config,
				act:      replaceWith(recordTypeHandshake, []byte{typ, 0, 0, 1, 0xff}),
				wantWire: alertUnexpectedMessage,
			}
			t.Run(st.name+"/"+handshakeTypeName(typ), func(t *testing.T) {
				m, cerr, serr := runHostile(t, &row)
				recvErr, recvDir := serr, toClient
				if row.dir == toClient {
					recvErr, recvDir = cerr, toServer
				}
				assertAlert(t, recvErr, alertUnexpectedMessage, true)
				if !strings.Contains(recvErr.Error(), "received "+handshakeTypeName(typ)+" where") {
					t.Errorf("error %q does not name the unexpected type", recvErr)
				}
				for _, a := range m.alerts() {
					if a.dir == recvDir && a.level == alertLevelFatal && alert(a.desc) == alertUnexpectedMessage {
						return
					}
				}
				t.Fatalf("unexpected_message not seen on the wire; saw %+v", m.alerts())
			})
		}
	}
}
