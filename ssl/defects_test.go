package ssl

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// Hostile peers for the defects of issue 10 that concern the record layer,
// the version check, the message caps and renegotiation (items 4, 5, 11, 12
// and 13), each over a real loopback connection.

// writeAsync writes b from a goroutine: a server that gives up early stops
// reading, and a blocked write must not hang the test.
func writeAsync(c net.Conn, b []byte) {
	go c.Write(b)
}

// firstRecord reads the server's first record.
func firstRecord(t *testing.T, peer net.Conn) (recordType, []byte) {
	t.Helper()
	peer.SetReadDeadline(time.Now().Add(10 * time.Second))
	typ, body, err := readRawRecord(t, peer)
	if err != nil {
		t.Fatalf("no record from the server: %v", err)
	}
	return typ, body
}

func expectServerHello(t *testing.T, peer net.Conn) *serverHelloMsg {
	t.Helper()
	typ, body := firstRecord(t, peer)
	if typ != recordTypeHandshake || len(body) < 4 || body[0] != typeServerHello {
		t.Fatalf("want a ServerHello, got %v record % x", typ, body[:min(len(body), 8)])
	}
	n := int(body[1])<<16 | int(body[2])<<8 | int(body[3])
	var sh serverHelloMsg
	if len(body) < 4+n || !sh.unmarshal(body[:4+n]) {
		t.Fatal("malformed ServerHello")
	}
	return &sh
}

func expectFirstAlert(t *testing.T, peer net.Conn, want alert) {
	t.Helper()
	typ, body := firstRecord(t, peer)
	if typ != recordTypeAlert || len(body) != 2 || body[0] != alertLevelFatal || alert(body[1]) != want {
		t.Fatalf("want fatal %v as the first record, got %v record % x", want, typ, body[:min(len(body), 8)])
	}
}

// expectHelloThenHangUp: the raw server (runRawServer) answers with a
// ServerHello, which it returns; the peer then hangs up and the server's
// handshake ends.
func expectHelloThenHangUp(t *testing.T, peer net.Conn, errc <-chan error) *serverHelloMsg {
	t.Helper()
	sh := expectServerHello(t, peer)
	peer.Close()
	<-errc
	return sh
}

// expectRefusal: the raw server's first record is the fatal alert want and
// its handshake fails saying it sent that alert; it returns that error.
func expectRefusal(t *testing.T, peer net.Conn, errc <-chan error, want alert) error {
	t.Helper()
	expectFirstAlert(t, peer, want)
	err := <-errc
	assertAlert(t, err, want, true)
	return err
}

// Item 5: warning alerts and empty records that do not advance the
// handshake are counted, as crypto/tls counts them.
func TestUselessRecordFlood(t *testing.T) {
	warning := func(desc byte) []byte {
		return rawRecord(recordTypeAlert, VersionSSL30, []byte{alertLevelWarning, desc})
	}
	repeat := func(n int, rec []byte) []byte { return bytes.Repeat(rec, n) }
	hello := rawRecord(recordTypeHandshake, VersionSSL30, testClientHello(t))
	tests := []struct {
		name      string
		wire      []byte
		wantHello bool
	}{
		{"20000 unknown warnings before ClientHello", append(repeat(20000, warning(200)), hello...), false},
		{"17 certificate_unknown warnings", append(repeat(17, warning(byte(alertCertificateUnknown))), hello...), false},
		{"17 no_certificate warnings", append(repeat(17, warning(byte(alertNoCertificate))), hello...), false},
		{"16 warnings are still tolerated", append(repeat(16, warning(200)), hello...), true},
		{"warnings between ClientHello fragments", func() []byte {
			h := testClientHello(t)
			var w []byte
			for i := range h {
				w = append(w, repeat(10, warning(200))...)
				w = append(w, rawRecord(recordTypeHandshake, VersionSSL30, h[i:i+1])...)
			}
			return w
		}(), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			peer, errc := runRawServer(t, serverConfig(t))
			writeAsync(peer, tt.wire)
			if tt.wantHello {
				expectHelloThenHangUp(t, peer, errc)
				return
			}
			err := expectRefusal(t, peer, errc, alertUnexpectedMessage)
			if !strings.Contains(err.Error(), "ignored records") {
				t.Fatalf("error does not say why: %v", err)
			}
		})
	}
}

