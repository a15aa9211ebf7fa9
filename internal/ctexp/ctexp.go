// Package ctexp computes modular exponentiations whose exponent is secret
// (a DH, KEA or DSA private value, an RSA private exponent) in time that
// does not depend on the exponent's value.
//
// math/big's Exp is documented by the Go authors as not constant-time. For
// an odd modulus it indexes its 4-bit window table with the secret window
// (a cache-timing channel), ends each Montgomery step with a subtraction
// taken or not after the data, trims the exponent to its significant words,
// and takes an exponent of one word by square-and-multiply, one
// multiplication per one bit. This package runs the arithmetic on
// filippo.io/bigmod, the constant-time modular
// arithmetic of crypto/rsa (crypto/internal/fips140/bigmod) published as a
// module: a fixed 4-bit window, every table entry read for every window
// (the selection is a mask, not an index), Montgomery multiplication whose
// time depends only on the modulus' size.
//
// What may leak, and why that is acceptable here:
//   - the modulus (its size and whether it is odd): it is public in every
//     caller (a group prime, an RSA modulus);
//   - the base's value when it is negative or not below the modulus, which
//     math/big then reduces: every caller passes a public base (a peer
//     value, a generator, a blinded RSA ciphertext), normally already
//     reduced;
//   - the exponent's length in bytes after padding to the caller's public
//     bound (expBits): the secret exponent is converted from its big.Int by
//     FillBytes, whose time follows the big.Int's word count; a uniform
//     exponent has a shorter word count with probability 2^-64 or less;
//   - the result's length, since it is returned as a big.Int (every caller
//     strips or pads the result at once, as its protocol says).
//
// BenchmarkExpLeak in this package is the attack that would refute the
// claim (docs/ssl3.md, "Constant-time arithmetic").
package ctexp

import (
	"math/big"
	"sync"

	"filippo.io/bigmod"
)

// Modulus is an odd modulus > 1 prepared for Exp. It is safe for
// concurrent use.
type Modulus struct {
	n *big.Int // a private copy, for the fallbacks and the base reduction
	m *bigmod.Modulus
}

// NewModulus prepares n. It returns nil if n is even or not greater than 1:
// bigmod's exponentiation is Montgomery's, which needs an odd modulus.
func NewModulus(n *big.Int) *Modulus {
	if n == nil || n.Cmp(big.NewInt(1)) <= 0 || n.Bit(0) == 0 {
		return nil
	}
	m, err := bigmod.NewModulus(n.Bytes())
	if err != nil {
		return nil
	}
	return &Modulus{n: new(big.Int).Set(n), m: m}
}

// Exp returns base^exp mod m, the same number as
// new(big.Int).Exp(base, exp, m). For 0 <= exp < 2^expBits the time it takes
// depends on expBits and m but not on exp; expBits must be a public bound,
// such as the bit length of the group order or of the modulus. An exp that
// does not fit expBits is still computed correctly, padded to its own byte
// length, which that length then leaks. A negative exp (a modular inverse,
// which no caller asks for) is left to math/big.
func (m *Modulus) Exp(base, exp *big.Int, expBits int) *big.Int {
	if exp.Sign() < 0 {
		return new(big.Int).Exp(base, exp, m.n)
	}
	if base.Sign() < 0 || base.Cmp(m.n) >= 0 {
		base = new(big.Int).Mod(base, m.n)
	}
	x, err := bigmod.NewNat().SetBytes(base.Bytes(), m.m)
	if err != nil {
		// Unreachable (base < m was ensured above); math/big's answer is
		// still the right one, and peer input must not panic.
		return new(big.Int).Exp(base, exp, m.n)
	}
	e := make([]byte, (max(expBits, exp.BitLen())+7)/8)
	exp.FillBytes(e)
	r := bigmod.NewNat().Exp(x, e, m.m)
	clear(e)
	return new(big.Int).SetBytes(r.Bytes(m.m))
}

// Exp returns base^exp mod mod, the same number as
// new(big.Int).Exp(base, exp, mod), in time independent of exp's value when
// mod is odd and greater than 1 and 0 <= exp < 2^expBits (see Modulus.Exp).
// The prepared modulus is cached (cacheSize entries). For an even modulus,
// or one not greater than 1, it falls back to math/big, which is not
// constant-time: no caller's secret meets such a modulus (a group prime
// and an RSA modulus are odd, and the groups a peer sends are checked to be
// odd first), and the fallback keeps Exp total on any input.
func Exp(base, exp, mod *big.Int, expBits int) *big.Int {
	m := cached(mod)
	if m == nil {
		return new(big.Int).Exp(base, exp, mod)
	}
	return m.Exp(base, exp, expBits)
}

// cacheSize bounds the moduli remembered: the built-in groups, the
// configured ones and the temporary RSA key fit many times over, and a
// stream of peers' groups (a client meets every server's) can only evict,
// not grow the cache. Preparing a modulus costs 3 to 5% of one
// exponentiation in it (12 µs against 430 µs for group 14 with a 256-bit
// exponent), the lookup 0.1 to 0.3% (BenchmarkPrepare): cheap enough that
// callers keep their *big.Int moduli instead of holding prepared values.
const cacheSize = 32

var cache struct {
	sync.Mutex
	m     map[string]*Modulus
	order []string // insertion order, oldest first
}

// cached returns the prepared n, preparing and remembering it on a miss,
// or nil when n cannot be prepared.
func cached(n *big.Int) *Modulus {
	if n == nil || n.Sign() <= 0 || n.Bit(0) == 0 {
		return nil
	}
	key := string(n.Bytes())
	cache.Lock()
	m, ok := cache.m[key]
	cache.Unlock()
	if ok {
		return m
	}
	if m = NewModulus(n); m == nil {
		return nil
	}
	cache.Lock()
	defer cache.Unlock()
	if cache.m == nil {
		cache.m = make(map[string]*Modulus, cacheSize)
	}
	if _, ok := cache.m[key]; !ok {
		if len(cache.order) == cacheSize {
			delete(cache.m, cache.order[0])
			cache.order = append(cache.order[:0], cache.order[1:]...)
		}
		cache.order = append(cache.order, key)
		cache.m[key] = m
	}
	return m
}
