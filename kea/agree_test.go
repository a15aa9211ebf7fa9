package kea

import (
	"bytes"
	"errors"
	"math/big"
	"testing"
)

// parties returns A's and B's static and ephemeral keys.
func parties(t testing.TB) (xa, ra, xb, rb *PrivateKey) {
	return mustKey(t, 10), mustKey(t, 11), mustKey(t, 12), mustKey(t, 13)
}

// directW evaluates (a^e + b^f) mod p with big.Int.Exp as an independent
// reference.
func directW(p *big.Int, a, e, b, f *big.Int) []byte {
	t := new(big.Int).Exp(a, e, p)
	u := new(big.Int).Exp(b, f, p)
	w := t.Add(t, u)
	w.Mod(w, p)
	return w.FillBytes(make([]byte, ValueSize))
}

// agreeBoth computes w on both sides (the responder's ephemeral key rb,
// nil in e-mail mode, sent as rbValue) and checks they agree.
func agreeBoth(t *testing.T, mode string, xa, ra, xb, rb *PrivateKey, rbValue *big.Int) (wa, wb []byte) {
	t.Helper()
	wa, err := InitiatorSharedValue(xa, ra, xb.Y, rbValue)
	if err != nil {
		t.Fatal(err)
	}
	wb, err = ResponderSharedValue(xb, rb, xa.Y, ra.Y)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(wa, wb) {
		t.Fatal(mode + "initiator and responder disagree on w")
	}
	return wa, wb
}

func TestFullMode(t *testing.T) {
	xa, ra, xb, rb := parties(t)
	p := xa.P
	wa, wb := agreeBoth(t, "", xa, ra, xb, rb, rb.Y)
	if len(wa) != ValueSize {
		t.Fatalf("len(w) = %d", len(wa))
	}
	// w = Y_B^r_A + R_B^x_A
	if want := directW(p, xb.Y, ra.X, rb.Y, xa.X); !bytes.Equal(wa, want) {
		t.Fatal("w differs from Y_B^r_A + R_B^x_A")
	}
	// The full-mode w must not equal the e-mail-mode one.
	we, _ := InitiatorSharedValue(xa, ra, xb.Y, big.NewInt(1))
	if bytes.Equal(we, wa) {
		t.Fatal("full and e-mail mode gave the same w")
	}
	ta, _ := DeriveTEK(wa)
	tb, _ := DeriveTEK(wb)
	if !bytes.Equal(ta, tb) || len(ta) != TEKSize {
		t.Fatalf("TEKs differ: %x %x", ta, tb)
	}
}

func TestEmailMode(t *testing.T) {
	xa, ra, xb, _ := parties(t)
	p := xa.P
	rs, err := DecodeValue(EmailModeR())
	if err != nil || !IsEmailMode(rs) {
		t.Fatalf("EmailModeR does not decode to 1: %v %v", rs, err)
	}
	wa, wb := agreeBoth(t, "e-mail mode: ", xa, ra, xb, nil, rs)
	// A: w = Y_B^r_A + Y_B^x_A ; B: w = Y_A^x_B + R_A^x_B
	if want := directW(p, xb.Y, ra.X, xb.Y, xa.X); !bytes.Equal(wa, want) {
		t.Fatal("w differs from Y_B^r_A + Y_B^x_A")
	}
	if want := directW(p, xa.Y, xb.X, ra.Y, xb.X); !bytes.Equal(wb, want) {
		t.Fatal("w differs from Y_A^x_B + R_A^x_B")
	}
}

func TestIsEmailMode(t *testing.T) {
	for _, tc := range []struct {
		v    *big.Int
		want bool
	}{{nil, false}, {big.NewInt(0), false}, {big.NewInt(1), true}, {big.NewInt(2), false},
		{new(big.Int).Lsh(big.NewInt(1), 1016), false}, // 01 00…00: only a full compare sees it
		{new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), 1016), big.NewInt(1)), false}} {
		if got := IsEmailMode(tc.v); got != tc.want {
			t.Errorf("IsEmailMode(%x) = %v", tc.v, got)
		}
	}
}

// The composable pieces give the same w as the convenience functions: this
// is the path the SoftHSM emulator takes (two DH derives on the token, then
// CombineW in Go).
func TestComposable(t *testing.T) {
	xa, ra, xb, rb := parties(t)
	params := &xa.Params
	tt, err := ExpT(params, xb.Y, ra.X)
	if err != nil {
		t.Fatal(err)
	}
	u, err := ExpU(params, rb.Y, xa.X)
	if err != nil {
		t.Fatal(err)
	}
	w, err := CombineW(params, tt, u)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := InitiatorSharedValue(xa, ra, xb.Y, rb.Y)
	if !bytes.Equal(w, want) {
		t.Fatal("ExpT/ExpU/CombineW differ from InitiatorSharedValue")
	}
	// Responder side, e-mail mode.
	tt, _ = ExpT(params, xa.Y, xb.X)
	u, _ = ExpU(params, ra.Y, xb.X)
	w, _ = CombineW(params, tt, u)
	want, _ = ResponderSharedValue(xb, nil, xa.Y, ra.Y)
	if !bytes.Equal(w, want) {
		t.Fatal("composable e-mail responder differs")
	}
}

