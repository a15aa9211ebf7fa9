package kea

import (
	"crypto/dsa"
	"crypto/rand"
	"fmt"
	"io"
	"math/big"
)

// Params are KEA domain parameters: a 1024-bit prime p, a 160-bit prime q
// dividing p-1 and a generator g of the order-q subgroup. Both parties of an
// exchange must use the same Params.
type Params struct {
	P, Q, G *big.Int
}

// primalityRounds is the Miller-Rabin count used by Validate, matching
// crypto/dsa's parameter generation (FIPS 186-3 table C.1 maximum).
const primalityRounds = 64

// Validate checks that p is a 1024-bit prime, q a 160-bit prime dividing
// p-1, 1 < g < p and g^q ≡ 1 (mod p). It costs a few milliseconds (the
// primality tests); callers that see the same parameters repeatedly should
// validate once.
func (params *Params) Validate() error {
	if err := params.checkShape(); err != nil {
		return err
	}
	p, q, g := params.P, params.Q, params.G
	if !q.ProbablyPrime(primalityRounds) {
		return fmt.Errorf("%w: q is not prime", ErrInvalidParams)
	}
	if !p.ProbablyPrime(primalityRounds) {
		return fmt.Errorf("%w: p is not prime", ErrInvalidParams)
	}
	pm1 := new(big.Int).Sub(p, one)
	if new(big.Int).Mod(pm1, q).Sign() != 0 {
		return fmt.Errorf("%w: q does not divide p-1", ErrInvalidParams)
	}
	if new(big.Int).Exp(g, q, p).Cmp(one) != 0 {
		return fmt.Errorf("%w: g^q mod p != 1", ErrInvalidParams)
	}
	return nil
}

// checkShape does the cheap structural checks (sizes and 1 < g < p) that
// every operation needs so that malformed parameters cannot cause panics or
// unbounded work.
func (params *Params) checkShape() error {
	if params == nil || params.P == nil || params.Q == nil || params.G == nil {
		return fmt.Errorf("%w: missing p, q or g", ErrInvalidParams)
	}
	p, q, g := params.P, params.Q, params.G
	if p.Sign() <= 0 || p.BitLen() != PrimeBits {
		return fmt.Errorf("%w: p is %d bits, want %d", ErrInvalidParams, p.BitLen(), PrimeBits)
	}
	if q.Sign() <= 0 || q.BitLen() != SubprimeBits {
		return fmt.Errorf("%w: q is %d bits, want %d", ErrInvalidParams, q.BitLen(), SubprimeBits)
	}
	if g.Cmp(one) <= 0 || g.Cmp(p) >= 0 {
		return fmt.Errorf("%w: g not in (1, p)", ErrInvalidParams)
	}
	return nil
}

// Equal reports whether params and other describe the same group.
func (params *Params) Equal(other *Params) bool {
	if params == nil || other == nil {
		return params == other
	}
	return eqInt(params.P, other.P) && eqInt(params.Q, other.Q) && eqInt(params.G, other.G)
}

func eqInt(a, b *big.Int) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Cmp(b) == 0
}

// clone returns a deep copy so that keys do not share mutable big.Ints with
// their caller.
func (params *Params) clone() Params {
	return Params{
		P: new(big.Int).Set(params.P),
		Q: new(big.Int).Set(params.Q),
		G: new(big.Int).Set(params.G),
	}
}

// DefaultParams returns a fresh copy of the built-in 1024/160 group (see
// params_default.go for its provenance).
func DefaultParams() *Params {
	p := Params{P: mustHex(defaultP), Q: mustHex(defaultQ), G: mustHex(defaultG)}
	return &p
}

func mustHex(s string) *big.Int {
	n, ok := new(big.Int).SetString(s, 16)
	if !ok {
		panic("kea: bad built-in constant") // unreachable: constants are fixed
	}
	return n
}

// GenerateParams generates a new 1024/160 group with crypto/dsa. It takes
// on the order of a second. If random is nil, crypto/rand.Reader is used.
func GenerateParams(random io.Reader) (*Params, error) {
	if random == nil {
		random = rand.Reader
	}
	var dp dsa.Parameters
	if err := dsa.GenerateParameters(&dp, random, dsa.L1024N160); err != nil {
		return nil, fmt.Errorf("kea: generating parameters: %w", err)
	}
	return &Params{P: dp.P, Q: dp.Q, G: dp.G}, nil
}

var one = big.NewInt(1)
