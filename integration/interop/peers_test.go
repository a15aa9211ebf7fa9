//go:build linux

package interop

import (
	"bytes"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

// These tests prove the harness without tokenssl: the independent peers
// talk to each other at SSL 3.0 inside a private network namespace.

// rsaSuites are the classic SSL 3.0 suites every SSL 3.0 stack has.
var rsaSuites = []uint16{0x0004, 0x0005, 0x000A}

// sharedSuites are all SSL 3.0 suites both zcrypto and NSS implement with an
// RSA certificate: rsaSuites, the AES ones (RFC 3268) and DHE_RSA.
var sharedSuites = append(append([]uint16{}, rsaSuites...), 0x002F, 0x0035, 0x0015, 0x0016, 0x0033, 0x0039)

// nssOnlySuites are SSL 3.0 suites NSS has and zcrypto lacks.
var nssOnlySuites = []uint16{0x0001, 0x0002, 0x0009}

type fixture struct {
	cert     *TestCert
	serverDB string // key pair under nickname "server"
	clientDB string // the certificate, trusted
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	EnsureNSS(t)
	cert := NewTestCert(t)
	return &fixture{
		cert:     cert,
		serverDB: NSSDB(t, cert.CertPEM, cert.KeyPEM, "server"),
		clientDB: NSSDB(t, cert.CertPEM, nil, "tokenssl-test-ca"),
	}
}

func suiteLabel(id uint16) string {
	s, _ := SuiteByID(id)
	return fmt.Sprintf("%04X_%s", id, s.Name)
}

func checkHandshake(t *testing.T, who string, h Handshake, suite uint16, resumed bool) {
	t.Helper()
	if h.Suite != suite || h.Resumed != resumed {
		t.Errorf("%s handshake %v: want suite 0x%04X resumed=%t", who, h, suite, resumed)
	}
	if h.Version != "" && h.Version != "3.0" {
		t.Errorf("%s handshake %v: want SSL 3.0", who, h)
	}
}

// checkServerHandshakes waits for srv's first len(resumed) handshakes and
// checks each as checkHandshake does, the i-th resumed as resumed[i] says.
func checkServerHandshakes(t *testing.T, who string, srv interface {
	WaitHandshakes(int, time.Duration) ([]Handshake, error)
	Output() string
}, suite uint16, resumed ...bool) {
	t.Helper()
	sh, err := srv.WaitHandshakes(len(resumed), 5*time.Second)
	if err != nil {
		t.Fatalf("%v\n%s", err, srv.Output())
	}
	for i, r := range resumed {
		checkHandshake(t, who, sh[i], suite, r)
	}
}

func TestNamespaceIsolation(t *testing.T) {
	ns := NewNamespace(t)
	l, err := ns.Listen("tcp", "0.0.0.0:0") // every address of the namespace, like selfserv
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()

	if ok, err := ns.Listening(port); err != nil || !ok {
		t.Fatalf("Listening(%d) = %t, %v", port, ok, err)
	}
	c, err := ns.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatalf("dial inside the namespace: %v", err)
	}
	c.Close()
	(<-accepted).Close()

	// From the host's network namespace the port must be unreachable.
	if hc, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
		hc.Close()
	}
	select {
	case c := <-accepted:
		c.Close()
		t.Fatal("a connection from outside the namespace reached the listener")
	case <-time.After(200 * time.Millisecond):
	}

	// Programs started in the namespace see only its loopback interface.
	r := ns.Run(t, 5*time.Second, ProcOptions{}, "cat", "/proc/net/dev")
	var ifaces []string
	for _, line := range strings.Split(r.Stdout, "\n") {
		if name, _, ok := strings.Cut(line, ":"); ok && !strings.Contains(name, "|") {
			ifaces = append(ifaces, strings.TrimSpace(name))
		}
	}
	if r.ExitCode != 0 || len(ifaces) != 1 || ifaces[0] != "lo" {
		t.Fatalf("interfaces in the namespace: %q\n%s", ifaces, r)
	}
}

func TestParseHandshakes(t *testing.T) {
	out := "listening on 127.0.0.1:1\nhandshake ok suite=SSL_RSA_WITH_RC4_128_MD5 resumed=false session=ABCD\n" +
		"2024/01/01 handshake ok suite=DES-CBC3-SHA resumed=true session= extra=1\nhandshake failed: x\n"
	hs := ParseHandshakes(out)
	if len(hs) != 2 || hs[0].Suite != 0x0004 || hs[0].Resumed || hs[0].SessionID != "abcd" ||
		hs[1].Suite != 0x000A || !hs[1].Resumed || hs[1].SessionID != "" {
		t.Fatalf("ParseHandshakes: %v", hs)
	}
	for _, n := range []string{"RSA_WITH_RC4_128_SHA", "tls_rsa_with_rc4_128_sha", "0x0005", ":0005", "RC4-SHA"} {
		if s, ok := SuiteByName(n); !ok || s.ID != 0x0005 {
			t.Errorf("SuiteByName(%q) = %v, %t", n, s, ok)
		}
	}
}

