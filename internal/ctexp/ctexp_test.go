package ctexp_test

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/tokenssl/tokenssl/internal/ctexp"
	"github.com/tokenssl/tokenssl/kea"
	"github.com/tokenssl/tokenssl/ssl"
)

// randInt returns a uniform integer of at most bits bits.
func randInt(r *rand.Rand, bits int) *big.Int {
	b := make([]byte, (bits+7)/8)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	n := new(big.Int).SetBytes(b)
	return n.Rsh(n, uint(len(b)*8-bits))
}

// randOdd returns a random odd integer of exactly bits bits (bits >= 2).
func randOdd(r *rand.Rand, bits int) *big.Int {
	n := randInt(r, bits)
	n.SetBit(n, bits-1, 1)
	return n.SetBit(n, 0, 1)
}

var (
	one   = big.NewInt(1)
	two   = big.NewInt(2)
	three = big.NewInt(3)
)

func sub(a, b *big.Int) *big.Int { return new(big.Int).Sub(a, b) }
func add(a, b *big.Int) *big.Int { return new(big.Int).Add(a, b) }

// check compares Exp (package function and prepared modulus) with math/big.
func check(t *testing.T, base, exp, mod *big.Int, expBits int) {
	t.Helper()
	saved := []*big.Int{new(big.Int).Set(base), new(big.Int).Set(exp), new(big.Int).Set(mod)}
	defer func() {
		for i, v := range []*big.Int{base, exp, mod} {
			if v.Cmp(saved[i]) != 0 {
				t.Fatalf("Exp changed its argument %d from %x to %x", i, saved[i], v)
			}
		}
	}()
	want := new(big.Int).Exp(base, exp, mod)
	if got := ctexp.Exp(base, exp, mod, expBits); got.Cmp(want) != 0 {
		t.Fatalf("Exp(%x, %x, %x, %d) = %x, want %x", base, exp, mod, expBits, got, want)
	}
	if m := ctexp.NewModulus(mod); m != nil {
		if got := m.Exp(base, exp, expBits); got.Cmp(want) != 0 {
			t.Fatalf("NewModulus(%x).Exp(%x, %x, %d) = %x, want %x", mod, base, exp, expBits, got, want)
		}
	}
}

// groups are the moduli the callers use, with the exponent bound each
// uses there.
func groups() []struct {
	name    string
	p       *big.Int
	expBits int
} {
	k := kea.DefaultParams()
	return []struct {
		name    string
		p       *big.Int
		expBits int
	}{
		{"group14", ssl.RFC3526Group14().P, 256},
		{"group2", ssl.RFC2409Group2().P, 256},
		{"export512", ssl.ExportDHGroup512().P, 160},
		{"kea", k.P, k.Q.BitLen()},
	}
}

// TestExpEdges runs the edge values of base and exponent in every group:
// 0, 1, 2, m-1, m, m+1 and negative bases; exponents 0, 1, 2, all ones, one
// bit over the bound, and a short exponent under a long bound (the padding
// is leading zero bytes).
func TestExpEdges(t *testing.T) {
	for _, g := range groups() {
		t.Run(g.name, func(t *testing.T) {
			p := g.p
			allOnes := sub(new(big.Int).Lsh(one, uint(g.expBits)), one)
			over := new(big.Int).Lsh(one, uint(g.expBits))
			bases := []*big.Int{big.NewInt(0), one, two, sub(p, one), p, add(p, one), new(big.Int).Lsh(p, 3), big.NewInt(-1), new(big.Int).Neg(sub(p, two))}
			exps := []*big.Int{big.NewInt(0), one, two, big.NewInt(0xff), allOnes, over, sub(p, one)}
			for _, b := range bases {
				for _, e := range exps {
					for _, bits := range []int{0, 1, 8, g.expBits, p.BitLen()} {
						check(t, b, e, p, bits)
					}
				}
			}
		})
	}
}

// TestExpRandom compares random bases and exponents of every length up to
// the bound in every group, and on random odd and even moduli of assorted
// sizes with bounds longer than the exponent.
func TestExpRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, g := range groups() {
		t.Run(g.name, func(t *testing.T) {
			for i := range 300 {
				base := randInt(r, g.p.BitLen()+64) // reduced by Exp
				check(t, base, randInt(r, 1+i%g.expBits), g.p, g.expBits)
			}
		})
	}
	t.Run("assorted", func(t *testing.T) {
		for range 400 {
			m := randInt(r, 2+r.IntN(600))
			if m.Cmp(one) <= 0 {
				continue
			}
			base := randInt(r, 700) // may exceed m
			bits := 1 + r.IntN(300)
			check(t, base, randInt(r, 1+r.IntN(bits)), m, bits)
		}
	})
	t.Run("small", func(t *testing.T) {
		for m := int64(2); m < 40; m++ {
			for b := int64(-3); b < m+3; b++ {
				for e := int64(0); e < 20; e++ {
					check(t, big.NewInt(b), big.NewInt(e), big.NewInt(m), 5)
				}
			}
		}
	})
}

