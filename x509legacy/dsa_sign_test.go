package x509legacy

import (
	"bytes"
	"crypto/dsa"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"io"
	"math/big"
	mrand "math/rand/v2"
	"strings"
	"testing"

	"github.com/tokenssl/tokenssl/internal/legacytest"
)

// signParams are the DSA sizes the project uses: 1024/160 (the KEA group
// and the test PKI), 2048/224 and 2048/256.
var signParams = []struct {
	name   string
	params dsa.Parameters
}{
	{"1024/160", legacytest.DSA1024},
	{"2048/224", legacytest.DSA2048Q224},
	{"2048/256", legacytest.DSA2048Q256},
}

// textbookDSA is FIPS 186-4 §4.6 on math/big with a given nonce, the
// reference SignDSA must agree with.
func textbookDSA(priv *dsa.PrivateKey, k *big.Int, digest []byte) (r, s *big.Int) {
	r = new(big.Int).Exp(priv.G, k, priv.P)
	r.Mod(r, priv.Q)
	s = new(big.Int).Mul(priv.X, r)
	s.Add(s, new(big.Int).SetBytes(truncateDigest(digest, priv.Q.BitLen())))
	s.Mul(s, new(big.Int).ModInverse(k, priv.Q))
	s.Mod(s, priv.Q)
	return r, s
}

func TestSignDSA(t *testing.T) {
	msg := []byte("tokenssl: DSA signing")
	s1, s224, s256, s512 := sha1.Sum(msg), sha256.Sum224(msg), sha256.Sum256(msg), sha512.Sum512(msg)
	digests := []struct {
		name   string
		digest []byte
	}{
		{"SHA-1", s1[:]}, // what SSL 3.0 signs
		{"SHA-224", s224[:]},
		{"SHA-256", s256[:]},
		{"SHA-512", s512[:]},
		{"empty", nil},
		{"one byte", []byte{7}},
	}
	for _, p := range signParams {
		priv := legacytest.NewDSAKey(t, p.params)
		for _, d := range digests {
			t.Run(p.name+"/"+d.name, func(t *testing.T) {
				r, s, err := SignDSA(rand.Reader, priv, d.digest)
				if err != nil {
					t.Fatal(err)
				}
				signed := truncateDigest(d.digest, priv.Q.BitLen())
				if !dsa.Verify(&priv.PublicKey, signed, r, s) {
					t.Fatal("signature does not verify with crypto/dsa.Verify")
				}
				der, err := MarshalDSASignature(r, s)
				if err != nil {
					t.Fatal(err)
				}
				if err := VerifyDSA(&priv.PublicKey, d.digest, der); err != nil {
					t.Fatalf("VerifyDSA: %v", err)
				}
				other := append([]byte{1}, d.digest...)
				if err := VerifyDSA(&priv.PublicKey, other, der); !errors.Is(err, ErrSignature) {
					t.Fatalf("VerifyDSA of another digest: %v, want ErrSignature", err)
				}
			})
		}
	}
}

// TestSignDSALongDigest pins what a digest longer than q signs. FIPS 186
// and SignDSA take its leftmost q bits, as the certificate signer always
// did (dsa.Sign of truncateDigest) and VerifyDSA expects; crypto/dsa.Sign
// and Verify instead reduce the whole digest modulo q. For a digest no
// longer than q both agree, so SSL 3.0's SHA-1 signatures are unchanged.
func TestSignDSALongDigest(t *testing.T) {
	priv := legacytest.NewDSAKey(t, legacytest.DSA1024)
	long := sha256.Sum256([]byte("longer than q"))
	truncated := truncateDigest(long[:], 160)
	ours := func() (*big.Int, *big.Int, error) { return SignDSA(rand.Reader, priv, long[:]) }
	stdFull := func() (*big.Int, *big.Int, error) { return dsa.Sign(rand.Reader, priv, long[:]) }
	stdTruncated := func() (*big.Int, *big.Int, error) { return dsa.Sign(rand.Reader, priv, truncated) }
	for _, tc := range []struct {
		name                   string
		sign                   func() (*big.Int, *big.Int, error)
		verifyFull, verifyTrun bool
	}{
		{"SignDSA", ours, false, true},
		{"dsa.Sign of the truncated digest", stdTruncated, false, true},
		{"dsa.Sign of the whole digest", stdFull, true, false},
	} {
		r, s, err := tc.sign()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := dsa.Verify(&priv.PublicKey, long[:], r, s); got != tc.verifyFull {
			t.Errorf("%s: Verify(whole digest) = %v, want %v", tc.name, got, tc.verifyFull)
		}
		if got := dsa.Verify(&priv.PublicKey, truncated, r, s); got != tc.verifyTrun {
			t.Errorf("%s: Verify(truncated digest) = %v, want %v", tc.name, got, tc.verifyTrun)
		}
	}
}

