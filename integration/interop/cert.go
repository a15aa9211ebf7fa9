package interop

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestCert is a throwaway self-signed RSA-2048 server certificate, valid for
// localhost, 127.0.0.1 and ::1 (plus any extra DNS names), for one day.
type TestCert struct {
	Cert    *x509.Certificate
	Key     *rsa.PrivateKey
	CertPEM []byte // "CERTIFICATE"
	KeyPEM  []byte // "RSA PRIVATE KEY" (PKCS#1), which every peer here reads
	// CertFile and KeyFile hold CertPEM and KeyPEM in the test's temp dir.
	CertFile, KeyFile string
}

// NewTestCert generates a TestCert and writes its PEM files to t.TempDir().
func NewTestCert(t testing.TB, dnsNames ...string) *TestCert {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "localhost", Organization: []string{"tokenssl interop"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  false, // NSS refuses a CA certificate as SSL server certificate (SEC_ERROR_INADEQUATE_CERT_TYPE)
		DNSNames:              append([]string{"localhost"}, dnsNames...),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	tc := &TestCert{
		Cert:    cert,
		Key:     key,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}),
	}
	dir := t.TempDir()
	tc.CertFile = filepath.Join(dir, "cert.pem")
	tc.KeyFile = filepath.Join(dir, "key.pem")
	if err := os.WriteFile(tc.CertFile, tc.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tc.KeyFile, tc.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return tc
}