// Item 5: with Config.HandshakeTimeout left at 0 a handshake still has a
// deadline.
func TestDefaultHandshakeDeadline(t *testing.T) {
	_, sraw := tcpPair(t)
	s := Server(sraw, serverConfig(t))
	var deadline time.Time
	var ok bool
	s.handshakeFn = func(ctx context.Context) error {
		deadline, ok = ctx.Deadline()
		return errors.New("stop here")
	}
	before := time.Now()
	s.Handshake()
	after := time.Now()
	if !ok {
		t.Fatal("handshake runs without a deadline when Config.HandshakeTimeout is 0")
	}
	if deadline.Before(before.Add(60*time.Second)) || deadline.After(after.Add(60*time.Second)) {
		t.Fatalf("deadline %v after the start, want 60s", deadline.Sub(before))
	}
}

// Item 11: every client_version of 3.0 or above is answered with 3.0, in
// an SSL 3.0 ClientHello and in an SSL 2.0-compatible one.
func TestClientVersionTolerance(t *testing.T) {
	for _, vers := range []uint16{0x0300, 0x0301, 0x0303, 0x03ff, 0x0401, 0x0603, 0xfefe, 0xffff} {
		for _, v2 := range []bool{false, true} {
			name := "v3 hello"
			if v2 {
				name = "v2 hello"
			}
			t.Run(name+"/"+versionName(vers), func(t *testing.T) {
				peer, errc := runRawServer(t, serverConfig(t))
				if v2 {
					peer.Write(ssl2Hello(vers, [][3]byte{{0, 0, 0x05}}, nil, bytes.Repeat([]byte{7}, 32)))
				} else {
					ch := &clientHelloMsg{vers: vers, random: make([]byte, 32), cipherSuites: []uint16{SSL_RSA_WITH_RC4_128_SHA}, compressionMethods: []uint8{0}}
					b, err := ch.marshal()
					if err != nil {
						t.Fatal(err)
					}
					peer.Write(rawRecord(recordTypeHandshake, VersionSSL30, b))
				}
				if sh := expectHelloThenHangUp(t, peer, errc); sh.vers != VersionSSL30 {
					t.Fatalf("ServerHello version %#04x", sh.vers)
				}
			})
		}
	}
}

func versionName(v uint16) string {
	const hex = "0123456789abcdef"
	return "0x" + string([]byte{hex[v>>12], hex[v>>8&15], hex[v>>4&15], hex[v&15]})
}

// bigClientHello encodes by hand (marshal enforces our cap) a ClientHello
// whose every vector is at its SSL 3.0 ceiling, followed by an extensions
// block of 2^16-1 bytes, plus extra trailing bytes.
func bigClientHello(extra int) []byte {
	suites := make([]byte, 0, 65534)
	suites = append(suites, byte(SSL_RSA_WITH_RC4_128_SHA>>8), byte(SSL_RSA_WITH_RC4_128_SHA))
	for len(suites) < 65534 {
		suites = append(suites, 0xfe, 0xfe) // unknown suites, ignored
	}
	comp := make([]byte, 255) // null compression (0) is among them
	for i := range comp {
		comp[i] = byte(i)
	}
	// One unknown extension fills the block: 4 bytes of header, 65531 of data.
	ext := append([]byte{0xff, 0xff, 0xfa, 0xfa, 0xff, 0xfb}, make([]byte, 65531)...)
	body := []byte{3, 0}
	body = append(body, bytes.Repeat([]byte{9}, 32)...)
	body = append(body, 32)
	body = append(body, make([]byte, 32)...)
	body = append(body, byte(len(suites)>>8), byte(len(suites)))
	body = append(body, suites...)
	body = append(body, byte(len(comp)))
	body = append(body, comp...)
	body = append(body, ext...)
	body = append(body, make([]byte, extra)...)
	n := len(body)
	return append([]byte{typeClientHello, byte(n >> 16), byte(n >> 8), byte(n)}, body...)
}