// TestSignDSANonce checks the nonce draw against the textbook formula: the
// first acceptable draw is k, draws not below q and zero are skipped, and a
// random source that runs dry or never yields a usable value is an error,
// not a hang.
func TestSignDSANonce(t *testing.T) {
	digest := sha1.Sum([]byte("nonce"))
	for _, p := range signParams {
		priv := legacytest.NewDSAKey(t, p.params)
		n := (priv.Q.BitLen() + 7) / 8
		k := new(big.Int).Rsh(priv.Q, 1) // some value in [1, q-1]
		kBytes := k.FillBytes(make([]byte, n))
		q := priv.Q.FillBytes(make([]byte, n))
		for _, tc := range []struct {
			name    string
			stream  []byte
			wantErr string // "" for a signature with k
		}{
			{"k", kBytes, ""},
			{"all ones then k", append(bytes.Repeat([]byte{0xff}, n), kBytes...), ""},
			{"q then k", append(q, kBytes...), ""},
			{"zero then k", append(make([]byte, n), kBytes...), ""},
			{"empty", nil, "DSA nonce"},
			{"short", kBytes[1:], "DSA nonce"},
			{"zeros", make([]byte, n*(dsaNonceDraws+1)), "no value in [1, q-1]"},
		} {
			t.Run(p.name+"/"+tc.name, func(t *testing.T) {
				r, s, err := SignDSA(bytes.NewReader(tc.stream), priv, digest[:])
				if tc.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
						t.Fatalf("err = %v, want one mentioning %q", err, tc.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				wantR, wantS := textbookDSA(priv, k, digest[:])
				if r.Cmp(wantR) != 0 || s.Cmp(wantS) != 0 {
					t.Fatalf("(r, s) = (%x, %x), want (%x, %x)", r, s, wantR, wantS)
				}
			})
		}
	}
}

func TestSignDSABadKey(t *testing.T) {
	good := legacytest.NewDSAKey(t, legacytest.DSA1024)
	with := func(f func(k *dsa.PrivateKey)) *dsa.PrivateKey {
		k := *good
		k.P, k.Q, k.G, k.X = new(big.Int).Set(good.P), new(big.Int).Set(good.Q), new(big.Int).Set(good.G), new(big.Int).Set(good.X)
		f(&k)
		return &k
	}
	for _, tc := range []struct {
		name string
		key  *dsa.PrivateKey
	}{
		{"nil key", nil},
		{"nil x", with(func(k *dsa.PrivateKey) { k.X = nil })},
		{"nil p", with(func(k *dsa.PrivateKey) { k.P = nil })},
		{"zero p", with(func(k *dsa.PrivateKey) { k.P.SetInt64(0) })},
		{"p one", with(func(k *dsa.PrivateKey) { k.P.SetInt64(1) })},
		{"even p", with(func(k *dsa.PrivateKey) { k.P.SetBit(k.P, 0, 0) })},
		{"zero q", with(func(k *dsa.PrivateKey) { k.Q.SetInt64(0) })},
		{"negative q", with(func(k *dsa.PrivateKey) { k.Q.Neg(k.Q) })},
		{"even q", with(func(k *dsa.PrivateKey) { k.Q.SetBit(k.Q, 0, 0) })},
		{"161-bit q", with(func(k *dsa.PrivateKey) { k.Q.SetBit(k.Q, 160, 1) })},
		{"zero g", with(func(k *dsa.PrivateKey) { k.G.SetInt64(0) })},
		{"zero x", with(func(k *dsa.PrivateKey) { k.X.SetInt64(0) })},
		{"negative x", with(func(k *dsa.PrivateKey) { k.X.Neg(k.X) })},
		{"x = q", with(func(k *dsa.PrivateKey) { k.X.Set(k.Q) })},
		{"x above q", with(func(k *dsa.PrivateKey) { k.X.Lsh(k.Q, 8) })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, s, err := SignDSA(rand.Reader, tc.key, make([]byte, 20))
			if err == nil || r != nil || s != nil {
				t.Fatalf("SignDSA = (%v, %v, %v), want an error", r, s, err)
			}
			if _, err := (dsaSigner{tc.key}).Sign(rand.Reader, make([]byte, 20), nil); err == nil {
				t.Fatal("dsaSigner.Sign: no error")
			}
		})
	}
}

// FuzzSignDSA signs arbitrary digests with arbitrary random streams (the
// stream, then a fixed generator once it runs out): every signature
// verifies, and when the stream's first q-length bytes are a usable nonce
// the signature is the textbook one with that k.
func FuzzSignDSA(f *testing.F) {
	key := fixedFuzzDSAKey()
	h := sha1.Sum([]byte("fuzz"))
	f.Add(h[:], []byte{})
	f.Add(h[:], bytes.Repeat([]byte{0xff}, 40))
	f.Add([]byte{}, legacytest.HexInt("0fedcba9876543210fedcba9876543210fedcba9").Bytes())
	f.Add(bytes.Repeat([]byte{0xab}, 64), make([]byte, 20))
	f.Fuzz(func(t *testing.T, digest, stream []byte) {
		rnd := io.MultiReader(bytes.NewReader(stream), mrand.NewChaCha8([32]byte{1}))
		r, s, err := SignDSA(rnd, key, digest)
		if err != nil {
			t.Fatal(err)
		}
		if !dsa.Verify(&key.PublicKey, truncateDigest(digest, 160), r, s) {
			t.Fatal("signature does not verify")
		}
		if len(stream) >= 20 {
			if k := new(big.Int).SetBytes(stream[:20]); k.Sign() > 0 && k.Cmp(key.Q) < 0 {
				wantR, wantS := textbookDSA(key, k, digest)
				if wantR.Sign() != 0 && wantS.Sign() != 0 && (r.Cmp(wantR) != 0 || s.Cmp(wantS) != 0) {
					t.Fatalf("(r, s) = (%x, %x), want (%x, %x) with k = %x", r, s, wantR, wantS, k)
				}
			}
		}
	})
}
