package ssl

import (
	"bytes"
	"net"
	"testing"
	"time"
)

// fuzzConn is a net.Conn whose inbound stream is fixed bytes; what we write
// is discarded. The record reader and handshake parsers run on whatever the
// fuzzer supplies and must end in an error, never a panic or a hang.
type fuzzConn struct{ r *bytes.Reader }

func (f *fuzzConn) Read(b []byte) (int, error)       { return f.r.Read(b) }
func (f *fuzzConn) Write(b []byte) (int, error)      { return len(b), nil }
func (f *fuzzConn) Close() error                     { return nil }
func (f *fuzzConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (f *fuzzConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (f *fuzzConn) SetDeadline(time.Time) error      { return nil }
func (f *fuzzConn) SetReadDeadline(time.Time) error  { return nil }
func (f *fuzzConn) SetWriteDeadline(time.Time) error { return nil }

// capturedFlights records a real handshake and returns what the client sent
// and what the server sent, as seeds that reach deep into the state machine.
func capturedFlights(t testing.TB, suite uint16) (fromClient, fromServer []byte) {
	craw, sraw := tcpPair(t)
	cs, ss := &sniffConn{Conn: craw}, &sniffConn{Conn: sraw}
	cc, sc := clientConfig(t), serverConfig(t)
	cc.CipherSuites = []uint16{suite}
	go Server(ss, sc).Handshake()
	if err := Client(cs, cc).Handshake(); err != nil {
		t.Fatal(err)
	}
	return cs.written.Bytes(), ss.written.Bytes()
}

func fuzzSeeds(f *testing.F, fromServer bool) {
	for _, s := range []uint16{SSL_RSA_WITH_RC4_128_SHA, SSL_RSA_WITH_3DES_EDE_CBC_SHA, SSL_RSA_WITH_NULL_MD5} {
		c, s := capturedFlights(f, s)
		if fromServer {
			f.Add(s)
		} else {
			f.Add(c)
		}
	}
	f.Add(rawRecord(recordTypeHandshake, VersionSSL30, []byte{1, 0, 0, 0}))
	f.Add(rawRecord(recordTypeAlert, VersionSSL30, []byte{2, 40}))
	f.Add([]byte{0x80, 0x2e, 0x01, 0x03, 0x00})
}

func FuzzServerRecordReader(f *testing.F) {
	fuzzSeeds(f, false)
	sc := serverConfig(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		c := Server(&fuzzConn{bytes.NewReader(in)}, sc)
		if err := c.Handshake(); err == nil {
			// Only a replay of a real client flight with matching randoms
			// could succeed; the server's random differs every run.
			t.Fatal("handshake succeeded on fuzzed input")
		}
	})
}

func FuzzClientRecordReader(f *testing.F) {
	fuzzSeeds(f, true)
	cc := clientConfig(f)
	cc.InsecureSkipVerify = true
	f.Fuzz(func(t *testing.T, in []byte) {
		c := Client(&fuzzConn{bytes.NewReader(in)}, cc)
		if err := c.Handshake(); err == nil {
			t.Fatal("handshake succeeded on fuzzed input")
		}
	})
}
