// Package idea implements the IDEA block cipher (X. Lai and J. Massey,
// "A Proposal for a New Block Encryption Standard", EUROCRYPT '90, and
// Lai's thesis "On the Design and Security of Block Ciphers", 1992).
//
// IDEA is needed only for the SSL 3.0 suite SSL_RSA_WITH_IDEA_CBC_SHA
// (0x0007). It is a legacy cipher; do not use it for anything else.
//
// IDEA uses a 128-bit key and 64-bit blocks. All 16-bit words are
// big-endian. Its three group operations are XOR, addition modulo 2^16 and
// multiplication modulo 2^16+1, in which the word 0 stands for 2^16. The
// multiplication here is branch-free (and so is the inversion used for the
// decryption key schedule); the cipher has no secret-dependent table lookups
// or branches.
package idea

import (
	"crypto/cipher"
	"encoding/binary"
	"strconv"

	"github.com/tokenssl/tokenssl/internal/blockcheck"
)

// BlockSize is the IDEA block size in bytes.
const BlockSize = 8

// KeySize is the IDEA key size in bytes.
const KeySize = 16

const rounds = 8

// numSubkeys is the number of 16-bit subkeys: six per round plus four for
// the output transformation.
const numSubkeys = 6*rounds + 4

// KeySizeError is returned by NewCipher for a key that is not 16 bytes.
type KeySizeError int

func (k KeySizeError) Error() string {
	return "idea: invalid key size " + strconv.Itoa(int(k)) + " (want 16 bytes)"
}

type ideaCipher struct {
	ek [numSubkeys]uint16 // encryption subkeys Z1..Z52
	dk [numSubkeys]uint16 // decryption subkeys
}

// NewCipher returns an IDEA cipher.Block for a 16-byte key.
func NewCipher(key []byte) (cipher.Block, error) {
	if len(key) != KeySize {
		return nil, KeySizeError(len(key))
	}
	c := new(ideaCipher)
	expandKey(key, &c.ek)
	invertKey(&c.ek, &c.dk)
	return c, nil
}

// expandKey derives the 52 encryption subkeys: the key's eight words, then
// the eight words of the key rotated left by 25 bits, and so on.
func expandKey(key []byte, ek *[numSubkeys]uint16) {
	hi := binary.BigEndian.Uint64(key[0:8])
	lo := binary.BigEndian.Uint64(key[8:16])
	for i := 0; i < numSubkeys; i += 8 {
		words := [8]uint16{
			uint16(hi >> 48), uint16(hi >> 32), uint16(hi >> 16), uint16(hi),
			uint16(lo >> 48), uint16(lo >> 32), uint16(lo >> 16), uint16(lo),
		}
		copy(ek[i:], words[:])
		// Rotate the 128-bit value hi:lo left by 25 bits.
		hi, lo = hi<<25|lo>>39, lo<<25|hi>>39
	}
}

// invertKey derives the decryption subkeys from the encryption subkeys:
// decryption is the same network run with the multiplicative and additive
// inverses of the subkeys in reverse order (the middle additive pair is
// swapped for rounds 2..8, whose inputs arrive swapped).
func invertKey(ek, dk *[numSubkeys]uint16) {
	for r := 0; r <= rounds; r++ {
		// Decryption round r undoes encryption round 8-r (r = 8 is the
		// output transformation, undoing encryption round 0).
		e := 6 * (rounds - r)
		d := 6 * r
		dk[d] = mulInv(ek[e])
		if r == 0 || r == rounds {
			dk[d+1] = -ek[e+1]
			dk[d+2] = -ek[e+2]
		} else {
			dk[d+1] = -ek[e+2]
			dk[d+2] = -ek[e+1]
		}
		dk[d+3] = mulInv(ek[e+3])
		if r < rounds {
			dk[d+4] = ek[e-2]
			dk[d+5] = ek[e-1]
		}
	}
}

// mul returns a*b modulo 2^16+1, where the word 0 stands for 2^16. It has
// no branches: the 0 -> 2^16 mapping and the final reduction are done with
// arithmetic masks.
func mul(a, b uint16) uint16 {
	// x = a, or 2^16 if a == 0: (uint64(a)-1)>>63 is 1 exactly when a == 0.
	x := uint64(a) + ((uint64(a)-1)>>63)<<16
	y := uint64(b) + ((uint64(b)-1)>>63)<<16
	p := x * y // at most 2^32
	// 2^16 ≡ -1 (mod 2^16+1), so p = hi*2^16 + lo ≡ lo - hi.
	d := int64(p&0xffff) - int64(p>>16)
	d += (d >> 63) & 0x10001 // add the modulus if negative
	// d is in 1..2^16 (never 0, as 2^16+1 is prime); 2^16 truncates to 0.
	return uint16(d)
}

// mulInv returns the inverse of x under mul, computed as x^(2^16-1) mod
// 2^16+1 (Fermat) so that it too is branch-free. mulInv(0) = 0 since
// 2^16 ≡ -1 is its own inverse; mulInv(1) = 1.
func mulInv(x uint16) uint16 {
	// 2^16 - 1 = 0xffff: square-and-multiply over 16 set bits.
	r := x
	for i := 1; i < 16; i++ {
		r = mul(r, r)
		r = mul(r, x)
	}
	return r
}

func (*ideaCipher) BlockSize() int { return BlockSize }

// Encrypt encrypts the first block of src into dst.
func (c *ideaCipher) Encrypt(dst, src []byte) { crypt(&c.ek, dst, src) }

// Decrypt decrypts the first block of src into dst.
func (c *ideaCipher) Decrypt(dst, src []byte) { crypt(&c.dk, dst, src) }

// crypt runs the IDEA network with subkeys z: eight rounds and the output
// transformation.
func crypt(z *[numSubkeys]uint16, dst, src []byte) {
	blockcheck.Full("idea", dst, src, BlockSize)
	x1 := binary.BigEndian.Uint16(src[0:])
	x2 := binary.BigEndian.Uint16(src[2:])
	x3 := binary.BigEndian.Uint16(src[4:])
	x4 := binary.BigEndian.Uint16(src[6:])

	for r := 0; r < rounds; r++ {
		k := z[6*r : 6*r+6 : 6*r+6]
		x1 = mul(x1, k[0])
		x2 += k[1]
		x3 += k[2]
		x4 = mul(x4, k[3])

		// MA structure.
		t0 := mul(x1^x3, k[4])
		t1 := mul((x2^x4)+t0, k[5])
		t0 += t1

		x1 ^= t1
		x4 ^= t0
		// XOR and swap the middle words.
		x2, x3 = x3^t1, x2^t0
	}

	// Output transformation; it also undoes the last round's swap.
	k := z[6*rounds : 6*rounds+4 : 6*rounds+4]
	binary.BigEndian.PutUint16(dst[0:], mul(x1, k[0]))
	binary.BigEndian.PutUint16(dst[2:], x3+k[1])
	binary.BigEndian.PutUint16(dst[4:], x2+k[2])
	binary.BigEndian.PutUint16(dst[6:], mul(x4, k[3]))
}
