//go:build linux

package integration

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/tokenssl/tokenssl/integration/interop"
	"github.com/tokenssl/tokenssl/internal/ssltest"
	"github.com/tokenssl/tokenssl/softhsm/softhsmtest"
	"github.com/tokenssl/tokenssl/ssl"
)

// Which of the 27 non-Fortezza suites each independent peer speaks at SSL
// 3.0, as found by running them (see the note on each). A suite a peer
// lacks is listed in the matrix as such, never silently skipped.
var (
	// zcrypto's SSL 3.0 code: RSA and its export variants, DHE_RSA, and
	// the two anonymous export suites; no NULL, no single DES with RSA, no
	// IDEA, no DSS keys, no fixed DH (probed: "unimplemented cipher suite",
	// "unsupported type of public key: *dsa.PublicKey").
	zcryptoSuites = map[uint16]bool{0x0003: true, 0x0004: true, 0x0005: true, 0x0006: true, 0x0008: true,
		0x000A: true, 0x0014: true, 0x0015: true, 0x0016: true, 0x0017: true, 0x0019: true}
	// As servers the peers do less: zcrypto's server sends a Certificate
	// even on an anonymous suite (our client refuses: unexpected_message),
	// and selfserv here holds an RSA certificate only (no DSS).
	zcryptoServerSuites = map[uint16]bool{0x0003: true, 0x0004: true, 0x0005: true, 0x0006: true, 0x0008: true,
		0x000A: true, 0x0014: true, 0x0015: true, 0x0016: true}
	nssServerSuites = map[uint16]bool{0x0001: true, 0x0002: true, 0x0004: true, 0x0005: true, 0x0009: true,
		0x000A: true, 0x0015: true, 0x0016: true}
	// zcrypto's server sends its 2048-bit DHE group on the DHE_RSA export
	// suite; Appendix C limits export groups to 512 bits, and our client
	// refuses. The row checks that refusal.
	zcryptoServerDeviates = map[uint16]string{0x0014: "ServerKeyExchange: 2048-bit DH group on an export suite"}
	// NSS 3.87: RSA NULL/RC4/DES/3DES, DHE_DSS and DHE_RSA; export suites,
	// IDEA, fixed DH and anonymous DH were removed from NSS (probed:
	// tstclnt -c refuses them).
	nssSuites = map[uint16]bool{0x0001: true, 0x0002: true, 0x0004: true, 0x0005: true, 0x0009: true,
		0x000A: true, 0x0012: true, 0x0013: true, 0x0015: true, 0x0016: true}
)

type keySet struct {
	name string
	pki  *ssltest.PKI
}

