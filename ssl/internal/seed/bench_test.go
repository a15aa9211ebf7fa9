package seed

import (
	"testing"

	"github.com/tokenssl/tokenssl/internal/ciphertest"
)

// BenchmarkBlock times one-block Encrypt and Decrypt for SEED and, as the
// baseline in the same run, crypto/aes with the same 128-bit key.
func BenchmarkBlock(b *testing.B) {
	ciphertest.BenchmarkWithAES(b, "SEED", NewCipher, KeySize)
}

func BenchmarkNewCipher(b *testing.B) {
	ciphertest.BenchmarkNewCipher(b, NewCipher, make([]byte, KeySize))
}
