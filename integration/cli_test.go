package integration

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenssl/tokenssl/integration/interop"
	"github.com/tokenssl/tokenssl/softhsm/softhsmtest"
)

// cliProc is a tokenssl server started by a test, with its stderr.
type cliProc struct {
	cmd    *exec.Cmd
	addr   string
	stderr *syncBuffer
	done   chan struct{}
}

// freeLoopback returns a loopback address nothing listens on just now.
func freeLoopback(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// cliCommand is `tokenssl args...` with env added to the test's own.
func cliCommand(t *testing.T, env []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(interop.BuildTokenssl(t), args...)
	cmd.Env = append(os.Environ(), env...)
	return cmd
}

// startCLIServer runs `tokenssl server -listen 127.0.0.1:0 args...`, waits
// for its "listening on" line and takes the address from it (a port picked
// here and bound by the child later could be taken in between); the end of
// the test kills it.
func startCLIServer(t *testing.T, env []string, args ...string) *cliProc {
	t.Helper()
	p := &cliProc{cmd: cliCommand(t, env, append([]string{"server", "-listen", "127.0.0.1:0"}, args...)...),
		stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(p.stderr.String(), "listening on"); time.Sleep(20 * time.Millisecond) {
		select {
		case <-p.done:
			t.Fatalf("tokenssl exited before listening:\n%s", p.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("tokenssl did not start:\n%s", p.stderr)
		}
	}
	p.addr = p.loggedAddr(t, "listening on ")
	return p
}

// loggedAddr is the loopback address that follows prefix in the process's
// stderr so far (a listener it bound to port 0).
func (p *cliProc) loggedAddr(t *testing.T, prefix string) string {
	t.Helper()
	m := regexp.MustCompile(regexp.QuoteMeta(prefix) + `(127\.0\.0\.1:[0-9]+)`).FindStringSubmatch(p.stderr.String())
	if m == nil {
		t.Fatalf("no address after %q in tokenssl's log:\n%s", prefix, p.stderr)
	}
	return m[1]
}

// cliServer is startCLIServer for a test that needs only the address and
// a function returning the server's stderr so far.
func cliServer(t *testing.T, env []string, args ...string) (string, func() string) {
	t.Helper()
	p := startCLIServer(t, env, args...)
	return p.addr, p.stderr.String
}

// wait waits for the process to exit and returns its exit code.
func (p *cliProc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("tokenssl did not exit:\n%s", p.stderr)
	}
	return p.cmd.ProcessState.ExitCode()
}

// lines returns the JSON log lines so far; a line that is not JSON fails t.
func (p *cliProc) lines(t *testing.T) []map[string]any {
	t.Helper()
	return logLines(t, p.stderr.String(), "")
}

// waitLines waits until n lines have msg as their message and returns them.
func (p *cliProc) waitLines(t *testing.T, msg string, n int) []map[string]any {
	t.Helper()
	return waitLogLines(t, p.stderr.String, msg, n)
}

// logLines parses the JSON log lines of a tokenssl process's stderr (all
// of them, or with msg those with that message); a line that is not JSON
// fails t.
func logLines(t *testing.T, stderr, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(stderr))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %q: %v", sc.Text(), err)
		}
		if msg == "" || m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// waitLogLines waits until stderr() has n JSON log lines with message msg
// and returns them: the lines of a connection come after the client has
// seen its end.
func waitLogLines(t *testing.T, stderr func() string, msg string, n int) []map[string]any {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		got := logLines(t, stderr(), msg)
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d %q lines:\n%s", len(got), n, msg, stderr())
		}
	}
}

// syncBuffer collects a child's output while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// errCLITimeout is runCLI's error for a command it had to kill.
var errCLITimeout = errors.New("tokenssl did not exit in time and was killed")

// runCLI runs `tokenssl args...` with env added to the test's own and
// stdin (empty when nil: not a terminal) until it exits, or for at most
// timeout, and returns what it wrote and Wait's error.
func runCLI(t *testing.T, env []string, stdin []byte, timeout time.Duration, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := cliCommand(t, env, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(timeout):
		cmd.Process.Kill()
		<-done
		err = errCLITimeout
	}
	return o.String(), e.String(), err
}

// exitCode is the exit status runCLI's error says: 0 for none, -1 for a
// process that did not exit by itself.
func exitCode(err error) int {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	return -1
}

