package kea

import (
	"errors"
	"math/big"
	"testing"
)

func TestDefaultParams(t *testing.T) {
	p := DefaultParams()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if p.P.BitLen() != 1024 || p.Q.BitLen() != 160 {
		t.Fatalf("sizes %d/%d", p.P.BitLen(), p.Q.BitLen())
	}
	// A fresh copy each time: mutating one must not affect the next.
	p.P.SetInt64(7)
	if DefaultParams().P.BitLen() != 1024 {
		t.Fatal("DefaultParams shares state between calls")
	}
}

func TestGenerateParams(t *testing.T) {
	if testing.Short() {
		t.Skip("parameter generation is slow")
	}
	p, err := GenerateParams(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if p.Equal(DefaultParams()) {
		t.Fatal("GenerateParams returned the default group")
	}
}

func TestValidateRejects(t *testing.T) {
	d := DefaultParams()
	add := func(a *big.Int, n int64) *big.Int { return new(big.Int).Add(a, big.NewInt(n)) }
	// Find an odd 160-bit composite next to q and a 1024-bit composite next
	// to p, so that only primality fails.
	compositeQ := add(d.Q, 2)
	for compositeQ.ProbablyPrime(20) {
		compositeQ.Add(compositeQ, big.NewInt(2))
	}
	compositeP := add(d.P, 2)
	for compositeP.ProbablyPrime(20) {
		compositeP.Add(compositeP, big.NewInt(2))
	}
	// A 160-bit prime that does not divide p-1.
	otherQ := add(d.Q, 2)
	for !otherQ.ProbablyPrime(20) {
		otherQ.Add(otherQ, big.NewInt(2))
	}
	tests := []struct {
		name   string
		params *Params
	}{
		{"nil", nil},
		{"missing g", &Params{P: d.P, Q: d.Q}},
		{"small p", &Params{P: new(big.Int).Rsh(d.P, 1), Q: d.Q, G: big.NewInt(2)}},
		{"big q", &Params{P: d.P, Q: new(big.Int).Lsh(d.Q, 1), G: d.G}},
		{"negative p", &Params{P: new(big.Int).Neg(d.P), Q: d.Q, G: d.G}},
		{"g = 1", &Params{P: d.P, Q: d.Q, G: big.NewInt(1)}},
		{"g = p", &Params{P: d.P, Q: d.Q, G: d.P}},
		{"composite q", &Params{P: d.P, Q: compositeQ, G: d.G}},
		{"composite p", &Params{P: compositeP, Q: d.Q, G: big.NewInt(2)}},
		{"q does not divide p-1", &Params{P: d.P, Q: otherQ, G: d.G}},
		{"g of wrong order", &Params{P: d.P, Q: d.Q, G: new(big.Int).Sub(d.P, big.NewInt(2))}},
	}
	for _, tc := range tests {
		err := tc.params.Validate()
		if !errors.Is(err, ErrInvalidParams) {
			t.Errorf("%s: Validate() = %v, want ErrInvalidParams", tc.name, err)
		}
	}
}

func TestParamsEqual(t *testing.T) {
	a, b := DefaultParams(), DefaultParams()
	if !a.Equal(b) {
		t.Fatal("equal params reported different")
	}
	b.G = new(big.Int).Exp(b.G, big.NewInt(2), b.P)
	if a.Equal(b) {
		t.Fatal("different g reported equal")
	}
	if a.Equal(nil) || !(*Params)(nil).Equal(nil) {
		t.Fatal("nil handling")
	}
}
