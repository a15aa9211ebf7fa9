package ssltest_test

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// The emulator and the token backends sit below the engine: no non-test
// package under softhsm/ or token/ may depend on ssl (or on this package,
// which imports it). This is what lets ssl's own tests use softhsm.
func TestBackendsDoNotImportEngine(t *testing.T) {
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := exec.LookPath(goBin); err != nil {
		if goBin, err = exec.LookPath("go"); err != nil {
			t.Skip("no go command to run go list")
		}
	}
	const mod = "github.com/tokenssl/tokenssl"
	out, err := exec.Command(goBin, "list", "-deps=false", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`,
		mod+"/softhsm/...", mod+"/token/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	forbidden := []string{mod + "/ssl", mod + "/internal/ssltest"}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		n++
		for _, dep := range fields[1:] {
			for _, f := range forbidden {
				if dep == f {
					t.Errorf("%s depends on %s", fields[0], dep)
				}
			}
		}
	}
	if n < 4 {
		t.Fatalf("go list found only %d packages under softhsm/ and token/:\n%s", n, out)
	}
	t.Logf("%d packages under softhsm/ and token/, none depends on ssl", n)
}
