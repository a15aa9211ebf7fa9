package kea

import (
	"math/big"
	"math/rand/v2"
	"testing"
)

func randInt(r *rand.Rand, bits int) *big.Int {
	b := make([]byte, (bits+7)/8)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	n := new(big.Int).SetBytes(b)
	return n.Rsh(n, uint(len(b)*8-bits))
}

func TestExpLadderMatchesExp(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	d := DefaultParams()
	check := func(base, exp, m *big.Int, bits int) {
		t.Helper()
		got := expLadder(base, exp, m, bits)
		want := new(big.Int).Exp(base, exp, m)
		if got.Cmp(want) != 0 {
			t.Fatalf("expLadder(%x, %x, %x, %d) = %x, want %x", base, exp, m, bits, got, want)
		}
	}
	// Random bases and exponents of every length up to 160 bits, modulo p.
	for i := range 300 {
		base := randInt(r, 1024)
		base.Mod(base, d.P)
		exp := randInt(r, 1+i%160)
		check(base, exp, d.P, 160)
	}
	// Random odd and even moduli of assorted sizes, and bits > len(exp).
	for range 300 {
		m := randInt(r, 2+r.IntN(600))
		if m.Cmp(big.NewInt(1)) <= 0 {
			continue
		}
		base := randInt(r, 700) // may exceed m
		bits := 1 + r.IntN(300)
		exp := randInt(r, 1+r.IntN(bits))
		check(base, exp, m, bits)
	}
	// Edge cases.
	for _, e := range []*big.Int{big.NewInt(0), big.NewInt(1), big.NewInt(2), new(big.Int).Sub(d.Q, big.NewInt(1)), d.Q,
		new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 160), big.NewInt(1))} {
		for _, b := range []*big.Int{big.NewInt(0), big.NewInt(1), big.NewInt(2), new(big.Int).Sub(d.P, big.NewInt(1)), d.G, d.P} {
			check(b, e, d.P, 160)
		}
	}
}

func BenchmarkExpLadder(b *testing.B) {
	d := DefaultParams()
	k := mustKey(b, 9)
	for b.Loop() {
		expLadder(d.G, k.X, d.P, SubprimeBits)
	}
}

func BenchmarkBigExp(b *testing.B) {
	d := DefaultParams()
	k := mustKey(b, 9)
	for b.Loop() {
		new(big.Int).Exp(d.G, k.X, d.P)
	}
}
