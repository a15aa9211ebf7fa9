package kea

import (
	"fmt"

	"github.com/tokenssl/tokenssl/kea/skipjack"
)

// kdfPad is XORed into the top 80 bits of w to form the SKIPJACK key.
var kdfPad = [skipjack.KeySize]byte{0x72, 0xf1, 0xa8, 0x7e, 0x92, 0x82, 0x41, 0x98, 0xab, 0x0b}

// DeriveTEK derives the 10-byte token encryption key from the 128-byte shared
// value w (docs/fortezza.md §2.4), with SKIPJACK in the Fortezza card convention:
//
//	t = w[0:10] XOR 72f1a87e92824198ab0b
//	U = E(t, w[10:18])
//	TEK = E(t, U) ‖ (w[18:20] XOR U[0:2])
//
// This is the 10-byte form of the key wrap: TEK = WrapKey(t, w[10:20])[0:10].
func DeriveTEK(w []byte) ([]byte, error) {
	if len(w) != ValueSize {
		return nil, fmt.Errorf("kea: shared value w is %d bytes, want %d", len(w), ValueSize)
	}
	var t [skipjack.KeySize]byte
	for i := range t {
		t[i] = w[i] ^ kdfPad[i]
	}
	tek, err := skipjack.Wrap10(t[:], w[10:20])
	clear(t[:])
	return tek, err // err is unreachable: both inputs have the right size
}
