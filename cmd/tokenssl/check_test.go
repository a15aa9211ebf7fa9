package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenssl/tokenssl/internal/ssltest"
	"github.com/tokenssl/tokenssl/ssl"
)

type fixtures struct {
	dir                     string
	rsaA, rsaB, rsaC, rsaEC ssl.Certificate
}

func newFixtures(t *testing.T) *fixtures {
	t.Helper()
	ca, err := ssltest.NewCA("check CA")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	a, _ := rsa.GenerateKey(rand.Reader, 2048)
	b, _ := rsa.GenerateKey(rand.Reader, 1024)
	c, _ := rsa.GenerateKey(rand.Reader, 2048)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	write := func(name, typ string, der []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cert := func(key crypto.Signer) ssl.Certificate {
		der, err := ca.Issue(key.Public(), "localhost", x509.ExtKeyUsageServerAuth)
		if err != nil {
			t.Fatal(err)
		}
		leaf, _ := x509.ParseCertificate(der)
		return ssl.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
	}
	f := &fixtures{dir: dir, rsaA: cert(a), rsaB: cert(b), rsaC: cert(c), rsaEC: cert(ec)}
	write("a.pem", "CERTIFICATE", f.rsaA.Certificate[0])
	write("ec.pem", "CERTIFICATE", f.rsaEC.Certificate[0])
	write("a.key", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(a))
	write("b.key", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(b))
	write("c.key", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(c))
	ecDER, _ := x509.MarshalECPrivateKey(ec)
	write("ec.key", "EC PRIVATE KEY", ecDER)
	write("p8.key", "ENCRYPTED PRIVATE KEY", []byte{0x30, 0})
	return f
}

func TestCheckPair(t *testing.T) {
	f := newFixtures(t)
	mix := func(cert, key ssl.Certificate) *ssl.Certificate {
		return &ssl.Certificate{Certificate: cert.Certificate, Leaf: cert.Leaf, PrivateKey: key.PrivateKey}
	}
	for _, tt := range []struct {
		name string
		c    *ssl.Certificate
		want string
	}{
		{"RSA pair", &f.rsaA, ""},
		{"EC pair", &f.rsaEC, ""},
		{"same size, other key", mix(f.rsaA, f.rsaC), "P do not match: the certificate is for another RSA-2048 key"},
		{"other size", mix(f.rsaA, f.rsaB), "P do not match: the certificate's key is RSA-2048, the private key RSA-1024"},
		{"other algorithm", mix(f.rsaEC, f.rsaA), "P do not match: the certificate's key is ECDSA P-256, the private key RSA-2048"},
		{"no certificate", &ssl.Certificate{PrivateKey: f.rsaA.PrivateKey}, "P: no certificate"},
	} {
		err := checkPair(tt.c, "P")
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || err.Error() != tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
}

// checkServable asks the engine: exactly the configurations below start.
func TestCheckServable(t *testing.T) {
	f := newFixtures(t)
	for _, tt := range []struct {
		name     string
		certs    []ssl.Certificate
		suites   []uint16
		explicit bool
		want     string
	}{
		{"RSA suites, RSA certificate", []ssl.Certificate{f.rsaA}, []uint16{ssl.SSL_RSA_WITH_RC4_128_SHA}, true, ""},
		{"defaults, RSA certificate", []ssl.Certificate{f.rsaA}, nil, false, ""},
		{"DHE_RSA among DHE_DSS", []ssl.Certificate{f.rsaA}, []uint16{ssl.SSL_DHE_DSS_WITH_3DES_EDE_CBC_SHA, ssl.SSL_DHE_RSA_WITH_3DES_EDE_CBC_SHA}, true, ""},
		{"anonymous without a certificate", nil, []uint16{ssl.SSL_DH_anon_WITH_RC4_128_MD5}, true, ""},
		{"only DHE_DSS, RSA certificate", []ssl.Certificate{f.rsaA}, []uint16{ssl.SSL_DHE_DSS_WITH_3DES_EDE_CBC_SHA}, true,
			"-ciphers: no suite can be served with an RSA-2048 certificate: SSL_DHE_DSS_WITH_3DES_EDE_CBC_SHA"},
		{"fixed DH, RSA certificate", []ssl.Certificate{f.rsaA}, []uint16{ssl.SSL_DH_RSA_WITH_3DES_EDE_CBC_SHA, ssl.SSL_DH_DSS_WITH_DES_CBC_SHA}, true,
			"-ciphers: no suite can be served with an RSA-2048 certificate: SSL_DH_RSA_WITH_3DES_EDE_CBC_SHA, SSL_DH_DSS_WITH_DES_CBC_SHA"},
		{"Fortezza, RSA certificate", []ssl.Certificate{f.rsaA}, []uint16{ssl.SSL_FORTEZZA_KEA_WITH_RC4_128_SHA}, true,
			"-ciphers: no suite can be served with an RSA-2048 certificate: SSL_FORTEZZA_KEA_WITH_RC4_128_SHA"},
		{"EC certificate, defaults", []ssl.Certificate{f.rsaEC}, nil, false,
			"none of the default cipher suites can be served with an ECDSA P-256 certificate: choose suites with -ciphers (tokenssl suites lists them)"},
		{"NULL_NULL", []ssl.Certificate{f.rsaA}, []uint16{ssl.SSL_NULL_WITH_NULL_NULL}, true,
			"-ciphers: no suite can be served with an RSA-2048 certificate: SSL_NULL_WITH_NULL_NULL (never negotiated by this build)"},
		{"RSA suite, no certificate", nil, []uint16{ssl.SSL_RSA_WITH_RC4_128_MD5}, true,
			"-ciphers: no suite can be served without a certificate: SSL_RSA_WITH_RC4_128_MD5"},
	} {
		err := checkServable(&ssl.Config{Certificates: tt.certs, CipherSuites: tt.suites}, tt.explicit)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || err.Error() != tt.want) {
			t.Errorf("%s: %v\nwant %q", tt.name, err, tt.want)
		}
	}
}

// The server command with key files refuses these before it listens, in
// the operator's words (the integration table runs the binary, tokens
// included).
func TestRunServerRefuses(t *testing.T) {
	f := newFixtures(t)
	p := func(name string) string { return filepath.Join(f.dir, name) }
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-cert", p("a.pem"), "-key", p("c.key")},
			"server: -cert " + p("a.pem") + " and -key " + p("c.key") + " do not match: the certificate is for another RSA-2048 key"},
		{[]string{"-cert", p("a.pem"), "-key", p("a.key"), "-ciphers", "EDH-DSS-DES-CBC3-SHA"},
			"server: -ciphers: no suite can be served with an RSA-2048 certificate: SSL_DHE_DSS_WITH_3DES_EDE_CBC_SHA"},
		{[]string{"-cert", p("ec.pem"), "-key", p("ec.key")},
			"server: none of the default cipher suites can be served with an ECDSA P-256 certificate: choose suites with -ciphers (tokenssl suites lists them)"},
		{[]string{"-cert", p("a.pem"), "-key", p("p8.key")},
			"server: " + p("p8.key") + ": encrypted private key (ENCRYPTED PRIVATE KEY): decrypt it with `openssl pkey -in FILE -out FILE.plain` and use the plain file"},
		{[]string{"-cert", p("a.pem"), "-key", p("a.key"), "-ciphers", "AES999-SHA"},
			`-ciphers: unknown cipher suite "AES999-SHA" (tokenssl suites lists the names)`},
		{[]string{"-cert", p("a.pem"), "-key", p("a.key"), "-verify-client", "require"},
			"server: -verify-client require needs -client-ca"},
		{[]string{"-cert", p("a.pem")},
			"server: give -cert and -key, or a token key (-key-label/-key-id or -key pkcs11:…)"},
	} {
		err := runServer(append([]string{"-listen", "127.0.0.1:0"}, tt.args...))
		if err == nil {
			t.Fatalf("%q: the server started", tt.args)
		}
		if got := operatorMessage(err); got != tt.want {
			t.Errorf("%q:\n got %s\nwant %s", tt.args, got, tt.want)
		}
		for _, bad := range []string{"ssl: ", "pkcs11: ", "x509legacy", "LoadX509KeyPair", "token.", "ssl."} {
			if strings.Contains(operatorMessage(err), bad) {
				t.Errorf("%q: %q names Go (%q)", tt.args, operatorMessage(err), bad)
			}
		}
	}
}
