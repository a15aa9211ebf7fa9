package ssl

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"io"
	"math/big"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tokenssl/tokenssl/internal/acceptloop"
)

// paddedChain is a client certificate whose chain is padded to the
// Certificate caps: n certificates of about size bytes each (an unknown,
// non-critical extension carries the padding), the first one the leaf of
// key. It is what a hostile client sends to make every cached session big.
func paddedChain(t testing.TB, key *rsa.PrivateKey, n, size int) Certificate {
	t.Helper()
	var chain [][]byte
	for i := 0; i < n; i++ {
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(int64(i + 1)), Subject: pkix.Name{CommonName: fmt.Sprintf("padded %d", i)},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature,
			ExtraExtensions: []pkix.Extension{{
				Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 55555, 1}, Value: bytes.Repeat([]byte{byte(i)}, size-700),
			}},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		chain = append(chain, der)
	}
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		t.Fatal(err)
	}
	return Certificate{Certificate: chain, PrivateKey: key, Leaf: leaf}
}

// sslServer serves handshakes on a real loopback listener until the test
// ends; every handshake's result is sent on the returned channel (so the
// server's cache Put has happened when it arrives), and every connection
// is closed once the client closes it.
func sslServer(t testing.TB, config *Config) (string, <-chan error) {
	t.Helper()
	ln, err := Listen("tcp", "127.0.0.1:0", config)
	if err != nil {
		t.Fatal(err)
	}
	results := make(chan error, 1024)
	wg := acceptloop.Each(ln, func(c net.Conn) {
		defer c.Close()
		c.SetDeadline(time.Now().Add(30 * time.Second))
		err := c.(*Conn).Handshake()
		results <- err
		if err != nil {
			return
		}
		io.Copy(io.Discard, c) // until the client closes
	})
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln.Addr().String(), results
}

func liveHeap() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestSessionCacheHostilePaddedChains is the hostile client of issue 10
// item 2: full handshakes over real sockets, each with a client chain
// padded to the Certificate caps, every one of them cached by the server.
// What each cached session costs must stay what resumption needs, and the
// cache must stay within its byte bound, by its accounting and on the heap.
func TestSessionCacheHostilePaddedChains(t *testing.T) {
	key := mustKey(t, 2048)
	chain := paddedChain(t, key, maxChainCertificates, 12<<10)
	msgLen := 0
	for _, der := range chain.Certificate {
		msgLen += len(der) + 3
	}
	const handshakes = 120
	for _, tc := range []struct {
		name     string
		maxBytes int64 // 0: only the entry bound binds
	}{
		{"entry bound only", 0},
		{"1 MiB byte bound", 1 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cache := NewLRUSessionCacheBytes(DefaultSessionCacheSize, tc.maxBytes, time.Hour)
			sc := serverConfig(t)
			sc.ClientAuth = RequestClientCert
			sc.CipherSuites = []uint16{SSL_RSA_WITH_RC4_128_SHA}
			sc.SessionCache = cache
			addr, results := sslServer(t, sc)
			before := liveHeap()
			for i := 0; i < handshakes; i++ {
				cc := &Config{InsecureSkipVerify: true, CipherSuites: sc.CipherSuites, Certificates: []Certificate{chain}}
				conn, err := Dial("tcp", addr, cc)
				if err != nil {
					t.Fatalf("handshake %d: %v", i, err)
				}
				if err := <-results; err != nil {
					t.Fatalf("server handshake %d: %v", i, err)
				}
				conn.Close()
			}
			after := liveHeap()
			growth := int64(after) - int64(before)
			perEntry := growth / int64(max(cache.Len(), 1))
			t.Logf("Certificate message %d bytes (%d certificates); %d handshakes: %d sessions cached, accounted %d bytes; heap growth %d bytes (%d per entry)",
				msgLen, len(chain.Certificate), handshakes, cache.Len(), cache.Bytes(), growth, perEntry)
			if cache.Len() == 0 {
				t.Fatal("no session was cached")
			}
			// What resumption needs of such a session is its leaf (12 KiB
			// of DER here) and the master secret: well under 64 KiB. Each
			// entry used to cost the whole parsed chain, over 400 KiB.
			if perEntry > 64<<10 {
				t.Errorf("each cached session costs %d bytes of heap; want at most 64 KiB", perEntry)
			}
			if tc.maxBytes > 0 {
				if cache.Bytes() > tc.maxBytes {
					t.Errorf("cache accounts %d bytes, over its bound of %d", cache.Bytes(), tc.maxBytes)
				}
				// The slack is for what the runtime and the listener hold.
				if growth > tc.maxBytes+(1<<20) {
					t.Errorf("heap grew %d bytes with a cache bounded at %d", growth, tc.maxBytes)
				}
			}
			// The accounting errs high: never below the heap it stands for.
			if tc.maxBytes == 0 && cache.Bytes() < growth {
				t.Errorf("cache accounts %d bytes but the heap grew %d", cache.Bytes(), growth)
			}
			runtime.KeepAlive(cache)
		})
	}
}