// Item 12: the largest legal ClientHello (131,396 bytes of body) is
// accepted; one byte more is over the cap.
func TestLargestLegalClientHello(t *testing.T) {
	for _, tt := range []struct {
		extra int
		ok    bool
	}{{0, true}, {1, false}} {
		msg := bigClientHello(tt.extra)
		if got := len(msg) - 4; got != 131396+tt.extra {
			t.Fatalf("test hello has %d bytes", got)
		}
		peer, errc := runRawServer(t, serverConfig(t))
		var wire []byte
		for rest := msg; len(rest) > 0; {
			m := min(len(rest), maxPlaintext)
			wire = append(wire, rawRecord(recordTypeHandshake, VersionSSL30, rest[:m])...)
			rest = rest[m:]
		}
		writeAsync(peer, wire)
		if tt.ok {
			expectHelloThenHangUp(t, peer, errc)
			continue
		}
		expectRefusal(t, peer, errc, alertIllegalParameter)
	}
}

// Item 13: a ChangeCipherSpec of the wrong length is unexpected_message, as
// peers answer it; a wrong value in a one-byte CCS stays illegal_parameter.
func TestChangeCipherSpecLength(t *testing.T) {
	hello := rawRecord(recordTypeHandshake, VersionSSL30, testClientHello(t))
	for _, tt := range []struct {
		name string
		ccs  []byte
		want alert
	}{
		{"two bytes", []byte{1, 1}, alertUnexpectedMessage},
		{"three bytes", []byte{1, 0, 0}, alertUnexpectedMessage},
		{"value 2", []byte{2}, alertIllegalParameter},
	} {
		t.Run(tt.name, func(t *testing.T) {
			peer, errc := runRawServer(t, serverConfig(t))
			peer.Write(append(append([]byte(nil), hello...), rawRecord(recordTypeChangeCipherSpec, VersionSSL30, tt.ccs)...))
			expectWireAlert(t, peer, tt.want)
			assertAlert(t, <-errc, tt.want, true)
		})
	}
	// The same after the keys changed, through the proxy of hostile_test.go.
	for _, tt := range []struct {
		name string
		ccs  []byte
	}{{"client CCS of two bytes", []byte{1, 1}}, {"client CCS of 100 bytes", bytes.Repeat([]byte{1}, 100)}} {
		t.Run(tt.name, func(t *testing.T) {
			ccs := tt.ccs
			row := hostileRow{dir: toServer, target: targetCCS, act: func([]byte) []chunk {
				return []chunk{{recordTypeChangeCipherSpec, ccs}}
			}}
			m, _, serr := runHostile(t, &row)
			assertAlert(t, serr, alertUnexpectedMessage, true)
			for _, a := range m.alerts() {
				if a.dir == toClient && a.level == alertLevelFatal && alert(a.desc) == alertUnexpectedMessage {
					return
				}
			}
			t.Fatalf("unexpected_message not on the wire; saw %+v", m.alerts())
		})
	}
}

// Item 13: a malformed SSL 2.0-compatible record is answered as an SSL 3.0
// server answers (an SSL 3.0 alert); SSL 2.0's ERROR is kept for a
// well-formed SSL 2.0-only hello (TestSSL2HelloVariants).
func TestMalformedSSL2Records(t *testing.T) {
	challenge := bytes.Repeat([]byte{0xaa}, 16)
	v2spec := [3]byte{0x01, 0x00, 0x80}
	tests := []struct {
		name string
		wire []byte
		want alert
	}{
		{"empty record", []byte{0x80, 0x00}, alertIllegalParameter},
		{"type 0 only", []byte{0x80, 0x01, 0x00}, alertUnexpectedMessage},
		{"type 1 only", []byte{0x80, 0x01, 0x01}, alertIllegalParameter},
		{"type and version only", []byte{0x80, 0x03, 0x01, 0x03, 0x00}, alertIllegalParameter},
		{"type 4 (SERVER-VERIFY) of full length", append([]byte{0x80, 0x0b, 0x04}, make([]byte, 10)...), alertUnexpectedMessage},
		{"record over 2^14", append([]byte{0xff, 0xff}, make([]byte, 100)...), alertUnexpectedMessage},
		{"SSL 2.0-only hello with a short challenge", ssl2Hello(0x0002, [][3]byte{v2spec}, nil, challenge[:8]), alertIllegalParameter},
		{"SSL 2.0-only hello with trailing bytes", reframeSSL2(append(ssl2Hello(0x0002, [][3]byte{v2spec}, nil, challenge)[2:], 0)), alertIllegalParameter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			peer, errc := runRawServer(t, serverConfig(t))
			writeAsync(peer, tt.wire)
			peer.SetReadDeadline(time.Now().Add(10 * time.Second))
			hdr := make([]byte, 5)
			if _, err := io.ReadFull(peer, hdr); err != nil {
				t.Fatalf("no answer: %v (% x)", err, hdr)
			}
			if bytes.HasPrefix(hdr, ssl2ErrorNoCipher) {
				t.Fatal("got SSL 2.0's ERROR message")
			}
			if hdr[0] != byte(recordTypeAlert) || hdr[1] != 3 || hdr[2] != 0 || hdr[3] != 0 || hdr[4] != 2 {
				t.Fatalf("not an SSL 3.0 alert record: % x", hdr)
			}
			body := make([]byte, 2)
			io.ReadFull(peer, body)
			if body[0] != alertLevelFatal || alert(body[1]) != tt.want {
				t.Fatalf("alert % x, want fatal %v", body, tt.want)
			}
			assertAlert(t, <-errc, tt.want, true)
		})
	}
}

