package x509legacy

import (
	"encoding/hex"
	"math/big"
	"strings"
	"testing"
)

// accepted reports whether a parser took its input (err is nil), failing
// the fuzz target where it refused the input yet returned a value: a caller
// must be able to rely on a refusal returning nothing.
func accepted[T comparable](t *testing.T, v T, err error) bool {
	t.Helper()
	if err == nil {
		return true
	}
	var zero T
	if v != zero {
		t.Fatalf("%T returned with an error", v)
	}
	return false
}

// FuzzParseDHPublicKey: the parser never panics; whatever it accepts passes
// the documented range checks, and re-marshals (as X9.42) to a key that
// parses back to the same numbers.
//
// Seeds: testdata/fuzz/FuzzParseDHPublicKey (an OpenSSL DHX key, our own
// encodings of X9.42 and PKCS #3 keys, and malformed variants). To fuzz:
//
//	go test -run '^$' -fuzz '^FuzzParseDHPublicKey$' -fuzztime 60s ./x509legacy
func FuzzParseDHPublicKey(f *testing.F) {
	der, _ := hex.DecodeString(strings.Join(strings.Fields(opensslDHXPub), ""))
	f.Add(der)
	one := big.NewInt(1)
	f.Fuzz(func(t *testing.T, data []byte) {
		pub, err := ParseDHPublicKey(data)
		if !accepted(t, pub, err) {
			return
		}
		pm1 := new(big.Int).Sub(pub.P, one)
		if pub.P.Bit(0) == 0 || pub.P.BitLen() > MaxDHPrimeBits ||
			pub.G.Cmp(one) <= 0 || pub.G.Cmp(pm1) >= 0 || pub.Y.Cmp(one) <= 0 || pub.Y.Cmp(pm1) >= 0 {
			t.Fatalf("accepted out-of-range key %+v", pub)
		}
		if pub.Q != nil && new(big.Int).Mod(pm1, pub.Q).Sign() != 0 {
			t.Fatal("accepted q not dividing p-1")
		}
		re, err := MarshalDHPublicKey(pub)
		if err != nil {
			t.Fatalf("accepted key does not marshal: %v", err)
		}
		back, err := ParseDHPublicKey(re)
		if err != nil {
			t.Fatalf("re-marshaled key does not parse: %v", err)
		}
		wantQ := pub.Q
		if wantQ == nil {
			wantQ = new(big.Int).Rsh(pub.P, 1)
		}
		if back.P.Cmp(pub.P) != 0 || back.G.Cmp(pub.G) != 0 || back.Y.Cmp(pub.Y) != 0 || back.Q.Cmp(wantQ) != 0 ||
			(back.J == nil) != (pub.J == nil) || pub.J != nil && back.J.Cmp(pub.J) != 0 {
			t.Fatalf("round trip changed the key")
		}
	})
}
