package camellia

import (
	"crypto/aes"
	"crypto/cipher"
	"testing"
)

// BenchmarkEncrypt times one-block Encrypt for Camellia and, as the
// baseline in the same run, crypto/aes with the same key sizes.
func BenchmarkEncrypt(b *testing.B) {
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i)
	}
	for _, bc := range []struct {
		name string
		new  func([]byte) (cipher.Block, error)
		key  []byte
	}{
		{"Camellia-128", NewCipher, key[:16]},
		{"Camellia-256", NewCipher, key},
		{"AES-128", aes.NewCipher, key[:16]},
		{"AES-256", aes.NewCipher, key},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c, err := bc.new(bc.key)
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
	key := make([]byte, 32)
	for b.Loop() {
		if _, err := NewCipher(key); err != nil {
			b.Fatal(err)
		}
	}
}
