package interop

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// RepoRoot returns the root of the tokenssl module: the nearest directory
// above this source file (or, failing that, above the working directory)
// whose go.mod declares module github.com/tokenssl/tokenssl.
func RepoRoot(t testing.TB) string {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

const rootModule = "github.com/tokenssl/tokenssl"

func repoRoot() (string, error) {
	var starts []string
	if _, file, _, ok := runtime.Caller(0); ok {
		starts = append(starts, filepath.Dir(file))
	}
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	for _, dir := range starts {
		for {
			if isRootModule(filepath.Join(dir, "go.mod")) {
				return dir, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", errors.New("interop: cannot find the go.mod of " + rootModule)
}

func isRootModule(gomod string) bool {
	b, err := os.ReadFile(gomod)
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "module" && strings.Trim(f[1], `"`) == rootModule {
			return true
		}
	}
	return false
}

var (
	buildMu    sync.Mutex
	buildCache = map[string]buildResult{}
)

type buildResult struct {
	path string
	err  error
}

// buildTimeout bounds one go build; a cold module cache downloads zcrypto's
// dependencies first.
const buildTimeout = 5 * time.Minute

// buildOnce builds package pkg of the module in dir (relative to the repo
// root) into a per-user directory under os.TempDir, once per test process.
// Output goes to a temp name and is renamed, so parallel test binaries can
// share the path.
func buildOnce(t testing.TB, dir, pkg, name string) string {
	t.Helper()
	key := dir + "|" + pkg
	buildMu.Lock()
	defer buildMu.Unlock()
	if r, ok := buildCache[key]; ok {
		if r.err != nil {
			t.Fatal(r.err)
		}
		return r.path
	}
	path, err := goBuild(dir, pkg, name)
	buildCache[key] = buildResult{path, err}
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func goBuild(dir, pkg, name string) (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	// One directory per checkout: two clones tested at once must never
	// run each other's binaries (the rename below is atomic within one).
	sum := sha256.Sum256([]byte(root))
	outDir := filepath.Join(os.TempDir(), fmt.Sprintf("tokenssl-interop-%d-%x", os.Getuid(), sum[:6]))
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(outDir, name+".tmp*")
	if err != nil {
		return "", err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())

	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "build", "-C", filepath.Join(root, dir), "-o", tmp.Name(), pkg)
	// GOWORK=off: a stray go.work must not pull the peer into the product
	// module. GONOSUMDB: the checksum database does not answer for the pinned
	// zcrypto pseudo-version; go.sum pins it anyway.
	cmd.Env = append(os.Environ(), "GOWORK=off", "GONOSUMDB=github.com/zmap/zcrypto")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("interop: go build -C %s %s: %v\n%s", dir, pkg, err, out.String())
	}
	final := filepath.Join(outDir, name)
	if err := os.Rename(tmp.Name(), final); err != nil {
		return "", err
	}
	return final, nil
}

// BuildZcryptoPeer builds the zcrypto SSL 3.0 peer (the separate module in
// integration/peers/zcryptopeer) once per test process and returns the path
// of the binary.
func BuildZcryptoPeer(t testing.TB) string {
	t.Helper()
	return buildOnce(t, "integration/peers/zcryptopeer", ".", "zcryptopeer")
}

// BuildTokenssl builds ./cmd/tokenssl of the product module once per test
// process and returns the path of the binary.
func BuildTokenssl(t testing.TB) string {
	t.Helper()
	return buildOnce(t, ".", "./cmd/tokenssl", "tokenssl")
}
