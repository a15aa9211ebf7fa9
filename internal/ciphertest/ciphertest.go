// Package ciphertest is the conformance kit for the project's block ciphers
// (RC2, IDEA, SKIPJACK, and any added later). A cipher package's tests keep
// only what is particular to it (its key schedule, its error types, its
// sources for the vectors) and hand the rest to the kit, so that every
// cipher is held to the same cipher.Block contract.
//
// # Use
//
//	var vectors = []ciphertest.Vector{
//		{Name: "RFC 1234 §5 #1", Key: "00..", Plaintext: "00..", Ciphertext: "ab.."},
//	}
//
//	func TestBlock(t *testing.T) {
//		ciphertest.TestBlock(t, mycipher.NewCipher, []int{16, 24, 32}, vectors)
//	}
//
//	func FuzzRoundTrip(f *testing.F) {
//		for _, v := range vectors {
//			f.Add(ciphertest.Hex(f, v.Key), ciphertest.Hex(f, v.Plaintext))
//		}
//		f.Fuzz(func(t *testing.T, key, block []byte) {
//			c, err := mycipher.NewCipher(key)
//			if err != nil {
//				return
//			}
//			ciphertest.RoundTrip(t, c, block)
//		})
//	}
//
// A cipher with a parameter besides the key (RC2's effective key bits) binds
// it in a closure: func(k []byte) (cipher.Block, error) { return rc2.NewCipher(k, 128) }.
//
// # What TestBlock checks
//
// For every Vector (subtest "KAT/<name>"): Encrypt gives Ciphertext and
// Decrypt gives Plaintext, both into a separate buffer and in place
// (dst == src). Then, for keys of every length in keySizes:
//   - "BlockSize": BlockSize() is the same for every key and equals the
//     length of every vector's blocks.
//   - "ShortBuffers": Encrypt and Decrypt panic when dst or src is shorter
//     than a block, as crypto/aes and crypto/des do (a programming error,
//     not bad input).
//   - "CBC": 2000 random keys (cycling through keySizes), IVs and messages
//     of one to four blocks (fixed seed) survive cipher.NewCBCEncrypter then
//     cipher.NewCBCDecrypter, as the SSL record layer uses them, and the
//     ciphertext differs from the plaintext.
//   - "NoAllocs": Encrypt and Decrypt of one block do not allocate.
//
// The other helpers are the pieces TestBlock is made of, for tests that
// need them alone: TestVectors (KATs only), RoundTrip (the fuzz-target
// property for one block), CBCRoundTrip (one random CBC message),
// ShortBuffersPanic, RejectKeySizes (NewCipher fails and returns no
// cipher), RejectKeySizesAs (and the error is the package's KeySizeError),
// NewCipherAllocs, FuzzBlock (a whole fuzz target), AgainstOpenSSL (a
// cross-check with `openssl enc`, see openssl.go), Bench (a benchmark
// body), BenchmarkCiphers, BenchmarkWithBaseline and BenchmarkWithAES (the
// cipher beside others, e.g. DES and 3DES or AES, in one run),
// BenchmarkNewCipher, Permutation (an S-box has no value twice), and Hex.
package ciphertest

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

// Vector is one known answer, hex-encoded as published.
type Vector struct {
	Name                       string
	Key, Plaintext, Ciphertext string
}

