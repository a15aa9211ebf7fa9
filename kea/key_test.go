package kea

import (
	"bytes"
	"errors"
	"math/big"
	"math/rand/v2"
	"testing"
)

// seeded returns a deterministic random source for reproducible tests.
func seeded(seed byte) *rand.ChaCha8 {
	var s [32]byte
	s[0] = seed
	return rand.NewChaCha8(s)
}

func mustKey(t testing.TB, seed byte) *PrivateKey {
	t.Helper()
	k, err := GenerateKey(seeded(seed), DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestGenerateKey(t *testing.T) {
	params := DefaultParams()
	for i := range 20 {
		k, err := GenerateKey(seeded(byte(i)), params)
		if err != nil {
			t.Fatal(err)
		}
		if k.X.Sign() <= 0 || k.X.Cmp(params.Q) >= 0 {
			t.Fatalf("x out of range: %x", k.X)
		}
		if want := new(big.Int).Exp(params.G, k.X, params.P); want.Cmp(k.Y) != 0 {
			t.Fatal("Y != g^x mod p")
		}
		if err := CheckPublic(params, k.Y); err != nil {
			t.Fatal(err)
		}
		if err := k.Validate(); err != nil {
			t.Fatal(err)
		}
		if err := k.Public().Validate(); err != nil {
			t.Fatal(err)
		}
		if !k.Public().Params.Equal(params) || k.Public().Y.Cmp(k.Y) != 0 {
			t.Fatal("Public() mismatch")
		}
	}
	// Deterministic for a deterministic reader; different across seeds.
	if mustKey(t, 1).X.Cmp(mustKey(t, 1).X) != 0 || mustKey(t, 1).X.Cmp(mustKey(t, 2).X) == 0 {
		t.Fatal("GenerateKey does not follow its random source")
	}
	if _, err := GenerateKey(nil, params); err != nil {
		t.Fatal(err)
	}
	if _, err := GenerateKey(bytes.NewReader([]byte{1, 2, 3}), params); err == nil {
		t.Fatal("GenerateKey succeeded on a short reader")
	}
	if _, err := GenerateKey(nil, &Params{}); !errors.Is(err, ErrInvalidParams) {
		t.Fatalf("GenerateKey with empty params: %v", err)
	}
	// The key does not alias the caller's params.
	k := mustKey(t, 3)
	params.P.SetInt64(5)
	if k.P.BitLen() != PrimeBits {
		t.Fatal("key aliases caller's params")
	}
}

func TestPrivateKeyValidate(t *testing.T) {
	k := mustKey(t, 4)
	bad := *k
	bad.Y = new(big.Int).Add(k.Y, one)
	if bad.Validate() == nil {
		t.Error("Validate accepted Y != g^x")
	}
	bad = *k
	bad.X = new(big.Int).Set(k.Q)
	if !errors.Is(bad.Validate(), ErrPrivateRange) {
		t.Error("Validate accepted x = q")
	}
}

func TestCheckPublic(t *testing.T) {
	params := DefaultParams()
	p := params.P
	sub := func(a *big.Int, n int64) *big.Int { return new(big.Int).Sub(a, big.NewInt(n)) }
	tests := []struct {
		name string
		v    *big.Int
		want error
	}{
		{"nil", nil, ErrPublicRange},
		{"negative", big.NewInt(-5), ErrPublicRange},
		{"0", big.NewInt(0), ErrPublicRange},
		{"1", big.NewInt(1), ErrPublicRange},
		{"p-1", sub(p, 1), ErrPublicRange},
		{"p", p, ErrPublicRange},
		{"p+1", sub(p, -1), ErrPublicRange},
		{"2 (full group)", big.NewInt(2), ErrPublicOrder},
		{"p-2", sub(p, 2), ErrPublicOrder},
		{"g", params.G, nil},
		{"Y", mustKey(t, 5).Y, nil},
	}
	for _, tc := range tests {
		if err := CheckPublic(params, tc.v); !errors.Is(err, tc.want) {
			t.Errorf("%s: CheckPublic = %v, want %v", tc.name, err, tc.want)
		}
	}
	if err := (&PublicKey{Params: *params, Y: big.NewInt(2)}).Validate(); !errors.Is(err, ErrPublicOrder) {
		t.Errorf("PublicKey.Validate with Y = 2: %v", err)
	}
	if err := CheckPublic(nil, params.G); !errors.Is(err, ErrInvalidParams) {
		t.Errorf("nil params: %v", err)
	}
}

func TestEncodeDecodeValue(t *testing.T) {
	b, err := EncodeValue(big.NewInt(0x0102))
	if err != nil || len(b) != ValueSize || b[126] != 1 || b[127] != 2 || !bytes.Equal(b[:126], make([]byte, 126)) {
		t.Fatalf("EncodeValue = %x, %v", b, err)
	}
	if _, err := EncodeValue(new(big.Int).Lsh(one, 1024)); err == nil {
		t.Fatal("EncodeValue accepted a 1025-bit value")
	}
	if _, err := EncodeValue(big.NewInt(-1)); err == nil {
		t.Fatal("EncodeValue accepted a negative value")
	}
	v, err := DecodeValue(b)
	if err != nil || v.Int64() != 0x0102 {
		t.Fatalf("DecodeValue = %v, %v", v, err)
	}
	for _, n := range []int{0, 129} {
		if _, err := DecodeValue(make([]byte, n)); err == nil {
			t.Errorf("DecodeValue accepted %d bytes", n)
		}
	}
}
