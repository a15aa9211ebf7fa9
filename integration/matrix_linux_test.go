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
	"github.com/tokenssl/tokenssl/ssl"
)

// Which suites each independent peer speaks at SSL 3.0, as found by running
// them (see the note on each). A suite a peer lacks is listed in the matrix
// as such, never silently skipped. The later suites (AES, Camellia, SEED,
// 0x0066, ECDHE_RSA) were probed with each peer in each direction against
// our client and server, one suite offered at a time; what worked is here,
// and ssl/cipher_suites.go records it per row (tokenssl suites prints it).
var (
	// zcrypto's SSL 3.0 code: RSA and its export variants, DHE_RSA, and
	// the two anonymous export suites; no NULL, no single DES with RSA, no
	// IDEA, no DSS keys, no fixed DH (probed: "unimplemented cipher suite",
	// "unsupported type of public key: *dsa.PublicKey"). Of the later
	// suites: AES with RSA and DHE_RSA, and ECDHE_RSA (with its usual
	// hello's extensions); no Camellia, SEED, DH_anon AES or DHE_DSS
	// (probed: "unimplemented cipher suite 65", ... and the DSA refusal).
	zcryptoSuites = map[uint16]bool{0x0003: true, 0x0004: true, 0x0005: true, 0x0006: true, 0x0008: true,
		0x000A: true, 0x0014: true, 0x0015: true, 0x0016: true, 0x0017: true, 0x0019: true,
		0x002F: true, 0x0033: true, 0x0035: true, 0x0039: true, 0xC011: true, 0xC012: true, 0xC013: true, 0xC014: true}
	// As servers the peers do less: zcrypto's server sends a Certificate
	// even on an anonymous suite (our client refuses: unexpected_message),
	// and selfserv here holds an RSA certificate only (no DSS), so of the
	// later suites it serves AES, Camellia and SEED with RSA and DHE_RSA
	// that NSS has (below); its DHE_DSS suites fail with handshake_failure.
	zcryptoServerSuites = map[uint16]bool{0x0003: true, 0x0004: true, 0x0005: true, 0x0006: true, 0x0008: true,
		0x000A: true, 0x0014: true, 0x0015: true, 0x0016: true,
		0x002F: true, 0x0033: true, 0x0035: true, 0x0039: true, 0xC011: true, 0xC012: true, 0xC013: true, 0xC014: true}
	nssServerSuites = map[uint16]bool{0x0001: true, 0x0002: true, 0x0004: true, 0x0005: true, 0x0009: true,
		0x000A: true, 0x0015: true, 0x0016: true,
		0x002F: true, 0x0033: true, 0x0035: true, 0x0039: true, 0x0041: true, 0x0045: true, 0x0084: true, 0x0088: true, 0x0096: true}
	// zcrypto's server sends its 2048-bit DHE group on the DHE_RSA export
	// suite; Appendix C limits export groups to 512 bits, and our client
	// refuses. The row checks that refusal.
	zcryptoServerDeviates = map[uint16]string{0x0014: "ServerKeyExchange: 2048-bit DH group on an export suite"}
	// NSS 3.87: RSA NULL/RC4/DES/3DES, DHE_DSS and DHE_RSA; export suites,
	// IDEA, fixed DH and anonymous DH were removed from NSS (probed:
	// tstclnt -c refuses them). Of the later suites at SSL 3.0: AES with
	// RSA, DHE_DSS, DHE_RSA; Camellia with RSA, DHE_DSS, DHE_RSA; SEED with
	// RSA only; DHE_DSS_WITH_RC4_128_SHA. No DH_DSS/DH_RSA/DH_anon
	// variants nor DHE SEED (tstclnt -c: SSL_ERROR_UNKNOWN_CIPHER_SUITE),
	// and no ECDHE at SSL 3.0 (tstclnt: SSL_ERROR_SSL_DISABLED when only
	// ECDHE is enabled: NSS allows ECC suites from TLS 1.0 on).
	nssSuites = map[uint16]bool{0x0001: true, 0x0002: true, 0x0004: true, 0x0005: true, 0x0009: true,
		0x000A: true, 0x0012: true, 0x0013: true, 0x0015: true, 0x0016: true,
		0x002F: true, 0x0032: true, 0x0033: true, 0x0035: true, 0x0038: true, 0x0039: true,
		0x0041: true, 0x0044: true, 0x0045: true, 0x0066: true, 0x0084: true, 0x0087: true, 0x0088: true, 0x0096: true}
)

