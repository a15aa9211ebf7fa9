// Package softhsmtest gives tests a fresh SoftHSM2 token each, in a
// reference-counted per-process softhsm.Env (SOFTHSM2_CONF is process-wide,
// so concurrent tests share one store and get separate tokens in it; when
// the last token of a run is cleaned up the store is deleted and the
// module finalised, so later tests start from scratch). It imports
// testing, so it lives apart from softhsm and never enters a product
// binary.
package softhsmtest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tokenssl/tokenssl/softhsm"
)

var (
	installOnce sync.Once
	installLog  []byte
	installErr  error

	shared struct {
		sync.Mutex
		env  *softhsm.Env
		refs int
	}
	counter atomic.Int64
)

// Require returns the SoftHSM2 module path. If SoftHSM2 is missing it runs
// scripts/install-deps.sh once; only if that cannot install it either is
// the test skipped.
func Require(t testing.TB) string {
	t.Helper()
	if p, err := softhsm.Find(); err == nil {
		return p
	}
	installOnce.Do(func() {
		script, err := findScript()
		if err != nil {
			installErr = err
			return
		}
		cmd := exec.Command("bash", script)
		installLog, installErr = cmd.CombinedOutput()
	})
	p, err := softhsm.Find()
	if err != nil {
		t.Skipf("softhsm2 is not installed and scripts/install-deps.sh could not install it (%v):\n%s", installErr, installLog)
	}
	return p
}

// findScript walks up from the working directory to the module root.
func findScript() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			bytes.Contains(data, []byte("module github.com/tokenssl/tokenssl")) {
			return filepath.Join(dir, "scripts", "install-deps.sh"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("scripts/install-deps.sh not found above the working directory")
		}
		dir = parent
	}
}

// Env returns the shared environment, held until t's cleanup.
func Env(t testing.TB) *softhsm.Env {
	t.Helper()
	Require(t)
	shared.Lock()
	defer shared.Unlock()
	if shared.env == nil {
		env, err := softhsm.New("")
		if err != nil {
			t.Fatalf("softhsm environment: %v", err)
		}
		shared.env = env
	}
	shared.refs++
	env := shared.env
	t.Cleanup(func() {
		shared.Lock()
		defer shared.Unlock()
		shared.refs--
		if shared.refs == 0 {
			if err := shared.env.Close(); err != nil {
				t.Errorf("softhsm cleanup: %v", err)
			}
			shared.env = nil
		}
	})
	return env
}

var nonLabel = regexp.MustCompile(`[^A-Za-z0-9]+`)

// NewToken initialises a token of its own for t, with random SO and user
// PINs. It goes away with the store when the last test holding the shared
// Env has finished.
func NewToken(t testing.TB) *softhsm.Token {
	t.Helper()
	env := Env(t)
	name := nonLabel.ReplaceAllString(t.Name(), "-")
	label := fmt.Sprintf("t%d-%s", counter.Add(1), name)
	if len(label) > 32 {
		label = label[:32]
	}
	tok, err := env.InitToken(label, softhsm.RandomPIN(12), softhsm.RandomPIN(8))
	if err != nil {
		t.Fatalf("init token: %v", err)
	}
	return tok
}
