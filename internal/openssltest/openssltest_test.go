package openssltest

import (
	"bytes"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWritePEM(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chain.pem")
	ders := [][]byte{{1, 2, 3}, {4, 5}}
	WritePEM(t, path, "CERTIFICATE", ders...)
	rest, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range ders {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil || b.Type != "CERTIFICATE" || !bytes.Equal(b.Bytes, want) {
			t.Fatalf("block %d: %v, want CERTIFICATE %x", i, b, want)
		}
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		t.Fatalf("%d bytes after the blocks", len(rest))
	}
}

// Run hands back openssl's standard output, and reads files relative to dir.
func TestRun(t *testing.T) {
	o := Find(t)
	if out := o.Run(t, "", "version"); !strings.Contains(strings.ToLower(string(out)), "ssl") {
		t.Fatalf("openssl version printed %q", out)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "in.txt"), []byte("abc"), 0o600); err != nil {
		t.Fatal(err)
	}
	// SHA-1("abc"), FIPS 180-2 appendix A.1.
	if out := o.Run(t, dir, "dgst", "-sha1", "-r", "in.txt"); !strings.HasPrefix(string(out), "a9993e364706816aba3e25717850c26c9cd0d89d") {
		t.Fatalf("openssl dgst in %s printed %q", dir, out)
	}
}

// A failing command returns an error and what openssl said on stderr.
func TestOutputFailure(t *testing.T) {
	o := Find(t)
	out, stderr, err := o.Output(t.TempDir(), "x509", "-in", "missing.pem")
	if err == nil {
		t.Fatalf("reading a missing file succeeded: %q", out)
	}
	if len(bytes.TrimSpace(stderr)) == 0 {
		t.Fatalf("no stderr with %v", err)
	}
}
