package ssl

import (
	"crypto"
	"crypto/dsa"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/tokenssl/tokenssl/kea"
	"github.com/tokenssl/tokenssl/token"
)

// TestCheckServerConfig: the configurations that start and then fail every
// handshake, each refused with one line saying why.
func TestCheckServerConfig(t *testing.T) {
	p, l := testCerts(t), legacyCerts(t)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecCert, err := (&testCA{p}).certificate(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		config *Config
		want   []string // substrings of the error; nil: no error
		suites []uint16 // ServableSuites
	}{
		{"RSA certificate, default suites", &Config{Certificates: []Certificate{p.server}}, nil, nil},
		{
			"only DHE_DSS suites, RSA certificate",
			&Config{Certificates: []Certificate{p.server}, CipherSuites: []uint16{SSL_DHE_DSS_WITH_3DES_EDE_CBC_SHA, SSL_DHE_DSS_WITH_DES_CBC_SHA}},
			[]string{"the DHE_DSS suites (SSL_DHE_DSS_WITH_3DES_EDE_CBC_SHA, SSL_DHE_DSS_WITH_DES_CBC_SHA) need a DSA certificate whose key can sign, but the certificate has an RSA key (2048 bits)"},
			nil,
		},
		{
			"EC key, default suites",
			&Config{Certificates: []Certificate{ecCert}},
			[]string{"the RSA suites (", "need an RSA certificate whose key can decrypt, but the certificate has an ECDSA key (P-256), which no SSL 3.0 cipher suite uses"},
			nil,
		},
		{
			"SSL_NULL_WITH_NULL_NULL",
			&Config{Certificates: []Certificate{p.server}, CipherSuites: []uint16{SSL_NULL_WITH_NULL_NULL}},
			[]string{"SSL_NULL_WITH_NULL_NULL is the state before the first handshake, not a suite a handshake can agree on"},
			nil,
		},
		{
			"unknown suite and a Fortezza suite with an RSA certificate",
			&Config{Certificates: []Certificate{p.server}, CipherSuites: []uint16{0x1234, SSL_FORTEZZA_KEA_WITH_RC4_128_SHA}},
			[]string{"the FORTEZZA_KEA suites (SSL_FORTEZZA_KEA_WITH_RC4_128_SHA) need a Fortezza card with its KEA certificate", "is not an SSL 3.0 cipher suite"},
			nil,
		},
		{
			"DH_DSS with a DSA (not DH) certificate",
			&Config{Certificates: []Certificate{l.dsaServer}, CipherSuites: []uint16{SSL_DH_DSS_WITH_3DES_EDE_CBC_SHA}},
			[]string{"need a DH certificate signed with DSA, with its DH key, but the certificate has a DSA key (1024 bits)"},
			nil,
		},
		{
			"no certificate",
			&Config{CipherSuites: []uint16{SSL_RSA_WITH_RC4_128_SHA}},
			[]string{"but no certificate is configured"},
			nil,
		},
		{
			"no cipher suite",
			&Config{Certificates: []Certificate{p.server}, CipherSuites: []uint16{}},
			[]string{"no cipher suite is enabled"},
			nil,
		},
		{
			"some servable: only those listed",
			&Config{Certificates: []Certificate{p.server}, CipherSuites: []uint16{SSL_DHE_DSS_WITH_3DES_EDE_CBC_SHA, SSL_DHE_RSA_WITH_3DES_EDE_CBC_SHA, SSL_RSA_WITH_RC4_128_MD5}},
			nil,
			[]uint16{SSL_DHE_RSA_WITH_3DES_EDE_CBC_SHA, SSL_RSA_WITH_RC4_128_MD5},
		},
		{
			"anonymous suites need no certificate",
			&Config{CipherSuites: []uint16{SSL_DH_anon_WITH_RC4_128_MD5}},
			nil,
			[]uint16{SSL_DH_anon_WITH_RC4_128_MD5},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckServerConfig(tc.config)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("CheckServerConfig: %v", err)
				}
			} else {
				if err == nil {
					t.Fatal("CheckServerConfig accepted the configuration")
				}
				for _, w := range tc.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q\nlacks %q", err, w)
					}
				}
				if strings.Count(err.Error(), "ssl:") != 1 || strings.Contains(err.Error(), "\n") {
					t.Errorf("error %q is not one line with one prefix", err)
				}
			}
			if got := tc.config.ServableSuites(); tc.suites != nil && !slices.Equal(got, tc.suites) || tc.want != nil && len(got) != 0 {
				t.Errorf("ServableSuites = %v", got)
			}
		})
	}
}

