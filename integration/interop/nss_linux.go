//go:build linux

package interop

import (
	"bytes"
	"context"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// NSSTools are the programs EnsureNSS makes sure of: NSS's tools from
// Debian's libnss3-tools, openssl (PEM to PKCS#12 for pk12util) and stdbuf
// (coreutils; makes selfserv's stdout line buffered).
var NSSTools = []string{"certutil", "pk12util", "selfserv", "tstclnt", "openssl", "stdbuf"}

// nssEnv is added to every NSS process. Debian's NSS (3.87) is built
// without a system policy file, so SSL 3.0, RC4, DES and NULL suites need no
// policy change there: "-V ssl3:ssl3" and "-c" suffice. On distributions
// whose NSS reads a crypto-policies file (Fedora, RHEL) this variable makes
// NSS ignore it; it is a no-op on Debian.
var nssEnv = []string{"NSS_IGNORE_SYSTEM_POLICY=1"}

var (
	nssOnce sync.Once
	nssErr  error
)

func missingTools() []string {
	var missing []string
	for _, tool := range NSSTools {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	return missing
}

// EnsureNSS makes sure NSSTools are installed, running
// scripts/install-peers.sh (apt-get, needs root) once per test process if
// any is missing, and skips the test with the reason if they still cannot
// be found.
func EnsureNSS(t testing.TB) {
	t.Helper()
	nssOnce.Do(func() {
		missing := missingTools()
		if len(missing) == 0 {
			return
		}
		root, err := repoRoot()
		if err != nil {
			nssErr = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "scripts", "install-peers.sh"))
		cmd.Stdin = nil
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		runErr := cmd.Run()
		if still := missingTools(); len(still) > 0 {
			nssErr = fmt.Errorf("NSS peer tools missing (%s); scripts/install-peers.sh: %v\n%s",
				strings.Join(still, ", "), runErr, tail(out.String(), 3000))
		}
	})
	if nssErr != nil {
		t.Skipf("interop: %v", nssErr)
	}
}

// runTool runs a setup command (certutil, openssl, ...) outside any
// namespace with a timeout.
func runTool(t testing.TB, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), nssEnv...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("interop: %s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// NSSDB creates an NSS certificate database (sql: format, empty password) in
// a temp dir and returns the dir; pass it as DB in NSSServerConfig and
// NSSClientConfig (the helpers add the "sql:" prefix).
//
// With keyPEM, the key pair is imported under nickname (openssl pkcs12
// -export, then pk12util -i): a server database for selfserv -n nickname.
// With keyPEM == nil only the certificate is added, trusted as a peer for
// SSL servers ("P,,", right for a self-signed leaf like TestCert; a CA
// certificate would need "C,,"): a client database that makes tstclnt verify
// the server (certificate and host name) without -o.
func NSSDB(t testing.TB, certPEM, keyPEM []byte, nickname string) string {
	t.Helper()
	EnsureNSS(t)
	dir := t.TempDir()
	db := "sql:" + dir
	work := t.TempDir()
	certFile := filepath.Join(work, "cert.pem")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	runTool(t, 30*time.Second, "certutil", "-N", "-d", db, "--empty-password")
	if keyPEM == nil {
		runTool(t, 30*time.Second, "certutil", "-A", "-d", db, "-n", nickname, "-t", "P,,", "-a", "-i", certFile)
		return dir
	}
	keyFile := filepath.Join(work, "key.pem")
	p12 := filepath.Join(work, "pair.p12")
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	runTool(t, 30*time.Second, "openssl", "pkcs12", "-export", "-in", certFile, "-inkey", keyFile,
		"-name", nickname, "-out", p12, "-passout", "pass:")
	runTool(t, 30*time.Second, "pk12util", "-i", p12, "-d", db, "-W", "")
	return dir
}

// NSSTrustClientCA adds the CA certificate caDER to the NSS database dir
// under nickname, trusted to issue client certificates ("T,,"): what
// selfserv -r -r checks a client's certificate against.
func NSSTrustClientCA(t testing.TB, dir, nickname string, caDER []byte) {
	t.Helper()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	runTool(t, 30*time.Second, "certutil", "-A", "-d", "sql:"+dir, "-n", nickname, "-t", "T,,", "-a", "-i", caFile)
}

// NSSServerConfig configures StartNSSServer.
type NSSServerConfig struct {
	// DB is an NSSDB dir holding the server key pair under Nickname.
	DB, Nickname string
	// Port to listen on (every address of the namespace); 0 picks a free one.
	Port int
	// Suites restricts the server (selfserv -c); empty leaves NSS's defaults
	// (RC4, 3DES, AES; no DES, no NULL but NULL_MD5).
	Suites []uint16
	// NoSessionCache disables the server session cache (selfserv -N).
	NoSessionCache bool
	// Args are appended to selfserv's command line.
	Args []string
}

// NSSServer is a running NSS selfserv.
type NSSServer struct {
	*Proc
	Port int
	Addr string // 127.0.0.1:Port
}

// StartNSSServer starts NSS selfserv at SSL 3.0 inside ns and waits until it
// listens. The command line is
//
//	stdbuf -oL selfserv -d sql:DB -n NICK -p PORT -V ssl3:ssl3 -c :XXXX... -v [-N]
//
// selfserv is not an echo server: per connection it reads a request up to
// the first empty line ("\n\n" or "\r\n\r\n"), answers it once with
// SelfservHeader + the request (up to and including that empty line) +
// SelfservTrailer, and closes the connection. Use SelfservRequest to build a
// request and SelfservEcho to check the answer. A request starting with "GET /"
// makes it serve that file instead, and "GET /stop " stops it: avoid both.
func StartNSSServer(t testing.TB, ns *Namespace, cfg NSSServerConfig) *NSSServer {
	t.Helper()
	EnsureNSS(t)
	if cfg.Port == 0 {
		cfg.Port = ns.FreePort(t)
	}
	args := []string{"-oL", "selfserv", "-d", "sql:" + cfg.DB, "-n", cfg.Nickname,
		"-p", strconv.Itoa(cfg.Port), "-V", "ssl3:ssl3", "-v"}
	if len(cfg.Suites) > 0 {
		args = append(args, "-c", NSSCipherArg(cfg.Suites...))
	}
	if cfg.NoSessionCache {
		args = append(args, "-N")
	}
	args = append(args, cfg.Args...)
	p := ns.Start(t, ProcOptions{Env: nssEnv, MergeOutput: true, StopSignal: syscall.SIGUSR1}, "stdbuf", args...)
	s := &NSSServer{Proc: p, Port: cfg.Port, Addr: fmt.Sprintf("127.0.0.1:%d", cfg.Port)}
	if err := ns.waitListening(p, cfg.Port, 10*time.Second); err != nil {
		t.Fatalf("interop: selfserv: %v\n%s", err, tail(p.Output(), 3000))
	}
	return s
}

// Handshakes parses selfserv's output so far (see ParseNSSServer).
func (s *NSSServer) Handshakes() []Handshake { return ParseNSSServer(s.Output()) }

// WaitHandshakes waits until selfserv reported n handshakes.
func (s *NSSServer) WaitHandshakes(n int, timeout time.Duration) ([]Handshake, error) {
	hs, ok := pollHandshakes(n, timeout, s.Handshakes, s.Exited)
	if !ok {
		return hs, fmt.Errorf("interop: selfserv reported %d of %d handshakes", len(hs), n)
	}
	return hs, nil
}

// SelfservHeader and SelfservTrailer frame every selfserv answer.
const (
	SelfservHeader  = "HTTP/1.0 200 OK\r\nServer: Generic Web Server\r\nDate: Tue, 26 Aug 1997 22:10:05 GMT\r\nContent-type: text/plain\r\n\r\n"
	SelfservTrailer = "EOF\r\n\r\n\r\n"
)

// SelfservRequest makes payload a request selfserv answers: one line-based
// message ending in an empty line. payload must not contain an empty line
// or start with "GET /".
func SelfservRequest(payload string) []byte {
	return []byte(strings.TrimRight(payload, "\r\n") + "\r\n\r\n")
}

// SelfservEcho checks that answer (everything read from selfserv on one
// connection) is selfserv's framing around request.
func SelfservEcho(answer, request []byte) bool {
	return bytes.Equal(answer, []byte(SelfservHeader+string(request)+SelfservTrailer))
}

// NSSClientConfig configures RunNSSClient.
type NSSClientConfig struct {
	// Addr is the server, IP:port inside the namespace.
	Addr string
	// Suites restricts the client (tstclnt -c). NSS 3.87's tstclnt crashes
	// (double free) when -c is combined with -L > 1, so Suites must be empty
	// when Connections > 1: restrict the server instead. Without -c tstclnt
	// offers NSS's defaults (RC4, 3DES, AES; not DES or NULL).
	Suites []uint16
	// Payload is sent on every connection (tstclnt -A FILE; it re-reads the
	// file per connection). tstclnt never half-closes, so the server must
	// close the connection once it answered (selfserv does; zcryptopeer
	// does with -close-after len(Payload)), or set StopWhenStdoutHas.
	Payload []byte
	// Connections made one after the other by one tstclnt (-L N). From the
	// second on tstclnt offers the session of the previous one, which is
	// how tstclnt resumes; -r (renegotiation) is not resumption.
	Connections int
	// DB is a client NSSDB (certificate only) to verify the server against;
	// empty means no database (-D) and no verification (-o).
	DB string
	// ServerName is sent as SNI and checked against the certificate
	// (tstclnt -a); default: the host of Addr. SSL 3.0 has no SNI, so this
	// only matters for verification.
	ServerName string
	// StopWhenStdoutHas makes RunNSSClient stop tstclnt as soon as its
	// stdout contains this string: for echo servers that wait for the
	// client to hang up. The Result then has Stopped set.
	StopWhenStdoutHas string
	// Timeout bounds the whole run (default 20s).
	Timeout time.Duration
	// Args are appended to tstclnt's command line.
	Args []string
}

// NSSClientResult is what RunNSSClient returns.
type NSSClientResult struct {
	Result
	// Stopped is set when RunNSSClient ended tstclnt after StopWhenStdoutHas.
	Stopped bool
}

// RunNSSClient runs NSS tstclnt at SSL 3.0 inside ns:
//
//	tstclnt -h HOST -p PORT -V ssl3:ssl3 [-c :XXXX...] -v -A PAYLOADFILE
//	        [-L N] (-D -o | -d sql:DB [-a NAME])
//
// tstclnt sends the payload, copies what it receives to stdout and exits when
// the server closes the connection (exit 0), or 254 on a handshake failure.
// Handshakes are parsed from its stderr (ParseNSSClient); tstclnt prints no
// session id. The payload is passed as a file (-A), never as stdin: on a
// closed stdin pipe tstclnt's poll loop spins at 100% CPU (and with -v floods
// stderr) until the server closes.
func RunNSSClient(t testing.TB, ns *Namespace, cfg NSSClientConfig) *NSSClientResult {
	t.Helper()
	EnsureNSS(t)
	if cfg.Connections > 1 && len(cfg.Suites) > 0 {
		t.Fatalf("interop: RunNSSClient: tstclnt crashes with -c and -L %d; leave Suites empty and restrict the server", cfg.Connections)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 20 * time.Second
	}
	host, port, err := splitAddr(cfg.Addr)
	if err != nil {
		t.Fatal(err)
	}
	reqFile := filepath.Join(t.TempDir(), "request")
	if err := os.WriteFile(reqFile, cfg.Payload, 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"-h", host, "-p", port, "-V", "ssl3:ssl3", "-v", "-A", reqFile}
	if len(cfg.Suites) > 0 {
		args = append(args, "-c", NSSCipherArg(cfg.Suites...))
	}
	if cfg.Connections > 1 {
		args = append(args, "-L", strconv.Itoa(cfg.Connections))
	}
	if cfg.DB == "" {
		args = append(args, "-D", "-o")
	} else {
		args = append(args, "-d", "sql:"+cfg.DB)
		if cfg.ServerName != "" {
			args = append(args, "-a", cfg.ServerName)
		}
	}
	args = append(args, cfg.Args...)

	p := ns.Start(t, ProcOptions{Env: nssEnv}, "tstclnt", args...)
	r := &NSSClientResult{}
	r.Command = p.CommandLine()
	deadline := time.Now().Add(cfg.Timeout)
	for !p.Exited() {
		if cfg.StopWhenStdoutHas != "" && strings.Contains(p.Stdout(), cfg.StopWhenStdoutHas) {
			p.Kill()
			r.Stopped = true
			break
		}
		if time.Now().After(deadline) {
			p.Kill()
			r.TimedOut = true
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.WaitExit(5 * time.Second)
	r.Stdout, r.Stderr, r.ExitCode = p.Stdout(), p.Stderr(), p.ExitCode()
	r.Handshakes = ParseNSSClient(r.Stderr)
	return r
}

func splitAddr(addr string) (host, port string, err error) {
	addr, err = literalAddr(addr)
	if err != nil {
		return "", "", err
	}
	i := strings.LastIndex(addr, ":")
	host, port = strings.Trim(addr[:i], "[]"), addr[i+1:]
	if host == "" {
		host = "127.0.0.1"
	}
	return host, port, nil
}
