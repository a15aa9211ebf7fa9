package ssl

import (
	"net"
	"testing"
)

// countConn counts the transport calls a Conn makes.
type countConn struct {
	net.Conn
	reads, writes int
}

func (c *countConn) Read(b []byte) (int, error)  { c.reads++; return c.Conn.Read(b) }
func (c *countConn) Write(b []byte) (int, error) { c.writes++; return c.Conn.Write(b) }

// pipePair is an established pair over net.Pipe, whose Read returns what
// one Write gave, up to the reader's room: the transport calls are then
// exact, not up to the kernel's segmentation.
func pipePair(t *testing.T, suite uint16) (client, server *Conn, craw, sraw *countConn) {
	t.Helper()
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	craw, sraw = &countConn{Conn: a}, &countConn{Conn: b}
	cc, sc := clientConfig(t), serverConfig(t)
	cc.CipherSuites = []uint16{suite}
	client, server = Client(craw, cc), Server(sraw, sc)
	mustHandshakeConns(t, client, server)
	return client, server, craw, sraw
}

// A Write goes out in one transport write per two full records, and a
// Read returns every whole record already read from the transport (a
// 1/n-1 split's two records in one Read), so that bulk data costs the
// system calls plain TCP costs (bench: bytes per read and per write).
func TestTransportCallsPerWriteAndRead(t *testing.T) {
	for _, tc := range []struct {
		name   string
		suite  uint16
		n      int
		writes int // transport writes for one Write of n bytes
		reads  int // Conn.Reads (32 KiB buffer) that return all n bytes
	}{
		// The first transport read of a connection with nothing pending
		// goes into the 512-byte inline buffer (an idle connection holds no
		// pooled one), so a split's one-byte record comes alone there and
		// the rest in the next Read: without the read-ahead, 32 KiB of 3DES
		// took three Reads.
		{"RC4/1", SSL_RSA_WITH_RC4_128_SHA, 1, 1, 1},
		{"RC4/16K", SSL_RSA_WITH_RC4_128_SHA, maxPlaintext, 1, 1},
		{"RC4/32K", SSL_RSA_WITH_RC4_128_SHA, 2 * maxPlaintext, 1, 1},
		{"RC4/32K+7", SSL_RSA_WITH_RC4_128_SHA, 2*maxPlaintext + 7, 1, 2},
		{"RC4/48K", SSL_RSA_WITH_RC4_128_SHA, 3 * maxPlaintext, 2, 2},
		{"3DES-split/16K", SSL_RSA_WITH_3DES_EDE_CBC_SHA, maxPlaintext, 1, 2},
		{"3DES-split/32K", SSL_RSA_WITH_3DES_EDE_CBC_SHA, 2 * maxPlaintext, 1, 2},
		{"3DES-split/48K", SSL_RSA_WITH_3DES_EDE_CBC_SHA, 3 * maxPlaintext, 2, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, server, craw, _ := pipePair(t, tc.suite)
			data := make([]byte, tc.n)
			for i := range data {
				data[i] = byte(i)
			}
			errc := make(chan error, 1)
			w0 := craw.writes
			go func() { _, err := client.Write(data); errc <- err }()
			buf := make([]byte, 2*maxPlaintext)
			var got []byte
			reads := 0
			for len(got) < tc.n {
				m, err := server.Read(buf)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, buf[:m]...)
				reads++
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			if w := craw.writes - w0; w != tc.writes {
				t.Errorf("Write of %d bytes: %d transport writes, want %d", tc.n, w, tc.writes)
			}
			if reads != tc.reads {
				t.Errorf("%d bytes took %d Reads, want %d", tc.n, reads, tc.reads)
			}
			if string(got) != string(data) {
				t.Error("data corrupted")
			}
		})
	}
}