// Hex decodes s or fails the test.
func Hex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// TestBlock runs the whole kit; see the package documentation.
func TestBlock(t *testing.T, newCipher func(key []byte) (cipher.Block, error), keySizes []int, vectors []Vector) {
	t.Helper()
	if len(keySizes) == 0 {
		t.Fatal("ciphertest: no key sizes")
	}
	TestVectors(t, newCipher, vectors)
	ciphers := make([]cipher.Block, len(keySizes))
	for i, n := range keySizes {
		c, err := newCipher(make([]byte, n))
		if err != nil || c == nil {
			t.Fatalf("NewCipher(%d-byte key) = %v, %v", n, c, err)
		}
		ciphers[i] = c
	}
	bs := ciphers[0].BlockSize()
	t.Run("BlockSize", func(t *testing.T) {
		if bs <= 0 {
			t.Fatalf("BlockSize() = %d", bs)
		}
		for i, c := range ciphers {
			if c.BlockSize() != bs {
				t.Errorf("%d-byte key: BlockSize() = %d, %d-byte key: %d", keySizes[i], c.BlockSize(), keySizes[0], bs)
			}
		}
		for _, v := range vectors {
			if len(v.Plaintext) != 2*bs || len(v.Ciphertext) != 2*bs {
				t.Errorf("vector %q: blocks of %d/%d hex digits, BlockSize() = %d", v.Name, len(v.Plaintext), len(v.Ciphertext), bs)
			}
		}
	})
	t.Run("ShortBuffers", func(t *testing.T) {
		for _, c := range ciphers {
			ShortBuffersPanic(t, c)
		}
	})
	t.Run("CBC", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(0x5eed, uint64(bs)))
		for i := 0; i < 2000; i++ {
			key := make([]byte, keySizes[i%len(keySizes)])
			fill(rng, key)
			c, err := newCipher(key)
			if err != nil {
				t.Fatalf("NewCipher(%x): %v", key, err)
			}
			CBCRoundTrip(t, c, rng)
			if t.Failed() {
				t.Fatalf("key %x", key)
			}
		}
	})
	t.Run("NoAllocs", func(t *testing.T) {
		for i, c := range ciphers {
			buf := make([]byte, bs)
			if n := testing.AllocsPerRun(100, func() { c.Encrypt(buf, buf); c.Decrypt(buf, buf) }); n != 0 {
				t.Errorf("%d-byte key: Encrypt+Decrypt allocates %v times per block", keySizes[i], n)
			}
		}
	})
}

// TestVectors checks every vector in both directions, into a separate
// buffer and in place, each in a subtest "KAT/<name>".
func TestVectors(t *testing.T, newCipher func(key []byte) (cipher.Block, error), vectors []Vector) {
	t.Helper()
	for _, v := range vectors {
		t.Run("KAT/"+v.Name, func(t *testing.T) {
			key, pt, ct := Hex(t, v.Key), Hex(t, v.Plaintext), Hex(t, v.Ciphertext)
			c, err := newCipher(key)
			if err != nil {
				t.Fatal(err)
			}
			for _, op := range []struct {
				name     string
				f        func(dst, src []byte)
				in, want []byte
			}{{"Encrypt", c.Encrypt, pt, ct}, {"Decrypt", c.Decrypt, ct, pt}} {
				got := make([]byte, len(op.want))
				op.f(got, op.in)
				if !bytes.Equal(got, op.want) {
					t.Errorf("%s(%x) = %x, want %x", op.name, op.in, got, op.want)
				}
				buf := bytes.Clone(op.in)
				op.f(buf, buf)
				if !bytes.Equal(buf, op.want) {
					t.Errorf("in-place %s(%x) = %x, want %x", op.name, op.in, buf, op.want)
				}
			}
		})
	}
}

// RoundTrip is the fuzz property for one block: block, zero-padded or cut
// to BlockSize, comes back from Decrypt(Encrypt(·)), and encrypting in
// place gives the same ciphertext as into a separate buffer.
func RoundTrip(t testing.TB, c cipher.Block, block []byte) {
	t.Helper()
	bs := c.BlockSize()
	pt := make([]byte, bs)
	copy(pt, block)
	ct, back := make([]byte, bs), make([]byte, bs)
	c.Encrypt(ct, pt)
	c.Decrypt(back, ct)
	if !bytes.Equal(back, pt) {
		t.Fatalf("Decrypt(Encrypt(%x)) = %x", pt, back)
	}
	buf := bytes.Clone(pt)
	c.Encrypt(buf, buf)
	if !bytes.Equal(buf, ct) {
		t.Fatalf("in-place Encrypt(%x) = %x, out of place %x", pt, buf, ct)
	}
}