// runCLIClient runs `tokenssl client args...` to its end.
func runCLIClient(t *testing.T, env []string, stdin []byte, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	return runCLI(t, env, stdin, 60*time.Second, append([]string{"client"}, args...)...)
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// serverKeyFiles writes a software RSA-2048 server key for "localhost"
// (server.key), its certificate (server.pem) and the issuing CA (ca.pem)
// into a fresh directory, which it returns.
func serverKeyFiles(t *testing.T) string {
	ca := newTestCA(t)
	dir := t.TempDir()
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	writePEM(t, filepath.Join(dir, "server.pem"), "CERTIFICATE", ca.issue(t, &key.PublicKey, "localhost", x509.ExtKeyUsageServerAuth))
	writePEM(t, filepath.Join(dir, "server.key"), "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key))
	writePEM(t, filepath.Join(dir, "ca.pem"), "CERTIFICATE", ca.Cert.Raw)
	return dir
}

func handshakeLines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if strings.Contains(sc.Text(), "handshake ok ") {
			out = append(out, sc.Text()[strings.Index(sc.Text(), "handshake ok "):])
		}
	}
	return out
}

// The README's command lines with files: the server echoes, the client
// copies stdin to stdout, -resume prints a second, resumed line.
func TestCLIWithKeyFiles(t *testing.T) {
	dir := serverKeyFiles(t)
	addr, serverErr := cliServer(t, nil, "-cert", filepath.Join(dir, "server.pem"), "-key", filepath.Join(dir, "server.key"),
		"-ciphers", "SSL_RSA_WITH_RC4_128_MD5,0x000A")
	data := make([]byte, 200000)
	rand.Read(data)
	for _, suite := range []string{"SSL_RSA_WITH_RC4_128_MD5", "0x000A"} {
		out, errOut, err := runCLIClient(t, nil, data, "-connect", addr, "-ca", filepath.Join(dir, "ca.pem"), "-servername", "localhost", "-ciphers", suite, "-resume")
		if err != nil {
			t.Fatalf("client: %v\n%s\nserver:\n%s", err, errOut, serverErr())
		}
		if out != string(data) {
			t.Fatalf("echo: %d bytes back of %d", len(out), len(data))
		}
		lines := handshakeLines(errOut)
		if len(lines) != 2 || !strings.Contains(lines[0], "resumed=false") || !strings.Contains(lines[1], "resumed=true") {
			t.Fatalf("client lines: %q", lines)
		}
		session := strings.TrimPrefix(lines[0][strings.Index(lines[0], "session="):], "session=")
		if _, err := hex.DecodeString(session); err != nil || len(session) != 64 || !strings.HasSuffix(lines[1], session) {
			t.Fatalf("session ids: %q", lines)
		}
	}
	// A failing connection is reported and the server keeps serving.
	c, _ := net.Dial("tcp", addr)
	c.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
	c.Close()
	out, errOut, err := runCLIClient(t, nil, []byte("still serving\n"), "-connect", addr, "-insecure")
	if err != nil || out != "still serving\n" {
		t.Fatalf("after a bad client: %v %q\n%s", err, out, errOut)
	}
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(serverErr(), "alert="); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("server did not report the failed handshake with its alert:\n%s", serverErr())
		}
	}
	// A client refused by the server exits non-zero and names the alert.
	_, errOut, err = runCLIClient(t, nil, []byte("x"), "-connect", addr, "-insecure", "-ciphers", "SSL_RSA_WITH_NULL_SHA")
	if err == nil || !strings.Contains(errOut, "alert=handshake_failure") {
		t.Fatalf("refused client: err %v\n%s", err, errOut)
	}
}