// reframeSSL2 puts an SSL 2.0 two-byte record header on body.
func reframeSSL2(body []byte) []byte {
	return append([]byte{0x80 | byte(len(body)>>8), byte(len(body))}, body...)
}

// fakeClock is a Config.Time the test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

// Item 4: a hostile client cannot make the server run renegotiations
// (each a private-key operation) without bound, in number or in rate.
func TestRenegotiationFloodBounded(t *testing.T) {
	tests := []struct {
		name   string
		server func(sc *Config, clock *fakeClock)
		// between is called after each completed renegotiation.
		between  func(clock *fakeClock)
		want     int    // renegotiations that complete before the refusal
		wantWhy  string // in the server's error
		wantNone bool   // no refusal within the flood
	}{
		{name: "defaults: a burst of RenegotiationBurst", want: RenegotiationBurst, wantWhy: "too often"},
		{name: "defaults, paced: MaxRenegotiations", between: func(c *fakeClock) { c.advance(DefaultRenegotiationInterval) },
			want: DefaultMaxRenegotiations, wantWhy: "limit of 4"},
		{name: "no count bound, unpaced: the rate bound", server: func(sc *Config, _ *fakeClock) { sc.MaxRenegotiations = -1 },
			want: RenegotiationBurst, wantWhy: "too often"},
		{name: "no count bound, paced at the interval: none refused", server: func(sc *Config, _ *fakeClock) { sc.MaxRenegotiations = -1 },
			between: func(c *fakeClock) { c.advance(DefaultRenegotiationInterval) }, wantNone: true},
		{name: "no count bound, paced at half the interval", server: func(sc *Config, _ *fakeClock) { sc.MaxRenegotiations = -1 },
			between: func(c *fakeClock) { c.advance(DefaultRenegotiationInterval / 2) },
			// The burst of 3 drains by half a token per renegotiation.
			want: 2*RenegotiationBurst - 1, wantWhy: "too often"},
		{name: "MaxRenegotiations 1", server: func(sc *Config, _ *fakeClock) { sc.MaxRenegotiations = 1 }, want: 1, wantWhy: "limit of 1"},
		{name: "both bounds off: all run", server: func(sc *Config, _ *fakeClock) { sc.MaxRenegotiations, sc.RenegotiationInterval = -1, -1 }, wantNone: true},
	}
	const flood = 12
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc, sc := clientConfig(t), serverConfig(t)
			cc.Renegotiation, sc.Renegotiation = RenegotiateSecure, RenegotiateSecure
			cc.CipherSuites = []uint16{SSL_RSA_WITH_RC4_128_SHA}
			clock := &fakeClock{now: time.Now()}
			sc.Time = clock.Now
			if tt.server != nil {
				tt.server(sc, clock)
			}
			c, s := mustHandshake(t, cc, sc)
			done := echoServer(s)
			n, err := func() (int, error) {
				c.in.Lock()
				defer c.in.Unlock()
				for i := 0; i < flood; i++ {
					// Bypass the client's own policy and limits, as a
					// hostile client would.
					if err := c.renegotiateLocked(); err != nil {
						return i, err
					}
					if tt.between != nil {
						tt.between(clock)
					}
				}
				return flood, nil
			}()
			if tt.wantNone {
				if err != nil {
					t.Fatalf("renegotiation %d refused: %v", n, err)
				}
				roundTrip(t, c, []byte("still up"))
				c.Close()
				<-done
				return
			}
			if n != tt.want {
				t.Fatalf("%d renegotiations completed before the refusal, want %d (%v)", n, tt.want, err)
			}
			assertAlert(t, err, alertHandshakeFailure, false)
			serverErr := <-done
			assertAlert(t, serverErr, alertHandshakeFailure, true)
			if !strings.Contains(serverErr.Error(), tt.wantWhy) {
				t.Fatalf("server error does not say %q: %v", tt.wantWhy, serverErr)
			}
		})
	}
}