// chainCapSides are the two ends that may send TestCertificateChainCaps's
// chain: configs returns the client and server Configs for it.
var chainCapSides = []struct {
	sender, receiver string
	configs          func(t *testing.T, chain Certificate) (cc, sc *Config)
}{
	{"client", "server", func(t *testing.T, chain Certificate) (*Config, *Config) {
		sc := serverConfig(t)
		sc.ClientAuth = RequireAnyClientCert
		cc := clientConfig(t)
		cc.Certificates = []Certificate{chain}
		cc.CipherSuites = []uint16{SSL_RSA_WITH_RC4_128_SHA}
		return cc, sc
	}},
	{"server", "client", func(_ *testing.T, chain Certificate) (*Config, *Config) {
		sc := &Config{Certificates: []Certificate{chain}, CipherSuites: []uint16{SSL_RSA_WITH_RC4_128_SHA}}
		return &Config{InsecureSkipVerify: true, CipherSuites: sc.CipherSuites}, sc
	}},
}

// TestCertificateChainCaps: a Certificate message over the count or size
// cap is refused with bad_certificate before any certificate is parsed,
// from a client (server side) as from a server (client side).
func TestCertificateChainCaps(t *testing.T) {
	key := mustKey(t, 2048)
	for _, tt := range []struct {
		name    string
		chain   Certificate
		wantErr string // "" : accepted
	}{
		{"10 certificates", paddedChain(t, key, maxChainCertificates, 1500), ""},
		{"11 certificates", paddedChain(t, key, maxChainCertificates+1, 1500), "exceeds the limit of 10"},
		{"certificate of 32 KiB", paddedChain(t, key, 1, maxCertificateLen-100), ""},
		{"certificate over 32 KiB", paddedChain(t, key, 1, maxCertificateLen+800), "over the limit of 32768"},
	} {
		for _, side := range chainCapSides {
			t.Run(side.sender+" sends "+tt.name, func(t *testing.T) {
				cc, sc := side.configs(t, tt.chain)
				_, _, cerr, serr := handshakePair(t, cc, sc)
				if tt.wantErr == "" {
					if cerr != nil || serr != nil {
						t.Fatalf("refused: client %v, server %v", cerr, serr)
					}
					return
				}
				err := serr
				if side.sender == "server" {
					err = cerr
				}
				assertAlert(t, err, alertBadCertificate, true)
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("%s error %q does not say %q", side.receiver, err, tt.wantErr)
				}
			})
		}
	}
}

