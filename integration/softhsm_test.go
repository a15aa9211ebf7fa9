package integration

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenssl/tokenssl/internal/acceptloop"
	"github.com/tokenssl/tokenssl/internal/ssltest"
	"github.com/tokenssl/tokenssl/softhsm"
	"github.com/tokenssl/tokenssl/softhsm/softhsmtest"
	"github.com/tokenssl/tokenssl/ssl"
	"github.com/tokenssl/tokenssl/token"
	"github.com/tokenssl/tokenssl/token/pkcs11"
)

// testCA is the test PKI's RSA CA (internal/ssltest) with helpers that
// fail the test instead of returning errors.
type testCA struct{ *ssltest.CA }

func newTestCA(t testing.TB) *testCA {
	ca, err := ssltest.NewCA("integration CA")
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{ca}
}

func (ca *testCA) issue(t testing.TB, pub crypto.PublicKey, cn string, eku x509.ExtKeyUsage) []byte {
	der, err := ca.Issue(pub, cn, eku)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// tokenKeys opens a fresh SoftHSM token for t, closed when t ends: the
// key source of the test PKI with every key on the token.
func tokenKeys(t testing.TB) ssltest.TokenKeys {
	t.Helper()
	tok := softhsmtest.NewToken(t)
	backend, err := tok.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { backend.Close() })
	return ssltest.TokenKeys{Token: tok, Backend: backend}
}

// tokenPKI is the test PKI for "localhost" with its keys on a fresh token.
func tokenPKI(t testing.TB) *ssltest.PKI {
	t.Helper()
	pki, err := ssltest.NewPKI(tokenKeys(t), "localhost")
	if err != nil {
		t.Fatal(err)
	}
	return pki
}

// tokenRSA generates an RSA key on a fresh SoftHSM token, stores its
// certificate beside it, and returns the certificate with the token key.
func tokenRSA(t testing.TB, ca *testCA, cn string, eku x509.ExtKeyUsage, poolSize int) (ssl.Certificate, *softhsm.Token, *pkcs11.Backend) {
	t.Helper()
	tok := softhsmtest.NewToken(t)
	ref, err := tok.GenerateRSA(cn, nil, 2048)
	if err != nil {
		t.Fatal(err)
	}
	cfg := tok.Config()
	cfg.PoolSize = poolSize
	cfg.ReconnectInterval = 50 * time.Millisecond
	b, err := pkcs11.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	key, err := b.FindKey(ref.Spec())
	if err != nil {
		t.Fatal(err)
	}
	der := ca.issue(t, key.(crypto.Signer).Public(), cn, eku)
	if err := tok.ImportCertificate(cn, ref.ID, der); err != nil {
		t.Fatal(err)
	}
	// The engine gets the certificate the way the CLI does: from the token.
	stored, err := b.FindCertificate(ref.Spec())
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(stored)
	return ssl.Certificate{Certificate: [][]byte{stored}, PrivateKey: key, Leaf: leaf}, tok, b
}

// rsaSuites are the implemented suites with the RSA key exchange.
func rsaSuites() []uint16 {
	want := map[uint16]bool{0x0001: true, 0x0002: true, 0x0003: true, 0x0004: true, 0x0005: true, 0x0006: true,
		0x0007: true, 0x0008: true, 0x0009: true, 0x000A: true}
	var out []uint16
	for _, s := range ssl.CipherSuites() {
		if s.Implemented && want[s.ID] {
			out = append(out, s.ID)
		}
	}
	return out
}

// pipePair runs one client/server handshake over loopback (connect) and
// an echo of data; it returns the states of both ends and the first error.
func pipePair(t testing.TB, cc, sc *ssl.Config, data []byte) (ssl.ConnectionState, ssl.ConnectionState, error) {
	client, server, err, serr := connect(t, cc, sc, nil)
	if err == nil {
		err = serr
	}
	if err != nil {
		return ssl.ConnectionState{}, ssl.ConnectionState{}, err
	}
	cst, sst := client.ConnectionState(), server.ConnectionState()
	echoed := make(chan error, 1)
	go func() {
		_, err := io.Copy(server, server)
		echoed <- err
	}()
	if _, err = client.Write(data); err == nil {
		got := make([]byte, len(data))
		if _, err = io.ReadFull(client, got); err == nil && string(got) != string(data) {
			err = errors.New("echo mismatch")
		}
	}
	client.Close()
	if serr := <-echoed; err == nil {
		err = serr
	}
	server.Close()
	return cst, sst, err
}