func TestCombineW(t *testing.T) {
	params := DefaultParams()
	p := params.P
	// w = 0 is rejected.
	u := big.NewInt(12345)
	if _, err := CombineW(params, new(big.Int).Sub(p, u), u); !errors.Is(err, ErrZeroSecret) {
		t.Fatalf("t+u = p: err = %v, want ErrZeroSecret", err)
	}
	if _, err := CombineW(params, big.NewInt(0), big.NewInt(0)); !errors.Is(err, ErrZeroSecret) {
		t.Fatalf("0+0: err = %v, want ErrZeroSecret", err)
	}
	// Small w is left-padded; wrap-around is reduced.
	w, err := CombineW(params, big.NewInt(1), big.NewInt(2))
	if err != nil || len(w) != ValueSize || w[127] != 3 || !bytes.Equal(w[:127], make([]byte, 127)) {
		t.Fatalf("CombineW(1,2) = %x, %v", w, err)
	}
	pm1 := new(big.Int).Sub(p, one)
	w, _ = CombineW(params, pm1, big.NewInt(2)) // (p-1+2) mod p = 1
	if w[127] != 1 || !bytes.Equal(w[:127], make([]byte, 127)) {
		t.Fatalf("CombineW(p-1,2) = %x", w)
	}
	for _, bad := range []*big.Int{nil, big.NewInt(-1), p} {
		if _, err := CombineW(params, bad, one); err == nil {
			t.Errorf("CombineW accepted t = %v", bad)
		}
	}
}

func TestAgreementRejects(t *testing.T) {
	xa, ra, xb, rb := parties(t)
	bad := []*big.Int{nil, big.NewInt(0), big.NewInt(2), new(big.Int).Sub(xa.P, one), xa.P}
	for _, v := range bad {
		if _, err := InitiatorSharedValue(xa, ra, v, rb.Y); err == nil {
			t.Errorf("initiator accepted peer static %v", v)
		}
		if _, err := InitiatorSharedValue(xa, ra, xb.Y, v); err == nil && !IsEmailMode(v) {
			t.Errorf("initiator accepted peer ephemeral %v", v)
		}
		if _, err := ResponderSharedValue(xb, rb, v, ra.Y); err == nil {
			t.Errorf("responder accepted peer static %v", v)
		}
		if _, err := ResponderSharedValue(xb, rb, xa.Y, v); err == nil {
			t.Errorf("responder accepted peer ephemeral %v", v)
		}
	}
	// R_A = 1 is not an e-mail marker for the responder: it is out of range.
	if _, err := ResponderSharedValue(xb, rb, xa.Y, big.NewInt(1)); !errors.Is(err, ErrPublicRange) {
		t.Errorf("responder with R_A = 1: %v", err)
	}
	// Private values out of range.
	if _, err := ExpT(&xa.Params, xb.Y, new(big.Int).Set(xa.Q)); !errors.Is(err, ErrPrivateRange) {
		t.Errorf("ExpT with r = q: %v", err)
	}
	if _, err := ExpU(&xa.Params, xb.Y, big.NewInt(0)); !errors.Is(err, ErrPrivateRange) {
		t.Errorf("ExpU with x = 0: %v", err)
	}
	// Keys from different groups.
	other := *ra
	other.Params = Params{P: xa.P, Q: xa.Q, G: new(big.Int).Exp(xa.G, big.NewInt(2), xa.P)}
	if _, err := InitiatorSharedValue(xa, &other, xb.Y, rb.Y); !errors.Is(err, ErrParamsMismatch) {
		t.Errorf("mismatched params: %v", err)
	}
	if _, err := ResponderSharedValue(xb, &other, xa.Y, ra.Y); !errors.Is(err, ErrParamsMismatch) {
		t.Errorf("mismatched params: %v", err)
	}
	if _, err := InitiatorSharedValue(xa, nil, xb.Y, rb.Y); err == nil {
		t.Error("initiator without ephemeral key accepted")
	}
	if _, err := ResponderSharedValue(nil, rb, xa.Y, ra.Y); err == nil {
		t.Error("responder without static key accepted")
	}
}

func BenchmarkInitiatorSharedValue(b *testing.B) {
	xa, ra, xb, rb := parties(b)
	for b.Loop() {
		InitiatorSharedValue(xa, ra, xb.Y, rb.Y)
	}
}