// TestSuiteMatrix: all 27 suites (0x0001–0x001B) × {software keys, keys on
// SoftHSM} × {our client ↔ our server with client authentication, zcrypto
// and NSS clients against our server, our client against zcrypto's and
// NSS's servers where they speak the suite}. Every run echoes data; our own
// pairs also resume. The matrix is printed.
func TestSuiteMatrix(t *testing.T) {
	ns := interop.NewNamespace(t)
	interop.EnsureNSS(t)
	softPKI, err := ssltest.NewPKI(ssltest.SoftwareKeys{}, "localhost")
	if err != nil {
		t.Fatal(err)
	}
	tok := softhsmtest.NewToken(t)
	backend, err := tok.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { backend.Close() })
	tokenPKI, err := ssltest.NewPKI(ssltest.TokenKeys{Token: tok, Backend: backend}, "localhost")
	if err != nil {
		t.Fatal(err)
	}
	keys := []keySet{{"software", softPKI}, {"softhsm", tokenPKI}}

	// The peers' own server certificate (RSA, software: it is theirs).
	tc := interop.NewTestCert(t)
	serverDB := interop.NSSDB(t, tc.CertPEM, tc.KeyPEM, "server")

	results := map[string]string{}
	record := func(id uint16, keys, peer, result string) {
		results[fmt.Sprintf("%04X|%-8s|%s", id, keys, peer)] = result
	}
	defer func() {
		var lines []string
		for k, v := range results {
			parts := strings.SplitN(k, "|", 3)
			var id uint16
			fmt.Sscanf(parts[0], "%04X", &id)
			lines = append(lines, fmt.Sprintf("%-40s %-8s %-26s %s", ssl.CipherSuiteName(id), parts[1], parts[2], v))
		}
		sort.Strings(lines)
		t.Logf("suite matrix (%d runs):\n%-40s %-8s %-26s %s\n%s", len(lines), "suite", "keys", "peer", "result", strings.Join(lines, "\n"))
	}()

	data := []byte(strings.Repeat("matrix ", 500))
	for id := uint16(0x0001); id <= 0x001B; id++ {
		name := ssl.CipherSuiteName(id)
		anon := strings.Contains(name, "_anon_")
		for _, ks := range keys {
			ks := ks
			t.Run(fmt.Sprintf("%s/%s/ours", name, ks.name), func(t *testing.T) {
				sc := &ssl.Config{Certificates: ks.pki.ServerCerts, CipherSuites: []uint16{id}}
				cc := &ssl.Config{RootCAs: ks.pki.Roots, ServerName: "localhost", CipherSuites: []uint16{id}, ClientSessionCache: &oneSession{}}
				auth := "no client auth (anonymous)"
				if !anon {
					sc.ClientAuth, sc.ClientCAs = ssl.RequireAndVerifyClientCert, ks.pki.Roots
					cc.Certificates = ks.pki.ClientCerts
					auth = "client auth"
				}
				for i, resume := range []bool{false, true} {
					cst, sst, err := pipePair(t, cc, sc, data)
					if err != nil || cst.DidResume != resume || cst.CipherSuite != id {
						record(id, ks.name, "ours <-> ours", "FAIL")
						t.Fatalf("connection %d: %v (resumed %v)", i, err, cst.DidResume)
					}
					if !anon && !resume && len(sst.PeerCertificates) == 0 {
						t.Fatal("client was not authenticated")
					}
				}
				record(id, ks.name, "ours <-> ours", "ok: echo, resumed, "+auth)
			})
			t.Run(fmt.Sprintf("%s/%s/zcrypto-client", name, ks.name), func(t *testing.T) {
				if !zcryptoSuites[id] {
					record(id, ks.name, "zcrypto client -> ours", "peer lacks suite")
					return
				}
				sc := &ssl.Config{Certificates: ks.pki.ServerCerts, CipherSuites: []uint16{id}}
				srv := startOurServer(t, ns, sc, echoUntilEOF)
				r := interop.RunZcryptoClient(t, ns, interop.ZcryptoClientConfig{Addr: srv.Addr, Suites: []uint16{id}, Payload: data, PlainHello: true})
				if _, err := srv.next(t); err != nil || r.ExitCode != 0 || len(r.Handshakes) != 1 || r.Handshakes[0].Suite != id ||
					!bytes.Equal([]byte(r.Stdout), data) {
					record(id, ks.name, "zcrypto client -> ours", "FAIL")
					t.Fatalf("server %v\n%s", err, r)
				}
				record(id, ks.name, "zcrypto client -> ours", "ok: echo")
			})
			t.Run(fmt.Sprintf("%s/%s/tstclnt", name, ks.name), func(t *testing.T) {
				if !nssSuites[id] {
					record(id, ks.name, "NSS tstclnt -> ours", "peer lacks suite")
					return
				}
				sc := &ssl.Config{Certificates: ks.pki.ServerCerts, CipherSuites: []uint16{id}}
				srv := startOurServer(t, ns, sc, answerRequest)
				req := interop.SelfservRequest(string(data))
				r := interop.RunNSSClient(t, ns, interop.NSSClientConfig{Addr: srv.Addr, Suites: []uint16{id}, Payload: req})
				st, err := srv.next(t)
				if err != nil || r.ExitCode != 0 || st.CipherSuite != id || !bytes.Equal([]byte(r.Stdout), req) {
					record(id, ks.name, "NSS tstclnt -> ours", "FAIL")
					t.Fatalf("server %v\n%s", err, r)
				}
				record(id, ks.name, "NSS tstclnt -> ours", "ok: echo")
			})
		}
		// Our client against the peers' servers: the peers hold their own
		// keys, so the key dimension does not apply here.
		t.Run(fmt.Sprintf("%s/zcrypto-server", name), func(t *testing.T) {
			if !zcryptoServerSuites[id] {
				record(id, "-", "ours -> zcrypto server", "peer lacks suite")
				return
			}
			zs := interop.StartZcryptoServer(t, ns, interop.ZcryptoServerConfig{CertFile: tc.CertFile, KeyFile: tc.KeyFile, Suites: []uint16{id}})
			cc := &ssl.Config{RootCAs: rootsOf(tc.Cert), ServerName: "localhost", CipherSuites: []uint16{id}}
			st, answer, err := ourClientExchange(ns, zs.Addr, cc, data, false)
			if why, ok := zcryptoServerDeviates[id]; ok {
				if err == nil || !strings.Contains(err.Error(), why) {
					record(id, "-", "ours -> zcrypto server", "FAIL")
					t.Fatalf("want our client to refuse (%s), got %v", why, err)
				}
				record(id, "-", "ours -> zcrypto server", "refused as required: peer uses a 2048-bit group on an export suite")
				return
			}
			if err != nil || st.CipherSuite != id || !bytes.Equal(answer, data) {
				record(id, "-", "ours -> zcrypto server", "FAIL")
				t.Fatalf("%v\n%s", err, zs.Output())
			}
			record(id, "-", "ours -> zcrypto server", "ok: echo")
		})
		t.Run(fmt.Sprintf("%s/selfserv", name), func(t *testing.T) {
			if !nssServerSuites[id] {
				record(id, "-", "ours -> NSS selfserv", "peer lacks suite (as configured)")
				return
			}
			ss := interop.StartNSSServer(t, ns, interop.NSSServerConfig{DB: serverDB, Nickname: "server", Suites: []uint16{id}})
			cc := &ssl.Config{RootCAs: rootsOf(tc.Cert), ServerName: "localhost", CipherSuites: []uint16{id}}
			req := interop.SelfservRequest(string(data))
			st, answer, err := ourClientExchange(ns, ss.Addr, cc, req, true)
			if err != nil || st.CipherSuite != id || !interop.SelfservEcho(answer, req) {
				record(id, "-", "ours -> NSS selfserv", "FAIL")
				t.Fatalf("%v\n%s", err, ss.Output())
			}
			record(id, "-", "ours -> NSS selfserv", "ok: echo")
		})
	}
}
