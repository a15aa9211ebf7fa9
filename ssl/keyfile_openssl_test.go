package ssl

import (
	"crypto/dsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenssl/tokenssl/internal/openssltest"
	"github.com/tokenssl/tokenssl/token"
	"github.com/tokenssl/tokenssl/x509legacy"
)

// TestLoadX509KeyPairOpenSSLKeys loads every private key form OpenSSL 3
// writes for RSA, DSA and DH (PKCS #8 by default, the traditional forms
// with -traditional), made by the real openssl binary, checks the public
// key against `openssl pkey -pubout`, and runs a handshake on a suite that
// uses the key: RSA key exchange, DHE_DSS, or fixed DH (DH_DSS). Encrypted
// keys must be refused with a hint how to decrypt them.
func TestLoadX509KeyPairOpenSSLKeys(t *testing.T) {
	o := openssltest.Find(t)
	l := legacyCerts(t)
	p := testCerts(t)
	const (
		dsaParams2048 = "genpkey -genparam -algorithm DSA -pkeyopt dsa_paramgen_bits:2048 -pkeyopt dsa_paramgen_q_bits:224 -out params.pem"
		dsaParams1024 = "genpkey -genparam -algorithm DSA -pkeyopt dsa_paramgen_bits:1024 -pkeyopt dsa_paramgen_q_bits:160 -out params.pem"
		fromParams    = "genpkey -paramfile params.pem -out key.pem"
	)
	for _, tc := range []struct {
		name  string   // starts with the key type: RSA, DSA or DH
		gen   []string // openssl commands, run in a fresh directory; the key ends in key.pem
		block string   // the PEM type openssl wrote
		suite uint16   // 0: the key must be refused as encrypted
		qBits int      // DH: bits of the subgroup order the key must keep (0: none)
	}{
		{"RSA PKCS#8", []string{"genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out key.pem"},
			"PRIVATE KEY", SSL_RSA_WITH_3DES_EDE_CBC_SHA, 0},
		{"RSA traditional", []string{"genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out k8.pem", "pkey -in k8.pem -traditional -out key.pem"},
			"RSA PRIVATE KEY", SSL_RSA_WITH_3DES_EDE_CBC_SHA, 0},
		{"DSA 2048/224 PKCS#8", []string{dsaParams2048, fromParams},
			"PRIVATE KEY", SSL_DHE_DSS_WITH_3DES_EDE_CBC_SHA, 0},
		{"DSA 2048/224 traditional", []string{dsaParams2048, "genpkey -paramfile params.pem -out k8.pem", "pkey -in k8.pem -traditional -out key.pem"},
			"DSA PRIVATE KEY", SSL_DHE_DSS_WITH_3DES_EDE_CBC_SHA, 0},
		{"DSA 1024/160 dsaparam -genkey", []string{"dsaparam -genkey -out key.pem 1024"},
			"PRIVATE KEY", SSL_DHE_DSS_WITH_DES_CBC_SHA, 0},
		{"DH PKCS#3 genpkey -genparam", []string{"genpkey -genparam -algorithm DH -pkeyopt dh_paramgen_prime_len:1024 -out params.pem", fromParams},
			"PRIVATE KEY", SSL_DH_DSS_WITH_3DES_EDE_CBC_SHA, 0},
		{"DH PKCS#3 dhparam", []string{"dhparam -out params.pem 1024", fromParams},
			"PRIVATE KEY", SSL_DH_DSS_WITH_3DES_EDE_CBC_SHA, 0},
		{"DH ffdhe2048", []string{"genpkey -algorithm DH -pkeyopt group:ffdhe2048 -out key.pem"},
			"PRIVATE KEY", SSL_DH_DSS_WITH_3DES_EDE_CBC_SHA, 0},
		{"DH X9.42 1024/160", []string{"genpkey -genparam -algorithm DHX -pkeyopt dh_paramgen_prime_len:1024 -pkeyopt dh_paramgen_subprime_len:160 -out params.pem", fromParams},
			"PRIVATE KEY", SSL_DH_DSS_WITH_3DES_EDE_CBC_SHA, 160},
		{"DH X9.42 dhparam -dsaparam", []string{"dhparam -dsaparam -out params.pem 1024", fromParams},
			"PRIVATE KEY", SSL_DH_DSS_WITH_DES_CBC_SHA, 224},
		{"encrypted PKCS#8", []string{dsaParams1024, "genpkey -paramfile params.pem -out k.pem", "pkcs8 -topk8 -v2 aes256 -in k.pem -passout pass:secret -out key.pem"},
			"ENCRYPTED PRIVATE KEY", 0, 0},
		{"encrypted traditional", []string{"genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out k.pem", "pkey -in k.pem -traditional -aes256 -passout pass:secret -out key.pem"},
			"RSA PRIVATE KEY", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			openssl := func(args string) []byte { return o.Run(t, dir, strings.Fields(args)...) }
			for _, c := range tc.gen {
				openssl(c)
			}
			keyFile := filepath.Join(dir, "key.pem")
			keyPEM, err := os.ReadFile(keyFile)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(keyPEM), "-----BEGIN "+tc.block+"-----") {
				t.Fatalf("openssl wrote %.40q, want a %s block", keyPEM, tc.block)
			}
			certFile := filepath.Join(dir, "cert.pem")
			if tc.suite == 0 {
				// Any certificate: the key file is refused first.
				openssltest.WritePEM(t, certFile, "CERTIFICATE", p.server.Certificate...)
				_, err := LoadX509KeyPair(certFile, keyFile)
				if err == nil || !strings.Contains(err.Error(), "encrypted") || !strings.Contains(err.Error(), "openssl pkey -in") ||
					strings.Contains(err.Error(), "secret") {
					t.Fatalf("LoadX509KeyPair: %v; want an encrypted-key error saying how to decrypt", err)
				}
				return
			}

			// The public key, as openssl itself reports it.
			spki := openssl("pkey -in key.pem -pubout -outform DER")
			var cert Certificate
			switch {
			case strings.HasPrefix(tc.name, "RSA"):
				cert = issueLegacy(t, p.caCert, p.caKey, spki, nil, "localhost", x509.ExtKeyUsageServerAuth,
					x509.KeyUsageDigitalSignature|x509.KeyUsageKeyEncipherment)
			case strings.HasPrefix(tc.name, "DSA"):
				cert = issueLegacy(t, l.dsaCA, l.dsaCAKey, spki, nil, "localhost", x509.ExtKeyUsageServerAuth, x509.KeyUsageDigitalSignature)
			default: // fixed DH: a DH certificate, re-encoded as X9.42
				dh, err := x509legacy.ParseDHPublicKey(spki)
				if err != nil {
					t.Fatal(err)
				}
				if got := 0; dh.Q != nil {
					if got = dh.Q.BitLen(); got != tc.qBits {
						t.Fatalf("openssl's public key has a %d-bit q, want %d", got, tc.qBits)
					}
				}
				der, err := x509legacy.MarshalDHPublicKey(dh)
				if err != nil {
					t.Fatal(err)
				}
				cert = issueLegacy(t, l.dsaCA, l.dsaCAKey, der, nil, "localhost", x509.ExtKeyUsageServerAuth, x509.KeyUsageKeyAgreement)
			}
			openssltest.WritePEM(t, certFile, "CERTIFICATE", cert.Certificate...)

			loaded, err := LoadX509KeyPair(certFile, keyFile)
			if err != nil {
				t.Fatalf("LoadX509KeyPair: %v", err)
			}
			checkPublicKey(t, loaded.PrivateKey, spki, tc.qBits)

			cc, sc := clientConfig(t), &Config{Certificates: []Certificate{loaded}}
			cc.CipherSuites, sc.CipherSuites = []uint16{tc.suite}, []uint16{tc.suite}
			c, srv := mustHandshake(t, cc, sc)
			if got := c.ConnectionState().CipherSuite; got != tc.suite {
				t.Fatalf("negotiated %#04x", got)
			}
			echoCheck(t, c, srv, []byte("key from openssl"))
		})
	}
}