func TestServerKeyOnSoftHSMEveryRSASuite(t *testing.T) {
	ca := newTestCA(t)
	cert, _, _ := tokenRSA(t, ca, "localhost", x509.ExtKeyUsageServerAuth, 4)
	data := make([]byte, 50000)
	rand.Read(data)
	for _, id := range rsaSuites() {
		t.Run(ssl.CipherSuiteName(id), func(t *testing.T) {
			sc := &ssl.Config{Certificates: []ssl.Certificate{cert}, CipherSuites: []uint16{id}}
			cc := &ssl.Config{RootCAs: ca.Roots, ServerName: "localhost", CipherSuites: []uint16{id},
				ClientSessionCache: &oneSession{}}
			for i, wantResume := range []bool{false, true} {
				cst, sst, err := pipePair(t, cc, sc, data)
				if err != nil {
					t.Fatalf("connection %d: %v", i, err)
				}
				if cst.CipherSuite != id || cst.DidResume != wantResume || sst.DidResume != wantResume {
					t.Fatalf("connection %d: suite %s resumed %v/%v", i, ssl.CipherSuiteName(cst.CipherSuite), cst.DidResume, sst.DidResume)
				}
			}
		})
	}
}

func TestClientKeyOnSoftHSM(t *testing.T) {
	ca := newTestCA(t)
	clientCert, _, _ := tokenRSA(t, ca, "client", x509.ExtKeyUsageClientAuth, 2)
	serverKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	serverDER := ca.issue(t, &serverKey.PublicKey, "localhost", x509.ExtKeyUsageServerAuth)
	serverCert := ssl.Certificate{Certificate: [][]byte{serverDER}, PrivateKey: serverKey}
	for _, id := range rsaSuites() {
		t.Run(ssl.CipherSuiteName(id), func(t *testing.T) {
			sc := &ssl.Config{Certificates: []ssl.Certificate{serverCert}, CipherSuites: []uint16{id},
				ClientAuth: ssl.RequireAndVerifyClientCert, ClientCAs: ca.Roots}
			cc := &ssl.Config{RootCAs: ca.Roots, ServerName: "localhost", CipherSuites: []uint16{id},
				Certificates: []ssl.Certificate{clientCert}}
			_, sst, err := pipePair(t, cc, sc, []byte("client authenticated by a token key"))
			if err != nil {
				t.Fatal(err)
			}
			if len(sst.PeerCertificates) != 1 || sst.PeerCertificates[0].Subject.CommonName != "client" || len(sst.VerifiedChains) == 0 {
				t.Fatal("server did not verify the token-held client certificate")
			}
		})
	}
}

