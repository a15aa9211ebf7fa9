package x509legacy_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenssl/tokenssl/internal/openssltest"
)

// TestOpenSSL checks our certificates with the openssl command, if installed.
// OpenSSL prints KEA certificates (reporting "Unable to load Public Key" for
// the .22 key, with exit status 0) but cannot verify them, since it insists on
// decoding every key in the chain; DSA certificates print and verify.
func TestOpenSSL(t *testing.T) {
	o := openssltest.Find(t)
	p := newPKI(t)
	dir := t.TempDir()
	write := func(name string, der []byte) string {
		path := filepath.Join(dir, name+".pem")
		openssltest.WritePEM(t, path, "CERTIFICATE", der)
		return path
	}
	ca, kea, keaFull, dsaLeaf := write("ca", p.caDER), write("kea", p.keaDER), write("kea-full", p.keaFull), write("dsa", p.dsaDER)
	run := func(args ...string) string {
		t.Helper()
		return string(o.Run(t, "", args...))
	}
	for _, tc := range []struct{ path, want string }{
		{ca, "CA:TRUE"}, {dsaLeaf, "dsaEncryption"},
		{kea, "2.16.840.1.101.2.1.1.22"}, {keaFull, "2.16.840.1.101.2.1.1.22"},
	} {
		out := run("x509", "-in", tc.path, "-noout", "-text")
		if !strings.Contains(out, tc.want) || !strings.Contains(out, "dsaWithSHA1") {
			t.Errorf("openssl x509 -text %s: missing %q:\n%s", filepath.Base(tc.path), tc.want, out)
		}
	}
	// -auth_level 0 so that builds which refuse SHA-1 signatures at the
	// default security level still check the chain.
	out := run("verify", "-auth_level", "0", "-CAfile", ca, dsaLeaf)
	if !strings.Contains(out, ": OK") {
		t.Errorf("openssl verify: %s", out)
	}
}
