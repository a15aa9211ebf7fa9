package seed

import (
	"crypto/aes"
	"testing"

	"github.com/tokenssl/tokenssl/internal/ciphertest"
)

// BenchmarkBlock times one-block Encrypt and Decrypt for SEED and, as the
// baseline in the same run, crypto/aes with the same 128-bit key.
func BenchmarkBlock(b *testing.B) {
	key := make([]byte, KeySize)
	for i := range key {
		key[i] = byte(i)
	}
	ciphertest.BenchmarkCiphers(b,
		ciphertest.NewNamed(b, "SEED-128", NewCipher, key),
		ciphertest.NewNamed(b, "AES-128", aes.NewCipher, key))
}

func BenchmarkNewCipher(b *testing.B) {
	ciphertest.BenchmarkNewCipher(b, NewCipher, make([]byte, KeySize))
}