// CBCRoundTrip encrypts a random message of one to four blocks under a
// random IV with CBC and decrypts it again; the message must come back and
// the ciphertext must differ from it.
func CBCRoundTrip(t testing.TB, c cipher.Block, rng *rand.Rand) {
	t.Helper()
	bs := c.BlockSize()
	pt := make([]byte, bs*(1+rng.IntN(4)))
	iv := make([]byte, bs)
	fill(rng, pt)
	fill(rng, iv)
	ct := make([]byte, len(pt))
	cipher.NewCBCEncrypter(c, iv).CryptBlocks(ct, pt)
	back := make([]byte, len(ct))
	cipher.NewCBCDecrypter(c, iv).CryptBlocks(back, ct)
	if !bytes.Equal(back, pt) {
		t.Errorf("CBC round trip: iv %x pt %x got %x", iv, pt, back)
	}
	if bytes.Equal(ct, pt) {
		t.Errorf("CBC ciphertext equals plaintext: iv %x pt %x", iv, pt)
	}
}

// ShortBuffersPanic checks that Encrypt and Decrypt panic when dst or src
// is one byte short of a block.
func ShortBuffersPanic(t *testing.T, c cipher.Block) {
	t.Helper()
	short, full := make([]byte, c.BlockSize()-1), make([]byte, c.BlockSize())
	for _, tc := range []struct {
		name     string
		f        func(dst, src []byte)
		dst, src []byte
	}{
		{"Encrypt short src", c.Encrypt, full, short},
		{"Encrypt short dst", c.Encrypt, short, full},
		{"Decrypt short src", c.Decrypt, full, short},
		{"Decrypt short dst", c.Decrypt, short, full},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			tc.f(tc.dst, tc.src)
		})
	}
}

// RejectKeySizes checks that newCipher fails, returning no cipher, for keys
// of each length in sizes.
func RejectKeySizes(t *testing.T, newCipher func(key []byte) (cipher.Block, error), sizes []int) {
	t.Helper()
	for _, n := range sizes {
		t.Run(strconv.Itoa(n)+"-byte key", func(t *testing.T) {
			c, err := newCipher(make([]byte, n))
			if err == nil || c != nil {
				t.Errorf("NewCipher(%d-byte key) = %v, %v; want an error", n, c, err)
			}
		})
	}
}

// RejectKeySizesAs is RejectKeySizes that also wants the error to be the
// cipher package's KeySizeError carrying the rejected length.
func RejectKeySizesAs[E interface {
	~int
	error
}](t *testing.T, newCipher func(key []byte) (cipher.Block, error), sizes []int) {
	t.Helper()
	for _, n := range sizes {
		c, err := newCipher(make([]byte, n))
		var kse E
		if c != nil || !errors.As(err, &kse) || int(kse) != n {
			t.Errorf("NewCipher(len %d) = %v, %v; want %T(%d)", n, c, err, kse, n)
		}
	}
}

// NewCipherAllocs checks that the key schedule allocates at most max times
// for a key of each length in keySizes.
func NewCipherAllocs(t *testing.T, newCipher func(key []byte) (cipher.Block, error), keySizes []int, max float64) {
	t.Helper()
	for _, n := range keySizes {
		key := make([]byte, n)
		if a := testing.AllocsPerRun(100, func() { _, _ = newCipher(key) }); a > max {
			t.Errorf("%d-byte key: NewCipher made %v allocations, want at most %v", n, a, max)
		}
	}
}

// FuzzBlock is a whole fuzz target: seeded with the vectors (and an empty
// and an over-long key), it checks that newCipher accepts exactly the keys
// whose length is in keySizes without panicking, and RoundTrip for every
// cipher it returns.
func FuzzBlock(f *testing.F, newCipher func(key []byte) (cipher.Block, error), keySizes []int, vectors []Vector) {
	for _, v := range vectors {
		f.Add(Hex(f, v.Key), Hex(f, v.Plaintext))
	}
	f.Add([]byte{}, []byte{})
	f.Add(make([]byte, slices.Max(keySizes)+1), make([]byte, 8))
	f.Fuzz(func(t *testing.T, key, block []byte) {
		c, err := newCipher(key)
		if valid := slices.Contains(keySizes, len(key)); (err == nil) != valid {
			t.Fatalf("NewCipher(len %d): err = %v", len(key), err)
		}
		if err != nil {
			return
		}
		RoundTrip(t, c, block)
	})
}

