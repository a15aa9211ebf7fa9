//go:build linux

package integration

import (
	"bytes"
	"testing"

	"github.com/tokenssl/tokenssl/integration/interop"
	"github.com/tokenssl/tokenssl/ssl"
)

// NSS tstclnt renegotiates (-r 1) against our server with RFC 5746 on both
// sides: NSS signals it with the SCSV at SSL 3.0 and binds the second
// handshake with renegotiation_info.
func TestInteropNSSRenegotiation(t *testing.T) {
	ns := interop.NewNamespace(t)
	interop.EnsureNSS(t)
	tc := interop.NewTestCert(t)
	trustDB := interop.NSSDB(t, tc.CertPEM, nil, "server")
	config := &ssl.Config{Certificates: []ssl.Certificate{softCertificate(tc)},
		CipherSuites: []uint16{ssl.SSL_RSA_WITH_3DES_EDE_CBC_SHA}, Renegotiation: ssl.RenegotiateSecure}
	srv := startOurServer(t, ns, config, answerRequest)
	req := interop.SelfservRequest(string(payload(300)))
	r := interop.RunNSSClient(t, ns, interop.NSSClientConfig{Addr: srv.Addr, Payload: req, DB: trustDB, ServerName: "localhost",
		Args: []string{"-r", "1"}})
	if _, err := srv.next(t); err != nil {
		t.Fatal(err)
	}
	if r.ExitCode != 0 || !bytes.Equal([]byte(r.Stdout), req) {
		t.Fatalf("tstclnt -r 1 against our server:\n%s", r)
	}
	final := <-srv.Final
	if final.Renegotiations != 1 {
		t.Fatalf("server saw %d renegotiations, want 1\n%s", final.Renegotiations, r)
	}
}
