package x509legacy

import (
	"crypto/dsa"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/tokenssl/tokenssl/internal/legacytest"
)

// TestCheckPublicKey: the peer key bounds, size by size; refusals wrap
// ErrKeyBounds (and so ErrUnsupportedKey) and name the size.
func TestCheckPublicKey(t *testing.T) {
	dsaKey := func(l, n int) *dsa.PublicKey { return legacytest.SizedDSAKey(t, l, n) }
	rsaKey := func(bits, e int) *rsa.PublicKey { return &rsa.PublicKey{N: legacytest.OddBits(t, bits), E: e} }
	for _, tc := range []struct {
		name string
		key  any
		want string // "" accepted
	}{
		{"DSA 512/160", dsaKey(512, 160), ""},
		{"DSA 1024/160", dsaKey(1024, 160), ""},
		{"DSA 1024/224 (OpenSSL 3)", dsaKey(1024, 224), ""},
		{"DSA 2048/160 (OpenSSL 0.9.8)", dsaKey(2048, 160), ""},
		{"DSA 2048/224", dsaKey(2048, 224), ""},
		{"DSA 2048/256", dsaKey(2048, 256), ""},
		{"DSA 3072/256", dsaKey(3072, 256), ""},
		{"DSA 3072/224", dsaKey(3072, 224), "3072-bit p and a 224-bit q"},
		{"DSA 4096/256", dsaKey(4096, 256), "4096-bit p"},
		{"DSA 16384/160", dsaKey(16384, 160), "16384-bit p"},
		{"DSA 1024/192", dsaKey(1024, 192), "192-bit q"},
		{"DSA 448/160", dsaKey(448, 160), "448-bit p"},
		{"RSA 8192", rsaKey(8192, 65537), ""},
		{"RSA 8193", rsaKey(8193, 65537), "8193-bit RSA modulus exceeds 8192"},
		{"RSA 16384", rsaKey(16384, 3), "16384-bit RSA modulus"},
		{"RSA exponent 2^33+1", rsaKey(2048, 1<<33+1), "exponent"},
		{"DH 8192", &DHPublicKey{P: legacytest.OddBits(t, 8192)}, ""},
		{"DH 8193", &DHPublicKey{P: legacytest.OddBits(t, 8193)}, "8193-bit DH prime exceeds 8192"},
		{"unknown type", "key", "string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckPublicKey(tc.key)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrUnsupportedKey) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("CheckPublicKey: %v; want an ErrUnsupportedKey naming %q", err, tc.want)
			}
		})
	}
}

// TestVerifyDSABounds: VerifyDSA and CheckSignatureFrom refuse an
// oversized issuer key and r, s outside (0, q) before any exponentiation.
func TestVerifyDSABounds(t *testing.T) {
	q := legacytest.OddBits(t, 160)
	pub := &dsa.PublicKey{Parameters: dsa.Parameters{P: legacytest.OddBits(t, 1024), Q: q, G: big.NewInt(2)}, Y: big.NewInt(3)}
	sig := func(r, s *big.Int) []byte {
		b, err := MarshalDSASignature(r, s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	digest := make([]byte, 20)
	if err := VerifyDSA(pub, digest, sig(q, big.NewInt(1))); !errors.Is(err, ErrSignature) || !strings.Contains(err.Error(), "outside (0, q)") {
		t.Errorf("r = q: %v", err)
	}
	if err := VerifyDSA(pub, digest, sig(big.NewInt(1), new(big.Int).Add(q, big.NewInt(1)))); !errors.Is(err, ErrSignature) {
		t.Errorf("s = q+1: %v", err)
	}
	huge := &dsa.PublicKey{Parameters: dsa.Parameters{P: legacytest.OddBits(t, 16384), Q: q, G: big.NewInt(2)}, Y: big.NewInt(3)}
	if err := VerifyDSA(huge, digest, sig(big.NewInt(1), big.NewInt(2))); !errors.Is(err, ErrKeyBounds) {
		t.Errorf("16384-bit p: %v", err)
	}
	child := &x509.Certificate{SignatureAlgorithm: x509.SHA256WithRSA}
	parent := &x509.Certificate{PublicKey: &rsa.PublicKey{N: legacytest.OddBits(t, 16384), E: 65537}}
	if err := CheckSignatureFrom(child, parent); !errors.Is(err, ErrKeyBounds) {
		t.Errorf("CheckSignatureFrom with a 16384-bit RSA issuer: %v", err)
	}
}