// Bench is a benchmark body: one block encrypted (or decrypted) in place
// per iteration.
func Bench(b *testing.B, c cipher.Block, decrypt bool) {
	buf := make([]byte, c.BlockSize())
	b.SetBytes(int64(len(buf)))
	f := c.Encrypt
	if decrypt {
		f = c.Decrypt
	}
	for b.Loop() {
		f(buf, buf)
	}
}

// Named is a cipher with the name its benchmarks run under.
type Named struct {
	Name string
	C    cipher.Block
}

// NewNamed is a Named for the key, or fails the benchmark.
func NewNamed(b *testing.B, name string, newCipher func(key []byte) (cipher.Block, error), key []byte) Named {
	c, err := newCipher(key)
	if err != nil {
		b.Fatal(err)
	}
	return Named{name, c}
}

// BenchmarkCiphers benchmarks each cipher's Encrypt and Decrypt (as
// name/Encrypt, name/Decrypt) in the same run, so that one of them is the
// others' baseline.
func BenchmarkCiphers(b *testing.B, ciphers ...Named) {
	for _, bc := range ciphers {
		b.Run(bc.Name+"/Encrypt", func(b *testing.B) { Bench(b, bc.C, false) })
		b.Run(bc.Name+"/Decrypt", func(b *testing.B) { Bench(b, bc.C, true) })
	}
}

// BenchmarkNewCipher times the key schedule for key.
func BenchmarkNewCipher(b *testing.B, newCipher func(key []byte) (cipher.Block, error), key []byte) {
	for b.Loop() {
		if _, err := newCipher(key); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWithBaseline benchmarks c's Encrypt and Decrypt (as
// name/Encrypt, name/Decrypt) beside crypto/des's DES and 3DES, the other
// 64-bit block ciphers of SSL 3.0, in the same run.
func BenchmarkWithBaseline(b *testing.B, name string, c cipher.Block) {
	desc, err := des.NewCipher([]byte("\x01\x23\x45\x67\x89\xab\xcd\xef"))
	if err != nil {
		b.Fatal(err)
	}
	tdesc, err := des.NewTripleDESCipher([]byte("0123456789abcdef01234567"))
	if err != nil {
		b.Fatal(err)
	}
	BenchmarkCiphers(b, Named{name, c}, Named{"DES", desc}, Named{"3DES", tdesc})
}

// BenchmarkWithAES benchmarks a 128-bit block cipher with a key of each
// length in keySizes (as name-<bits>/Encrypt, name-<bits>/Decrypt) beside
// crypto/aes with keys of the same lengths (AES-<bits>/...), in the same
// run. The keys are the bytes 0, 1, 2, ...
func BenchmarkWithAES(b *testing.B, name string, newCipher func(key []byte) (cipher.Block, error), keySizes ...int) {
	var ours, aess []Named
	for _, n := range keySizes {
		key := make([]byte, n)
		for i := range key {
			key[i] = byte(i)
		}
		bits := "-" + strconv.Itoa(8*n)
		ours = append(ours, NewNamed(b, name+bits, newCipher, key))
		aess = append(aess, NewNamed(b, "AES"+bits, aes.NewCipher, key))
	}
	BenchmarkCiphers(b, append(ours, aess...)...)
}

// Permutation checks that table, an S-box that the cipher's specification
// defines as a permutation of 0..255, has no value twice: the mark of an
// entry mistyped in transcription.
func Permutation(t testing.TB, name string, table *[256]byte) {
	t.Helper()
	var first [256]int // 1 + the index where each value was seen first
	for i, v := range table {
		if first[v] != 0 {
			t.Fatalf("%s is not a permutation: %#02x at index %#02x and %#02x", name, v, first[v]-1, i)
			return
		}
		first[v] = i + 1
	}
}

func fill(rng *rand.Rand, b []byte) {
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
}