// Item 4, the other direction: a hostile server sending HelloRequest after
// HelloRequest cannot make the client renegotiate without bound; and each
// side's own Renegotiate calls stop at MaxRenegotiations without an alert.
func TestRenegotiationBoundsOtherSide(t *testing.T) {
	t.Run("HelloRequest flood to a client", func(t *testing.T) {
		cc, sc := clientConfig(t), serverConfig(t)
		cc.Renegotiation, sc.Renegotiation = RenegotiateSecure, RenegotiateSecure
		sc.MaxRenegotiations, sc.RenegotiationInterval = -1, -1 // the hostile side has no bounds
		c, s := mustHandshake(t, cc, sc)
		go io.Copy(io.Discard, s) // runs the server's side of each handshake
		readErr := make(chan error, 1)
		go func() {
			_, err := c.Read(make([]byte, 1))
			readErr <- err
		}()
		var err error
	flood:
		for i := 0; i < 20; i++ {
			before := c.ConnectionState().Renegotiations
			if s.writeHandshake(&helloRequestMsg{}, nil) != nil || s.flushLocked() != nil {
				break
			}
			// The next HelloRequest once the client has answered this one
			// (one that arrives during a handshake is ignored, §7.6.1.1).
			for c.ConnectionState().Renegotiations == before {
				select {
				case err = <-readErr:
					break flood
				case <-time.After(5 * time.Millisecond):
				}
			}
		}
		if err == nil {
			err = <-readErr
		}
		assertAlert(t, err, alertHandshakeFailure, true)
		if !strings.Contains(err.Error(), "server asked to renegotiate") {
			t.Fatalf("client error does not say why: %v", err)
		}
		if got := c.handshakes - 1; got != RenegotiationBurst {
			t.Fatalf("client ran %d renegotiations", got)
		}
	})
	t.Run("own Renegotiate calls", func(t *testing.T) {
		for _, client := range []bool{true, false} {
			cc, sc := clientConfig(t), serverConfig(t)
			cc.Renegotiation, sc.Renegotiation = RenegotiateSecure, RenegotiateSecure
			cc.MaxRenegotiations, sc.MaxRenegotiations = 2, 2
			c, s := mustHandshake(t, cc, sc)
			local, peer := c, s
			if !client {
				// The client answers HelloRequest inside Read; the server's
				// Read runs its side.
				local, peer = s, c
				go io.Copy(io.Discard, s)
			}
			done := echoServer(peer)
			for i := 0; i < 2; i++ {
				if err := local.Renegotiate(); err != nil {
					t.Fatalf("renegotiation %d: %v", i, err)
				}
				if client {
					roundTrip(t, c, []byte("x"))
				} else {
					for s.ConnectionState().Renegotiations < i+1 {
						time.Sleep(5 * time.Millisecond)
					}
				}
			}
			err := local.Renegotiate()
			if err == nil || !strings.Contains(err.Error(), "limit of 2") {
				t.Fatalf("client=%v: third Renegotiate: %v", client, err)
			}
			var ae *AlertError
			if errors.As(err, &ae) {
				t.Fatalf("a local refusal sent an alert: %v", err)
			}
			if client {
				roundTrip(t, c, []byte("still usable"))
			}
			c.Close()
			s.Close()
			<-done
		}
	})
}
