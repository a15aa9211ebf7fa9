package seed

import (
	"math/bits"
	"math/rand/v2"
	"testing"

	"github.com/tokenssl/tokenssl/internal/ciphertest"
)

// vectors are the known answers, run by TestBlock and seeding FuzzSEED.
var vectors = []ciphertest.Vector{
	// All four of RFC 4269 Appendix B.
	{Name: "RFC 4269 B.1", Key: "00000000000000000000000000000000",
		Plaintext: "000102030405060708090a0b0c0d0e0f", Ciphertext: "5ebac6e0054e166819aff1cc6d346cdb"},
	{Name: "RFC 4269 B.2", Key: "000102030405060708090a0b0c0d0e0f",
		Plaintext: "00000000000000000000000000000000", Ciphertext: "c11f22f20140505084483597e4370f43"},
	{Name: "RFC 4269 B.3", Key: "4706480851e61be85d74bfb3fd956185",
		Plaintext: "83a2f8a288641fb9a4e9a5cc2f131c7d", Ciphertext: "ee54d13ebcae706d226bc3142cd40d4a"},
	{Name: "RFC 4269 B.4", Key: "28dbc3bc49ffd87dcfa509b11d422be7",
		Plaintext: "b41e6be2eba84a148e2eed84593c5ec7", Ciphertext: "9b9b7bfcd1813cb95d0b3618f40f5122"},

	// Each produced by `openssl enc -seed-ecb -nopad` (OpenSSL 3.0, legacy
	// provider) when this file was written, so that they are checked even
	// where openssl lacks SEED.
	{Name: "zero key, zero block", Key: "00000000000000000000000000000000",
		Plaintext: "00000000000000000000000000000000", Ciphertext: "90699de47893701e7511196be312af92"},
	{Name: "all-ones key, zero block", Key: "ffffffffffffffffffffffffffffffff",
		Plaintext: "00000000000000000000000000000000", Ciphertext: "5a54cf44c50290c4cbf71b1083fd12e1"},
	{Name: "all-ones key, all-ones block", Key: "ffffffffffffffffffffffffffffffff",
		Plaintext: "ffffffffffffffffffffffffffffffff", Ciphertext: "bcb9e68bc5296b2b8e42fb4cf7a2b3ca"},
}

// TestBlock runs the cipher.Block kit with every vector.
func TestBlock(t *testing.T) {
	ciphertest.TestBlock(t, NewCipher, []int{KeySize}, vectors)
}

// gRef is G as §2.2 first states it: four S-box outputs, masked and mixed
// byte by byte. The SS tables must compute the same function.
func gRef(x uint32) uint32 {
	m0, m1, m2, m3 := byte(0xfc), byte(0xf3), byte(0xcf), byte(0x3f)
	y0, y1, y2, y3 := s1[byte(x)], s2[byte(x>>8)], s1[byte(x>>16)], s2[byte(x>>24)]
	z0 := y0&m0 ^ y1&m1 ^ y2&m2 ^ y3&m3
	z1 := y0&m1 ^ y1&m2 ^ y2&m3 ^ y3&m0
	z2 := y0&m2 ^ y1&m3 ^ y2&m0 ^ y3&m1
	z3 := y0&m3 ^ y1&m0 ^ y2&m1 ^ y3&m2
	return uint32(z3)<<24 | uint32(z2)<<16 | uint32(z1)<<8 | uint32(z0)
}

func TestGTables(t *testing.T) {
	// The first entry of each of the RFC's SS0..SS3.
	for i, want := range []uint32{0x2989a1a8, 0x38380830, 0xa1a82989, 0x08303838} {
		if ss[i][0] != want {
			t.Errorf("SS%d[0] = %#08x, want %#08x", i, ss[i][0], want)
		}
	}
	rng := rand.New(rand.NewPCG(4269, 1))
	for i := 0; i < 20000; i++ {
		x := rng.Uint32()
		if got, want := g(x), gRef(x); got != want {
			t.Fatalf("g(%#08x) = %#08x, want %#08x", x, got, want)
		}
	}
	ciphertest.Permutation(t, "S1", &s1)
	ciphertest.Permutation(t, "S2", &s2)
}

// TestKeyConstants checks the rotation that expandKey uses against the KC
// table printed in §2.3.
func TestKeyConstants(t *testing.T) {
	kc := []uint32{
		0x9e3779b9, 0x3c6ef373, 0x78dde6e6, 0xf1bbcdcc, 0xe3779b99, 0xc6ef3733, 0x8dde6e67, 0x1bbcdccf,
		0x3779b99e, 0x6ef3733c, 0xdde6e678, 0xbbcdccf1, 0x779b99e3, 0xef3733c6, 0xde6e678d, 0xbcdccf1b,
	}
	for i, want := range kc {
		if got := bits.RotateLeft32(0x9E3779B9, i); got != want {
			t.Errorf("KC%d = %#08x, want %#08x", i+1, got, want)
		}
	}
}

func TestNewCipherKeySize(t *testing.T) {
	ciphertest.RejectKeySizesAs[KeySizeError](t, NewCipher, []int{0, 1, 8, 15, 17, 24, 32})
	ciphertest.NewCipherAllocs(t, NewCipher, []int{KeySize}, 1)
}

// TestAgainstOpenSSL cross-checks random keys and messages, ECB and CBC,
// both directions, with the openssl binary (OpenSSL 3 has SEED only in its
// legacy provider; the kit finds it).
func TestAgainstOpenSSL(t *testing.T) {
	rng := rand.New(rand.NewPCG(4269, 3))
	for i := 0; i < 12; i++ {
		ciphertest.AgainstOpenSSL(t, NewCipher, "seed", KeySize, rng)
	}
}

// FuzzSEED checks that NewCipher accepts exactly 16-byte keys without
// panicking, that Decrypt(Encrypt(x)) == x, and that in-place operation
// gives the same result as separate buffers.
func FuzzSEED(f *testing.F) {
	ciphertest.FuzzBlock(f, NewCipher, []int{KeySize}, vectors)
}
