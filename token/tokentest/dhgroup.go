package tokentest

import (
	"crypto/rand"
	"math/big"
	"testing"

	"github.com/tokenssl/tokenssl/token"
)

// CofactorGroup returns a 1024-bit DH group whose p-1 = 12·q·m: g of prime
// order q (160 bits), and elements of small order (2, 3, 4, 12 and 2q) for
// a hostile peer to send, from which it would learn x mod 2, 3, 4 through
// any oracle (the small-subgroup attack on static DH keys). The map's keys
// name each element's order.
func CofactorGroup(t testing.TB) (*token.DHParams, map[string]*big.Int) {
	t.Helper()
	one := big.NewInt(1)
	q, err := rand.Prime(rand.Reader, 160)
	if err != nil {
		t.Fatal(err)
	}
	var p *big.Int
	for p == nil {
		m, _ := rand.Int(rand.Reader, new(big.Int).Lsh(one, 860))
		c := new(big.Int).Mul(m, q)
		c.Mul(c, big.NewInt(12)).Add(c, one)
		if c.BitLen() == 1024 && c.ProbablyPrime(20) {
			p = c
		}
	}
	pm1 := new(big.Int).Sub(p, one)
	ofOrder := func(order int64) *big.Int {
		e := new(big.Int).Div(pm1, big.NewInt(order))
		for h := int64(2); ; h++ {
			y := new(big.Int).Exp(big.NewInt(h), e, p)
			if y.Cmp(one) == 0 {
				continue
			}
			if order == 4 && new(big.Int).Exp(y, big.NewInt(2), p).Cmp(one) == 0 {
				continue // order 2, not 4
			}
			return y
		}
	}
	g := new(big.Int).Exp(big.NewInt(2), new(big.Int).Div(pm1, q), p)
	o3, o4 := ofOrder(3), ofOrder(4)
	return &token.DHParams{P: p, G: g, Q: q}, map[string]*big.Int{
		"order 2 (p-1)": pm1, "order 3": o3, "order 4": o4,
		"order 12": new(big.Int).Mod(new(big.Int).Mul(o3, o4), p),
		"order 2q": new(big.Int).Mod(new(big.Int).Mul(g, pm1), p),
	}
}
