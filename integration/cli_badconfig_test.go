package integration

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenssl/tokenssl/softhsm/softhsmtest"
	"github.com/tokenssl/tokenssl/token/pkcs11"
)

// The configurations a server (or client) cannot work with are refused at
// start: one line on stderr, exactly as below, and exit status 1, before
// anything listens or connects. {dir} is the test's directory, {token}
// the SoftHSM token's label.
func TestCLIBadConfiguration(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	file := func(name string) string { return filepath.Join(dir, name) }

	rsaA, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsaB, _ := rsa.GenerateKey(rand.Reader, 1024)
	rsaC, _ := rsa.GenerateKey(rand.Reader, 2048)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalECPrivateKey(ec)
	writePEM(t, file("a.pem"), "CERTIFICATE", ca.issue(t, &rsaA.PublicKey, "localhost", x509.ExtKeyUsageServerAuth))
	writePEM(t, file("a.key"), "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaA))
	writePEM(t, file("b.key"), "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaB))
	writePEM(t, file("c.key"), "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaC))
	writePEM(t, file("ec.pem"), "CERTIFICATE", ca.issue(t, &ec.PublicKey, "localhost", x509.ExtKeyUsageServerAuth))
	writePEM(t, file("ec.key"), "EC PRIVATE KEY", ecDER)
	//lint:ignore SA1019 an encrypted traditional key file is what operators have
	enc, err := x509.EncryptPEMBlock(rand.Reader, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaA), []byte("secret"), x509.PEMCipherAES256)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(file("enc.key"), pem.EncodeToMemory(enc), 0o600)
	os.WriteFile(file("p8enc.key"), pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{0x30, 0x00}}), 0o600)

	// A token key, and beside it a second key whose stored certificate is
	// the first key's.
	_, tok, b := tokenRSA(t, ca, "localhost", x509.ExtKeyUsageServerAuth, 1)
	env := softhsmtest.Env(t)
	label := tok.Config().TokenLabel
	other, err := tok.GenerateRSA("other", nil, 1024)
	if err != nil {
		t.Fatal(err)
	}
	first, err := b.FindKey(pkcs11.KeySpec{Label: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	if err := tok.ImportCertificate("other", other.ID, ca.issue(t, first.(crypto.Signer).Public(), "other", x509.ExtKeyUsageServerAuth)); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(file("pin"), []byte(tok.UserPIN()+"\n"), 0o600)
	childEnv := []string{"SOFTHSM2_CONF=" + env.ConfigPath}
	tokenKey := func(keyLabel string, extra ...string) []string {
		return append([]string{"-pkcs11-module", env.ModulePath, "-token-label", label, "-key-label", keyLabel}, extra...)
	}

	const pinLine = "the token needs a PIN: use -pin-file, -pin-env or -pin-source (or run on a terminal to be prompted); without a login its private keys are hidden"
	for _, tc := range []struct {
		name string
		args []string
		want string // the one line on stderr
	}{
		{"key file of another key",
			[]string{"server", "-cert", file("a.pem"), "-key", file("b.key")},
			"tokenssl: server: -cert {dir}/a.pem and -key {dir}/b.key do not match: the certificate's key is RSA-2048, the private key RSA-1024"},
		{"key file of another key of the same size",
			[]string{"server", "-cert", file("a.pem"), "-key", file("c.key")},
			"tokenssl: server: -cert {dir}/a.pem and -key {dir}/c.key do not match: the certificate is for another RSA-2048 key"},
		{"key file of another algorithm",
			[]string{"server", "-cert", file("ec.pem"), "-key", file("a.key")},
			"tokenssl: server: -cert {dir}/ec.pem and -key {dir}/a.key do not match: the certificate's key is ECDSA P-256, the private key RSA-2048"},
		{"client key file of another key",
			[]string{"client", "-insecure", "-connect", "127.0.0.1:1", "-cert", file("a.pem"), "-key", file("b.key")},
			"tokenssl: client: -cert {dir}/a.pem and -key {dir}/b.key do not match: the certificate's key is RSA-2048, the private key RSA-1024"},
		{"token key with a certificate file of another key",
			append([]string{"server", "-cert", file("ec.pem")}, tokenKey("localhost", "-pin-file", file("pin"))...),
			"tokenssl: server: -cert {dir}/ec.pem and the token key do not match: the certificate's key is ECDSA P-256, the private key RSA-2048"},
		{"token key with the certificate of another key beside it",
			append([]string{"server"}, tokenKey("other", "-pin-file", file("pin"))...),
			"tokenssl: server: the token key and the certificate stored beside it do not match: the certificate's key is RSA-2048, the private key RSA-1024"},
		{"only DHE_DSS with an RSA certificate",
			[]string{"server", "-cert", file("a.pem"), "-key", file("a.key"), "-ciphers", "SSL_DHE_DSS_WITH_3DES_EDE_CBC_SHA,EDH-DSS-DES-CBC-SHA"},
			"tokenssl: server: -ciphers: no suite can be served with an RSA-2048 certificate: SSL_DHE_DSS_WITH_3DES_EDE_CBC_SHA, SSL_DHE_DSS_WITH_DES_CBC_SHA"},
		{"only fixed-DH suites with an RSA token key",
			append([]string{"server", "-ciphers", "DH-RSA-DES-CBC3-SHA"}, tokenKey("localhost", "-pin-file", file("pin"))...),
			"tokenssl: server: -ciphers: no suite can be served with an RSA-2048 certificate: SSL_DH_RSA_WITH_3DES_EDE_CBC_SHA"},
		{"an EC key and the default suites",
			[]string{"server", "-cert", file("ec.pem"), "-key", file("ec.key")},
			"tokenssl: server: none of the default cipher suites can be served with an ECDSA P-256 certificate: choose suites with -ciphers (tokenssl suites lists them)"},
		{"SSL_NULL_WITH_NULL_NULL",
			[]string{"server", "-cert", file("a.pem"), "-key", file("a.key"), "-ciphers", "SSL_NULL_WITH_NULL_NULL"},
			"tokenssl: server: -ciphers: no suite can be served with an RSA-2048 certificate: SSL_NULL_WITH_NULL_NULL (never negotiated by this build)"},
		{"unknown suite name",
			[]string{"server", "-cert", file("a.pem"), "-key", file("a.key"), "-ciphers", "RC4-MD5,RC4-MD4"},
			`tokenssl: -ciphers: unknown cipher suite "RC4-MD4" (tokenssl suites lists the names)`},
		{"token key without a PIN, stdin not a terminal",
			append([]string{"server"}, tokenKey("localhost")...),
			"tokenssl: server: " + pinLine},
		{"token key URI without a PIN",
			[]string{"server", "-key", "PKCS11:token=" + label + ";object=localhost?module-path=" + env.ModulePath},
			"tokenssl: server: " + pinLine},
		{"PIN file missing",
			append([]string{"server"}, tokenKey("localhost", "-pin-file", file("no-such-pin"))...),
			`tokenssl: server: token "{token}": read PIN: PIN file {dir}/no-such-pin: no such file or directory`},
		{"client token key without a PIN",
			append([]string{"client", "-insecure", "-connect", "127.0.0.1:1"}, tokenKey("localhost")...),
			"tokenssl: client: " + pinLine},
		{"encrypted key file (traditional)",
			[]string{"server", "-cert", file("a.pem"), "-key", file("enc.key")},
			"tokenssl: server: {dir}/enc.key: encrypted private key (RSA PRIVATE KEY): decrypt it with `openssl pkey -in FILE -out FILE.plain` and use the plain file"},
		{"encrypted key file (PKCS#8)",
			[]string{"server", "-cert", file("a.pem"), "-key", file("p8enc.key")},
			"tokenssl: server: {dir}/p8enc.key: encrypted private key (ENCRYPTED PRIVATE KEY): decrypt it with `openssl pkey -in FILE -out FILE.plain` and use the plain file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if args[0] == "server" {
				args = append([]string{"server", "-listen", "127.0.0.1:0"}, args[1:]...)
			}
			_, stderr, err := runCLI(t, childEnv, nil, 30*time.Second, args...) // stdin is not a terminal
			if errors.Is(err, errCLITimeout) {
				t.Fatalf("still running after 30s (it should have refused to start):\n%s", stderr)
			}
			want := strings.NewReplacer("{dir}", dir, "{token}", label).Replace(tc.want)
			if got := stderr; got != want+"\n" {
				t.Errorf("stderr:\n%s\nwant the one line:\n%s", got, want)
			}
			if code := exitCode(err); code != 1 {
				t.Errorf("exit status %d, want 1", code)
			}
			if strings.Contains(stderr, tok.UserPIN()) {
				t.Error("the PIN appears in the output")
			}
		})
	}
}
