package pkcs11_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ThalesGroup/crypto11"

	"github.com/tokenssl/tokenssl/softhsm/softhsmtest"
	"github.com/tokenssl/tokenssl/token/pkcs11"
	"github.com/tokenssl/tokenssl/token/tokentest"
)

// TestCrypto11Evaluation re-runs, against a real SoftHSM token, the
// measurements behind using miekg/pkcs11 rather than crypto11 for the key
// objects (see doc.go), and checks the one supported way of sharing the
// module with crypto11: crypto11 first, this package as a guest.
func TestCrypto11Evaluation(t *testing.T) {
	tok := softhsmtest.NewToken(t)
	mod := tok.Env.ModulePath
	if pkcs11.IsModuleOpen(mod) {
		t.Skip("module already open in this process; crypto11 must initialise it first")
	}
	sk := softwareRSA(t)
	if _, err := tok.ImportRSA("k", []byte{7}, sk); err != nil {
		t.Fatal(err)
	}
	c11cfg := func(pin string) *crypto11.Config {
		return &crypto11.Config{Path: mod, TokenLabel: tok.Label, Pin: pin, MaxSessions: 4}
	}
	d := tokentest.SSL3Hashes([]byte("evaluation"))

	// 1. Order: with this package holding the module, crypto11 cannot start
	//    (its C_Initialize gets CKR_CRYPTOKI_ALREADY_INITIALIZED).
	b0, err := tok.Open()
	if err != nil {
		t.Fatal(err)
	}
	if c, err := crypto11.Configure(c11cfg(tok.UserPIN())); err == nil {
		c.Close()
		t.Fatal("crypto11 started after us; the measured order dependence is gone")
	} else {
		t.Logf("crypto11 after us: %v", err)
	}
	b0.Close()

	// 2. crypto11 first, then us: shared module, one login.
	c11, err := crypto11.Configure(c11cfg(tok.UserPIN()))
	if err != nil {
		t.Fatal(err)
	}
	c11closed := false
	t.Cleanup(func() {
		if !c11closed {
			c11.Close()
		}
	})
	c11key, err := c11.FindKeyPair([]byte{7}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := open(t, tok, func(c *pkcs11.Config) { c.ReconnectInterval = 10 * time.Millisecond })
	k, err := b.FindKey(pkcs11.KeySpec{ID: []byte{7}})
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]crypto.Signer{"crypto11": c11key, "ours": k.(crypto.Signer)} {
		sig, err := s.Sign(rand.Reader, d, crypto.MD5SHA1)
		if err != nil || rsa.VerifyPKCS1v15(&sk.PublicKey, crypto.MD5SHA1, d, sig) != nil {
			t.Fatalf("%s signer on the shared module: %v", name, err)
		}
	}

	// 3. Wrong PIN while the token is logged in: crypto11 accepts it
	//    (SoftHSM answers CKR_USER_ALREADY_LOGGED_IN unchecked); we refuse.
	if c, err := crypto11.Configure(c11cfg("wrong-pin-000")); err == nil {
		t.Log("measured: crypto11.Configure with a wrong PIN succeeds while the token is logged in")
		c.Close()
	} else {
		t.Logf("crypto11 rejected the wrong PIN this time: %v", err)
	}
	wrong := tok.Config()
	wrong.PIN = pkcs11.PINString("wrong-pin-000")
	if _, err := pkcs11.Open(wrong); !errors.Is(err, pkcs11.ErrPINIncorrect) {
		t.Fatalf("our Open with a wrong PIN while logged in: %v", err)
	}

	// 4. The token store goes away and comes back.
	dir, err := tok.Dir()
	if err != nil {
		t.Fatal(err)
	}
	aside := filepath.Join(t.TempDir(), "aside")
	if err := os.Rename(dir, aside); err != nil {
		t.Fatal(err)
	}
	_, errOurs := k.(crypto.Signer).Sign(rand.Reader, d, crypto.MD5SHA1)
	_, errC11 := c11key.Sign(rand.Reader, d, crypto.MD5SHA1)
	t.Logf("token gone: ours %v; crypto11 %v", errOurs, errC11)
	if err := os.Rename(aside, dir); err != nil {
		t.Fatal(err)
	}
	var sig []byte
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if sig, err = k.(crypto.Signer).Sign(rand.Reader, d, crypto.MD5SHA1); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("we did not recover: %v", err)
		}
	}
	if rsa.VerifyPKCS1v15(&sk.PublicKey, crypto.MD5SHA1, d, sig) != nil {
		t.Fatal("bad signature after recovery")
	}
	c11failed := 0
	for i := 0; i < 20; i++ {
		if _, err := c11key.Sign(rand.Reader, d, crypto.MD5SHA1); err != nil {
			c11failed++
			if i == 0 {
				t.Logf("crypto11 after the token came back (and we re-initialised): %v", err)
			}
		}
	}
	if c11failed != 20 {
		t.Logf("crypto11 signer recovered in %d of 20 tries", 20-c11failed)
	} else {
		t.Log("measured: the crypto11 signer never recovers (20 of 20 failed)")
	}

	// 5. Closing crypto11's Context now: its stale session handles name our
	//    new sessions (SoftHSM numbers them from 1 again), or its last
	//    reference finalises the module. We survive it by reconnecting.
	before := b.Stats()
	c11.Close()
	c11closed = true
	_, err = k.(crypto.Signer).Sign(rand.Reader, d, crypto.MD5SHA1)
	t.Logf("our first sign after crypto11's Close: %v", err)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err = k.(crypto.Signer).Sign(rand.Reader, d, crypto.MD5SHA1); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("we did not recover from crypto11's Close: %v", err)
		}
	}
	after := b.Stats()
	t.Logf("stats before crypto11's Close %+v, after %+v", before, after)
}
