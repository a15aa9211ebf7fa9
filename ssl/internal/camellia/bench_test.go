package camellia

import (
	"crypto/aes"
	"testing"

	"github.com/tokenssl/tokenssl/internal/ciphertest"
)

// BenchmarkBlock times one-block Encrypt and Decrypt for Camellia and, as
// the baseline in the same run, crypto/aes with the same key sizes.
func BenchmarkBlock(b *testing.B) {
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i)
	}
	ciphertest.BenchmarkCiphers(b,
		ciphertest.NewNamed(b, "Camellia-128", NewCipher, key[:16]),
		ciphertest.NewNamed(b, "Camellia-256", NewCipher, key),
		ciphertest.NewNamed(b, "AES-128", aes.NewCipher, key[:16]),
		ciphertest.NewNamed(b, "AES-256", aes.NewCipher, key))
}

func BenchmarkNewCipher(b *testing.B) {
	ciphertest.BenchmarkNewCipher(b, NewCipher, make([]byte, 32))
}
