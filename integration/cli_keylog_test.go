package integration

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The CLI writes the NSS key log when asked (-keylog on the client,
// $SSLKEYLOGFILE on the server), and only then: both ends log the same
// CLIENT_RANDOM line per handshake, the resumed one included, and warn on
// stderr that the file exposes the traffic. That tshark decrypts SSL 3.0
// records with such a line is shown by TestKeyLogDecryptsCapture.
func TestCLIKeyLog(t *testing.T) {
	dir := serverKeyFiles(t)
	serverLog, clientLog := filepath.Join(dir, "server.keys"), filepath.Join(dir, "client.keys")
	addr, serverErr := cliServer(t, []string{"SSLKEYLOGFILE=" + serverLog},
		"-cert", filepath.Join(dir, "server.pem"), "-key", filepath.Join(dir, "server.key"), "-ciphers", "EDH-RSA-DES-CBC3-SHA,RC4-SHA")
	for _, suite := range []string{"EDH-RSA-DES-CBC3-SHA", "RC4-SHA"} {
		out, errOut, err := runCLIClient(t, []string{"SSLKEYLOGFILE="}, []byte("logged\n"), "-connect", addr, "-ca", filepath.Join(dir, "ca.pem"),
			"-servername", "localhost", "-ciphers", suite, "-resume", "-keylog", clientLog)
		if err != nil || out != "logged\nlogged\n" && out != "logged\n" {
			t.Fatalf("%s: %v %q\n%s", suite, err, out, errOut)
		}
		if !strings.Contains(errOut, "key log: writing every session's master secret to "+clientLog) {
			t.Fatalf("client did not warn about the key log:\n%s", errOut)
		}
	}
	// Without either, no key log.
	if _, errOut, err := runCLIClient(t, []string{"SSLKEYLOGFILE="}, []byte("x"), "-connect", addr, "-insecure", "-ciphers", "RC4-SHA"); err != nil || strings.Contains(errOut, "key log") {
		t.Fatalf("client without -keylog: %v\n%s", err, errOut)
	}
	if !strings.Contains(serverErr(), "key log: writing every session's master secret to "+serverLog) {
		t.Fatalf("server did not warn about the key log:\n%s", serverErr())
	}
	line := regexp.MustCompile(`^CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}$`)
	read := func(path string) []string {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", path, fi.Mode().Perm())
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		for _, l := range lines {
			if !line.MatchString(l) {
				t.Fatalf("%s: malformed line %q", path, l)
			}
		}
		return lines
	}
	cl := read(clientLog)
	if len(cl) != 4 { // two suites, a full and a resumed handshake each
		t.Fatalf("client key log has %d lines, want 4:\n%s", len(cl), strings.Join(cl, "\n"))
	}
	// The server also logged the third client's handshake; every line the
	// client wrote is in the server's log.
	deadline := time.Now().Add(5 * time.Second)
	for {
		sl := strings.Join(read(serverLog), "\n")
		missing := 0
		for _, l := range cl {
			if !strings.Contains(sl, l) {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d client lines not in the server's key log", missing)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
