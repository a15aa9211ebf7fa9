//go:build linux

package integration

import (
	"bytes"
	"crypto/dsa"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tokenssl/tokenssl/integration/interop"
	"github.com/tokenssl/tokenssl/ssl"
)

// The RSA suites of the engine core and which independent peer speaks each
// at SSL 3.0 (zcrypto has no NULL suites and no DES_CBC_SHA).
var coreSuites = []struct {
	id      uint16
	zcrypto bool
	nss     bool
}{
	{ssl.SSL_RSA_WITH_NULL_MD5, false, true},
	{ssl.SSL_RSA_WITH_NULL_SHA, false, true},
	{ssl.SSL_RSA_WITH_RC4_128_MD5, true, true},
	{ssl.SSL_RSA_WITH_RC4_128_SHA, true, true},
	{ssl.SSL_RSA_WITH_DES_CBC_SHA, false, true},
	{ssl.SSL_RSA_WITH_3DES_EDE_CBC_SHA, true, true},
}

// matrix collects (suite, peer, direction, result) rows to print at the end.
type matrix struct {
	rows []string
}

func (m *matrix) add(suite uint16, peer, result string) {
	m.rows = append(m.rows, fmt.Sprintf("%-36s %-32s %s", ssl.CipherSuiteName(suite), peer, result))
}

func (m *matrix) print(t *testing.T) {
	t.Logf("\n%-36s %-32s %s\n%s", "suite", "peer", "result", strings.Join(m.rows, "\n"))
}

func payload(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	// Hex keeps it line-free for selfserv and tstclnt's request framing.
	return []byte(hex.EncodeToString(b))
}

func TestInteropZcrypto(t *testing.T) {
	ns := interop.NewNamespace(t)
	tc := interop.NewTestCert(t)
	var m matrix
	defer m.print(t)
	for _, s := range coreSuites {
		if !s.zcrypto {
			m.add(s.id, "zcrypto", "skipped: zcrypto lacks this suite at SSL 3.0")
			continue
		}
		t.Run("zcrypto-client/"+ssl.CipherSuiteName(s.id), func(t *testing.T) {
			config := &ssl.Config{Certificates: []ssl.Certificate{softCertificate(tc)}, CipherSuites: []uint16{s.id}}
			srv := startOurServer(t, ns, config, echoUntilEOF)
			data := payload(3000)
			r := interop.RunZcryptoClient(t, ns, interop.ZcryptoClientConfig{
				Addr: srv.Addr, Suites: []uint16{s.id}, Payload: data, Resume: true, CAFile: tc.CertFile, ServerName: "localhost",
			})
			if r.ExitCode != 0 || len(r.Handshakes) != 2 {
				m.add(s.id, "zcrypto client -> ours", "FAIL")
				t.Fatalf("zcrypto client failed:\n%s", r)
			}
			first, err := srv.next(t)
			if err != nil {
				t.Fatal(err)
			}
			second, err := srv.next(t)
			if err != nil {
				t.Fatal(err)
			}
			if first.CipherSuite != s.id || first.DidResume || !second.DidResume || !r.Handshakes[1].Resumed ||
				!bytes.Equal(first.SessionID, second.SessionID) {
				m.add(s.id, "zcrypto client -> ours", "FAIL")
				t.Fatalf("resumption: ours %+v / %+v; zcrypto %v", first, second, r.Handshakes)
			}
			if !bytes.Equal([]byte(r.Stdout), append(append([]byte{}, data...), data...)) {
				t.Fatalf("echo mismatch: %d bytes back", len(r.Stdout))
			}
			m.add(s.id, "zcrypto client -> ours", "ok, echo, resumed")
		})
		t.Run("ours->zcrypto-server/"+ssl.CipherSuiteName(s.id), func(t *testing.T) {
			zs := interop.StartZcryptoServer(t, ns, interop.ZcryptoServerConfig{CertFile: tc.CertFile, KeyFile: tc.KeyFile, Suites: []uint16{s.id}})
			config := &ssl.Config{RootCAs: rootsOf(tc.Cert), ServerName: "localhost", CipherSuites: []uint16{s.id},
				ClientSessionCache: ssl.NewLRUClientSessionCache(4)}
			data := payload(3000)
			for i := 0; i < 2; i++ {
				st, answer, err := ourClientExchange(ns, zs.Addr, config, data, false)
				if err != nil || !bytes.Equal(answer, data) || st.CipherSuite != s.id {
					m.add(s.id, "ours -> zcrypto server", "FAIL")
					t.Fatalf("connection %d: %v (suite %s)\n%s", i, err, ssl.CipherSuiteName(st.CipherSuite), zs.Output())
				}
				// zcrypto's SSL 3.0 server sends an empty session id: it
				// cannot resume (tickets only), so neither connection does.
				if st.DidResume {
					t.Fatal("resumed against a server that issues no session id")
				}
			}
			if hs, err := zs.WaitHandshakes(2, 10*time.Second); err != nil || len(hs) != 2 {
				t.Fatalf("zcrypto server saw %v: %v", hs, err)
			}
			m.add(s.id, "ours -> zcrypto server", "ok, echo (server cannot resume)")
		})
	}
}