func sortedSuites(m map[uint16]bool) []uint16 {
	var ids []uint16
	for id, ok := range m {
		if ok {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// tailOf keeps the end of a shared server's output for a failure message.
func tailOf(out string) string {
	if len(out) > 3000 {
		return "..." + out[len(out)-3000:]
	}
	return out
}

type keySet struct {
	name string
	pki  *ssltest.PKI
}

// TestSuiteMatrix: Appendix C's 27 suites (0x0001–0x001B) and the 35 later
// ones (AES, Camellia, SEED, 0x0066, ECDHE_RSA) × {software keys, keys on
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
	keys := []keySet{{"software", softPKI}, {"softhsm", tokenPKI(t)}}

	// The peers' own server certificate (RSA, software: it is theirs).
	tc := interop.NewTestCert(t)
	serverDB := interop.NSSDB(t, tc.CertPEM, tc.KeyPEM, "server")

	results := map[string]string{}
	record := func(id uint16, keys, peer, result string) {
		results[fmt.Sprintf("%04X|%-8s|%s", id, keys, peer)] = result
	}
	// cell runs one run of the matrix as the subtest sub and records its
	// result for suite id with keys against peer: what run returns (the
	// outcome, or why the peer cannot take part), FAIL if run fails the
	// test, or "skipped" if a helper it calls skips.
	cell := func(sub string, id uint16, keys, peer string, run func(t *testing.T) string) {
		t.Run(sub, func(t *testing.T) {
			result := "FAIL"
			defer func() {
				if t.Skipped() {
					result = "skipped"
				}
				record(id, keys, peer, result)
			}()
			if r := run(t); !t.Failed() {
				result = r
			}
		})
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

	// One zcrypto server and one selfserv for the whole matrix (started
	// here, so that they outlive the subtests), each enabling every suite
	// it serves; our client offers one suite a run.
	zs := interop.StartZcryptoServer(t, ns, interop.ZcryptoServerConfig{CertFile: tc.CertFile, KeyFile: tc.KeyFile, Suites: sortedSuites(zcryptoServerSuites)})
	ss := interop.StartNSSServer(t, ns, interop.NSSServerConfig{DB: serverDB, Nickname: "server", Suites: sortedSuites(nssServerSuites)})

	data := []byte(strings.Repeat("matrix ", 500))
	// Appendix C's 27 non-Fortezza suites and every later one.
	for _, id := range ssltest.CertificateSuites() {
		name := ssl.CipherSuiteName(id)
		ecdhe := strings.Contains(name, "_ECDHE_")
		anon := strings.Contains(name, "_anon_")
		for _, ks := range keys {
			ks := ks
			cell(fmt.Sprintf("%s/%s/ours", name, ks.name), id, ks.name, "ours <-> ours", func(t *testing.T) string {
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
						t.Fatalf("connection %d: %v (resumed %v)", i, err, cst.DidResume)
					}
					if !anon && !resume && len(sst.PeerCertificates) == 0 {
						t.Fatal("client was not authenticated")
					}
				}
				return "ok: echo, resumed, " + auth
			})
			cell(fmt.Sprintf("%s/%s/zcrypto-client", name, ks.name), id, ks.name, "zcrypto client -> ours", func(t *testing.T) string {
				if !zcryptoSuites[id] {
					return "peer lacks suite"
				}
				sc := &ssl.Config{Certificates: ks.pki.ServerCerts, CipherSuites: []uint16{id}}
				srv := startOurServer(t, ns, sc, echoUntilEOF)
				// ECDHE needs zcrypto's usual hello, with its extensions
				// (curves, point formats, renegotiation_info, ...).
				r := interop.RunZcryptoClient(t, ns, interop.ZcryptoClientConfig{Addr: srv.Addr, Suites: []uint16{id}, Payload: data, PlainHello: !ecdhe})
				if _, err := srv.next(t); err != nil || r.ExitCode != 0 || len(r.Handshakes) != 1 || r.Handshakes[0].Suite != id ||
					!bytes.Equal([]byte(r.Stdout), data) {
					t.Fatalf("server %v\n%s", err, r)
				}
				return "ok: echo"
			})
			cell(fmt.Sprintf("%s/%s/tstclnt", name, ks.name), id, ks.name, "NSS tstclnt -> ours", func(t *testing.T) string {
				if !nssSuites[id] {
					return "peer lacks suite"
				}
				sc := &ssl.Config{Certificates: ks.pki.ServerCerts, CipherSuites: []uint16{id}}
				srv := startOurServer(t, ns, sc, answerRequest)
				req := interop.SelfservRequest(string(data))
				r := interop.RunNSSClient(t, ns, interop.NSSClientConfig{Addr: srv.Addr, Suites: []uint16{id}, Payload: req})
				st, err := srv.next(t)
				if err != nil || r.ExitCode != 0 || st.CipherSuite != id || !bytes.Equal([]byte(r.Stdout), req) {
					t.Fatalf("server %v\n%s", err, r)
				}
				return "ok: echo"
			})
		}
		// Our client against the peers' servers: the peers hold their own
		// keys, so the key dimension does not apply here.
		cell(fmt.Sprintf("%s/zcrypto-server", name), id, "-", "ours -> zcrypto server", func(t *testing.T) string {
			if !zcryptoServerSuites[id] {
				return "peer lacks suite"
			}
			cc := &ssl.Config{RootCAs: rootsOf(tc.Cert), ServerName: "localhost", CipherSuites: []uint16{id}}
			st, answer, err := ourClientExchange(ns, zs.Addr, cc, data, false)
			if why, ok := zcryptoServerDeviates[id]; ok {
				if err == nil || !strings.Contains(err.Error(), why) {
					t.Fatalf("want our client to refuse (%s), got %v", why, err)
				}
				return "refused as required: peer uses a 2048-bit group on an export suite"
			}
			if err != nil || st.CipherSuite != id || !bytes.Equal(answer, data) {
				t.Fatalf("%v\n%s", err, tailOf(zs.Output()))
			}
			return "ok: echo"
		})
		cell(fmt.Sprintf("%s/selfserv", name), id, "-", "ours -> NSS selfserv", func(t *testing.T) string {
			if !nssServerSuites[id] {
				return "peer lacks suite (as configured)"
			}
			cc := &ssl.Config{RootCAs: rootsOf(tc.Cert), ServerName: "localhost", CipherSuites: []uint16{id}}
			req := interop.SelfservRequest(string(data))
			st, answer, err := ourClientExchange(ns, ss.Addr, cc, req, true)
			if err != nil || st.CipherSuite != id || !interop.SelfservEcho(answer, req) {
				t.Fatalf("%v\n%s", err, tailOf(ss.Output()))
			}
			return "ok: echo"
		})
	}
}

// TestSuitePeersRecorded: the peers each table row names (ssl.CipherSuites,
// printed by `tokenssl suites`) are exactly those the matrix runs the suite
// with, in either direction.
func TestSuitePeersRecorded(t *testing.T) {
	for _, s := range ssl.CipherSuites() {
		var want []string
		if nssSuites[s.ID] || nssServerSuites[s.ID] {
			want = append(want, "NSS")
		}
		if zcryptoSuites[s.ID] || zcryptoServerSuites[s.ID] {
			want = append(want, "zcrypto")
		}
		if strings.Join(s.Peers, ",") != strings.Join(want, ",") {
			t.Errorf("%s: table says peers %v, the matrix runs %v", s.Name, s.Peers, want)
		}
	}
}
