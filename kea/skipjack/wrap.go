package skipjack

import (
	"crypto/subtle"
	"errors"
	"fmt"
)

// WrappedKeySize is the size of a wrapped SKIPJACK key: the 10-byte wrap
// output followed by a 2-byte checksum (the CKA_VALUE of a PKCS#11 SKIPJACK
// key, a Fortezza CI_KEY).
const WrappedKeySize = 12

// ErrChecksum is returned by UnwrapKey when the checksum of the unwrapped key
// does not match; the wrapped key was corrupted or wrapped under another KEK.
var ErrChecksum = errors.New("skipjack: wrapped key checksum mismatch")

// checksumBlock is encrypted under a key to form its 16-bit checksum.
var checksumBlock = [BlockSize]byte{0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55}

// WrapKey wraps the 10-byte SKIPJACK key under the 10-byte kek as a Fortezza
// card does (docs/fortezza.md §1.8), everything in the Fortezza byte convention:
//
//	U = E(kek, key[0:8])
//	W[0:8] = E(kek, U);  W[8:10] = key[8:10] XOR U[0:2]
//	W[10:12] = E(key, 55 55 55 55 55 55 55 55)[1:3]
func WrapKey(kek, key []byte) ([]byte, error) {
	if err := checkSizes(kek, "key to wrap", key, KeySize); err != nil {
		return nil, err
	}
	w := make([]byte, WrappedKeySize)
	wrap10(w[:KeySize], kek, key)
	cs := checksum(key)
	w[10], w[11] = cs[0], cs[1]
	return w, nil
}

// Wrap10 is WrapKey without the checksum: the 10-byte W[0:10] alone. KEA
// derives its token encryption key this way (docs/fortezza.md §2.4), so the
// two share one implementation of the wrap.
func Wrap10(kek, key []byte) ([]byte, error) {
	if err := checkSizes(kek, "key to wrap", key, KeySize); err != nil {
		return nil, err
	}
	w := make([]byte, KeySize)
	wrap10(w, kek, key)
	return w, nil
}

// wrap10 writes W[0:10] of key wrapped under kek to dst; sizes are checked.
func wrap10(dst, kek, key []byte) {
	c := newFortezza(kek)
	var u [BlockSize]byte
	c.Encrypt(u[:], key[:8])
	c.Encrypt(dst[:8], u[:])
	dst[8] = key[8] ^ u[0]
	dst[9] = key[9] ^ u[1]
	clear(u[:])
}

// UnwrapKey reverses WrapKey. It returns ErrChecksum (and no key) if the
// checksum in wrapped[10:12] does not match the unwrapped key.
func UnwrapKey(kek, wrapped []byte) ([]byte, error) {
	if err := checkSizes(kek, "wrapped key", wrapped, WrappedKeySize); err != nil {
		return nil, err
	}
	c := newFortezza(kek)
	key := make([]byte, KeySize)
	var u [BlockSize]byte
	c.Decrypt(u[:], wrapped[:8])
	key[8] = wrapped[8] ^ u[0]
	key[9] = wrapped[9] ^ u[1]
	c.Decrypt(key[:8], u[:])
	cs := checksum(key)
	if subtle.ConstantTimeCompare(cs[:], wrapped[10:12]) != 1 {
		clear(key)
		return nil, ErrChecksum
	}
	return key, nil
}

// checksum returns the 16-bit Fortezza checksum of a 10-byte key: bytes 1
// and 2 of the constant block 55…55 encrypted under the key itself.
func checksum(key []byte) [2]byte {
	var out [BlockSize]byte
	newFortezza(key).Encrypt(out[:], checksumBlock[:])
	return [2]byte{out[1], out[2]}
}

// checkSizes checks the key-encryption key and the other input of WrapKey
// or UnwrapKey (what, of want bytes).
func checkSizes(kek []byte, what string, b []byte, want int) error {
	if len(kek) != KeySize {
		return fmt.Errorf("skipjack: key-encryption key is %d bytes, want %d", len(kek), KeySize)
	}
	if len(b) != want {
		return fmt.Errorf("skipjack: %s is %d bytes, want %d", what, len(b), want)
	}
	return nil
}