// The server with its key on a SoftHSM token, selected by flags and by a
// PKCS#11 URI; the certificate comes from the token. PINs come from a file
// and an environment variable and never show in output.
func TestCLIWithTokenKey(t *testing.T) {
	ca := newTestCA(t)
	_, tok, _ := tokenRSA(t, ca, "localhost", x509.ExtKeyUsageServerAuth, 2)
	env := softhsmtest.Env(t)
	dir := t.TempDir()
	pinFile := filepath.Join(dir, "pin")
	os.WriteFile(pinFile, []byte(tok.UserPIN()+"\n"), 0o600)
	writePEM(t, filepath.Join(dir, "ca.pem"), "CERTIFICATE", ca.Cert.Raw)
	cfg := tok.Config()
	childEnv := []string{"SOFTHSM2_CONF=" + env.ConfigPath, "TOKENSSL_TEST_PIN=" + tok.UserPIN()}
	variants := map[string][]string{
		"flags": {"-pkcs11-module", env.ModulePath, "-token-label", cfg.TokenLabel, "-key-label", "localhost", "-pin-file", pinFile},
		"uri":   {"-key", fmt.Sprintf("pkcs11:token=%s;object=localhost;type=private?module-path=%s&pin-source=file:%s", cfg.TokenLabel, env.ModulePath, pinFile)},
		"env":   {"-pkcs11-module", env.ModulePath, "-token-label", cfg.TokenLabel, "-key-label", "localhost", "-pin-env", "TOKENSSL_TEST_PIN"},
		// The certificate object on the token named by a URI (scheme in
		// upper case, as RFC 7512 allows), the key by flags; and both by URI.
		"cert uri":          {"-cert", "PKCS11:token=" + cfg.TokenLabel + ";object=localhost;type=cert", "-pkcs11-module", env.ModulePath, "-token-label", cfg.TokenLabel, "-key-label", "localhost", "-pin-file", pinFile},
		"cert and key uris": {"-cert", "pkcs11:object=localhost;type=cert", "-key", fmt.Sprintf("PKCS11:token=%s;object=localhost;type=private?module-path=%s&pin-source=file:%s", cfg.TokenLabel, env.ModulePath, pinFile)},
	}
	for name, args := range variants {
		t.Run(name, func(t *testing.T) {
			addr, serverErr := cliServer(t, childEnv, args...)
			out, errOut, err := runCLIClient(t, nil, []byte("hello token\n"), "-connect", addr, "-ca", filepath.Join(dir, "ca.pem"), "-servername", "localhost")
			if err != nil || out != "hello token\n" {
				t.Fatalf("client: %v %q\n%s\nserver:\n%s", err, out, errOut, serverErr())
			}
			if strings.Contains(serverErr()+errOut, tok.UserPIN()) {
				t.Fatal("the PIN appears in output")
			}
		})
	}
	t.Run("wrong PIN", func(t *testing.T) {
		bad := filepath.Join(dir, "bad")
		os.WriteFile(bad, []byte("not-the-pin-42"), 0o600)
		out, err := cliCommand(t, childEnv, "server", "-listen", "127.0.0.1:0", "-pkcs11-module", env.ModulePath, "-token-label", cfg.TokenLabel, "-key-label", "localhost", "-pin-file", bad).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "PIN incorrect") || strings.Contains(string(out), "not-the-pin-42") {
			t.Fatalf("wrong PIN: %v\n%s", err, out)
		}
	})
	t.Run("missing token", func(t *testing.T) {
		out, err := cliCommand(t, childEnv, "server", "-listen", "127.0.0.1:0", "-pkcs11-module", env.ModulePath, "-token-label", "no-such-token", "-key-label", "localhost", "-pin-file", pinFile).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "token not found") || !strings.Contains(string(out), cfg.TokenLabel) {
			t.Fatalf("missing token: %v\n%s", err, out)
		}
	})
	t.Run("token list and keys", func(t *testing.T) {
		out, err := cliCommand(t, childEnv, "token", "list", "-pkcs11-module", env.ModulePath).CombinedOutput()
		if err != nil || !strings.Contains(string(out), cfg.TokenLabel) || !strings.Contains(string(out), "RSA_PKCS") {
			t.Fatalf("token list: %v\n%s", err, out)
		}
		// SoftHSM always has a slot with an uninitialised token; without a
		// PIN, private keys are hidden, and token list says so.
		if !strings.Contains(string(out), "token:         not initialised") || !strings.Contains(string(out), "private keys hidden") {
			t.Fatalf("token list does not show the uninitialised token or the hidden keys:\n%s", out)
		}
		out, err = cliCommand(t, childEnv, "token", "keys", "-pkcs11-module", env.ModulePath, "-token-label", cfg.TokenLabel).CombinedOutput()
		if err != nil || regexp.MustCompile(`(?m)^private\s`).Match(out) || !strings.Contains(string(out), "no PIN given: private keys are hidden") {
			t.Fatalf("token keys without a PIN: %v\n%s", err, out)
		}
		out, err = cliCommand(t, childEnv, "token", "keys", "-pkcs11-module", env.ModulePath, "-token-label", cfg.TokenLabel, "-pin-file", pinFile).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "localhost") || !strings.Contains(string(out), "sensitive") {
			t.Fatalf("token keys: %v\n%s", err, out)
		}
		// IDs as a URI takes them, and the URI column opens the key.
		var uri string
		for _, l := range strings.Split(string(out), "\n") {
			if f := strings.Fields(l); len(f) == 7 && f[0] == "private" && f[3] == "localhost" {
				if !regexp.MustCompile(`^(%[0-9A-F]{2})+$`).MatchString(f[4]) {
					t.Fatalf("key ID %q is not written as in a URI", f[4])
				}
				uri = f[6]
			}
		}
		if uri == "" {
			t.Fatalf("no private key row for localhost:\n%s", out)
		}
		addr, serverErr := cliServer(t, childEnv, "-key", uri+"?module-path="+env.ModulePath+"&pin-source=file:"+pinFile)
		if got, errOut, err := runCLIClient(t, nil, []byte("by id\n"), "-connect", addr, "-ca", filepath.Join(dir, "ca.pem"), "-servername", "localhost"); err != nil || got != "by id\n" {
			t.Fatalf("key by the printed URI: %v %q\n%s\nserver:\n%s", err, got, errOut, serverErr())
		}
	})
}

