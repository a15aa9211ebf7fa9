package seed

import (
	"crypto/aes"
	"crypto/cipher"
	"testing"
)

// BenchmarkEncrypt times one-block Encrypt for SEED and, as the baseline
// in the same run, crypto/aes with the same 128-bit key.
func BenchmarkEncrypt(b *testing.B) {
	key := make([]byte, KeySize)
	for i := range key {
		key[i] = byte(i)
	}
	for _, bc := range []struct {
		name string
		new  func([]byte) (cipher.Block, error)
	}{
		{"SEED-128", NewCipher},
		{"AES-128", aes.NewCipher},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c, err := bc.new(key)
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, BlockSize)
			b.SetBytes(BlockSize)
			for b.Loop() {
				c.Encrypt(buf, buf)
			}
		})
	}
}

func BenchmarkNewCipher(b *testing.B) {
	key := make([]byte, KeySize)
	for b.Loop() {
		if _, err := NewCipher(key); err != nil {
			b.Fatal(err)
		}
	}
}