// zcrypto client -> NSS selfserv, with a resumed second connection.
func TestZcryptoClientToNSSServer(t *testing.T) {
	fx := newFixture(t)
	BuildZcryptoPeer(t)
	ns := NewNamespace(t)
	for _, id := range sharedSuites {
		t.Run(suiteLabel(id), func(t *testing.T) {
			srv := StartNSSServer(t, ns, NSSServerConfig{DB: fx.serverDB, Nickname: "server", Suites: []uint16{id}})
			req := SelfservRequest("zcrypto to selfserv " + suiteLabel(id))
			r := RunZcryptoClient(t, ns, ZcryptoClientConfig{Addr: srv.Addr, Suites: []uint16{id},
				Payload: req, Resume: true, UntilEOF: true})
			t.Logf("%s\n%s", srv.CommandLine(), r.Command)
			if r.ExitCode != 0 || len(r.Handshakes) != 2 {
				t.Fatalf("zcrypto client:\n%s", r)
			}
			checkHandshake(t, "zcrypto client", r.Handshakes[0], id, false)
			checkHandshake(t, "zcrypto client", r.Handshakes[1], id, true)
			if sid := r.Handshakes[0].SessionID; sid == "" || r.Handshakes[1].SessionID != sid {
				t.Errorf("session ids: %q then %q", sid, r.Handshakes[1].SessionID)
			}
			answer := []byte(SelfservHeader + string(req) + SelfservTrailer)
			if r.Stdout != string(answer)+string(answer) {
				t.Errorf("selfserv answers: got %q", r.Stdout)
			}
			checkServerHandshakes(t, "selfserv", srv, id, false, true)
		})
	}
	t.Run("verify_ca", func(t *testing.T) {
		srv := StartNSSServer(t, ns, NSSServerConfig{DB: fx.serverDB, Nickname: "server", Suites: rsaSuites})
		req := SelfservRequest("zcrypto verifies selfserv")
		r := RunZcryptoClient(t, ns, ZcryptoClientConfig{Addr: srv.Addr, Payload: req, UntilEOF: true,
			CAFile: fx.cert.CertFile, ServerName: "localhost", PlainHello: true})
		if r.ExitCode != 0 || len(r.Handshakes) != 1 || !SelfservEcho([]byte(r.Stdout), req) {
			t.Fatalf("zcrypto client with -ca:\n%s", r)
		}
		if h := r.Handshakes[0]; h.Resumed || !slices.Contains(rsaSuites, h.Suite) {
			t.Errorf("zcrypto client handshake %v", h)
		}
	})
}

// NSS tstclnt -> zcrypto echo server.
func TestNSSClientToZcryptoServer(t *testing.T) {
	fx := newFixture(t)
	BuildZcryptoPeer(t)
	ns := NewNamespace(t)
	for _, id := range sharedSuites {
		t.Run(suiteLabel(id), func(t *testing.T) {
			payload := []byte("tstclnt to zcrypto " + suiteLabel(id) + "\n")
			srv := StartZcryptoServer(t, ns, ZcryptoServerConfig{CertFile: fx.cert.CertFile, KeyFile: fx.cert.KeyFile,
				Suites: []uint16{id}, CloseAfter: len(payload)})
			r := RunNSSClient(t, ns, NSSClientConfig{Addr: srv.Addr, Suites: []uint16{id}, Payload: payload})
			t.Logf("%s\n%s", srv.CommandLine(), r.Command)
			if r.ExitCode != 0 || r.Stdout != string(payload) || len(r.Handshakes) != 1 {
				t.Fatalf("tstclnt:\n%s", r)
			}
			checkHandshake(t, "tstclnt", r.Handshakes[0], id, false)
			checkServerHandshakes(t, "zcrypto server", srv, id, false)
		})
	}
	// tstclnt -L 2 offers the first session again; zcrypto's server cannot
	// resume SSL 3.0 sessions, so both handshakes are full ones.
	t.Run("reconnect_no_resume", func(t *testing.T) {
		payload := []byte("tstclnt reconnects\n")
		srv := StartZcryptoServer(t, ns, ZcryptoServerConfig{CertFile: fx.cert.CertFile, KeyFile: fx.cert.KeyFile,
			Suites: []uint16{0x000A}, CloseAfter: len(payload)})
		r := RunNSSClient(t, ns, NSSClientConfig{Addr: srv.Addr, Payload: payload, Connections: 2})
		if r.ExitCode != 0 || r.Stdout != strings.Repeat(string(payload), 2) || len(r.Handshakes) != 2 {
			t.Fatalf("tstclnt -L 2:\n%s", r)
		}
		checkHandshake(t, "tstclnt", r.Handshakes[1], 0x000A, false)
		checkServerHandshakes(t, "zcrypto server", srv, 0x000A, false, false)
	})
	// An echo server that waits for the client to hang up: the harness stops
	// tstclnt once the echo arrived.
	t.Run("stop_on_echo", func(t *testing.T) {
		payload := []byte("tstclnt never hangs up\n")
		srv := StartZcryptoServer(t, ns, ZcryptoServerConfig{CertFile: fx.cert.CertFile, KeyFile: fx.cert.KeyFile})
		r := RunNSSClient(t, ns, NSSClientConfig{Addr: srv.Addr, Payload: payload, StopWhenStdoutHas: string(payload), Timeout: 10 * time.Second})
		if !r.Stopped || r.Stdout != string(payload) || len(r.Handshakes) != 1 {
			t.Fatalf("tstclnt:\n%s", r)
		}
	})
	t.Run("verify_db", func(t *testing.T) {
		payload := []byte("tstclnt verifies zcrypto\n")
		srv := StartZcryptoServer(t, ns, ZcryptoServerConfig{CertFile: fx.cert.CertFile, KeyFile: fx.cert.KeyFile,
			Suites: []uint16{0x0005}, CloseAfter: len(payload)})
		r := RunNSSClient(t, ns, NSSClientConfig{Addr: srv.Addr, Payload: payload, DB: fx.clientDB})
		if r.ExitCode != 0 || r.Stdout != string(payload) || strings.Contains(r.Stderr, "Bad server certificate") {
			t.Fatalf("tstclnt with a trust db:\n%s", r)
		}
	})
}

