package token

import (
	"crypto/cipher"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/tokenssl/tokenssl/kea/skipjack"
)

// SoftwareSKIPJACK is the SKIPJACK half of a Fortezza card that computes
// SKIPJACK in software: UnwrapKey, WrapKey and CBC64, in the card's byte
// convention, on key bytes the card loads for the one operation (the way a
// card loads a key into its crypto unit). The software card here and the
// softhsm emulator share it; their KEA halves differ.
type SoftwareSKIPJACK struct {
	load  func(key FortezzaKey) ([]byte, error)
	store func(value []byte) (FortezzaKey, error)
	rand  io.Reader
}

// NewSoftwareSKIPJACK returns the SKIPJACK half of a card: load returns
// the bytes of key if it is a live key of the card, else
// ErrFortezzaHandle; store keeps value as a new key of the card. Both
// hand over bytes that are cleared when the operation ends. IVs come from
// rand (nil: crypto/rand).
func NewSoftwareSKIPJACK(load func(key FortezzaKey) ([]byte, error), store func(value []byte) (FortezzaKey, error), rand io.Reader) SoftwareSKIPJACK {
	return SoftwareSKIPJACK{load: load, store: store, rand: rand}
}

// WrapKey implements FortezzaCard.WrapKey.
func (u SoftwareSKIPJACK) WrapKey(kek, key FortezzaKey) ([]byte, error) {
	kv, err := u.load(kek)
	if err != nil {
		return nil, err
	}
	defer clear(kv)
	v, err := u.load(key)
	if err != nil {
		return nil, err
	}
	defer clear(v)
	return skipjack.WrapKey(kv, v)
}

// UnwrapKey implements FortezzaCard.UnwrapKey.
func (u SoftwareSKIPJACK) UnwrapKey(kek FortezzaKey, wrapped []byte) (FortezzaKey, error) {
	kv, err := u.load(kek)
	if err != nil {
		return nil, err
	}
	defer clear(kv)
	v, err := UnwrapFortezzaKey(kv, wrapped)
	if err != nil {
		return nil, err
	}
	defer clear(v)
	return u.store(v)
}

// UnwrapFortezzaKey is skipjack.UnwrapKey with the token's error for a bad
// checksum, for card implementations that unwrap in software.
func UnwrapFortezzaKey(kek, wrapped []byte) ([]byte, error) {
	v, err := skipjack.UnwrapKey(kek, wrapped)
	if errors.Is(err, skipjack.ErrChecksum) {
		return nil, ErrFortezzaChecksum
	}
	return v, err
}

// Encrypt implements FortezzaCard.Encrypt.
func (u SoftwareSKIPJACK) Encrypt(key FortezzaKey, plaintext []byte) ([]byte, []byte, error) {
	stream, iv, err := u.NewEncrypter(key)
	if err != nil {
		return nil, nil, err
	}
	defer stream.Close()
	ct := make([]byte, len(plaintext))
	if err := stream.CryptBlocks(ct, plaintext); err != nil {
		return nil, nil, err
	}
	return iv, ct, nil
}

// Decrypt implements FortezzaCard.Decrypt.
func (u SoftwareSKIPJACK) Decrypt(key FortezzaKey, iv, ciphertext []byte) ([]byte, error) {
	stream, err := u.NewDecrypter(key, iv)
	if err != nil {
		return nil, err
	}
	defer stream.Close()
	pt := make([]byte, len(ciphertext))
	if err := stream.CryptBlocks(pt, ciphertext); err != nil {
		return nil, err
	}
	return pt, nil
}

// NewEncrypter implements FortezzaCard.NewEncrypter: the IV is generated
// as a LEAF-suppressed card generates it at encrypt-init.
func (u SoftwareSKIPJACK) NewEncrypter(key FortezzaKey) (FortezzaCBC, []byte, error) {
	v, err := u.load(key)
	if err != nil {
		return nil, nil, err
	}
	defer clear(v)
	iv, err := skipjack.NewIV(u.rand)
	if err != nil {
		return nil, nil, err
	}
	s, err := NewSoftwareFortezzaCBC(v, iv[:], true)
	if err != nil {
		return nil, nil, err
	}
	return s, iv[:], nil
}

// NewDecrypter implements FortezzaCard.NewDecrypter.
func (u SoftwareSKIPJACK) NewDecrypter(key FortezzaKey, iv []byte) (FortezzaCBC, error) {
	v, err := u.load(key)
	if err != nil {
		return nil, err
	}
	defer clear(v)
	return NewSoftwareFortezzaCBC(v, iv, false)
}

// softCBC is SKIPJACK-CBC64 in the card's byte convention, in software.
type softCBC struct {
	mu sync.Mutex
	bm cipher.BlockMode // nil once closed
}

// NewSoftwareFortezzaCBC returns SKIPJACK-CBC64 (card byte convention)
// under the 10-byte key from the CBC IV in iv24[16:24], the way a card
// loads a 24-byte Fortezza IV (the LEAF is not checked). Card
// implementations that compute SKIPJACK in software share it.
func NewSoftwareFortezzaCBC(key, iv24 []byte, encrypt bool) (FortezzaCBC, error) {
	cbcIV, err := skipjack.CBCIV(iv24)
	if err != nil {
		return nil, err
	}
	b, err := skipjack.NewFortezzaCipher(key)
	if err != nil {
		return nil, err
	}
	s := &softCBC{}
	if encrypt {
		s.bm = cipher.NewCBCEncrypter(b, cbcIV)
	} else {
		s.bm = cipher.NewCBCDecrypter(b, cbcIV)
	}
	return s, nil
}

func (s *softCBC) BlockSize() int { return skipjack.BlockSize }

func (s *softCBC) CryptBlocks(dst, src []byte) error {
	if len(src)%skipjack.BlockSize != 0 || len(dst) < len(src) {
		return fmt.Errorf("token: SKIPJACK-CBC64 input of %d bytes is not a whole number of blocks", len(src))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bm == nil {
		return errors.New("token: SKIPJACK-CBC64 operation closed")
	}
	s.bm.CryptBlocks(dst[:len(src)], src)
	return nil
}

func (s *softCBC) Close() error {
	s.mu.Lock()
	s.bm = nil
	s.mu.Unlock()
	return nil
}