// shellWords splits a command line as provision-token.sh prints it: blanks
// separate words, single quotes (with '\” for a quote) protect them.
func shellWords(line string) []string {
	var words []string
	var cur strings.Builder
	in, have := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\'':
			in, have = !in, true
		case c == '\\' && !in && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
			have = true
		case (c == ' ' || c == '\t') && !in:
			if have {
				words = append(words, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteByte(c)
			have = true
		}
	}
	if have {
		words = append(words, cur.String())
	}
	return words
}

// printedCommand turns a printed "[VAR=v ...] bin/tokenssl ARGS" line into
// its environment and its arguments after bin/tokenssl.
func printedCommand(t *testing.T, line string) (env, args []string) {
	words := shellWords(line)
	for len(words) > 0 && strings.Contains(words[0], "=") && !strings.HasPrefix(words[0], "-") {
		env, words = append(env, words[0]), words[1:]
	}
	if len(words) == 0 || words[0] != "bin/tokenssl" {
		t.Fatalf("not a tokenssl command line: %q", line)
	}
	return env, words[1:]
}

// scripts/provision-token.sh: a CA, a server leaf NSS accepts (not a CA:TRUE
// certificate), and the printed command lines work as printed, the client
// authentication line among them: against the server with -verify-client
// require, the client without a certificate is refused and the one with
// its key on the token gets in.
func TestCLIProvisionTokenScript(t *testing.T) {
	softhsmtest.Require(t)
	interop.BuildTokenssl(t)
	root := interop.RepoRoot(t)
	dir := t.TempDir()
	listen := freeLoopback(t)
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "provision-token.sh"), "-listen", listen)
	cmd.Env = append(os.Environ(), "TOKENSSL_TOKEN_DIR="+filepath.Join(dir, "tokens"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("provision-token.sh: %v\n%s", err, out)
	}
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "bin/tokenssl ") || strings.HasPrefix(l, "SOFTHSM2_CONF=") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 3 {
		t.Fatalf("want 3 command lines (server, client, client with its key on the token):\n%s", out)
	}
	// The certificates: a CA, and a leaf for the server that it signed.
	caChain, _ := os.ReadFile(filepath.Join(dir, "tokens", "ca.crt"))
	srvPEM, _ := os.ReadFile(filepath.Join(dir, "tokens", "server.crt"))
	caBlock, _ := pem.Decode(caChain)
	srvBlock, _ := pem.Decode(srvPEM)
	if caBlock == nil || srvBlock == nil {
		t.Fatalf("ca.crt or server.crt missing:\n%s", out)
	}
	caCert, err1 := x509.ParseCertificate(caBlock.Bytes)
	srvCert, err2 := x509.ParseCertificate(srvBlock.Bytes)
	if err1 != nil || err2 != nil || !caCert.IsCA || srvCert.IsCA || srvCert.CheckSignatureFrom(caCert) != nil {
		t.Fatalf("want a CA and a CA:FALSE server leaf it signed: %v %v", err1, err2)
	}

	serverEnv, serverArgs := printedCommand(t, lines[0])
	_, plainArgs := printedCommand(t, lines[1])
	authEnv, authArgs := printedCommand(t, lines[2])
	if serverArgs[0] != "server" || plainArgs[0] != "client" || authArgs[0] != "client" {
		t.Fatalf("command lines out of order: %q", lines)
	}
	startPrinted := func(args []string) (string, func() string) {
		// cliServer puts its own -listen first; the printed one comes later
		// and wins, so it is rewritten to a fresh port.
		addr, errOut := cliServer(t, serverEnv, args[1:]...)
		return addr, errOut
	}
	client := func(env, args []string, addr string, payload string) (string, string, error) {
		args = append([]string{}, args[1:]...)
		for i := range args {
			if args[i] == "-connect" {
				args[i+1] = addr
			}
		}
		return runCLIClient(t, env, []byte(payload), args...)
	}

	t.Run("as printed", func(t *testing.T) {
		addr, serverErr := startPrinted(withoutListen(serverArgs))
		for i, c := range []struct{ env, args []string }{{nil, plainArgs}, {authEnv, authArgs}} {
			got, errOut, err := client(c.env, c.args, addr, "hello\n")
			if err != nil || got != "hello\n" {
				t.Fatalf("client line %d: %v %q\n%s\nserver:\n%s", i+2, err, got, errOut, serverErr())
			}
		}
	})
	t.Run("client authentication required", func(t *testing.T) {
		args := withoutListen(serverArgs)
		for i := range args {
			if args[i] == "-verify-client" {
				args[i+1] = "require"
			}
		}
		addr, serverErr := startPrinted(args)
		if _, errOut, err := client(nil, plainArgs, addr, "x"); err == nil || !strings.Contains(errOut, "alert=") {
			t.Fatalf("a client without a certificate got in: %v\n%s", err, errOut)
		}
		got, errOut, err := client(authEnv, authArgs, addr, "authenticated\n")
		if err != nil || got != "authenticated\n" {
			t.Fatalf("client with its key on the token: %v %q\n%s\nserver:\n%s", err, got, errOut, serverErr())
		}
	})
	t.Run("NSS tstclnt verifies the server", func(t *testing.T) {
		for _, tool := range []string{"certutil", "tstclnt"} {
			if _, err := exec.LookPath(tool); err != nil {
				t.Skipf("%s not installed (scripts/install-peers.sh)", tool)
			}
		}
		db := t.TempDir()
		nss := func(name string, args ...string) {
			c := exec.Command(name, args...)
			c.Env = append(os.Environ(), "NSS_IGNORE_SYSTEM_POLICY=1")
			if out, err := c.CombinedOutput(); err != nil {
				t.Fatalf("%s %q: %v\n%s", name, args, err, out)
			}
		}
		nss("certutil", "-N", "-d", "sql:"+db, "--empty-password")
		nss("certutil", "-A", "-d", "sql:"+db, "-n", "tokenssl CA", "-t", "C,,", "-i", filepath.Join(dir, "tokens", "ca.crt"))
		addr, serverErr := startPrinted(withoutListen(serverArgs))
		host, port, _ := net.SplitHostPort(addr)
		req := filepath.Join(db, "request")
		os.WriteFile(req, []byte("hello NSS\n"), 0o600)
		c := exec.Command("tstclnt", "-h", host, "-p", port, "-V", "ssl3:ssl3", "-d", "sql:"+db,
			"-c", interop.NSSCipherArg(0x000A), "-A", req)
		c.Env = append(os.Environ(), "NSS_IGNORE_SYSTEM_POLICY=1")
		var stdout, stderr syncBuffer
		c.Stdout, c.Stderr = &stdout, &stderr
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		defer c.Process.Kill()
		// tstclnt never half-closes: stop it once the echo is back.
		for deadline := time.Now().Add(20 * time.Second); !strings.Contains(stdout.String(), "hello NSS"); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) || c.ProcessState != nil {
				t.Fatalf("tstclnt got no echo:\nstdout %s\nstderr %s\nserver:\n%s", stdout.String(), stderr.String(), serverErr())
			}
		}
		if strings.Contains(stderr.String(), "SEC_ERROR") || strings.Contains(stderr.String(), "SSL_ERROR") {
			t.Fatalf("tstclnt: %s", stderr.String())
		}
	})
}

// withoutListen drops the printed -listen (the test picks free ports).
func withoutListen(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		if args[i] == "-listen" {
			i++
			continue
		}
		out = append(out, args[i])
	}
	return out
}
