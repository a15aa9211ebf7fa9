package integration

import (
	"crypto/rand"
	"crypto/x509"
	"math/big"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tokenssl/tokenssl/internal/recordproxy"
	"github.com/tokenssl/tokenssl/internal/ssltest"
	"github.com/tokenssl/tokenssl/ssl"
	"github.com/tokenssl/tokenssl/token"
	"github.com/tokenssl/tokenssl/token/tokentest"
	"github.com/tokenssl/tokenssl/x509legacy"
)

// Issue 10 item 3 against a token: a hostile client runs the
// small-subgroup attack (Yc of order 2, 3, 4, 12, 2q) on a DH_DSS server
// whose static DH key is on SoftHSM, and on the same server with the key
// in software. Every such Yc must get the answer a random wrong value
// gets, at the same step (illegal_parameter at ClientKeyExchange, decided
// from public values), and never reach the token: the attack recovered x
// mod 3 and x mod 4 in at most 7 handshakes before the fix, through the
// Finished check and through SoftHSM refusing a shared value of p-1.

// agreeCounter counts the agreements that reach the key.
type agreeCounter struct {
	token.DHAgreer
	n atomic.Int32
}

func (a *agreeCounter) Agree(y *big.Int) ([]byte, error) {
	a.n.Add(1)
	return a.DHAgreer.Agree(y)
}

// hostileYc runs our client through a proxy that replaces its
// ClientKeyExchange with yc, and returns the server's error.
func hostileYc(t *testing.T, cc, sc *ssl.Config, yc *big.Int) error {
	t.Helper()
	b := yc.Bytes()
	body := append([]byte{byte(len(b) >> 8), byte(len(b))}, b...)
	craw, sraw, _ := recordproxy.Pipe(t, recordproxy.RewriteMessage(recordproxy.ToServer, 16, func([]byte) []byte { return body }))
	client, server := ssl.Client(craw, cc), ssl.Server(sraw, sc)
	done := make(chan struct{})
	go func() { client.Handshake(); craw.Close(); close(done) }()
	serr := server.Handshake()
	sraw.Close()
	<-done
	return serr
}

func TestDHSubgroupAttackOnStaticKey(t *testing.T) {
	group, small := tokentest.CofactorGroup(t)
	dsaCA, err := ssltest.NewDSACA("subgroup test DSA CA")
	if err != nil {
		t.Fatal(err)
	}
	onToken, err := tokenKeys(t).DH("dh-subgroup", group)
	if err != nil {
		t.Fatal(err)
	}
	if onToken.DHPublic().Q != nil {
		t.Log("the token key reports q; the test still takes it from the certificate")
	}
	inSoftware, err := ssltest.SoftwareKeys{}.DH("dh-subgroup", group)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []struct {
		name string
		key  token.DHAgreer
	}{{"SoftHSM", onToken}, {"software", inSoftware}} {
		t.Run(k.name, func(t *testing.T) {
			pub := k.key.DHPublic()
			// The X9.42 certificate carries q; the key itself may not.
			der, err := dsaCA.Issue(&x509legacy.DHPublicKey{P: group.P, G: group.G, Q: group.Q, Y: pub.Y}, "localhost", x509.ExtKeyUsageServerAuth)
			if err != nil {
				t.Fatal(err)
			}
			leaf, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			counter := &agreeCounter{DHAgreer: k.key}
			cert := ssl.Certificate{Certificate: [][]byte{der, dsaCA.DER}, PrivateKey: counter, Leaf: leaf}
			suites := []uint16{ssl.SSL_DH_DSS_WITH_3DES_EDE_CBC_SHA}
			config := func() (cc, sc *ssl.Config) {
				return &ssl.Config{RootCAs: dsaCA.Roots, ServerName: "localhost", CipherSuites: suites},
					&ssl.Config{Certificates: []ssl.Certificate{cert}, CipherSuites: suites}
			}
			random, _ := rand.Int(rand.Reader, group.P)
			cc, sc := config()
			reference := hostileYc(t, cc, sc, random)
			refAlert, ok := sentAlert(reference)
			if !ok || ssl.AlertName(refAlert) != "illegal_parameter" || !strings.Contains(reference.Error(), "client DH public value") {
				t.Errorf("random Yc: %v; want illegal_parameter at ClientKeyExchange", reference)
			}
			counter.n.Store(0)
			for name, yc := range small {
				cc, sc := config()
				serr := hostileYc(t, cc, sc, yc)
				if got, ok := sentAlert(serr); !ok || got != refAlert || !strings.Contains(serr.Error(), "client DH public value") {
					t.Errorf("%s: server %v; want what a random value gets (%v)", name, serr, reference)
				}
			}
			if n := counter.n.Load(); n != 0 {
				t.Errorf("%d hostile values reached the %s key", n, k.name)
			}
			// A well-behaved client still completes.
			cc, sc = config()
			if _, err := handshakeOver(t, cc, sc); err != nil {
				t.Fatalf("honest client: %v", err)
			}
		})
	}
}

// handshakeOver runs an honest handshake over loopback TCP.
func handshakeOver(t *testing.T, cc, sc *ssl.Config) (ssl.ConnectionState, error) {
	craw, sraw := recordproxy.TCPPair(t)
	client, server := ssl.Client(craw, cc), ssl.Server(sraw, sc)
	errc := make(chan error, 1)
	go func() { errc <- server.Handshake() }()
	if err := client.Handshake(); err != nil {
		craw.Close()
		<-errc
		return ssl.ConnectionState{}, err
	}
	if err := <-errc; err != nil {
		return ssl.ConnectionState{}, err
	}
	return client.ConnectionState(), nil
}