// TestKEAEdges keeps the edge cases KEA's own exponentiation was checked
// with: exponents 0, 1, 2, q-1, q, 2^160-1 on bases 0, 1, 2, p-1, g, p.
func TestKEAEdges(t *testing.T) {
	d := kea.DefaultParams()
	for _, e := range []*big.Int{big.NewInt(0), one, two, sub(d.Q, one), d.Q, sub(new(big.Int).Lsh(one, 160), one)} {
		for _, b := range []*big.Int{big.NewInt(0), one, two, sub(d.P, one), d.G, d.P} {
			check(t, b, e, d.P, 160)
		}
	}
}

// TestNewModulus refuses what Montgomery arithmetic cannot take, and Exp
// then answers as math/big does (the documented fallback).
func TestNewModulus(t *testing.T) {
	for _, n := range []*big.Int{nil, big.NewInt(-7), big.NewInt(0), one, two, big.NewInt(1 << 20), new(big.Int).Lsh(ssl.RFC3526Group14().P, 1)} {
		if m := ctexp.NewModulus(n); m != nil {
			t.Errorf("NewModulus(%v) = a modulus, want nil", n)
		}
	}
	for _, n := range []*big.Int{big.NewInt(3), ssl.RFC3526Group14().P} {
		if ctexp.NewModulus(n) == nil {
			t.Errorf("NewModulus(%v) = nil", n)
		}
	}
	for _, n := range []*big.Int{big.NewInt(-7), big.NewInt(0), one, two, big.NewInt(1 << 20)} {
		for _, e := range []*big.Int{big.NewInt(0), big.NewInt(5), big.NewInt(-1)} {
			if n.Sign() == 0 && e.Sign() < 0 {
				continue // math/big's own 1/x without a modulus
			}
			check(t, big.NewInt(3), e, n, 8)
		}
	}
	// A negative exponent is math/big's modular inverse.
	check(t, big.NewInt(3), big.NewInt(-1), big.NewInt(7), 8)
}

// TestModulusCopies checks that a prepared modulus does not alias the
// caller's big.Int.
func TestModulusCopies(t *testing.T) {
	n := big.NewInt(101)
	m := ctexp.NewModulus(n)
	n.SetInt64(103)
	if got := m.Exp(big.NewInt(200), one, 8); got.Int64() != 99 {
		t.Fatalf("200 mod 101 after the caller's int changed = %v, want 99", got)
	}
}

// TestCacheBounded fills the cache past its size with distinct moduli: it
// stays bounded and every answer stays right, including for evicted moduli.
func TestCacheBounded(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var mods []*big.Int
	for range ctexp.CacheSize + 10 {
		m := randOdd(r, 256)
		mods = append(mods, m)
		check(t, two, randInt(r, 64), m, 64)
	}
	if n := ctexp.CacheLen(); n != ctexp.CacheSize {
		t.Fatalf("cache holds %d moduli after %d, want %d", n, len(mods), ctexp.CacheSize)
	}
	for _, m := range mods {
		check(t, big.NewInt(5), randInt(r, 64), m, 64)
	}
}

// TestCacheConcurrent runs Exp from several goroutines over more moduli
// than the cache holds (run with -race).
func TestCacheConcurrent(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	mods := make([]*big.Int, ctexp.CacheSize*2)
	for i := range mods {
		mods[i] = randOdd(r, 128)
	}
	errs := make(chan error, 4)
	for g := range 4 {
		go func() {
			for i := range 200 {
				m := mods[(i*7+g)%len(mods)]
				e := big.NewInt(int64(i + 1))
				if got, want := ctexp.Exp(three, e, m, 16), new(big.Int).Exp(three, e, m); got.Cmp(want) != 0 {
					errs <- fmt.Errorf("3^%v mod %x = %x, want %x", e, m, got, want)
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func FuzzExp(f *testing.F) {
	f.Add([]byte{2}, []byte{0x01, 0x00}, []byte{0x0b}, uint16(16), false)
	f.Add([]byte{0xff, 0xff}, []byte{0}, []byte{0x01, 0x01}, uint16(0), true)
	f.Add([]byte{7}, []byte{0x80, 0, 0, 0}, ssl.ExportDHGroup512().P.Bytes(), uint16(160), false)
	f.Fuzz(func(t *testing.T, base, exp, mod []byte, expBits uint16, negBase bool) {
		if len(mod) > 256 || len(exp) > 256 || len(base) > 512 {
			return
		}
		b := new(big.Int).SetBytes(base)
		if negBase {
			b.Neg(b)
		}
		m := new(big.Int).SetBytes(mod)
		if m.Sign() == 0 {
			return // math/big computes b^e without a modulus
		}
		check(t, b, new(big.Int).SetBytes(exp), m, int(expBits%4096))
	})
}

func Example() {
	p := ssl.ExportDHGroup512().P
	x := big.NewInt(12345) // a secret exponent; 160 bits is its public bound
	y := ctexp.Exp(big.NewInt(2), x, p, 160)
	fmt.Println(y.Cmp(new(big.Int).Exp(big.NewInt(2), x, p)) == 0)
	// Output: true
}
