package ssl

import (
	"bytes"
	"crypto"
	"crypto/cipher"
	"crypto/des"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/tokenssl/tokenssl/ssl/internal/ssl3mac"
)

// rawRecord frames payload as one SSL 3.0 record.
func rawRecord(typ recordType, vers uint16, payload []byte) []byte {
	return append([]byte{byte(typ), byte(vers >> 8), byte(vers), byte(len(payload) >> 8), byte(len(payload))}, payload...)
}

// readRawRecord reads one record from a raw connection.
func readRawRecord(t testing.TB, c net.Conn) (recordType, []byte, error) {
	t.Helper()
	hdr := make([]byte, 5)
	if _, err := io.ReadFull(c, hdr); err != nil {
		return 0, nil, err
	}
	body := make([]byte, int(hdr[3])<<8|int(hdr[4]))
	if _, err := io.ReadFull(c, body); err != nil {
		return 0, nil, err
	}
	return recordType(hdr[0]), body, nil
}

// expectWireAlert reads plaintext records until an alert and checks it is
// the fatal alert want.
func expectWireAlert(t testing.TB, c net.Conn, want alert) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		typ, body, err := readRawRecord(t, c)
		if err != nil {
			t.Fatalf("reading for alert %v: %v", want, err)
		}
		if typ != recordTypeAlert {
			continue
		}
		if len(body) != 2 || body[0] != alertLevelFatal || alert(body[1]) != want {
			t.Fatalf("alert on the wire % x, want fatal %v", body, want)
		}
		return
	}
}

func testClientHello(t testing.TB) []byte {
	ch := &clientHelloMsg{
		vers: VersionSSL30, random: make([]byte, 32),
		cipherSuites:       []uint16{SSL_RSA_WITH_RC4_128_SHA},
		compressionMethods: []uint8{0},
	}
	rand.Read(ch.random)
	b, err := ch.marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// runRawServer starts a server Conn on one end and returns the raw peer and
// a channel with the server's handshake error.
func runRawServer(t testing.TB, sc *Config) (net.Conn, chan error) {
	craw, sraw := tcpPair(t)
	s := Server(sraw, sc)
	errc := make(chan error, 1)
	go func() { errc <- s.Handshake() }()
	return craw, errc
}

func TestRecordLayerRules(t *testing.T) {
	hello := testClientHello(t)
	tests := []struct {
		name string
		send func() []byte
		want alert
	}{
		{"record over 2^14", func() []byte {
			return rawRecord(recordTypeHandshake, VersionSSL30, make([]byte, maxPlaintext+1))
		}, alertUnexpectedMessage},
		{"unknown content type", func() []byte { return rawRecord(99, VersionSSL30, []byte{1}) }, alertUnexpectedMessage},
		{"application data before handshake", func() []byte {
			return rawRecord(recordTypeApplicationData, VersionSSL30, []byte("hi"))
		}, alertUnexpectedMessage},
		{"ChangeCipherSpec before keys", func() []byte {
			return append(rawRecord(recordTypeHandshake, VersionSSL30, hello), rawRecord(recordTypeChangeCipherSpec, VersionSSL30, []byte{1})...)
		}, alertUnexpectedMessage},
		{"wrong version after first record", func() []byte {
			return append(rawRecord(recordTypeHandshake, VersionSSL30, hello[:10]), rawRecord(recordTypeHandshake, 0x0301, hello[10:])...)
		}, alertIllegalParameter},
		{"ServerHello to a server", func() []byte {
			sh := &serverHelloMsg{vers: VersionSSL30, random: make([]byte, 32), cipherSuite: SSL_RSA_WITH_RC4_128_SHA}
			b, _ := sh.marshal()
			return rawRecord(recordTypeHandshake, VersionSSL30, b)
		}, alertUnexpectedMessage},
		{"unknown handshake type", func() []byte {
			return rawRecord(recordTypeHandshake, VersionSSL30, []byte{99, 0, 0, 0})
		}, alertUnexpectedMessage},
		{"malformed ClientHello", func() []byte {
			return rawRecord(recordTypeHandshake, VersionSSL30, append([]byte{1, 0, 0, 3}, 3, 0, 0))
		}, alertIllegalParameter},
		{"handshake message over the cap", func() []byte {
			return rawRecord(recordTypeHandshake, VersionSSL30, []byte{1, 0xff, 0xff, 0xff})
		}, alertIllegalParameter},
		{"empty alert record", func() []byte { return rawRecord(recordTypeAlert, VersionSSL30, nil) }, alertUnexpectedMessage},
		{"no null compression", func() []byte {
			ch := &clientHelloMsg{vers: VersionSSL30, random: make([]byte, 32), cipherSuites: []uint16{SSL_RSA_WITH_RC4_128_SHA}, compressionMethods: []uint8{1}}
			b, _ := ch.marshal()
			return rawRecord(recordTypeHandshake, VersionSSL30, b)
		}, alertHandshakeFailure},
		{"no common suite", func() []byte {
			ch := &clientHelloMsg{vers: VersionSSL30, random: make([]byte, 32), cipherSuites: []uint16{0x1234}, compressionMethods: []uint8{0}}
			b, _ := ch.marshal()
			return rawRecord(recordTypeHandshake, VersionSSL30, b)
		}, alertHandshakeFailure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			peer, errc := runRawServer(t, serverConfig(t))
			if _, err := peer.Write(tt.send()); err != nil {
				t.Fatal(err)
			}
			expectWireAlert(t, peer, tt.want)
			assertAlert(t, <-errc, tt.want, true)
		})
	}
}

