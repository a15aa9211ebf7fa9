package pkcs11_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	p11 "github.com/miekg/pkcs11"

	"github.com/tokenssl/tokenssl/softhsm/softhsmtest"
	"github.com/tokenssl/tokenssl/token/pkcs11"
	"github.com/tokenssl/tokenssl/token/tokentest"
)

func TestWrongPIN(t *testing.T) {
	tok := softhsmtest.NewToken(t)
	mod := tok.Env.ModulePath
	const wrong = "wrong-pin-7731"
	cfg := tok.Config()
	cfg.PIN = pkcs11.PINString(wrong)

	before := pkcs11.ModuleLoginCalls(mod)
	_, err := pkcs11.Open(cfg)
	if !errors.Is(err, pkcs11.ErrPINIncorrect) {
		t.Fatalf("wrong PIN: got %v, want ErrPINIncorrect", err)
	}
	if !errors.Is(err, p11.Error(p11.CKR_PIN_INCORRECT)) {
		t.Fatalf("wrong PIN: %v does not carry CKR_PIN_INCORRECT", err)
	}
	if n := pkcs11.ModuleLoginCalls(mod) - before; n != 1 {
		t.Fatalf("wrong PIN cost %d C_Login calls, want exactly 1", n)
	}
	if strings.Contains(err.Error(), wrong) || strings.Contains(err.Error(), tok.UserPIN()) {
		t.Fatalf("error reveals a PIN: %q", err)
	}
	t.Logf("wrong PIN: %v", err)

	// Trying the same wrong PIN again in this process costs nothing.
	_, err = pkcs11.Open(cfg)
	if !errors.Is(err, pkcs11.ErrPINIncorrect) {
		t.Fatalf("second try: %v", err)
	}
	if n := pkcs11.ModuleLoginCalls(mod) - before; n != 1 {
		t.Fatalf("the rejected PIN was tried again (%d C_Login calls)", n)
	}

	// The right PIN works (one more C_Login) ...
	b := open(t, tok, nil)
	if n := pkcs11.ModuleLoginCalls(mod) - before; n != 2 {
		t.Fatalf("right PIN: %d C_Login calls in all, want 2", n)
	}
	// ... a second Backend on the same token shares the login ...
	open(t, tok, func(c *pkcs11.Config) { c.PoolSize = 2 })
	if n := pkcs11.ModuleLoginCalls(mod) - before; n != 2 {
		t.Fatalf("second Backend logged in again (%d C_Login calls)", n)
	}
	// ... and while logged in a different PIN is refused without C_Login
	// (SoftHSM would answer USER_ALREADY_LOGGED_IN without checking it).
	cfg.PIN = pkcs11.PINString("another-wrong-1")
	if _, err := pkcs11.Open(cfg); !errors.Is(err, pkcs11.ErrPINIncorrect) {
		t.Fatalf("different PIN while logged in: %v", err)
	}
	if n := pkcs11.ModuleLoginCalls(mod) - before; n != 2 {
		t.Fatalf("different PIN reached C_Login (%d calls)", n)
	}
	if s := b.Stats(); s.Logins != 1 {
		t.Fatalf("Backend stats: %+v", s)
	}
}

func TestMissingToken(t *testing.T) {
	tok := softhsmtest.NewToken(t)
	cfg := tok.Config()
	cfg.TokenLabel, cfg.TokenSerial = "no-such-token", ""
	_, err := pkcs11.Open(cfg)
	if !errors.Is(err, pkcs11.ErrTokenNotFound) {
		t.Fatalf("got %v, want ErrTokenNotFound", err)
	}
	if !strings.Contains(err.Error(), `"`+tok.Label+`"`) {
		t.Fatalf("error does not list the labels present: %v", err)
	}
	t.Logf("missing token: %v", err)
	slot := uint(0x7ffffff0)
	cfg.TokenLabel, cfg.SlotID = "", &slot
	if _, err := pkcs11.Open(cfg); !errors.Is(err, pkcs11.ErrTokenNotFound) {
		t.Fatalf("missing slot: %v", err)
	}
}

