package token

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Sealer is an AEAD under a key that stays with its holder: a key in
// memory (NewAESGCMSealer), or a secret key object on a token that can
// encrypt (token/pkcs11). Its callers keep secrets outside the process,
// e.g. sessions in a cache shared by a fleet of servers.
//
// Every implementation here is AES-GCM with a fresh random 96-bit nonce
// and a 128-bit tag, sealed = nonce || ciphertext || tag, so a key held in
// software and the same key on a token open each other's output. Random
// nonces allow 2^32 seals per key (NIST SP 800-38D §8.3): rotate the key
// well before that.
type Sealer interface {
	// Seal encrypts and authenticates plaintext, and authenticates
	// additionalData, which Open must be given again.
	Seal(plaintext, additionalData []byte) ([]byte, error)
	// Open returns the plaintext of sealed. Another key, altered bytes or
	// other additionalData give an error matching ErrNotOpened.
	Open(sealed, additionalData []byte) ([]byte, error)
}

// Sizes of the AES-GCM sealed form.
const (
	GCMNonceSize = 12
	GCMTagSize   = 16
)

// ErrNotOpened is matched by a Sealer's error when sealed data does not
// authenticate.
var ErrNotOpened = errors.New("token: sealed data does not open (another key, or altered)")

type gcmSealer struct{ aead cipher.AEAD }

// NewAESGCMSealer returns a software Sealer under key (16, 24 or 32
// bytes). The key is copied.
func NewAESGCMSealer(key []byte) (Sealer, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("token: sealing key of %d bytes: want 16, 24 or 32", len(key))
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &gcmSealer{aead: aead}, nil
}

func (s *gcmSealer) Seal(plaintext, ad []byte) ([]byte, error) {
	out := make([]byte, GCMNonceSize, GCMNonceSize+len(plaintext)+GCMTagSize)
	if _, err := rand.Read(out); err != nil {
		return nil, err
	}
	return s.aead.Seal(out, out, plaintext, ad), nil
}

func (s *gcmSealer) Open(sealed, ad []byte) ([]byte, error) {
	if len(sealed) < GCMNonceSize+GCMTagSize {
		return nil, ErrNotOpened
	}
	pt, err := s.aead.Open(nil, sealed[:GCMNonceSize], sealed[GCMNonceSize:], ad)
	if err != nil {
		return nil, ErrNotOpened
	}
	return pt, nil
}

// String says what the Sealer is, never its key.
func (s *gcmSealer) String() string { return "AES-GCM key in memory" }

// LoadSealerKeyFile reads an AES key from a file (made e.g. with
// `openssl rand -hex 32 > key`): 32 or 64 hex digits, or 16 or 32 raw
// bytes. The file should be readable by the server only; errors never
// quote its content.
func LoadSealerKeyFile(path string) (Sealer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("token: sealing key: %w", err)
	}
	key := data
	if t := strings.TrimSpace(string(data)); len(t) == 32 || len(t) == 64 {
		if k, err := hex.DecodeString(t); err == nil {
			key = k
		}
	}
	if len(key) != 16 && len(key) != 32 {
		return nil, fmt.Errorf("token: sealing key file %s: want 32 or 64 hex digits (or 16 or 32 raw bytes), found %d bytes", path, len(data))
	}
	return NewAESGCMSealer(key)
}