// A handshake message may span records, and one record may carry several
// messages (§7.2.1): feed the ClientHello one byte per record.
func TestHandshakeMessageAcrossRecords(t *testing.T) {
	peer, errc := runRawServer(t, serverConfig(t))
	hello := testClientHello(t)
	var wire []byte
	for _, b := range hello {
		wire = append(wire, rawRecord(recordTypeHandshake, VersionSSL30, []byte{b})...)
	}
	peer.Write(wire)
	peer.SetReadDeadline(time.Now().Add(10 * time.Second))
	// The server's whole first flight arrives; parse it message by message.
	var hs []byte
	var types []uint8
	for len(types) == 0 || types[len(types)-1] != typeServerHelloDone {
		typ, body, err := readRawRecord(t, peer)
		if err != nil {
			t.Fatal(err)
		}
		if typ != recordTypeHandshake {
			t.Fatalf("got %v record", typ)
		}
		hs = append(hs, body...)
		for len(hs) >= 4 {
			n := int(hs[1])<<16 | int(hs[2])<<8 | int(hs[3])
			if len(hs) < 4+n {
				break
			}
			types = append(types, hs[0])
			hs = hs[4+n:]
		}
	}
	want := []uint8{typeServerHello, typeCertificate, typeServerHelloDone}
	if !bytes.Equal(types, want) {
		t.Fatalf("server flight %v, want %v", types, want)
	}
	peer.Close()
	<-errc
}

// sniffConn records every byte written through it.
type sniffConn struct {
	net.Conn
	written bytes.Buffer
}

func (s *sniffConn) Write(b []byte) (int, error) {
	s.written.Write(b)
	return s.Conn.Write(b)
}

func TestWriteFragmentsAt2to14(t *testing.T) {
	craw, sraw := tcpPair(t)
	sniff := &sniffConn{Conn: craw}
	cc := clientConfig(t)
	cc.CipherSuites = []uint16{SSL_RSA_WITH_NULL_SHA}
	sc := serverConfig(t)
	client, server := Client(sniff, cc), Server(sraw, sc)
	go server.Handshake()
	if err := client.Handshake(); err != nil {
		t.Fatal(err)
	}
	sniff.written.Reset()
	data := make([]byte, 3*maxPlaintext+5)
	go io.Copy(io.Discard, server)
	if _, err := client.Write(data); err != nil {
		t.Fatal(err)
	}
	wire := sniff.written.Bytes()
	var lens []int
	for len(wire) > 0 {
		n := int(wire[3])<<8 | int(wire[4])
		lens = append(lens, n-20) // minus the SHA MAC; NULL cipher
		wire = wire[5+n:]
	}
	want := []int{maxPlaintext, maxPlaintext, maxPlaintext, 5}
	if len(lens) != len(want) {
		t.Fatalf("fragments %v, want %v", lens, want)
	}
	for i := range want {
		if lens[i] != want[i] {
			t.Fatalf("fragments %v, want %v", lens, want)
		}
	}
}

func TestApplicationDataAfterHandshakeWithBadMAC(t *testing.T) {
	craw, sraw := tcpPair(t)
	cc := clientConfig(t)
	cc.CipherSuites = []uint16{SSL_RSA_WITH_3DES_EDE_CBC_SHA}
	client := Client(craw, cc)
	server := Server(sraw, serverConfig(t))
	go server.Handshake()
	if err := client.Handshake(); err != nil {
		t.Fatal(err)
	}
	// Corrupt one ciphertext byte of the next record the client sends.
	client.out.Lock()
	client.buffering = true
	client.writeRecordLocked(recordTypeApplicationData, []byte("hello, tampered world"))
	rec := client.sendBuf
	client.sendBuf, client.buffering = nil, false
	client.out.Unlock()
	rec[len(rec)-9] ^= 1
	craw.Write(rec)
	_, err := server.Read(make([]byte, 10))
	assertAlert(t, err, alertBadRecordMAC, true)
}

