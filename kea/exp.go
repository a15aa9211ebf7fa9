package kea

import "math/big"

// expLadder returns base^exp mod m using a Montgomery ladder that always
// runs exactly bits iterations, each doing one modular multiplication and
// one modular squaring, whatever the value of exp. It requires
// 0 <= exp < 2^bits, m > 1 and base >= 0.
//
// Why: big.Int.Exp uses sliding windows whose sequence of squarings and
// multiplications depends on the exponent bits, leaking them through timing.
// The ladder removes that dependence at the algorithm level.
//
// Residual limits, stated honestly: math/big arithmetic is not constant
// time. Mul and Mod run in time that depends on the normalised word length
// of their operands (a ladder value with leading zero words is cheaper),
// allocation and GC behaviour can vary, exp.Bit reads a word of the secret,
// and the register selected by each bit (r[b]) is a secret-dependent memory
// access (two pointers in one cache line). So this narrows, but does not
// close, the timing side channel. The standard library's constant-time
// modular arithmetic (crypto/internal/fips140/bigmod) is not importable.
// Fortezza private keys are 160-bit and Fortezza is a legacy interop
// protocol; for keys that really matter use a token.
func expLadder(base, exp, m *big.Int, bits int) *big.Int {
	r := [2]*big.Int{big.NewInt(1), new(big.Int).Mod(base, m)}
	prod := new(big.Int)
	for i := bits - 1; i >= 0; i-- {
		b := exp.Bit(i)
		// r[1-b] = r0*r1, r[b] = r[b]^2: the ladder invariant r1 = r0*base.
		prod.Mul(r[0], r[1])
		prod.Mod(prod, m)
		r[b].Mul(r[b], r[b])
		r[b].Mod(r[b], m)
		r[1-b], prod = prod, r[1-b]
	}
	// For m > 1, r[0] is already reduced; the Mod below also covers exp = 0
	// with base ≡ anything (r[0] = 1 < m).
	return r[0].Mod(r[0], m)
}
