// Package openssltest runs the openssl command for tests that check our
// keys and certificates against OpenSSL's reading of them, or load what
// OpenSSL wrote. It imports nothing of the project, so the package-internal
// tests of ssl and x509legacy use it alike.
//
// # Use
//
//	o := openssltest.Find(t) // skips the test where openssl is not installed
//	dir := t.TempDir()
//	openssltest.WritePEM(t, filepath.Join(dir, "cert.pem"), "CERTIFICATE", leafDER, caDER)
//	text := o.Run(t, dir, "x509", "-in", "cert.pem", "-noout", "-text")
package openssltest

import (
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// OpenSSL is the openssl binary found on PATH.
type OpenSSL struct {
	Path string
}

// Find looks the openssl binary up, skipping the test where there is none.
func Find(t testing.TB) OpenSSL {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	return OpenSSL{Path: path}
}

// Output runs openssl with args in dir (the test's working directory if
// "") and returns its standard output, which stays clean of openssl's
// warnings so that DER it writes there can be used as is, and, where it
// exited with an error, its standard error: a caller can tell a cipher or
// option this build lacks from a failure.
func (o OpenSSL) Output(dir string, args ...string) (stdout, stderr []byte, err error) {
	cmd := exec.Command(o.Path, args...)
	cmd.Dir = dir
	stdout, err = cmd.Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		stderr = exit.Stderr
	}
	return stdout, stderr, err
}

// Run is Output for a command that must succeed: it fails the test, with
// openssl's standard error, when openssl fails.
func (o OpenSSL) Run(t testing.TB, dir string, args ...string) []byte {
	t.Helper()
	out, stderr, err := o.Output(dir, args...)
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return out
}

// WritePEM writes one PEM block of type typ (e.g. "CERTIFICATE") per DER
// encoding in ders to the file path, in order.
func WritePEM(t testing.TB, path, typ string, ders ...[]byte) {
	t.Helper()
	var out []byte
	for _, der := range ders {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})...)
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}