// NSS tstclnt -> NSS selfserv, including the suites zcrypto lacks.
func TestNSSToNSS(t *testing.T) {
	fx := newFixture(t)
	ns := NewNamespace(t)
	for _, id := range append(append([]uint16{}, nssOnlySuites...), rsaSuites...) {
		t.Run(suiteLabel(id), func(t *testing.T) {
			srv := StartNSSServer(t, ns, NSSServerConfig{DB: fx.serverDB, Nickname: "server", Suites: []uint16{id}})
			req := SelfservRequest("tstclnt to selfserv " + suiteLabel(id))
			r := RunNSSClient(t, ns, NSSClientConfig{Addr: srv.Addr, Suites: []uint16{id}, Payload: req})
			t.Logf("%s\n%s", srv.CommandLine(), r.Command)
			if r.ExitCode != 0 || !SelfservEcho([]byte(r.Stdout), req) || len(r.Handshakes) != 1 {
				t.Fatalf("tstclnt:\n%s", r)
			}
			checkHandshake(t, "tstclnt", r.Handshakes[0], id, false)
			checkServerHandshakes(t, "selfserv", srv, id, false)
		})
	}
	// Resumption: tstclnt -L 2 (no -c, see NSSClientConfig.Suites), the
	// server restricted to one suite. NSS's client defaults do not offer
	// DES or NULL suites, so those cannot be resumed this way.
	for _, id := range rsaSuites {
		t.Run("resume_"+suiteLabel(id), func(t *testing.T) {
			srv := StartNSSServer(t, ns, NSSServerConfig{DB: fx.serverDB, Nickname: "server", Suites: []uint16{id}})
			req := SelfservRequest("tstclnt resumes " + suiteLabel(id))
			r := RunNSSClient(t, ns, NSSClientConfig{Addr: srv.Addr, Payload: req, Connections: 2, DB: fx.clientDB})
			t.Logf("%s\n%s", srv.CommandLine(), r.Command)
			answer := SelfservHeader + string(req) + SelfservTrailer
			if r.ExitCode != 0 || r.Stdout != answer+answer || len(r.Handshakes) != 2 {
				t.Fatalf("tstclnt -L 2:\n%s", r)
			}
			checkHandshake(t, "tstclnt", r.Handshakes[0], id, false)
			checkHandshake(t, "tstclnt", r.Handshakes[1], id, true)
			checkServerHandshakes(t, "selfserv", srv, id, false, true)
		})
	}
}

// zcrypto client -> zcrypto server: exercises the echo mode that tokenssl's
// server will see, and documents that zcrypto's server never resumes.
func TestZcryptoToZcrypto(t *testing.T) {
	cert := NewTestCert(t)
	BuildZcryptoPeer(t)
	ns := NewNamespace(t)
	srv := StartZcryptoServer(t, ns, ZcryptoServerConfig{CertFile: cert.CertFile, KeyFile: cert.KeyFile})
	payload := bytes.Repeat([]byte("0123456789abcdef"), 2048) // 32 KiB: several records
	for _, plain := range []bool{false, true} {
		t.Run(fmt.Sprintf("plain_hello=%t", plain), func(t *testing.T) {
			r := RunZcryptoClient(t, ns, ZcryptoClientConfig{Addr: srv.Addr, Suites: rsaSuites,
				Payload: payload, Resume: true, PlainHello: plain, CAFile: cert.CertFile})
			if r.ExitCode != 0 || r.Stdout != string(payload)+string(payload) || len(r.Handshakes) != 2 {
				t.Fatalf("zcrypto client:\n%s", r)
			}
			// The server's order wins: zcryptopeer's defaults start with RC4-SHA.
			checkHandshake(t, "zcrypto client", r.Handshakes[0], 0x0005, false)
			checkHandshake(t, "zcrypto client", r.Handshakes[1], 0x0005, false)
			if r.Handshakes[0].SessionID != "" {
				t.Errorf("zcrypto server sent session id %q", r.Handshakes[0].SessionID)
			}
		})
	}
}
