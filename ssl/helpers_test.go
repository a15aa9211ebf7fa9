package ssl

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/tokenssl/tokenssl/internal/recordproxy"
	"github.com/tokenssl/tokenssl/ssl/internal/ssl3mac"
)

// testPKI is a throw-away CA with a localhost server and a client
// certificate, generated once per test binary.
type testPKI struct {
	roots      *x509.CertPool
	server     Certificate
	client     Certificate
	serverKey  *rsa.PrivateKey
	caCert     *x509.Certificate
	caKey      *rsa.PrivateKey
	expired    Certificate
	otherRoots *x509.CertPool
}

var (
	pkiOnce sync.Once
	pki     *testPKI
)

func testCerts(t testing.TB) *testPKI {
	t.Helper()
	pkiOnce.Do(func() {
		p := &testPKI{}
		now := time.Now()
		caKey := mustKey(t, 2048)
		caTmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(48 * time.Hour),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
		}
		caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		p.caCert, _ = x509.ParseCertificate(caDER)
		p.caKey = caKey
		p.roots = x509.NewCertPool()
		p.roots.AddCert(p.caCert)
		p.serverKey = mustKey(t, 2048)
		p.server = issue(t, p, p.serverKey, "localhost", x509.ExtKeyUsageServerAuth, now.Add(-time.Hour), now.Add(24*time.Hour))
		p.client = issue(t, p, mustKey(t, 2048), "client", x509.ExtKeyUsageClientAuth, now.Add(-time.Hour), now.Add(24*time.Hour))
		p.expired = issue(t, p, mustKey(t, 1024), "localhost", x509.ExtKeyUsageServerAuth, now.Add(-48*time.Hour), now.Add(-24*time.Hour))
		otherKey := mustKey(t, 1024)
		otherTmpl := *caTmpl
		otherTmpl.Subject.CommonName = "other CA"
		otherDER, _ := x509.CreateCertificate(rand.Reader, &otherTmpl, &otherTmpl, &otherKey.PublicKey, otherKey)
		other, _ := x509.ParseCertificate(otherDER)
		p.otherRoots = x509.NewCertPool()
		p.otherRoots.AddCert(other)
		pki = p
	})
	if pki == nil {
		t.Fatal("test PKI generation failed")
	}
	return pki
}

func mustKey(t testing.TB, bits int) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func issue(t testing.TB, p *testPKI, key *rsa.PrivateKey, cn string, eku x509.ExtKeyUsage, nb, na time.Time) Certificate {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn},
		NotBefore: nb, NotAfter: na,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{eku},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// tcpPair returns two ends of a real loopback TCP connection (with a
// 30-second deadline, closed at cleanup).
func tcpPair(t testing.TB) (client, server net.Conn) {
	t.Helper()
	return recordproxy.TCPPair(t)
}

func serverConfig(t testing.TB) *Config {
	p := testCerts(t)
	// The legacy certificates serve the DSS, fixed-DH and export suites.
	certs := append([]Certificate{p.server}, legacyCerts(t).serverCerts()...)
	return &Config{Certificates: certs, CipherSuites: ImplementedCipherSuites()}
}

func clientConfig(t testing.TB) *Config {
	return &Config{RootCAs: legacyCerts(t).roots, ServerName: "localhost", CipherSuites: ImplementedCipherSuites()}
}

// handshakePair runs both handshakes concurrently and returns both errors.
func handshakePair(t testing.TB, cc, sc *Config) (*Conn, *Conn, error, error) {
	t.Helper()
	craw, sraw := tcpPair(t)
	client, server := Client(craw, cc), Server(sraw, sc)
	cerr, serr := handshakeBoth(client, server)
	return client, server, cerr, serr
}

// handshakeBoth runs the handshakes of a connected client and server
// concurrently and returns both errors. A side that fails closes its
// transport, which unblocks a peer still waiting for its flight.
func handshakeBoth(client, server *Conn) (cerr, serr error) {
	errc := make(chan error, 1)
	go func() {
		err := server.Handshake()
		if err != nil {
			server.conn.Close()
		}
		errc <- err
	}()
	if cerr = client.Handshake(); cerr != nil {
		client.conn.Close()
	}
	return cerr, <-errc
}

// mustHandshake is handshakePair for a handshake that must succeed on both
// sides.
func mustHandshake(t testing.TB, cc, sc *Config) (client, server *Conn) {
	t.Helper()
	craw, sraw := tcpPair(t)
	client, server = Client(craw, cc), Server(sraw, sc)
	mustHandshakeConns(t, client, server)
	return client, server
}

// mustHandshakeConns is handshakeBoth for a handshake that must succeed,
// over transports the test built itself (wrapped to count or sniff).
func mustHandshakeConns(t testing.TB, client, server *Conn) {
	t.Helper()
	if cerr, serr := handshakeBoth(client, server); cerr != nil || serr != nil {
		t.Fatalf("handshake: client %v, server %v", cerr, serr)
	}
}

// echoCheck writes data from one side and reads it on the other, both ways.
func echoCheck(t testing.TB, a, b *Conn, data []byte) {
	t.Helper()
	recordproxy.Echo(t, a, b, data)
}

// suiteHalf returns a record half with s's cipher and MAC under the given
// keys, its cipher spec already changed: the reading (decrypting) half
// when read, else the writing one. A writer and a reader made from the
// same keys stay in step as long as records go through in order.
func suiteHalf(t testing.TB, s *cipherSuite, key, iv, macKey []byte, read bool) *halfConn {
	t.Helper()
	c, err := newRecordCipher(s, key, iv, read)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ssl3mac.New(s.mac, macKey)
	if err != nil {
		t.Fatal(err)
	}
	hc := &halfConn{}
	hc.prepareCipherSpec(c, m)
	hc.changeCipherSpec()
	return hc
}

// certificateFits reports whether cert can serve suite s on the server.
func certificateFits(s *cipherSuite, cert *Certificate) bool { return s.ka(s).certificateFits(cert) }