func TestOpenBySlotAndSerial(t *testing.T) {
	tok := softhsmtest.NewToken(t)
	b := open(t, tok, nil)
	slots, err := pkcs11.ListSlots(tok.Env.ModulePath)
	if err != nil {
		t.Fatal(err)
	}
	var slot *uint
	for _, s := range slots {
		if s.Token != nil && s.Token.Label == tok.Label {
			id := s.ID
			slot = &id
			if s.Token.Serial != b.Serial() || !s.Token.LoginRequired || !s.Token.Initialized || !s.Token.UserPINInitialized {
				t.Fatalf("slot info: %+v", s.Token)
			}
			var names []string
			for _, m := range s.Mechanisms {
				names = append(names, m.Name)
			}
			got := strings.Join(names, ",")
			for _, want := range []string{"RSA_PKCS", "RSA_X_509", "DSA", "DSA_SHA1", "DH_PKCS_DERIVE", "DH_PKCS_KEY_PAIR_GEN", "DES3_CBC"} {
				if !strings.Contains(","+got+",", ","+want+",") {
					t.Errorf("mechanism %s missing from %s", want, got)
				}
			}
			for _, absent := range []string{"KEA_KEY_DERIVE", "SKIPJACK_CBC64", "SSL3_MASTER_KEY_DERIVE"} {
				if strings.Contains(got, absent) {
					t.Errorf("SoftHSM claims %s", absent)
				}
			}
		}
	}
	if slot == nil {
		t.Fatal("token not listed")
	}
	for _, cfg := range []pkcs11.Config{
		{ModulePath: tok.Env.ModulePath, SlotID: slot, PIN: pkcs11.PINString(tok.UserPIN())},
		{ModulePath: tok.Env.ModulePath, TokenSerial: tok.Serial, PIN: pkcs11.PINString(tok.UserPIN())},
	} {
		b2, err := pkcs11.Open(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if b2.Label() != tok.Label {
			t.Fatalf("opened %q", b2.Label())
		}
		b2.Close()
	}
}

func TestListObjects(t *testing.T) {
	b, k, _, _ := rsaOnToken(t, nil)
	objs, err := b.ListObjects(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.Class+"/"+o.KeyType+"/"+o.Label+"/"+o.ID)
		if o.Class == "private" && (!o.Sensitive || o.Extractable || o.KeySize != 2048 || !o.Private) {
			t.Errorf("private key info: %+v", o)
		}
	}
	sort.Strings(got)
	want := []string{"private/RSA/rsa/0102", "public/RSA/rsa/0102"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("objects %v, want %v", got, want)
	}
	_ = k
}

// 64 goroutines sign and decrypt through a pool of 4 sessions.
func TestConcurrentPool(t *testing.T) {
	b, k, sk, _ := rsaOnToken(t, func(c *pkcs11.Config) { c.PoolSize = 4 })
	pre := make([]byte, 48)
	rand.Read(pre)
	ct, _ := rsa.EncryptPKCS1v15(rand.Reader, &sk.PublicKey, pre)
	var wg sync.WaitGroup
	var failures atomic.Int64
	for g := 0; g < 64; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 4; i++ {
				d := tokentest.SSL3Hashes([]byte{byte(g), byte(i)})
				sig, err := k.Sign(rand.Reader, d, crypto.MD5SHA1)
				if err != nil || rsa.VerifyPKCS1v15(&sk.PublicKey, crypto.MD5SHA1, d, sig) != nil {
					failures.Add(1)
					t.Errorf("goroutine %d sign: %v", g, err)
				}
				got, err := k.Decrypt(rand.Reader, ct, nil)
				if err != nil || string(got) != string(pre) {
					failures.Add(1)
					t.Errorf("goroutine %d decrypt: %v", g, err)
				}
			}
		}(g)
	}
	wg.Wait()
	s := b.Stats()
	if s.SessionsOpened > 4 || s.PoolSize != 4 {
		t.Fatalf("pool of 4 opened %d sessions: %+v", s.SessionsOpened, s)
	}
	t.Logf("512 operations, %d failures, stats %+v", failures.Load(), s)
}