func TestInteropNSS(t *testing.T) {
	ns := interop.NewNamespace(t)
	interop.EnsureNSS(t)
	tc := interop.NewTestCert(t)
	serverDB := interop.NSSDB(t, tc.CertPEM, tc.KeyPEM, "server")
	trustDB := interop.NSSDB(t, tc.CertPEM, nil, "server")
	var m matrix
	defer m.print(t)
	for _, s := range coreSuites {
		t.Run("tstclnt->ours/"+ssl.CipherSuiteName(s.id), func(t *testing.T) {
			config := &ssl.Config{Certificates: []ssl.Certificate{softCertificate(tc)}, CipherSuites: []uint16{s.id}}
			srv := startOurServer(t, ns, config, answerRequest)
			req := interop.SelfservRequest(string(payload(2000)))
			r := interop.RunNSSClient(t, ns, interop.NSSClientConfig{Addr: srv.Addr, Suites: []uint16{s.id}, Payload: req, DB: trustDB, ServerName: "localhost"})
			st, err := srv.next(t)
			if err != nil || r.ExitCode != 0 || st.CipherSuite != s.id || !bytes.Equal([]byte(r.Stdout), req) {
				m.add(s.id, "tstclnt -> ours", "FAIL")
				t.Fatalf("server: %v %+v\n%s", err, st, r)
			}
			m.add(s.id, "tstclnt -> ours", "ok, echo")
		})
		t.Run("ours->selfserv/"+ssl.CipherSuiteName(s.id), func(t *testing.T) {
			ss := interop.StartNSSServer(t, ns, interop.NSSServerConfig{DB: serverDB, Nickname: "server", Suites: []uint16{s.id}})
			config := &ssl.Config{RootCAs: rootsOf(tc.Cert), ServerName: "localhost", CipherSuites: []uint16{s.id},
				ClientSessionCache: ssl.NewLRUClientSessionCache(4)}
			req := interop.SelfservRequest(string(payload(2000)))
			var states []ssl.ConnectionState
			for i := 0; i < 2; i++ {
				st, answer, err := ourClientExchange(ns, ss.Addr, config, req, true)
				if err != nil || !interop.SelfservEcho(answer, req) {
					m.add(s.id, "ours -> selfserv", "FAIL")
					t.Fatalf("connection %d: %v\n%s", i, err, ss.Output())
				}
				states = append(states, st)
			}
			hs, err := ss.WaitHandshakes(2, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if states[0].DidResume || !states[1].DidResume || !hs[1].Resumed || hs[1].Suite != s.id {
				m.add(s.id, "ours -> selfserv", "FAIL (resumption)")
				t.Fatalf("resumption: ours %v %v; selfserv %v", states[0].DidResume, states[1].DidResume, hs)
			}
			m.add(s.id, "ours -> selfserv", "ok, echo, resumed")
		})
	}
	// tstclnt resumes only with -L and without -c (it crashes otherwise):
	// restrict our server to one suite at a time instead.
	for _, id := range []uint16{ssl.SSL_RSA_WITH_RC4_128_MD5, ssl.SSL_RSA_WITH_RC4_128_SHA, ssl.SSL_RSA_WITH_3DES_EDE_CBC_SHA} {
		t.Run("tstclnt-resume->ours/"+ssl.CipherSuiteName(id), func(t *testing.T) {
			config := &ssl.Config{Certificates: []ssl.Certificate{softCertificate(tc)}, CipherSuites: []uint16{id}}
			srv := startOurServer(t, ns, config, answerRequest)
			req := interop.SelfservRequest(string(payload(500)))
			r := interop.RunNSSClient(t, ns, interop.NSSClientConfig{Addr: srv.Addr, Payload: req, Connections: 2, DB: trustDB, ServerName: "localhost"})
			first, err1 := srv.next(t)
			second, err2 := srv.next(t)
			if err1 != nil || err2 != nil || r.ExitCode != 0 || first.DidResume || !second.DidResume ||
				!bytes.Equal(first.SessionID, second.SessionID) || len(r.Handshakes) != 2 || !r.Handshakes[1].Resumed {
				m.add(id, "tstclnt -L 2 -> ours", "FAIL")
				t.Fatalf("%v %v %+v %+v\n%s", err1, err2, first, second, r)
			}
			m.add(id, "tstclnt -L 2 -> ours", "ok, resumed")
		})
	}
}

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
	interop.NSSTrustClientCA(t, db, "client-ca", ca.Cert.Raw)
	// A DSA client key on the token too, certified by a DSA CA.
	pki := tokenPKI(t)
	interop.NSSTrustClientCA(t, db, "client-dsa-ca", pki.DSACA.Raw)
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
