//go:build linux

package integration

import (
	"bufio"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/tokenssl/tokenssl/integration/interop"
	"github.com/tokenssl/tokenssl/softhsm/softhsmtest"
)

// NSS tstclnt -> tokenssl server -forward (key on SoftHSM) -> a plain TCP
// backend, and back: the backend's answer and FIN come back to tstclnt as
// data and close_notify, and the backend then sees the connection end.
func TestOpsTstclntThroughForwarder(t *testing.T) {
	ns := interop.NewNamespace(t)
	interop.EnsureNSS(t)
	tk := newOpsToken(t)
	backend, err := ns.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Close()
	req := interop.SelfservRequest("GREETINGS FROM TSTCLNT")
	answer := "backend saw " + fmt.Sprint(len(req)) + " bytes\r\n"
	backendDone := serveOne(backend, func(c net.Conn) error {
		br := bufio.NewReader(c)
		var got strings.Builder
		for !strings.HasSuffix(got.String(), "\r\n\r\n") {
			line, err := br.ReadString('\n')
			got.WriteString(line)
			if err != nil {
				return fmt.Errorf("backend read %q: %v", got.String(), err)
			}
		}
		if got.String() != string(req) {
			return fmt.Errorf("backend got %q", got.String())
		}
		c.Write([]byte(answer))
		c.(*net.TCPConn).CloseWrite()
		_, err := io.Copy(io.Discard, c)
		return err
	})
	srv, addr, err := nsTokenssl(t, ns, interop.ProcOptions{Env: tk.env}, "server", append([]string{
		"-forward", backend.Addr().String(), "-log-format", "json", "-ciphers", "SSL_RSA_WITH_RC4_128_SHA,SSL_RSA_WITH_3DES_EDE_CBC_SHA"}, tk.flags...)...)
	if err != nil {
		t.Fatal(err)
	}
	r := interop.RunNSSClient(t, ns, interop.NSSClientConfig{Addr: addr, Payload: req, Suites: []uint16{0x000A}})
	if r.ExitCode != 0 || r.Stdout != answer || len(r.Handshakes) != 1 || r.Handshakes[0].Suite != 0x000A {
		t.Fatalf("tstclnt through the forwarder:\n%s\nserver:\n%s", r, srv.Stderr())
	}
	select {
	case err := <-backendDone:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the backend never saw the end of the connection")
	}
	l := waitLogLines(t, srv.Stderr, "connection", 1)[0]
	tok, _ := l["token"].(map[string]any)
	if l["suite"] != "SSL_RSA_WITH_3DES_EDE_CBC_SHA" || tok["label"] != tk.label || l["bytes_in"] != float64(len(req)) ||
		l["bytes_out"] != float64(len(answer)) || l["error"] != nil {
		t.Fatalf("forward line: %v", l)
	}
	if strings.Contains(srv.Output(), tk.pin) {
		t.Fatal("the PIN is in the log")
	}
}

// tokenssl client -listen in front of NSS selfserv, which requires a
// client certificate: a plain TCP client's request is carried over SSL
// 3.0 with the client key on SoftHSM, twice; the second tunnel connection
// resumes the first one's session.
func TestOpsTunnelToSelfserv(t *testing.T) {
	ns := interop.NewNamespace(t)
	interop.EnsureNSS(t)
	tc := interop.NewTestCert(t)
	ca := newTestCA(t)
	_, tok, _ := tokenRSA(t, ca, "tunnel client", x509.ExtKeyUsageClientAuth, 2)
	env := softhsmtest.Env(t)
	serverDB := interop.NSSDB(t, tc.CertPEM, tc.KeyPEM, "server")
	interop.NSSTrustClientCA(t, serverDB, "clientca", ca.Cert.Raw)
	ss := interop.StartNSSServer(t, ns, interop.NSSServerConfig{DB: serverDB, Nickname: "server", Args: []string{"-r", "-r"}})
	label := tok.Config().TokenLabel
	tun, addr, err := nsTokenssl(t, ns, interop.ProcOptions{Env: []string{"SOFTHSM2_CONF=" + env.ConfigPath}},
		"client", "-connect", ss.Addr, "-ca", tc.CertFile, "-servername", "localhost", "-log-format", "json",
		"-pkcs11-module", env.ModulePath, "-token-label", label, "-key-label", "tunnel client", "-pin", tok.UserPIN())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		req := interop.SelfservRequest(fmt.Sprintf("plaintext request %d", i))
		c, err := ns.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Write(req)
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		got, err := io.ReadAll(c) // the tunnel passes selfserv's close on as EOF
		c.Close()
		if err != nil || !interop.SelfservEcho(got, req) {
			t.Fatalf("connection %d through the tunnel: %v %q\ntunnel:\n%s\nselfserv:\n%s", i, err, got, tun.Stderr(), ss.Output())
		}
	}
	hs, err := ss.WaitHandshakes(2, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if hs[0].Resumed || !hs[1].Resumed || !strings.Contains(ss.Output(), "subject DN: CN=tunnel client") {
		t.Fatalf("selfserv handshakes: %v\n%s", hs, ss.Output())
	}
	lines := waitLogLines(t, tun.Stderr, "connection", 2)
	for i, l := range lines[:2] {
		tk, _ := l["token"].(map[string]any)
		if l["resumed"] != (i == 1) || l["backend"] != ss.Addr || tk["label"] != label || l["server_subject"] == nil || l["error"] != nil {
			t.Errorf("tunnel line %d: %v", i, l)
		}
	}
	if strings.Contains(tun.Output(), tok.UserPIN()) {
		t.Fatal("the PIN is in the log")
	}
}
