package skipjack

import (
	"crypto/rand"
	"fmt"
	"io"
)

const (
	// IVSize is the size of a Fortezza IV: a 16-byte LEAF followed by the
	// 8-byte CBC initialisation vector.
	IVSize = 24
	// LEAFSize is the size of the Law Enforcement Access Field.
	LEAFSize = 16
)

// LEAFSuppressed is the 16-byte string that LEAF-suppressed cards (and
// Netscape's software card) put in place of a real LEAF.
const LEAFSuppressed = "THIS IS NOT LEAF"

// NewIV returns a fresh 24-byte Fortezza IV as a LEAF-suppressed card
// generates it at encrypt-init: LEAFSuppressed followed by 8 bytes read from
// rand. If rand is nil, crypto/rand.Reader is used.
func NewIV(rand io.Reader) ([IVSize]byte, error) {
	if rand == nil {
		rand = defaultRand
	}
	var iv [IVSize]byte
	copy(iv[:], LEAFSuppressed)
	if _, err := io.ReadFull(rand, iv[LEAFSize:]); err != nil {
		return [IVSize]byte{}, fmt.Errorf("skipjack: generating IV: %w", err)
	}
	return iv, nil
}

var defaultRand = rand.Reader

// CBCIV returns a copy of the 8-byte CBC initialisation vector carried in
// iv24[16:24], which is all a card uses when it loads an IV for decryption.
// The LEAF is not checked.
func CBCIV(iv24 []byte) ([]byte, error) {
	if len(iv24) != IVSize {
		return nil, fmt.Errorf("skipjack: Fortezza IV is %d bytes, want %d", len(iv24), IVSize)
	}
	return append([]byte(nil), iv24[LEAFSize:]...), nil
}
