package integration

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tokenssl/tokenssl/integration/interop"
	"github.com/tokenssl/tokenssl/softhsm/softhsmtest"
)

// cliServer runs `tokenssl server` and returns its address and a function
// returning its stderr so far.
func cliServer(t *testing.T, env []string, args ...string) (string, func() string) {
	t.Helper()
	bin := interop.BuildTokenssl(t)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, append([]string{"server", "-listen", addr}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(stderr.String(), "listening on") {
		if time.Now().After(deadline) || cmd.ProcessState != nil {
			t.Fatalf("server did not start:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return addr, stderr.String
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

func runCLIClient(t *testing.T, env []string, stdin []byte, args ...string) (stdout, stderr string, err error) {
	bin := interop.BuildTokenssl(t)
	cmd := exec.Command(bin, append([]string{"client"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = bytes.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		err = fmt.Errorf("client timed out")
	}
	return o.String(), e.String(), err
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
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
	ca := newTestCA(t)
	dir := t.TempDir()
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	writePEM(t, filepath.Join(dir, "server.pem"), "CERTIFICATE", ca.issue(t, &key.PublicKey, "localhost", x509.ExtKeyUsageServerAuth))
	writePEM(t, filepath.Join(dir, "server.key"), "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key))
	writePEM(t, filepath.Join(dir, "ca.pem"), "CERTIFICATE", ca.Cert.Raw)
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
		bin := interop.BuildTokenssl(t)
		bad := filepath.Join(dir, "bad")
		os.WriteFile(bad, []byte("not-the-pin-42"), 0o600)
		cmd := exec.Command(bin, "server", "-listen", "127.0.0.1:0", "-pkcs11-module", env.ModulePath, "-token-label", cfg.TokenLabel, "-key-label", "localhost", "-pin-file", bad)
		cmd.Env = append(os.Environ(), childEnv...)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "PIN incorrect") || strings.Contains(string(out), "not-the-pin-42") {
			t.Fatalf("wrong PIN: %v\n%s", err, out)
		}
	})
	t.Run("missing token", func(t *testing.T) {
		bin := interop.BuildTokenssl(t)
		cmd := exec.Command(bin, "server", "-listen", "127.0.0.1:0", "-pkcs11-module", env.ModulePath, "-token-label", "no-such-token", "-key-label", "localhost", "-pin-file", pinFile)
		cmd.Env = append(os.Environ(), childEnv...)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "token not found") || !strings.Contains(string(out), cfg.TokenLabel) {
			t.Fatalf("missing token: %v\n%s", err, out)
		}
	})
	t.Run("token list and keys", func(t *testing.T) {
		bin := interop.BuildTokenssl(t)
		cmd := exec.Command(bin, "token", "list", "-pkcs11-module", env.ModulePath)
		cmd.Env = append(os.Environ(), childEnv...)
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), cfg.TokenLabel) || !strings.Contains(string(out), "RSA_PKCS") {
			t.Fatalf("token list: %v\n%s", err, out)
		}
		cmd = exec.Command(bin, "token", "keys", "-pkcs11-module", env.ModulePath, "-token-label", cfg.TokenLabel, "-pin-file", pinFile)
		cmd.Env = append(os.Environ(), childEnv...)
		out, err = cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "localhost") || !strings.Contains(string(out), "sensitive") {
			t.Fatalf("token keys: %v\n%s", err, out)
		}
	})
}