// A caller waits for a session, and gives up when its context does.
func TestPoolWaitHonoursContext(t *testing.T) {
	b, k, _, _ := rsaOnToken(t, func(c *pkcs11.Config) { c.PoolSize = 1 })
	hold := make(chan struct{})
	held := make(chan struct{})
	go b.WithSession(context.Background(), func(*p11.Ctx, p11.SessionHandle) error {
		close(held)
		<-hold
		return nil
	})
	<-held
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := b.WithSession(ctx, func(*p11.Ctx, p11.SessionHandle) error { return nil })
	if err == nil || time.Since(start) < 40*time.Millisecond {
		t.Fatalf("waited %v, err %v", time.Since(start), err)
	}
	// A signer call (no context) waits until the session is free.
	done := make(chan error)
	go func() {
		_, err := k.Sign(rand.Reader, tokentest.SSL3Hashes(nil), crypto.MD5SHA1)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("sign did not wait: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(hold)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestClosedBackend(t *testing.T) {
	tok := softhsmtest.NewToken(t)
	if _, err := tok.ImportRSA("k", nil, softwareRSA(t)); err != nil {
		t.Fatal(err)
	}
	b, err := tok.Open()
	if err != nil {
		t.Fatal(err)
	}
	k, err := b.FindKey(pkcs11.KeySpec{Label: "k"})
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	if _, err := k.(crypto.Signer).Sign(rand.Reader, tokentest.SSL3Hashes(nil), crypto.MD5SHA1); !errors.Is(err, pkcs11.ErrClosed) {
		t.Fatalf("sign after close: %v", err)
	}
}

// The token's store disappears while operations run, and comes back: the
// operations in flight fail with ErrTokenUnavailable, later ones succeed on
// the same Backend and key without a new Open.
func TestTokenRemovedAndRestored(t *testing.T) {
	for _, what := range []string{"token-directory", "whole-store"} {
		t.Run(what, func(t *testing.T) {
			b, k, sk, tok := rsaOnToken(t, func(c *pkcs11.Config) {
				c.PoolSize = 4
				c.ReconnectInterval = 20 * time.Millisecond
			})
			pre := make([]byte, 48)
			rand.Read(pre)
			ct, _ := rsa.EncryptPKCS1v15(rand.Reader, &sk.PublicKey, pre)
			dir, err := tok.Dir()
			if err != nil {
				t.Fatal(err)
			}
			if what == "whole-store" {
				dir = tok.Env.TokenDir
			}
			aside := filepath.Join(t.TempDir(), "aside")
			loginsBefore := b.Stats().Logins

			var (
				phase      atomic.Int32 // 0 present, 1 removed, 2 restored
				recovered  atomic.Bool  // an operation succeeded after the restore
				lateFails  atomic.Int64 // failures of operations started after that
				okCount    [3]atomic.Int64
				errCount   [3]atomic.Int64
				mu         sync.Mutex
				errs       = map[string]int{}
				badErrs    []error
				stop       = make(chan struct{})
				wg         sync.WaitGroup
				firstAfter = make(chan struct{})
				once       sync.Once
			)
			for g := 0; g < 8; g++ {
				wg.Add(1)
				go func(g int) {
					defer wg.Done()
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						late := recovered.Load()
						// Signatures and decryptions, alternately.
						var err error
						if i%2 == 0 {
							d := tokentest.SSL3Hashes([]byte{byte(g), byte(i)})
							var sig []byte
							if sig, err = k.Sign(rand.Reader, d, crypto.MD5SHA1); err == nil &&
								rsa.VerifyPKCS1v15(&sk.PublicKey, crypto.MD5SHA1, d, sig) != nil {
								t.Error("bad signature")
							}
						} else {
							var pt []byte
							if pt, err = k.Decrypt(rand.Reader, ct, nil); err == nil && string(pt) != string(pre) {
								t.Error("bad plaintext")
							}
						}
						// Counted by the phase in which the call returned:
						// a call in flight at the removal belongs to it.
						p := phase.Load()
						if err == nil {
							okCount[p].Add(1)
							if p == 2 {
								recovered.Store(true)
								once.Do(func() { close(firstAfter) })
							}
							continue
						}
						errCount[p].Add(1)
						if late {
							lateFails.Add(1)
						}
						mu.Lock()
						errs[err.Error()]++
						if !errors.Is(err, pkcs11.ErrTokenUnavailable) || strings.Contains(err.Error(), tok.UserPIN()) {
							badErrs = append(badErrs, err)
						}
						mu.Unlock()
						time.Sleep(time.Millisecond)
					}
				}(g)
			}
			// Each phase lasts until it has seen what it is there for, not
			// a fixed time: on a loaded machine 100 ms may pass without an
			// operation returning.
			waitFor := func(what string, cond func() bool) {
				t.Helper()
				for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatalf("%s within 10s", what)
					}
				}
			}
			waitFor("no operation succeeded before the removal", func() bool { return okCount[0].Load() > 0 })
			phase.Store(1)
			if err := os.Rename(dir, aside); err != nil {
				t.Fatal(err)
			}
			waitFor("no operation failed while the token was gone", func() bool { return errCount[1].Load() > 0 })
			time.Sleep(100 * time.Millisecond) // and more of them
			if err := os.Rename(aside, dir); err != nil {
				t.Fatal(err)
			}
			phase.Store(2)
			select {
			case <-firstAfter:
			case <-time.After(10 * time.Second):
				t.Fatal("no successful operation within 10s of the token coming back")
			}
			time.Sleep(100 * time.Millisecond)
			close(stop)
			wg.Wait()

			// Everything after the recovery works, with the same key.
			for i := 0; i < 50; i++ {
				d := tokentest.SSL3Hashes([]byte{byte(i)})
				sig, err := k.Sign(rand.Reader, d, crypto.MD5SHA1)
				if err != nil || rsa.VerifyPKCS1v15(&sk.PublicKey, crypto.MD5SHA1, d, sig) != nil {
					t.Fatalf("after recovery: %v", err)
				}
				if pt, err := k.Decrypt(rand.Reader, ct, nil); err != nil || string(pt) != string(pre) {
					t.Fatalf("decrypt after recovery: %v", err)
				}
			}
			s := b.Stats()
			t.Logf("present: %d ok/%d failed; removed: %d ok/%d failed; restored: %d ok/%d failed",
				okCount[0].Load(), errCount[0].Load(), okCount[1].Load(), errCount[1].Load(), okCount[2].Load(), errCount[2].Load())
			for e, n := range errs {
				t.Logf("%5d × %s", n, e)
			}
			t.Logf("stats %+v", s)
			if errCount[0].Load() != 0 || okCount[0].Load() == 0 {
				t.Fatal("operations failed before the removal")
			}
			if errCount[1].Load() == 0 {
				t.Fatal("no operation failed while the token was gone")
			}
			if lateFails.Load() != 0 {
				t.Fatalf("%d operations started after the recovery failed", lateFails.Load())
			}
			if len(badErrs) > 0 {
				t.Fatalf("unclear errors: %v", badErrs)
			}
			if s.Reconnects == 0 || s.ModuleReinits == 0 || s.Logins <= loginsBefore {
				t.Fatalf("no reconnect recorded: %+v", s)
			}
		})
	}
}

// Printing a Backend, its key or an error in any verb shows no PIN.
func TestNoPINInFormatting(t *testing.T) {
	b, k, _, tok := rsaOnToken(t, nil)
	pin := tok.UserPIN()
	for _, v := range []any{b, k, k.Object, tok.Config(), tok, *tok} {
		for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
			if s := fmt.Sprintf(f, v); strings.Contains(s, pin) {
				t.Errorf("%s of %T shows the PIN: %s", f, v, s)
			}
		}
	}
}
