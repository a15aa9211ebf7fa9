package pkcs11_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ThalesGroup/crypto11"

	"github.com/tokenssl/tokenssl/softhsm/softhsmtest"
	"github.com/tokenssl/tokenssl/token/pkcs11"
)

// run spreads b.N calls of fn over g goroutines and reports the rate.
func run(b *testing.B, g int, fn func() error) {
	b.ResetTimer()
	var next atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < g; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if err := fn(); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decrypts/s")
}

// BenchmarkRSA2048Decrypt compares raw PKCS#1 v1.5 decryption (C_Decrypt
// with CKM_RSA_PKCS) through the Backend's session pool with Go's
// crypto/rsa on the same key and ciphertext, and with crypto11 on the same
// token, at 1 and 2 goroutines.
func BenchmarkRSA2048Decrypt(b *testing.B) {
	tok := softhsmtest.NewToken(b)
	sk := softwareRSA(b)
	if _, err := tok.ImportRSA("bench", []byte{0xbe}, sk); err != nil {
		b.Fatal(err)
	}
	pre := make([]byte, 48)
	rand.Read(pre)
	ct, err := rsa.EncryptPKCS1v15(rand.Reader, &sk.PublicKey, pre)
	if err != nil {
		b.Fatal(err)
	}
	check := func(pt []byte, err error) error {
		if err != nil {
			return err
		}
		if string(pt) != string(pre) {
			return fmt.Errorf("wrong plaintext")
		}
		return nil
	}
	for _, g := range []int{1, 2} {
		b.Run(fmt.Sprintf("backend/goroutines=%d", g), func(b *testing.B) {
			cfg := tok.Config()
			cfg.PoolSize = 2
			be, err := pkcs11.Open(cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer be.Close()
			k, err := be.FindKey(pkcs11.KeySpec{ID: []byte{0xbe}})
			if err != nil {
				b.Fatal(err)
			}
			d := k.(crypto.Decrypter)
			run(b, g, func() error { return check(d.Decrypt(nil, ct, nil)) })
		})
		b.Run(fmt.Sprintf("crypto-rsa/goroutines=%d", g), func(b *testing.B) {
			run(b, g, func() error { return check(rsa.DecryptPKCS1v15(nil, sk, ct)) })
		})
		b.Run(fmt.Sprintf("crypto11/goroutines=%d", g), func(b *testing.B) {
			if pkcs11.IsModuleOpen(tok.Env.ModulePath) {
				b.Skip("module open; crypto11 must initialise it")
			}
			c, err := crypto11.Configure(&crypto11.Config{Path: tok.Env.ModulePath, TokenLabel: tok.Label, Pin: tok.UserPIN(), MaxSessions: 3})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			k, err := c.FindKeyPair([]byte{0xbe}, nil)
			if err != nil {
				b.Fatal(err)
			}
			d := k.(crypto.Decrypter)
			run(b, g, func() error { return check(d.Decrypt(nil, ct, nil)) })
		})
	}
}
