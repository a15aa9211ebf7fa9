package ctexp_test

import (
	"math/big"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tokenssl/tokenssl/internal/ctexp"
	"github.com/tokenssl/tokenssl/internal/dudect"
	"github.com/tokenssl/tokenssl/kea"
	"github.com/tokenssl/tokenssl/ssl"
)

// benchCase is a modulus with the exponent length a caller uses in it:
// the DH groups with ssl's short exponents (ssl/dh_groups.go
// dhExponentBits), the KEA group with its 160-bit q, and a 512-bit modulus with a full-length exponent (the
// temporary RSA_EXPORT key's private operation).
type benchCase struct {
	name    string
	mod     *big.Int
	expBits int
}

func benchCases() []benchCase {
	r := rand.New(rand.NewPCG(5, 6))
	return []benchCase{
		{"2048-group14-e256", ssl.RFC3526Group14().P, 256},
		{"1024-group2-e256", ssl.RFC2409Group2().P, 256},
		{"1024-kea-e160", kea.DefaultParams().P, kea.SubprimeBits},
		{"512-export-e160", ssl.ExportDHGroup512().P, 160},
		{"512-rsa-e512", randOdd(r, 512), 512},
	}
}

// impls are the two exponentiations compared: math/big's, and ours with
// the cached modulus (what every caller runs).
var impls = []struct {
	name string
	exp  func(base, exp, mod *big.Int, expBits int) *big.Int
}{
	{"math-big", func(base, exp, mod *big.Int, _ int) *big.Int { return new(big.Int).Exp(base, exp, mod) }},
	{"ctexp", ctexp.Exp},
}

// BenchmarkExp is the speed comparison, ns/op of math/big and of ctexp on
// the same random inputs.
//
//	go test ./internal/ctexp -run '^$' -bench '^BenchmarkExp$'
func BenchmarkExp(b *testing.B) {
	for _, c := range benchCases() {
		r := rand.New(rand.NewPCG(7, 8))
		base := new(big.Int).Mod(randInt(r, c.mod.BitLen()), c.mod)
		exp := randInt(r, c.expBits)
		for _, im := range impls {
			b.Run(c.name+"/"+im.name, func(b *testing.B) {
				for b.Loop() {
					im.exp(base, exp, c.mod, c.expBits)
				}
			})
		}
	}
}

// BenchmarkPrepare measures what caching buys: preparing a modulus
// (NewModulus, Montgomery constants) and looking it up in the cache,
// against an Exp on a prepared modulus and the package Exp (lookup
// included).
//
//	go test ./internal/ctexp -run '^$' -bench Prepare
func BenchmarkPrepare(b *testing.B) {
	for _, c := range benchCases() {
		r := rand.New(rand.NewPCG(9, 10))
		base := new(big.Int).Mod(randInt(r, c.mod.BitLen()), c.mod)
		exp := randInt(r, c.expBits)
		b.Run(c.name+"/new-modulus", func(b *testing.B) {
			for b.Loop() {
				ctexp.NewModulus(c.mod)
			}
		})
		ctexp.Cached(c.mod)
		b.Run(c.name+"/cache-lookup", func(b *testing.B) {
			for b.Loop() {
				ctexp.Cached(c.mod)
			}
		})
		m := ctexp.NewModulus(c.mod)
		b.Run(c.name+"/prepared-exp", func(b *testing.B) {
			for b.Loop() {
				m.Exp(base, exp, c.expBits)
			}
		})
		b.Run(c.name+"/cached-exp", func(b *testing.B) {
			for b.Loop() {
				ctexp.Exp(base, exp, c.mod, c.expBits)
			}
		})
	}
}

// BenchmarkExpLeak is the dudect-style test (Reparaz, Balasch, Verbauwhede,
// "Dude, is my code constant time?", DATE 2017) that would refute the
// constant-time claim: one exponentiation per iteration, the secret
// exponent drawn at random between two classes of the same bit length —
// A: 2^(n-1), a single one bit followed by zeros; B: uniform with the top
// bit set, a fresh one each time from a pool — in random order, so that
// drift, frequency scaling and the neighbours' load fall on both classes
// alike. It reports Welch's t statistic between the two classes' times,
// after dropping the slowest 10% of all samples (preemptions, GC), and
// without cropping (internal/dudect). |t| above about 4.5 means the
// classes are distinguishable: the time depends on the exponent. It is a
// benchmark, not a test: it measures, it asserts nothing.
//
//	go test ./internal/ctexp -run '^$' -bench ExpLeak -benchtime 20000x
func BenchmarkExpLeak(b *testing.B) {
	for _, c := range benchCases() {
		for _, im := range impls {
			b.Run(c.name+"/"+im.name, func(b *testing.B) {
				r := rand.New(rand.NewPCG(11, 12))
				base := new(big.Int).Mod(randInt(r, c.mod.BitLen()), c.mod)
				// Both classes draw from a pool of 512 big.Ints, so that
				// where an exponent sits in memory is alike for both.
				var pools [2][512]*big.Int
				for i := range pools[0] {
					pools[0][i] = new(big.Int).Lsh(big.NewInt(1), uint(c.expBits-1))
					pools[1][i] = randInt(r, c.expBits)
					pools[1][i].SetBit(pools[1][i], c.expBits-1, 1)
				}
				im.exp(base, pools[0][0], c.mod, c.expBits) // warm the modulus cache
				var times [2][]float64
				for b.Loop() {
					class := r.IntN(2)
					e := pools[class][r.IntN(len(pools[class]))]
					start := time.Now()
					im.exp(base, e, c.mod, c.expBits)
					d := time.Since(start)
					times[class] = append(times[class], float64(d))
				}
				dudect.Report(b, times)
			})
		}
	}
}