// TestResumedSessionKeepsAuthenticatedChain: a resumed connection reports
// the leaf and the verified chain of the full handshake, not the extra
// certificates the peer padded its chain with, and the cached session no
// longer shares memory with the Certificate message.
func TestResumedSessionKeepsAuthenticatedChain(t *testing.T) {
	p := testCerts(t)
	junk := paddedChain(t, mustKey(t, 2048), 3, 2000)
	chain := p.client
	chain.Certificate = append([][]byte{p.client.Certificate[0]}, junk.Certificate...)
	for _, tt := range []struct {
		name       string
		policy     ClientAuthType
		wantChains int
	}{
		{"unverified", RequireAnyClientCert, 0},
		{"verified", RequireAndVerifyClientCert, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sc := serverConfig(t)
			sc.ClientAuth = tt.policy
			sc.ClientCAs = p.roots
			cache := NewLRUSessionCache(16, time.Hour)
			sc.SessionCache = cache
			cc := clientConfig(t)
			cc.RootCAs = p.roots
			cc.Certificates = []Certificate{chain}
			cc.CipherSuites = []uint16{SSL_RSA_WITH_RC4_128_SHA}
			cc.ClientSessionCache = NewLRUClientSessionCache(4)
			addr, results := sslServer(t, sc)
			handshake := func() ConnectionState {
				t.Helper()
				conn, err := Dial("tcp", addr, cc)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				if err := <-results; err != nil {
					t.Fatal(err)
				}
				return conn.ConnectionState()
			}
			if first := handshake(); first.DidResume {
				t.Fatal("first handshake resumed")
			}
			if cache.Len() != 1 {
				t.Fatalf("server cached %d sessions, want 1", cache.Len())
			}
			var kept *SessionState
			for _, e := range cache.m {
				kept = e.Value.(*lruEntry).state
			}
			if !handshake().DidResume {
				t.Fatal("did not resume")
			}
			// The server's view of the resumed connection is the session.
			st := ConnectionState{PeerCertificates: kept.PeerCertificates, VerifiedChains: kept.VerifiedChains}
			if len(st.PeerCertificates) != 1 || !bytes.Equal(st.PeerCertificates[0].Raw, p.client.Certificate[0]) {
				t.Fatalf("resumed: %d peer certificates, want only the leaf", len(st.PeerCertificates))
			}
			if len(st.VerifiedChains) != tt.wantChains {
				t.Fatalf("resumed: %d verified chains, want %d", len(st.VerifiedChains), tt.wantChains)
			}
			if tt.wantChains > 0 && st.VerifiedChains[0][0] != st.PeerCertificates[0] {
				t.Fatal("resumed: the verified chain does not start with the kept leaf")
			}
			// A slice of the message would reach on over the junk.
			if cap(st.PeerCertificates[0].Raw) >= len(p.client.Certificate[0])+len(junk.Certificate[0]) {
				t.Fatal("the cached leaf still points into the Certificate message")
			}
		})
	}
}

// TestLRUSessionCacheByteBound: the byte bound evicts least recently used
// entries, a session over the bound alone is not cached, and Delete and
// replacement keep the accounting exact.
func TestLRUSessionCacheByteBound(t *testing.T) {
	sess := func(id byte) *SessionState {
		return &SessionState{SessionID: bytes.Repeat([]byte{id}, 32), MasterSecret: make([]byte, 48), Created: time.Now()}
	}
	one := sess(1).size() + 1 // keys are one byte
	c := NewLRUSessionCacheBytes(100, 3*one, time.Hour)
	for _, k := range "abcd" {
		c.Put(string(k), sess(byte(k)))
	}
	if c.Len() != 3 || c.Bytes() != 3*one {
		t.Fatalf("Len %d Bytes %d, want 3 and %d", c.Len(), c.Bytes(), 3*one)
	}
	if _, ok := c.Get("a"); ok {
		t.Fatal("the least recently used entry was not evicted")
	}
	c.Put("b", sess(2)) // replace: same accounting
	c.Delete("c")
	if c.Len() != 2 || c.Bytes() != 2*one {
		t.Fatalf("after replace and delete: Len %d Bytes %d, want 2 and %d", c.Len(), c.Bytes(), 2*one)
	}
	big := sess(9)
	big.PeerCertificates = []*x509.Certificate{{Raw: make([]byte, 4*one)}}
	c.Put("z", big)
	if _, ok := c.Get("z"); ok || c.Len() != 2 {
		t.Fatal("a session over the byte bound was cached")
	}
}

// TestFullHandshakeResumableAtOnce reconnects the moment a full handshake
// returns on the client, as a browser opening its next connections does:
// the server must already hold the session. It caches the session before
// its Finished; cached after, a reconnect won the race about one time in
// three (seen in BenchmarkHandshake/ssl3/resumed).
func TestFullHandshakeResumableAtOnce(t *testing.T) {
	sc := serverConfig(t)
	sc.CipherSuites = []uint16{SSL_RSA_WITH_RC4_128_SHA}
	addr, results := sslServer(t, sc)
	for i := 0; i < 40; i++ {
		cc := clientConfig(t)
		cc.ClientSessionCache = NewLRUClientSessionCache(1)
		for _, wantResumed := range []bool{false, true} {
			conn, err := Dial("tcp", addr, cc)
			if err != nil {
				t.Fatal(err)
			}
			got := conn.ConnectionState().DidResume
			conn.Close()
			if got != wantResumed {
				t.Fatalf("round %d: DidResume = %v, want %v", i, got, wantResumed)
			}
		}
		// Only now: waiting for the server's result before the reconnect
		// would wait out the race this test looks for.
		for range 2 {
			if err := <-results; err != nil {
				t.Fatalf("round %d: server: %v", i, err)
			}
		}
	}
}
