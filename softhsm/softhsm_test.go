package softhsm_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenssl/tokenssl/softhsm"
	"github.com/tokenssl/tokenssl/softhsm/softhsmtest"
	"github.com/tokenssl/tokenssl/token/pkcs11"
)

func TestEnvLifecycle(t *testing.T) {
	softhsmtest.Require(t)
	t.Setenv("SOFTHSM2_CONF", "/etc/softhsm/softhsm2.conf")
	env, err := softhsm.New("")
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("SOFTHSM2_CONF") != env.ConfigPath || !strings.HasPrefix(env.TokenDir, env.Dir) {
		t.Fatalf("SOFTHSM2_CONF=%s, env %+v", os.Getenv("SOFTHSM2_CONF"), env)
	}
	conf, _ := os.ReadFile(env.ConfigPath)
	for _, want := range []string{"directories.tokendir = " + env.TokenDir, "objectstore.backend = file", "log.level = ERROR"} {
		if !strings.Contains(string(conf), want) {
			t.Errorf("config lacks %q:\n%s", want, conf)
		}
	}
	if _, err := softhsm.New(""); err == nil || !strings.Contains(err.Error(), "already active") {
		t.Fatalf("second Env in one process: %v", err)
	}

	// Several tokens in one environment.
	a, err := env.InitToken("alpha", "so-pin-a", "user-pin-a")
	if err != nil {
		t.Fatal(err)
	}
	bt, err := env.InitToken("beta", "so-pin-b", "user-pin-b")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.InitToken("alpha", "so-pin-c", "user-pin-c"); err == nil {
		t.Fatal("duplicate label accepted")
	}
	if a.Serial == "" || a.Serial == bt.Serial {
		t.Fatalf("serials %q %q", a.Serial, bt.Serial)
	}
	if dir, err := a.Dir(); err != nil || filepath.Dir(dir) != env.TokenDir {
		t.Fatalf("token dir %q, %v", dir, err)
	}
	ref, err := bt.GenerateRSA("k", nil, 1024)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bt.Open()
	if err != nil {
		t.Fatal(err)
	}
	k, err := b.FindKey(ref.Spec())
	if err != nil {
		t.Fatal(err)
	}
	d := make([]byte, 36)
	sig, err := k.(crypto.Signer).Sign(rand.Reader, d, crypto.MD5SHA1)
	if err != nil || rsa.VerifyPKCS1v15(ref.Public.(*rsa.PublicKey), crypto.MD5SHA1, d, sig) != nil {
		t.Fatalf("sign: %v", err)
	}
	// The user PINs are distinct per token.
	wrong := a.Config()
	wrong.PIN = pkcs11.PINString("user-pin-b")
	if _, err := pkcs11.Open(wrong); err == nil {
		t.Fatal("token alpha opened with beta's PIN")
	}
	// Closing with a Backend still open is reported.
	if err := env.Close(); err == nil {
		t.Fatal("Close with an open Backend did not complain")
	}
	b.Close()
	if _, err := os.Stat(env.Dir); !os.IsNotExist(err) {
		t.Fatalf("temporary store not removed: %v", err)
	}
	if os.Getenv("SOFTHSM2_CONF") != "/etc/softhsm/softhsm2.conf" {
		t.Fatalf("SOFTHSM2_CONF not restored: %q", os.Getenv("SOFTHSM2_CONF"))
	}

	// A persistent directory survives Close and can be reopened.
	dir := t.TempDir()
	env, err = softhsm.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.InitToken("keep", "so-pin-k", "user-pin-k"); err != nil {
		t.Fatal(err)
	}
	env.Close()
	env, err = softhsm.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	tok, err := env.Token("keep", "user-pin-k")
	if err != nil {
		t.Fatal(err)
	}
	b, err = tok.Open()
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
}

// The SO and user PINs never reach a command line: there is no child
// process at all. This checks the weaker but testable half: no PIN is in
// the configuration or any file name of the store.
func TestNoPINOnDisk(t *testing.T) {
	tok := softhsmtest.NewToken(t)
	if _, err := tok.GenerateRSA("k", nil, 1024); err != nil {
		t.Fatal(err)
	}
	filepath.Walk(tok.Env.Dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		if strings.Contains(p, tok.UserPIN()) {
			t.Errorf("PIN in file name %s", p)
		}
		if info.Mode().IsRegular() {
			data, _ := os.ReadFile(p)
			if strings.Contains(string(data), tok.UserPIN()) {
				t.Errorf("PIN in clear in %s", p)
			}
		}
		return nil
	})
}