// The key the engine uses cannot leave the token, and the engine does not
// need it to: the handshake works through C_Decrypt alone.
func TestTokenKeyIsSensitiveAndNotExtractable(t *testing.T) {
	ca := newTestCA(t)
	cert, _, b := tokenRSA(t, ca, "localhost", x509.ExtKeyUsageServerAuth, 2)
	objs, err := b.ListObjects(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, o := range objs {
		if o.Class == "private" {
			found = true
			if !o.Sensitive || o.Extractable {
				t.Fatalf("private key %q: sensitive=%v extractable=%v", o.Label, o.Sensitive, o.Extractable)
			}
		}
	}
	if !found {
		t.Fatal("no private key object listed")
	}
	if _, ok := cert.PrivateKey.(*rsa.PrivateKey); ok {
		t.Fatal("the engine was given the key material")
	}
	sc := &ssl.Config{Certificates: []ssl.Certificate{cert}}
	cc := &ssl.Config{RootCAs: ca.Roots, ServerName: "localhost"}
	if _, _, err := pipePair(t, cc, sc, []byte("still works")); err != nil {
		t.Fatal(err)
	}
}

// 64 concurrent handshakes through a pool of 4 PKCS#11 sessions: callers
// wait for a session instead of failing.
func TestConcurrentHandshakesSharePool(t *testing.T) {
	ca := newTestCA(t)
	cert, _, b := tokenRSA(t, ca, "localhost", x509.ExtKeyUsageServerAuth, 4)
	sc := &ssl.Config{Certificates: []ssl.Certificate{cert}, CipherSuites: []uint16{ssl.SSL_RSA_WITH_RC4_128_SHA}}
	ln := serveSSL(t, sc, func(c net.Conn) { io.Copy(c, c) })
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := ssl.Dial("tcp", ln.Addr().String(), &ssl.Config{RootCAs: ca.Roots, ServerName: "localhost"})
			if err != nil {
				errs <- err
				return
			}
			c.Close()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if st := b.Stats(); st.SessionsOpened > 4 {
		t.Fatalf("pool opened %d sessions, limit 4", st.SessionsOpened)
	}
}

// The token store disappears while the server runs: handshakes in flight
// fail with a clear error, the server keeps running, and once the store is
// back handshakes succeed again without a restart.
func TestTokenRemovedAndRestoredUnderServer(t *testing.T) {
	ca := newTestCA(t)
	cert, tok, _ := tokenRSA(t, ca, "localhost", x509.ExtKeyUsageServerAuth, 2)
	var serverErrs sync.Map
	var served atomic.Int64
	sc := &ssl.Config{Certificates: []ssl.Certificate{cert}, CipherSuites: []uint16{ssl.SSL_RSA_WITH_3DES_EDE_CBC_SHA},
		DisableSessionCache: true}
	ln := serveSSL(t, sc, func(c net.Conn) {
		if err := c.(*ssl.Conn).Handshake(); err != nil {
			serverErrs.Store(err.Error(), err)
			return
		}
		served.Add(1)
	})
	cc := &ssl.Config{RootCAs: ca.Roots, ServerName: "localhost", CipherSuites: sc.CipherSuites}
	dial := func() error {
		c, err := ssl.Dial("tcp", ln.Addr().String(), cc)
		if err == nil {
			c.Close()
		}
		return err
	}
	for i := 0; i < 5; i++ {
		if err := dial(); err != nil {
			t.Fatalf("before removal: %v", err)
		}
	}
	dir, err := tok.Dir()
	if err != nil {
		t.Fatal(err)
	}
	// Out of SoftHSM's token directory altogether (a renamed directory
	// inside it would still be found as the same token).
	hidden := filepath.Join(filepath.Dir(filepath.Dir(dir)), "away-"+filepath.Base(dir))
	if err := os.Rename(dir, hidden); err != nil {
		t.Fatal(err)
	}
	failures := 0
	for i := 0; i < 5; i++ {
		if dial() != nil {
			failures++
		}
	}
	if err := os.Rename(hidden, dir); err != nil {
		t.Fatal(err)
	}
	if failures != 5 {
		t.Fatalf("%d of 5 handshakes failed while the token was gone", failures)
	}
	// Every server-side failure names the token, not a protocol error.
	serverErrs.Range(func(k, v any) bool {
		err := v.(error)
		if !errors.Is(err, token.ErrUnavailable) {
			t.Errorf("server failure does not say the token is unavailable: %v", err)
		}
		var ae *ssl.AlertError
		if !errors.As(err, &ae) || ae.AlertName() != "handshake_failure" {
			t.Errorf("server failure is not a handshake_failure alert: %v", err)
		}
		return true
	})
	// The backend reconnects on its own: within a few seconds, every
	// handshake succeeds again, with no restart of the server.
	deadline := time.Now().Add(15 * time.Second)
	for dial() != nil {
		if time.Now().After(deadline) {
			t.Fatal("handshakes did not recover after the token came back")
		}
		time.Sleep(100 * time.Millisecond)
	}
	for i := 0; i < 10; i++ {
		if err := dial(); err != nil {
			t.Fatalf("after recovery: %v", err)
		}
	}
	t.Logf("%d handshakes failed while the token was away; served %d in all", failures, served.Load())
}

// serveSSL listens on loopback with config and runs handle on each
// accepted connection (then closes it) until the test ends.
func serveSSL(t testing.TB, config *ssl.Config, handle func(net.Conn)) net.Listener {
	ln, err := ssl.Listen("tcp", "127.0.0.1:0", config)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	acceptloop.Each(ln, func(c net.Conn) { defer c.Close(); handle(c) })
	return ln
}

// oneSession is a client session cache that always offers its last
// session, whatever the address (each pipePair listens on a new port).
type oneSession struct {
	mu sync.Mutex
	s  *ssl.SessionState
}

func (o *oneSession) Get(string) (*ssl.SessionState, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.s, o.s != nil
}

func (o *oneSession) Put(_ string, s *ssl.SessionState) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.s = s
}
