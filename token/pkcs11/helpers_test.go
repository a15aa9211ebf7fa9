package pkcs11_test

import (
	"crypto/dsa"
	"crypto/rand"
	"crypto/rsa"
	"math/big"
	"strings"
	"sync"
	"testing"

	"github.com/tokenssl/tokenssl/softhsm"
	"github.com/tokenssl/tokenssl/softhsm/softhsmtest"
	"github.com/tokenssl/tokenssl/token"
	"github.com/tokenssl/tokenssl/token/pkcs11"
)

// open opens a Backend on tok and closes it when t ends.
func open(t testing.TB, tok *softhsm.Token, tweak func(*pkcs11.Config)) *pkcs11.Backend {
	t.Helper()
	cfg := tok.Config()
	if tweak != nil {
		tweak(&cfg)
	}
	b, err := pkcs11.Open(cfg)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// findMade opens tok and finds the key ref names; err is that of the
// import or generation that made ref.
func findMade(t testing.TB, tok *softhsm.Token, tweak func(*pkcs11.Config), ref softhsm.KeyRef, err error) (*pkcs11.Backend, token.Key) {
	t.Helper()
	return findMadeWith(t, tok, tweak, ref, err, (*pkcs11.Backend).FindKey)
}

// findMadeWith is findMade for any kind of key: find looks it up.
func findMadeWith[K any](t testing.TB, tok *softhsm.Token, tweak func(*pkcs11.Config), ref softhsm.KeyRef, err error,
	find func(*pkcs11.Backend, pkcs11.KeySpec) (K, error)) (*pkcs11.Backend, K) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	b := open(t, tok, tweak)
	k, err := find(b, ref.Spec())
	if err != nil {
		t.Fatal(err)
	}
	return b, k
}

var (
	rsaKeyOnce sync.Once
	rsaKey     *rsa.PrivateKey
)

// softwareRSA is one 2048-bit key per test binary: generating is slow and
// every test imports it into a token of its own.
func softwareRSA(t testing.TB) *rsa.PrivateKey {
	rsaKeyOnce.Do(func() {
		var err error
		if rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return rsaKey
}

// rsaOnToken imports the software key into a fresh token and returns the
// token key next to the software one.
func rsaOnToken(t testing.TB, tweak func(*pkcs11.Config)) (*pkcs11.Backend, *pkcs11.RSAKey, *rsa.PrivateKey, *softhsm.Token) {
	t.Helper()
	tok := softhsmtest.NewToken(t)
	sk := softwareRSA(t)
	ref, err := tok.ImportRSA("rsa", []byte{0x01, 0x02}, sk)
	b, k := findMade(t, tok, tweak, ref, err)
	return b, k.(*pkcs11.RSAKey), sk, tok
}

var (
	dsaOnce   sync.Once
	dsaParams dsa.Parameters
)

func dsaParameters(t testing.TB) dsa.Parameters {
	dsaOnce.Do(func() {
		if err := dsa.GenerateParameters(&dsaParams, rand.Reader, dsa.L1024N160); err != nil {
			panic(err)
		}
	})
	return dsaParams
}

// oakley2 is the 1024-bit MODP group of RFC 2409 §6.2 (generator 2).
func oakley2(t testing.TB) token.DHParams {
	p, ok := new(big.Int).SetString(strings.Join([]string{
		"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD1",
		"29024E088A67CC74020BBEA63B139B22514A08798E3404DD",
		"EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245",
		"E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED",
		"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381",
		"FFFFFFFFFFFFFFFF"}, ""), 16)
	if !ok || !p.ProbablyPrime(20) {
		t.Fatal("bad Oakley group 2 prime")
	}
	return token.DHParams{P: p, G: big.NewInt(2)}
}

// randomBelow returns a random integer in [2, n-2].
func randomBelow(t testing.TB, n *big.Int) *big.Int {
	x, err := rand.Int(rand.Reader, new(big.Int).Sub(n, big.NewInt(3)))
	if err != nil {
		t.Fatal(err)
	}
	return x.Add(x, big.NewInt(2))
}
