package ssl

import (
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// The record layer in steady state — an established connection moving
// application data — allocates nothing in either direction: records are
// sealed into and read from pooled buffers. Allocation counts are
// deterministic, so these are exact assertions (no timing).

func TestSteadyStateRecordsAllocateNothing(t *testing.T) {
	suites := []struct {
		name    string
		suite   uint16
		noSplit bool
	}{
		{"RC4-SHA", SSL_RSA_WITH_RC4_128_SHA, false},
		{"RC4-MD5", SSL_RSA_WITH_RC4_128_MD5, false},
		{"3DES-SHA", SSL_RSA_WITH_3DES_EDE_CBC_SHA, false},
		{"3DES-SHA/no-split", SSL_RSA_WITH_3DES_EDE_CBC_SHA, true},
		{"NULL-SHA", SSL_RSA_WITH_NULL_SHA, false},
	}
	sizes := []int{1, 1000, maxPlaintext, 2*maxPlaintext + 7}
	for _, s := range suites {
		t.Run(s.name, func(t *testing.T) {
			cc, sc := clientConfig(t), serverConfig(t)
			cc.CipherSuites = []uint16{s.suite}
			sc.DisableRecordSplitting = s.noSplit
			cc.DisableRecordSplitting = s.noSplit
			client, server := mustHandshake(t, cc, sc)
			defer client.Close()
			defer server.Close()
			for _, n := range sizes {
				data := make([]byte, n)
				got := make([]byte, n)
				for _, dir := range []struct {
					name string
					w, r *Conn
				}{{"server-to-client", server, client}, {"client-to-server", client, server}} {
					// One goroutine writes and then reads: the loopback
					// socket holds the records in between, and no goroutine
					// or channel of the test's own is counted.
					allocs := testing.AllocsPerRun(50, func() {
						if _, err := dir.w.Write(data); err != nil {
							t.Fatal(err)
						}
						if _, err := io.ReadFull(dir.r, got); err != nil {
							t.Fatal(err)
						}
					})
					if allocs != 0 {
						t.Errorf("%s, %d bytes: %v allocations per Write+Read, want 0", dir.name, n, allocs)
					}
				}
			}
		})
	}
}

// countingConn counts the writes that reach the transport.
type countingConn struct {
	net.Conn
	writes atomic.Int32
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

// Every flight of a handshake leaves in one write (system call), and so do
// a record, an answered close_notify and a Write of one record split 1/n-1.
func TestOneWritePerFlight(t *testing.T) {
	cc, sc := clientConfig(t), serverConfig(t)
	cc.CipherSuites = []uint16{SSL_RSA_WITH_3DES_EDE_CBC_SHA}
	cache := &fixedClientCache{}
	cc.ClientSessionCache = cache
	for _, tc := range []struct {
		name                      string
		clientWrites, serverWrite int32
	}{
		// ClientHello; ClientKeyExchange+CCS+Finished. ServerHello..Done;
		// CCS+Finished.
		{"full", 2, 2},
		// ClientHello; CCS+Finished. ServerHello+CCS+Finished.
		{"resumed", 2, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			craw, sraw := tcpPair(t)
			cw, sw := &countingConn{Conn: craw}, &countingConn{Conn: sraw}
			client, server := Client(cw, cc), Server(sw, sc)
			mustHandshakeConns(t, client, server)
			if got := client.ConnectionState().DidResume; got != (tc.name == "resumed") {
				t.Fatalf("DidResume = %v", got)
			}
			if got := cw.writes.Load(); got != tc.clientWrites {
				t.Errorf("client handshake: %d writes, want %d", got, tc.clientWrites)
			}
			if got := sw.writes.Load(); got != tc.serverWrite {
				t.Errorf("server handshake: %d writes, want %d", got, tc.serverWrite)
			}

			// A Write that fits one record (split 1/n-1 under CBC): one write.
			sw.writes.Store(0)
			errc2 := make(chan error, 1)
			go func() { _, err := server.Write(make([]byte, maxPlaintext)); errc2 <- err }()
			if _, err := io.ReadFull(client, make([]byte, maxPlaintext)); err != nil {
				t.Fatal(err)
			}
			if err := <-errc2; err != nil {
				t.Fatal(err)
			}
			if got := sw.writes.Load(); got != 1 {
				t.Errorf("Write of 2^14 bytes: %d writes, want 1", got)
			}

			// The server answers close_notify with one write.
			sw.writes.Store(0)
			errc := make(chan error, 1)
			go func() { _, err := server.Read(make([]byte, 1)); errc <- err }()
			if err := client.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			if err := <-errc; err != io.EOF {
				t.Fatalf("server Read after close_notify: %v, want EOF", err)
			}
			if got := sw.writes.Load(); got != 1 {
				t.Errorf("answering close_notify: %d writes, want 1", got)
			}
			// The next run resumes this session (the cache key names the
			// server's address, which changes with each pair).
			cache.s = client.session
			client.Close()
			server.Close()
		})
	}
}

// An idle connection holds no record buffer: they go back to their pools
// once everything read has been returned and everything sealed written.
func TestIdleConnectionHoldsNoBuffers(t *testing.T) {
	cc, sc := clientConfig(t), serverConfig(t)
	cc.CipherSuites = []uint16{SSL_RSA_WITH_RC4_128_SHA}
	client, server := mustHandshake(t, cc, sc)
	defer client.Close()
	defer server.Close()
	check := func(when string) {
		t.Helper()
		for _, c := range []*Conn{client, server} {
			side := map[bool]string{true: "client", false: "server"}[c.isClient]
			c.in.Lock()
			if c.rawInput.arr != nil || c.hand.Cap() != 0 || c.input.Len() != 0 {
				t.Errorf("%s, %s: input buffer held (%v), handshake buffer cap %d", when, side, c.rawInput.arr != nil, c.hand.Cap())
			}
			c.in.Unlock()
			c.out.Lock()
			if c.sendBuf != nil {
				t.Errorf("%s, %s: output buffer held", when, side)
			}
			c.out.Unlock()
		}
	}
	check("after the handshake")
	for _, n := range []int{1, maxPlaintext, 3*maxPlaintext + 1} {
		echoCheck(t, client, server, make([]byte, n))
		check(fmt.Sprintf("after a %d-byte echo", n))
	}
}

// A Certificate without Leaf is parsed once, not at every call (the server
// asks for the leaf for each candidate suite), and a changed DER is parsed
// anew.
func TestCertificateLeafParsedOnce(t *testing.T) {
	p := testCerts(t)
	cert := Certificate{Certificate: [][]byte{append([]byte(nil), p.server.Certificate[0]...)}, PrivateKey: p.server.PrivateKey}
	first, err := cert.leaf()
	if err != nil {
		t.Fatal(err)
	}
	again, err := cert.leaf()
	if err != nil || again != first {
		t.Fatalf("second leaf() = %p, %v; want the cached %p", again, err, first)
	}
	if allocs := testing.AllocsPerRun(20, func() { cert.leaf() }); allocs != 0 {
		t.Errorf("leaf() of a cached certificate: %v allocations, want 0", allocs)
	}
	other := issue(t, p, mustKey(t, 1024), "other", x509.ExtKeyUsageServerAuth, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	copy(cert.Certificate[0], other.Certificate[0]) // same storage, new bytes
	cert.Certificate[0] = cert.Certificate[0][:min(len(other.Certificate[0]), len(cert.Certificate[0]))]
	if l, err := cert.leaf(); err == nil && l == first {
		t.Fatal("leaf() returned the cached parse of bytes that changed")
	}
}
