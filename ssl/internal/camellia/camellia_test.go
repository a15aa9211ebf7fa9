package camellia

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/tokenssl/tokenssl/internal/ciphertest"
)

// vectors are the known answers, run by TestBlock and seeding FuzzCamellia.
var vectors = []ciphertest.Vector{
	// All of RFC 3713 Appendix A.
	{Name: "RFC 3713 A 128-bit key", Key: "0123456789abcdeffedcba9876543210",
		Plaintext: "0123456789abcdeffedcba9876543210", Ciphertext: "67673138549669730857065648eabe43"},
	{Name: "RFC 3713 A 192-bit key", Key: "0123456789abcdeffedcba98765432100011223344556677",
		Plaintext: "0123456789abcdeffedcba9876543210", Ciphertext: "b4993401b3e996f84ee5cee7d79b09b9"},
	{Name: "RFC 3713 A 256-bit key", Key: "0123456789abcdeffedcba987654321000112233445566778899aabbccddeeff",
		Plaintext: "0123456789abcdeffedcba9876543210", Ciphertext: "9acc237dff16d76c20ef7c919e3a7509"},

	// Each produced by `openssl enc -camellia-N-ecb -nopad` (OpenSSL 3.0)
	// when this file was written, so that they are checked even where
	// openssl is absent; the key-bit-0 rows are also NESSIE's set 1 vector
	// 0 for each key size.
	{Name: "128 key bit 0 (NESSIE set 1 vector 0)", Key: "80000000000000000000000000000000",
		Plaintext: "00000000000000000000000000000000", Ciphertext: "6c227f749319a3aa7da235a9bba05a2c"},
	{Name: "128 zero key", Key: "00000000000000000000000000000000",
		Plaintext: "00000000000000000000000000000000", Ciphertext: "3d028025b156327c17f762c1f2cbca71"},
	{Name: "128 all-ones key", Key: "ffffffffffffffffffffffffffffffff",
		Plaintext: "00000000000000000000000000000000", Ciphertext: "1b3f5478ec46cca924d0a8f4e4fe63f5"},
	{Name: "192 key bit 0 (NESSIE set 1 vector 0)", Key: "800000000000000000000000000000000000000000000000",
		Plaintext: "00000000000000000000000000000000", Ciphertext: "1b6220d365c2176c1d41a5826520fca1"},
	{Name: "256 key bit 0 (NESSIE set 1 vector 0)", Key: "8000000000000000000000000000000000000000000000000000000000000000",
		Plaintext: "00000000000000000000000000000000", Ciphertext: "2136fabda091dfb5171b94b8efbb5d08"},
	{Name: "256 zero key", Key: "0000000000000000000000000000000000000000000000000000000000000000",
		Plaintext: "00000000000000000000000000000000", Ciphertext: "396154111adefc500cf6e5c99038bc17"},
}

// TestBlock runs the cipher.Block kit with every vector and all three key
// sizes.
func TestBlock(t *testing.T) {
	ciphertest.TestBlock(t, NewCipher, keySizes, vectors)
}

var keySizes = []int{16, 24, 32}

// TestFTables checks that the folded tables compute the RFC's F: the
// S-function applied byte by byte, then the P-function as written in §2.4.1.
func TestFTables(t *testing.T) {
	rng := rand.New(rand.NewPCG(3713, 1))
	for i := 0; i < 10000; i++ {
		x, k := rng.Uint64(), rng.Uint64()
		var in, s [8]byte
		for j := range in {
			in[j] = byte((x ^ k) >> (56 - 8*j))
			s[j] = sbox(j, in[j])
		}
		if got, want := f(x, k), pFunction(s); got != want {
			t.Fatalf("f(%#x, %#x) = %#x, want %#x", x, k, got, want)
		}
	}
	ciphertest.Permutation(t, "SBOX1", &sbox1)
}

// TestFLInverse checks FL^-1(FL(x, k), k) = x, which decryption relies on.
func TestFLInverse(t *testing.T) {
	rng := rand.New(rand.NewPCG(3713, 2))
	for i := 0; i < 10000; i++ {
		x, k := rng.Uint64(), rng.Uint64()
		if got := flInv(fl(x, k), k); got != x {
			t.Fatalf("flInv(fl(%#x, %#x)) = %#x", x, k, got)
		}
	}
}

func TestNewCipherKeySize(t *testing.T) {
	ciphertest.RejectKeySizesAs[KeySizeError](t, NewCipher, []int{0, 1, 8, 15, 17, 23, 25, 31, 33, 64})
	ciphertest.NewCipherAllocs(t, NewCipher, keySizes, 1)
}

// TestAgainstOpenSSL cross-checks random keys and messages, ECB and CBC,
// both directions, with the openssl binary.
func TestAgainstOpenSSL(t *testing.T) {
	rng := rand.New(rand.NewPCG(3713, 4))
	for _, n := range keySizes {
		for i := 0; i < 6; i++ {
			ciphertest.AgainstOpenSSL(t, NewCipher, "camellia-"+strconv.Itoa(8*n), n, rng)
		}
	}
}

// FuzzCamellia checks that NewCipher accepts exactly 16-, 24- and 32-byte
// keys without panicking, that Decrypt(Encrypt(x)) == x, and that in-place
// operation gives the same result as separate buffers.
func FuzzCamellia(f *testing.F) {
	ciphertest.FuzzBlock(f, NewCipher, keySizes, vectors)
}