// checkPublicKey compares the loaded key with openssl's SubjectPublicKeyInfo.
func checkPublicKey(t *testing.T, key token.Key, spki []byte, qBits int) {
	t.Helper()
	switch k := key.(type) {
	case *rsa.PrivateKey:
		pub, err := x509.ParsePKIXPublicKey(spki)
		if err != nil || !k.PublicKey.Equal(pub) {
			t.Fatalf("RSA public key differs from openssl's (%v)", err)
		}
	case *token.DSAKey:
		pub, err := x509legacy.ParsePublicKey(spki)
		if err != nil {
			t.Fatal(err)
		}
		dp, ok := pub.(*dsa.PublicKey)
		if !ok || dp.Y.Cmp(k.Y) != 0 || dp.P.Cmp(k.P) != 0 || dp.Q.Cmp(k.Q) != 0 || dp.G.Cmp(k.G) != 0 {
			t.Fatal("DSA public key differs from openssl's")
		}
		// And it signs: a signature verifies under openssl's key.
		digest := make([]byte, 20)
		rand.Read(digest)
		sig, err := k.Sign(rand.Reader, digest, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := x509legacy.VerifyDSA(&k.PublicKey, digest, sig); err != nil {
			t.Fatal(err)
		}
	case *token.DHKey:
		pub, err := x509legacy.ParseDHPublicKey(spki)
		if err != nil {
			t.Fatal(err)
		}
		if k.Pub.P.Cmp(pub.P) != 0 || k.Pub.G.Cmp(pub.G) != 0 || k.Pub.Y.Cmp(pub.Y) != 0 {
			t.Fatal("DH public key differs from openssl's")
		}
		switch {
		case qBits == 0 && k.Pub.Q != nil:
			t.Fatal("DH key gained a q the file does not have")
		case qBits != 0 && (k.Pub.Q == nil || k.Pub.Q.Cmp(pub.Q) != 0):
			t.Fatalf("DH key lost its group's q (%v)", k.Pub.Q)
		}
	default:
		t.Fatalf("loaded a %T", key)
	}
}
