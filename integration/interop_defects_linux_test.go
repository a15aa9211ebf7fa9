//go:build linux

package integration

import (
	"bytes"
	"crypto/dsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenssl/tokenssl/integration/interop"
	"github.com/tokenssl/tokenssl/ssl"
)

// Issue 10's interop refusals with NSS and keys nobody here made:
// DSA keys with 224- and 256-bit q from `openssl genpkey` in PKCS#8
// (items 14 and 15), and the CLI server with anonymous suites only and no
// key (item 16).

// opensslDSA makes a DSA key (bits/qbits) with `openssl genpkey` (PKCS#8
// "PRIVATE KEY", OpenSSL 3's default) and a self-signed DSA-SHA256
// certificate for localhost; it returns the two file names.
func opensslDSA(t *testing.T, bits, qbits int) (certFile, keyFile string) {
	t.Helper()
	dir := t.TempDir()
	params, keyFile, certFile := filepath.Join(dir, "params.pem"), filepath.Join(dir, "key.pem"), filepath.Join(dir, "cert.pem")
	for _, args := range [][]string{
		{"genpkey", "-genparam", "-algorithm", "DSA", "-pkeyopt", fmt.Sprintf("dsa_paramgen_bits:%d", bits),
			"-pkeyopt", fmt.Sprintf("dsa_paramgen_q_bits:%d", qbits), "-out", params},
		{"genpkey", "-paramfile", params, "-out", keyFile},
		{"req", "-new", "-x509", "-key", keyFile, "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
			"-days", "1", "-sha256", "-out", certFile},
	} {
		if out, err := exec.Command("openssl", args...).CombinedOutput(); err != nil {
			t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	key, _ := os.ReadFile(keyFile)
	if !bytes.HasPrefix(key, []byte("-----BEGIN PRIVATE KEY-----")) {
		t.Fatalf("openssl genpkey did not write PKCS#8:\n%s", key)
	}
	return certFile, keyFile
}

func readPEMFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var dheDSSSuites = []uint16{ssl.SSL_DHE_DSS_WITH_3DES_EDE_CBC_SHA, ssl.SSL_DHE_DSS_WITH_DES_CBC_SHA}

func TestInteropDefectsDSAKeys(t *testing.T) {
	ns := interop.NewNamespace(t)
	interop.EnsureNSS(t)
	for _, qbits := range []int{224, 256} {
		certFile, keyFile := opensslDSA(t, 2048, qbits)
		name := fmt.Sprintf("2048-%d", qbits)

		// Item 15: our server loads openssl's PKCS#8 DSA key; NSS's
		// tstclnt verifies our DER DSA signature of ServerKeyExchange.
		t.Run("tstclnt->ours/"+name, func(t *testing.T) {
			cert, err := ssl.LoadX509KeyPair(certFile, keyFile)
			if err != nil {
				t.Fatalf("LoadX509KeyPair of an `openssl genpkey` PKCS#8 DSA key: %v", err)
			}
			if pub, ok := cert.Leaf.PublicKey.(*dsa.PublicKey); !ok || pub.Q.BitLen() != qbits {
				t.Fatalf("certificate key: %T", cert.Leaf.PublicKey)
			}
			trustDB := interop.NSSDB(t, readPEMFile(t, certFile), nil, "server")
			for _, id := range dheDSSSuites {
				config := &ssl.Config{Certificates: []ssl.Certificate{cert}, CipherSuites: []uint16{id}}
				srv := startOurServer(t, ns, config, answerRequest)
				req := interop.SelfservRequest(string(payload(500)))
				r := interop.RunNSSClient(t, ns, interop.NSSClientConfig{Addr: srv.Addr, Suites: []uint16{id}, Payload: req,
					DB: trustDB, ServerName: "localhost"})
				st, err := srv.next(t)
				if err != nil || r.ExitCode != 0 || st.CipherSuite != id || !bytes.Equal([]byte(r.Stdout), req) {
					t.Fatalf("%s: server: %v %+v\n%s", ssl.CipherSuiteName(id), err, st, r)
				}
			}
		})

		// Item 14: NSS signs DHE_DSS ServerKeyExchange in SSL 3.0 as raw
		// r||s, 2*len(q) bytes; our client must accept it. Depends on
		// defects-keys.
		t.Run("ours->selfserv/"+name, func(t *testing.T) {
			db := interop.NSSDB(t, readPEMFile(t, certFile), readPEMFile(t, keyFile), "server")
			certPEM := readPEMFile(t, certFile)
			block, _ := pem.Decode(certPEM)
			leaf, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			roots := x509.NewCertPool()
			roots.AddCert(leaf)
			for _, id := range dheDSSSuites {
				ss := interop.StartNSSServer(t, ns, interop.NSSServerConfig{DB: db, Nickname: "server", Suites: []uint16{id},
					Args: []string{"-H", "1"}})
				config := &ssl.Config{RootCAs: roots, ServerName: "localhost", CipherSuites: []uint16{id}}
				req := interop.SelfservRequest(string(payload(500)))
				st, answer, err := ourClientExchange(ns, ss.Addr, config, req, true)
				if err != nil || st.CipherSuite != id || !interop.SelfservEcho(answer, req) {
					t.Fatalf("%s: %v\n%s", ssl.CipherSuiteName(id), err, ss.Output())
				}
			}
		})
	}
}

// Item 16: `tokenssl server` with anonymous suites only starts without
// -cert/-key and serves an independent client.
func TestInteropDefectsAnonymousCLIServer(t *testing.T) {
	ns := interop.NewNamespace(t)
	suites := []uint16{ssl.SSL_DH_anon_WITH_RC4_128_MD5, ssl.SSL_DH_anon_WITH_3DES_EDE_CBC_SHA, ssl.SSL_DH_anon_EXPORT_WITH_RC4_40_MD5,
		ssl.SSL_DH_anon_WITH_DES_CBC_SHA, ssl.SSL_DH_anon_EXPORT_WITH_DES40_CBC_SHA}
	names := make([]string, len(suites))
	for i, id := range suites {
		names[i] = ssl.CipherSuiteName(id)
	}
	p, addr, err := nsTokenssl(t, ns, interop.ProcOptions{MergeOutput: true}, "server", "-ciphers", strings.Join(names, ","))
	if err != nil {
		t.Fatalf("anonymous-only server did not start without -cert/-key: %v\n%s", err, p.Output())
	}
	data := payload(1000)
	var m matrix
	defer m.print(t)
	for _, id := range suites {
		t.Run(ssl.CipherSuiteName(id), func(t *testing.T) {
			// NSS dropped DH_anon (probed here each run); zcrypto and our
			// client are the peers then.
			r := interop.RunNSSClient(t, ns, interop.NSSClientConfig{Addr: addr, Suites: []uint16{id},
				Payload: data, StopWhenStdoutHas: string(data), Timeout: 10 * time.Second})
			if r.Stopped && strings.Contains(r.Stdout, string(data)) {
				m.add(id, "tstclnt -> tokenssl server", "ok, echo")
			} else {
				m.add(id, "tstclnt -> tokenssl server", "NSS lacks the suite: "+errorLine(r.Stderr))
			}
			// zcrypto implements only the _EXPORT DH_anon suites (offered
			// any other, its ClientHello is one we refuse as malformed):
			// those it must complete.
			z := interop.RunZcryptoClient(t, ns, interop.ZcryptoClientConfig{Addr: addr, Suites: []uint16{id}, Payload: data})
			zok := z.ExitCode == 0 && bytes.Equal([]byte(z.Stdout), data)
			switch {
			case zok:
				m.add(id, "zcrypto -> tokenssl server", "ok, echo")
			case zcryptoAnon[id]:
				m.add(id, "zcrypto -> tokenssl server", "FAIL")
				t.Fatalf("zcrypto client:\n%s\nserver:\n%s", z, p.Output())
			default:
				m.add(id, "zcrypto -> tokenssl server", "zcrypto lacks the suite: "+errorLine(z.Stderr))
			}
			config := &ssl.Config{CipherSuites: []uint16{id}, InsecureSkipVerify: true}
			st, answer, err := ourClientExchange(ns, addr, config, data, false)
			if err != nil || st.CipherSuite != id || !bytes.Equal(answer, data) {
				m.add(id, "ours -> tokenssl server", "FAIL")
				t.Fatalf("our client: %v\n%s", err, p.Output())
			}
			m.add(id, "ours -> tokenssl server", "ok, echo")
		})
	}
}

// zcryptoAnon are the DH_anon suites zcrypto implements at SSL 3.0.
var zcryptoAnon = map[uint16]bool{ssl.SSL_DH_anon_EXPORT_WITH_RC4_40_MD5: true, ssl.SSL_DH_anon_EXPORT_WITH_DES40_CBC_SHA: true}

// errorLine is the line of a peer's output that says what failed.
func errorLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	line := lines[len(lines)-1]
	for _, l := range lines {
		if strings.Contains(l, "SSL_ERROR") || strings.Contains(l, "error") {
			line = l
			break
		}
	}
	if len(line) > 100 {
		line = line[:100]
	}
	return strings.TrimSpace(line)
}
