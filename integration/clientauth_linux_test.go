//go:build linux

package integration

import (
	"crypto/dsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenssl/tokenssl/integration/interop"
	"github.com/tokenssl/tokenssl/ssl"
)

// NSS's selfserv requires a client certificate (-r -r) and so verifies our
// CertificateVerify — signed on a SoftHSM token — with code nobody here
// wrote. The CA of our client certificate is trusted in selfserv's
// database for client authentication ("T,,").
func TestInteropNSSRequiresTokenClientCertificate(t *testing.T) {
	ns := interop.NewNamespace(t)
	interop.EnsureNSS(t)
	ca := newTestCA(t)
	clientCert, _, _ := tokenRSA(t, ca, "client", x509.ExtKeyUsageClientAuth, 2)

	tc := interop.NewTestCert(t)
	db := interop.NSSDB(t, tc.CertPEM, tc.KeyPEM, "server")
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw}), 0o600)
	cmd := exec.Command("certutil", "-A", "-d", "sql:"+db, "-n", "client-ca", "-t", "T,,", "-a", "-i", caFile)
	cmd.Env = append(os.Environ(), "NSS_IGNORE_SYSTEM_POLICY=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("certutil: %v\n%s", err, out)
	}
	// A DSA client key on the token too, certified by a DSA CA.
	pki := tokenPKI(t)
	dsaCAFile := filepath.Join(t.TempDir(), "dsa-ca.pem")
	os.WriteFile(dsaCAFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: pki.DSACA.Raw}), 0o600)
	cmd = exec.Command("certutil", "-A", "-d", "sql:"+db, "-n", "client-dsa-ca", "-t", "T,,", "-a", "-i", dsaCAFile)
	cmd.Env = append(os.Environ(), "NSS_IGNORE_SYSTEM_POLICY=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("certutil: %v\n%s", err, out)
	}
	dsaClient := pki.ClientCerts[1]
	if _, ok := dsaClient.Leaf.PublicKey.(*dsa.PublicKey); !ok {
		t.Fatal("expected the DSA client certificate")
	}
	for _, c := range []struct {
		kind string
		cert ssl.Certificate
	}{{"RSA", clientCert}, {"DSA", dsaClient}} {
		for _, id := range []uint16{ssl.SSL_RSA_WITH_RC4_128_SHA, ssl.SSL_RSA_WITH_3DES_EDE_CBC_SHA, ssl.SSL_DHE_RSA_WITH_3DES_EDE_CBC_SHA} {
			clientCert := c.cert
			t.Run(c.kind+"/"+ssl.CipherSuiteName(id), func(t *testing.T) {
				ss := interop.StartNSSServer(t, ns, interop.NSSServerConfig{DB: db, Nickname: "server", Suites: []uint16{id}, Args: []string{"-r", "-r"}})
				cc := &ssl.Config{RootCAs: rootsOf(tc.Cert), ServerName: "localhost", CipherSuites: []uint16{id},
					Certificates: []ssl.Certificate{clientCert}}
				req := interop.SelfservRequest("authenticated by a key that never left the token")
				st, answer, err := ourClientExchange(ns, ss.Addr, cc, req, true)
				if err != nil || st.CipherSuite != id || !interop.SelfservEcho(answer, req) {
					t.Fatalf("%v\n%s", err, ss.Output())
				}
				// Without a certificate the same server refuses us.
				cc.Certificates = nil
				if _, _, err := ourClientExchange(ns, ss.Addr, cc, req, true); err == nil {
					t.Fatalf("selfserv -r -r accepted a client without a certificate\n%s", ss.Output())
				} else if !strings.Contains(err.Error(), "alert") {
					t.Logf("refused without certificate: %v", err)
				}
			})
		}
	}
}
