package ciphertest

import (
	"crypto/aes"
	"crypto/des"
	"math/rand/v2"
	"testing"
)

// The kit against the standard library's ciphers, whose contract it
// copies: if these fail, the kit is wrong, not the cipher.

func TestAES(t *testing.T) {
	TestBlock(t, aes.NewCipher, []int{16, 24, 32}, []Vector{
		// FIPS 197 Appendix C.1 and C.3.
		{"FIPS 197 C.1", "000102030405060708090a0b0c0d0e0f", "00112233445566778899aabbccddeeff", "69c4e0d86a7b0430d8cdb78070b4c55a"},
		{"FIPS 197 C.3", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "00112233445566778899aabbccddeeff", "8ea2b7ca516745bfeafc49904b496089"},
	})
	RejectKeySizes(t, aes.NewCipher, []int{0, 15, 17, 33})
}

func TestDES(t *testing.T) {
	TestBlock(t, des.NewCipher, []int{8}, []Vector{
		// The classic worked example (key 133457799BBCDFF1).
		{"worked example", "133457799bbcdff1", "0123456789abcdef", "85e813540f0ab405"},
	})
}

// notInverse's Decrypt does not undo its Encrypt: the kit must say so.
type notInverse struct{}

func (notInverse) BlockSize() int { return 8 }
func (notInverse) Encrypt(dst, src []byte) {
	for i := range 8 {
		dst[i] = src[i] + 1
	}
}
func (notInverse) Decrypt(dst, src []byte) { copy(dst[:8], src[:8]) }

// failRecorder records a failure instead of failing the test.
type failRecorder struct {
	testing.TB
	failed bool
}

func (r *failRecorder) Errorf(string, ...any) { r.failed = true }
func (r *failRecorder) Fatalf(string, ...any) { r.failed = true }

func TestKitCatchesBrokenCipher(t *testing.T) {
	r := &failRecorder{TB: t}
	CBCRoundTrip(r, notInverse{}, rand.New(rand.NewPCG(1, 2)))
	if !r.failed {
		t.Error("CBCRoundTrip accepted a cipher that does not decrypt")
	}
	r.failed = false
	RoundTrip(r, notInverse{}, []byte("8 bytes!"))
	if !r.failed {
		t.Error("RoundTrip accepted a cipher that does not decrypt")
	}
	var box [256]byte
	for i := range box {
		box[i] = byte(255 - i)
	}
	r.failed = false
	Permutation(r, "reversal", &box)
	if r.failed {
		t.Error("Permutation rejected a permutation")
	}
	box[0x80] = box[0x10]
	Permutation(r, "mistyped", &box)
	if !r.failed {
		t.Error("Permutation accepted a table with a value twice")
	}
}
