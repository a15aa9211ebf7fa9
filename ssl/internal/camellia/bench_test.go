package camellia

import (
	"testing"

	"github.com/tokenssl/tokenssl/internal/ciphertest"
)

// BenchmarkBlock times one-block Encrypt and Decrypt for Camellia and, as
// the baseline in the same run, crypto/aes with the same key sizes.
func BenchmarkBlock(b *testing.B) {
	ciphertest.BenchmarkWithAES(b, "Camellia", NewCipher, 16, 32)
}

func BenchmarkNewCipher(b *testing.B) {
	ciphertest.BenchmarkNewCipher(b, NewCipher, make([]byte, 32))
}