// fallibleDES is a FallibleBlockMode standing in for a token-held cipher.
type fallibleDES struct {
	m    cipher.BlockMode
	fail bool
}

func (f *fallibleDES) BlockSize() int { return f.m.BlockSize() }
func (f *fallibleDES) CryptBlocks(dst, src []byte) error {
	if f.fail {
		return errors.New("token gone")
	}
	f.m.CryptBlocks(dst, src)
	return nil
}

// The D.5.1 prefix: the writer's first record under a new key carries 8
// extra bytes the reader drops; later records carry none.
func TestFortezzaFirstRecordPrefix(t *testing.T) {
	key, iv := make([]byte, 8), make([]byte, 8)
	rand.Read(key)
	rand.Read(iv)
	blk, _ := des.NewCipher(key)
	macKey := make([]byte, 20)
	wm, _ := ssl3mac.New(crypto.SHA1, macKey)
	rm, _ := ssl3mac.New(crypto.SHA1, macKey)
	var w, r halfConn
	w.prepareCipherSpec(&fallibleDES{m: cipher.NewCBCEncrypter(blk, iv)}, wm)
	w.prepareFortezzaPrefix(true)
	w.changeCipherSpec()
	r.prepareCipherSpec(cipher.NewCBCDecrypter(blk, iv), rm)
	r.prepareFortezzaPrefix(false)
	r.changeCipherSpec()
	msgs := []string{"first record", "second record", "third"}
	var sizes []int
	for _, m := range msgs {
		rec, err := w.encrypt([]byte{23, 3, 0, 0, 0}, recordTypeApplicationData, []byte(m), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(rec)-recordHeaderLen)
		got, err := r.decrypt(recordTypeApplicationData, rec[recordHeaderLen:])
		if err != nil || string(got) != m {
			t.Fatalf("record %q: got %q, %v", m, got, err)
		}
	}
	// "first record" and "second record" pad to the same length without the
	// prefix (12+20+1 → 40, 13+20+1 → 40); the first carries 8 more bytes.
	if sizes[0] != sizes[1]+8 {
		t.Fatalf("record sizes %v: first record should be 8 bytes longer", sizes)
	}
	// A failing token cipher is an error, not a panic.
	w.cipher.(*fallibleDES).fail = true
	if _, err := w.encrypt([]byte{23, 3, 0, 0, 0}, recordTypeApplicationData, []byte("x"), rand.Reader); !errors.Is(err, errCipherFailed) {
		t.Fatalf("token failure: %v", err)
	}
}

// A ChangeCipherSpec that is properly protected but arrives when none is
// expected (after the handshake) is unexpected_message, not a MAC failure.
func TestAuthenticatedChangeCipherSpecAfterHandshake(t *testing.T) {
	craw, sraw := tcpPair(t)
	client := Client(craw, clientConfig(t))
	server := Server(sraw, serverConfig(t))
	go server.Handshake()
	if err := client.Handshake(); err != nil {
		t.Fatal(err)
	}
	client.out.Lock()
	rec, err := client.out.encrypt([]byte{byte(recordTypeChangeCipherSpec), 3, 0, 0, 0}, recordTypeChangeCipherSpec, []byte{1}, rand.Reader)
	client.out.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	craw.Write(rec)
	_, err = server.Read(make([]byte, 1))
	assertAlert(t, err, alertUnexpectedMessage, true)
}

// Content types may interleave (§7.2.1): a warning alert between two
// fragments of one handshake message is processed and the message still
// reassembles.
func TestAlertBetweenHandshakeFragments(t *testing.T) {
	peer, errc := runRawServer(t, serverConfig(t))
	hello := testClientHello(t)
	wire := rawRecord(recordTypeHandshake, VersionSSL30, hello[:7])
	wire = append(wire, rawRecord(recordTypeAlert, VersionSSL30, []byte{alertLevelWarning, byte(alertCertificateUnknown)})...)
	wire = append(wire, rawRecord(recordTypeHandshake, VersionSSL30, hello[7:])...)
	peer.Write(wire)
	peer.SetReadDeadline(time.Now().Add(10 * time.Second))
	typ, body, err := readRawRecord(t, peer)
	if err != nil || typ != recordTypeHandshake || body[0] != typeServerHello {
		t.Fatalf("no ServerHello after an interleaved warning: %v %v", typ, err)
	}
	peer.Close()
	<-errc
}
