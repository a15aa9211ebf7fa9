package x509legacy

import (
	"bytes"
	"crypto/dsa"
	"crypto/sha1"
	"encoding/asn1"
	"encoding/hex"
	"math/big"
	"testing"

	"github.com/tokenssl/tokenssl/internal/legacytest"
)

// FuzzParseDSASignature checks that the Dss-Sig-Value decoder never panics,
// and that whatever it accepts is canonical DER with positive r and s that
// re-encodes to the same bytes.
func FuzzParseDSASignature(f *testing.F) {
	for _, s := range []string{
		"3006020101020102",
		"302c021400a1b2c3d4e5f60718293a4b5c6d7e8f9012345602140102030405060708090a0b0c0d0e0f1011121314",
		"",
		"3000",
		"300602010002010102",
		"3006020100020102",
		"30060201ff020102",
		"300702020001020102",
		"308106020101020102",
		"30800201010201020000",
		"3106020101020102",
	} {
		b, err := hex.DecodeString(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		r, s, err := ParseDSASignature(der)
		if err != nil {
			if r != nil || s != nil {
				t.Fatal("values returned with an error")
			}
			return
		}
		if r.Sign() <= 0 || s.Sign() <= 0 {
			t.Fatalf("accepted non-positive r=%v s=%v", r, s)
		}
		re, err := MarshalDSASignature(r, s)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(re, der) {
			t.Fatalf("accepted non-canonical %x (canonical %x)", der, re)
		}
		var v struct{ R, S *big.Int }
		if rest, err := asn1.Unmarshal(der, &v); err != nil || len(rest) != 0 || v.R.Cmp(r) != 0 || v.S.Cmp(s) != 0 {
			t.Fatalf("encoding/asn1 disagrees: %v %x", err, rest)
		}
	})
}

// fixedFuzzDSAKey is the DSA key of the fuzz targets: a fixed private key
// keeps their corpora meaningful across runs.
func fixedFuzzDSAKey() *dsa.PrivateKey {
	key := &dsa.PrivateKey{
		PublicKey: dsa.PublicKey{Parameters: legacytest.DSA1024},
		X:         legacytest.HexInt("1234567890abcdef1234567890abcdef12345678"),
	}
	key.Y = new(big.Int).Exp(key.G, key.X, key.P)
	return key
}

// FuzzVerifyDSA feeds arbitrary signatures to VerifyDSA with a fixed key:
// it must never panic, and only the genuine signature may verify (a forgery
// here would mean a broken verifier, not luck).
func FuzzVerifyDSA(f *testing.F) {
	key := fixedFuzzDSAKey()
	digest := sha1.Sum([]byte("fuzz"))
	// Genuine signature made with a fixed nonce k (test only).
	k := legacytest.HexInt("0fedcba9876543210fedcba9876543210fedcba9")
	r := new(big.Int).Exp(key.G, k, key.P)
	r.Mod(r, key.Q)
	s := new(big.Int).Mul(key.X, r)
	s.Add(s, new(big.Int).SetBytes(digest[:]))
	s.Mul(s, new(big.Int).ModInverse(k, key.Q))
	s.Mod(s, key.Q)
	genuine, err := MarshalDSASignature(r, s)
	if err != nil {
		f.Fatal(err)
	}
	if err := VerifyDSA(&key.PublicKey, digest[:], genuine); err != nil {
		f.Fatalf("genuine signature: %v", err)
	}
	f.Add(genuine)
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0x30}, 8))
	f.Fuzz(func(t *testing.T, sig []byte) {
		if err := VerifyDSA(&key.PublicKey, digest[:], sig); err == nil && !bytes.Equal(sig, genuine) {
			// DSA signatures are not unique in general, but only the key
			// holder can make another one.
			t.Fatalf("forged signature %x verified", sig)
		}
	})
}
