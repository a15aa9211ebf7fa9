package x509legacy

import (
	"bytes"
	"crypto/dsa"
	"crypto/rand"
	"crypto/sha1"
	"io"
	"math/big"
	mrand "math/rand/v2"
	"testing"
	"time"

	"github.com/tokenssl/tokenssl/internal/dudect"
	"github.com/tokenssl/tokenssl/internal/legacytest"
)

// signImpls are the two signers compared: crypto/dsa's and ours.
var signImpls = []struct {
	name string
	sign func(io.Reader, *dsa.PrivateKey, []byte) (*big.Int, *big.Int, error)
}{
	{"crypto-dsa", dsa.Sign},
	{"SignDSA", SignDSA},
}

// benchSignParams are the sizes timed: the smallest and the largest q.
var benchSignParams = []struct {
	name   string
	params dsa.Parameters
}{
	{"1024-160", legacytest.DSA1024},
	{"2048-256", legacytest.DSA2048Q256},
}

// BenchmarkSignDSA is the speed comparison, ns/op of crypto/dsa.Sign and
// of SignDSA on a SHA-1 digest.
//
//	go test ./x509legacy -run '^$' -bench '^BenchmarkSignDSA$'
func BenchmarkSignDSA(b *testing.B) {
	h := sha1.Sum([]byte("bench"))
	for _, p := range benchSignParams {
		priv := legacytest.NewDSAKey(b, p.params)
		for _, im := range signImpls {
			b.Run(p.name+"/"+im.name, func(b *testing.B) {
				for b.Loop() {
					if _, _, err := im.sign(rand.Reader, priv, h[:]); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkSignDSALeak is the dudect-style test of the nonce (as
// BenchmarkExpLeak in internal/ctexp is of the exponent): one signature
// per iteration, the nonce k drawn at random between two classes — A: k
// with its top 8 bytes zero (the short nonces of lattice attacks); B: k
// with its top bit set, each from a pool of 512 — in random order, and
// Welch's t between the classes' times (internal/dudect). The nonce comes
// from the random stream; crypto/dsa.Sign reads it only with GODEBUG
// cryptocustomrand=1 (set here), and then reads one byte more or not at
// random first, so each stream makes the same class of k at either offset.
// It measures, it asserts nothing.
//
//	go test ./x509legacy -run '^$' -bench SignDSALeak -benchtime 20000x
func BenchmarkSignDSALeak(b *testing.B) {
	b.Setenv("GODEBUG", "cryptocustomrand=1")
	h := sha1.Sum([]byte("bench"))
	for _, p := range benchSignParams {
		priv := legacytest.NewDSAKey(b, p.params)
		n := (priv.Q.BitLen() + 7) / 8
		for _, im := range signImpls {
			b.Run(p.name+"/"+im.name, func(b *testing.B) {
				r := mrand.New(mrand.NewPCG(13, 14))
				var pools [2][512][]byte
				for i := range pools[0] {
					// n+1 bytes: the nonce at offset 0 or 1. A: 9 zero
					// bytes first; B: 0x80 0x80 first (below q's top
					// byte, 0x9f and 0xfc here).
					a := make([]byte, n+1)
					fill(r, a[9:])
					pools[0][i] = a
					bb := make([]byte, n+1)
					fill(r, bb[2:])
					bb[0], bb[1] = 0x80, 0x80
					pools[1][i] = bb
				}
				rd := bytes.NewReader(nil)
				var times [2][]float64
				for b.Loop() {
					class := r.IntN(2)
					rd.Reset(pools[class][r.IntN(len(pools[class]))])
					start := time.Now()
					_, _, err := im.sign(rd, priv, h[:])
					d := time.Since(start)
					if err != nil {
						b.Fatal(err)
					}
					times[class] = append(times[class], float64(d))
				}
				dudect.Report(b, times)
			})
		}
	}
}

func fill(r *mrand.Rand, b []byte) {
	for i := range b {
		b[i] = byte(r.Uint32())
	}
}