// testCA issues test certificates for keys of any type from the RSA test CA.
type testCA struct{ p *testPKI }

func (ca *testCA) certificate(key crypto.Signer) (Certificate, error) {
	tmpl := &x509.Certificate{SerialNumber: ca.p.caCert.SerialNumber, DNSNames: []string{"localhost"},
		NotBefore: ca.p.caCert.NotBefore, NotAfter: ca.p.caCert.NotAfter, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.p.caCert, key.Public(), ca.p.caKey)
	if err != nil {
		return Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	return Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, err
}

// decryptOnly hides every method of an RSA key but Decrypt, as a token key
// that may only unwrap does, and reports no public half.
type decryptOnly struct{ k *rsa.PrivateKey }

func (d decryptOnly) Public() crypto.PublicKey { return nil }
func (d decryptOnly) Decrypt(r io.Reader, msg []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	return d.k.Decrypt(r, msg, opts)
}

// TestCheckKeyPair: every kind of key against its own certificate and a
// stranger's.
func TestCheckKeyPair(t *testing.T) {
	p, l, f := testCerts(t), legacyCerts(t), testFortezzaPKI(t)
	other := mustKey(t, 2048)
	with := func(c Certificate, key token.Key) *Certificate {
		c.PrivateKey = key
		return &c
	}
	// A card that reports the certificate's Y but holds another x: only
	// the test exchange can tell.
	stranger, err := kea.GenerateKey(nil, &f.server.KEA.Params)
	if err != nil {
		t.Fatal(err)
	}
	stranger.Y = f.server.KEA.Y
	lyingCard := &token.SoftwareFortezzaCard{KEA: stranger}
	for _, tc := range []struct {
		name string
		cert *Certificate
		want string // "" for a match
	}{
		{"RSA", &p.server, ""},
		{"RSA, another key", with(p.server, other), "does not match"},
		{"RSA decrypt-only (test decryption)", with(p.server, decryptOnly{p.serverKey}), ""},
		{"RSA decrypt-only, another key", with(p.server, decryptOnly{other}), "cannot decrypt"},
		{"DSA (test signature)", &l.dsaServer, ""},
		{"DSA, an RSA key", with(l.dsaServer, p.serverKey), "does not match"},
		{"DSA, another DSA key", with(l.dsaServer, newDSAKey(t)), "does not match"},
		{"fixed DH (test agreement)", &l.dhRSA, ""},
		{"fixed DH, another DH key", with(l.dhRSA, l.dhClientRSA.PrivateKey), "does not match"},
		{"Fortezza card (test KEA exchange)", &f.serverCert, ""},
		{"Fortezza, another card", with(f.serverCert, f.client), "a different KEA public value"},
		{"Fortezza, a card reporting the certificate's Y", with(f.serverCert, lyingCard), "test KEA exchange gives a different key"},
		{"no key", with(p.server, nil), "no private key"},
		{"empty chain", &Certificate{PrivateKey: other}, "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckKeyPair(tc.cert)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("CheckKeyPair = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestCheckKeyPairMismatchedDSAPublic: a token that reports the
// certificate's Y for a DSA key (copied from the certificate, as backends
// do when the private object lacks it) is still caught, by the signature.
func TestCheckKeyPairMismatchedDSAPublic(t *testing.T) {
	l := legacyCerts(t)
	k := newDSAKey(t)
	k.PrivateKey.PublicKey = *l.dsaServer.Leaf.PublicKey.(*dsa.PublicKey)
	if err := CheckKeyPair(&Certificate{Certificate: l.dsaServer.Certificate, PrivateKey: k}); err == nil || !strings.Contains(err.Error(), "test signature") {
		t.Fatalf("CheckKeyPair = %v, want the test signature to fail", err)
	}
}

// TestX509KeyPair: the PEM pair loads when it matches and is refused, as by
// crypto/tls, when it does not.
func TestX509KeyPair(t *testing.T) {
	p := testCerts(t)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.server.Certificate[0]})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(p.serverKey)})
	cert, err := X509KeyPair(certPEM, keyPEM)
	if err != nil || cert.Leaf == nil || len(cert.Certificate) != 1 {
		t.Fatalf("X509KeyPair: %v", err)
	}
	otherPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(mustKey(t, 1024))})
	if _, err := X509KeyPair(certPEM, otherPEM); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("mismatched pair: %v", err)
	}
	if _, err := X509KeyPair(keyPEM, keyPEM); err == nil || !strings.Contains(err.Error(), "no CERTIFICATE") {
		t.Fatalf("no certificate: %v", err)
	}
}
