// Package skipjack implements the SKIPJACK block cipher (NIST, 1998) in the
// two byte conventions the Fortezza system needs, plus the Fortezza key wrap
// and the 24-byte Fortezza IV helpers.
//
// SKIPJACK is a 64-bit block cipher with an 80-bit key. [NewCipher] numbers
// bytes as the NIST specification does. [NewFortezzaCipher] follows the
// convention of Netscape's software Fortezza card (swfort), which the NIST KEA
// annex vectors also follow:
//
//	E_FORTEZZA(k, b) = rev8(E_NIST(rev10(k), rev8(b)))
//
// where revN reverses the order of N bytes. Everything that a Fortezza card
// does (KEA key derivation, key wrap, CBC64 record encryption) uses the
// Fortezza convention; see docs/fortezza.md §1.6.
//
// SKIPJACK is obsolete and only 80-bit strong; it exists here for
// compatibility with SSL 3.0 Fortezza cipher suites. The implementation uses
// a 256-byte lookup table indexed by secret data, so it is not free of cache
// timing side channels.
package skipjack

import (
	"crypto/cipher"
	"encoding/binary"
	"strconv"

	"github.com/tokenssl/tokenssl/internal/blockcheck"
)

const (
	// KeySize is the SKIPJACK key size in bytes (80 bits).
	KeySize = 10
	// BlockSize is the SKIPJACK block size in bytes (64 bits).
	BlockSize = 8
)

// rounds is the number of SKIPJACK steps; step k uses the step counter k+1.
const rounds = 32

// KeySizeError is returned for a key whose length is not KeySize.
type KeySizeError int

func (k KeySizeError) Error() string {
	return "skipjack: invalid key size " + strconv.Itoa(int(k)) + " (want 10)"
}

// ftable is the SKIPJACK F-table (docs/fortezza.md §1.2; SHA-256 checked in tests).
var ftable = [256]byte{
	0xa3, 0xd7, 0x09, 0x83, 0xf8, 0x48, 0xf6, 0xf4, 0xb3, 0x21, 0x15, 0x78, 0x99, 0xb1, 0xaf, 0xf9,
	0xe7, 0x2d, 0x4d, 0x8a, 0xce, 0x4c, 0xca, 0x2e, 0x52, 0x95, 0xd9, 0x1e, 0x4e, 0x38, 0x44, 0x28,
	0x0a, 0xdf, 0x02, 0xa0, 0x17, 0xf1, 0x60, 0x68, 0x12, 0xb7, 0x7a, 0xc3, 0xe9, 0xfa, 0x3d, 0x53,
	0x96, 0x84, 0x6b, 0xba, 0xf2, 0x63, 0x9a, 0x19, 0x7c, 0xae, 0xe5, 0xf5, 0xf7, 0x16, 0x6a, 0xa2,
	0x39, 0xb6, 0x7b, 0x0f, 0xc1, 0x93, 0x81, 0x1b, 0xee, 0xb4, 0x1a, 0xea, 0xd0, 0x91, 0x2f, 0xb8,
	0x55, 0xb9, 0xda, 0x85, 0x3f, 0x41, 0xbf, 0xe0, 0x5a, 0x58, 0x80, 0x5f, 0x66, 0x0b, 0xd8, 0x90,
	0x35, 0xd5, 0xc0, 0xa7, 0x33, 0x06, 0x65, 0x69, 0x45, 0x00, 0x94, 0x56, 0x6d, 0x98, 0x9b, 0x76,
	0x97, 0xfc, 0xb2, 0xc2, 0xb0, 0xfe, 0xdb, 0x20, 0xe1, 0xeb, 0xd6, 0xe4, 0xdd, 0x47, 0x4a, 0x1d,
	0x42, 0xed, 0x9e, 0x6e, 0x49, 0x3c, 0xcd, 0x43, 0x27, 0xd2, 0x07, 0xd4, 0xde, 0xc7, 0x67, 0x18,
	0x89, 0xcb, 0x30, 0x1f, 0x8d, 0xc6, 0x8f, 0xaa, 0xc8, 0x74, 0xdc, 0xc9, 0x5d, 0x5c, 0x31, 0xa4,
	0x70, 0x88, 0x61, 0x2c, 0x9f, 0x0d, 0x2b, 0x87, 0x50, 0x82, 0x54, 0x64, 0x26, 0x7d, 0x03, 0x40,
	0x34, 0x4b, 0x1c, 0x73, 0xd1, 0xc4, 0xfd, 0x3b, 0xcc, 0xfb, 0x7f, 0xab, 0xe6, 0x3e, 0x5b, 0xa5,
	0xad, 0x04, 0x23, 0x9c, 0x14, 0x51, 0x22, 0xf0, 0x29, 0x79, 0x71, 0x7e, 0xff, 0x8c, 0x0e, 0xe2,
	0x0c, 0xef, 0xbc, 0x72, 0x75, 0x6f, 0x37, 0xa1, 0xec, 0xd3, 0x8e, 0x62, 0x8b, 0x86, 0x10, 0xe8,
	0x08, 0x77, 0x11, 0xbe, 0x92, 0x4f, 0x24, 0xc5, 0x32, 0x36, 0x9d, 0xcf, 0xf3, 0xa6, 0xbb, 0xac,
	0x5e, 0x6c, 0xa9, 0x13, 0x57, 0x25, 0xb5, 0xe3, 0xbd, 0xa8, 0x3a, 0x01, 0x05, 0x59, 0x2a, 0x46,
}

// schedule holds the key bytes of every step: step k uses
// cv[4k mod 10], ..., cv[(4k+3) mod 10]. Unrolling the cyclic key once at
// construction keeps the round function free of modulo arithmetic.
type schedule [rounds][4]byte

// newSchedule expands a 10-byte key given in NIST byte order.
func newSchedule(cv *[KeySize]byte) schedule {
	var s schedule
	for k := range s {
		for i := range s[k] {
			s[k][i] = cv[(4*k+i)%KeySize]
		}
	}
	return s
}

// g is the G permutation with step key cv (docs/fortezza.md §1.3). It is small
// enough for the compiler to inline into the round loops.
func g(cv *[4]byte, w uint16) uint16 {
	g1, g2 := byte(w>>8), byte(w)
	g3 := ftable[g2^cv[0]] ^ g1
	g4 := ftable[g3^cv[1]] ^ g2
	g5 := ftable[g4^cv[2]] ^ g3
	g6 := ftable[g5^cv[3]] ^ g4
	return uint16(g5)<<8 | uint16(g6)
}

// gInv is the inverse of g.
func gInv(cv *[4]byte, w uint16) uint16 {
	g5, g6 := byte(w>>8), byte(w)
	g4 := ftable[g5^cv[3]] ^ g6
	g3 := ftable[g4^cv[2]] ^ g5
	g2 := ftable[g3^cv[1]] ^ g4
	g1 := ftable[g2^cv[0]] ^ g3
	return uint16(g1)<<8 | uint16(g2)
}

// encrypt runs the 32 steps on the words w1..w4: rule A for steps 0-7,
// B for 8-15, A for 16-23, B for 24-31; step k XORs in the counter k+1.
func (s *schedule) encrypt(w1, w2, w3, w4 uint16) (uint16, uint16, uint16, uint16) {
	for k := 0; k < rounds; k += 16 {
		for i := k; i < k+8; i++ { // rule A
			gw := g(&s[i], w1)
			w1, w2, w3, w4 = gw^w4^uint16(i+1), gw, w2, w3
		}
		for i := k + 8; i < k+16; i++ { // rule B
			gw := g(&s[i], w1)
			w1, w2, w3, w4 = w4, gw, w1^w2^uint16(i+1), w3
		}
	}
	return w1, w2, w3, w4
}

// decrypt inverts encrypt, running the steps from 31 down to 0.
func (s *schedule) decrypt(w1, w2, w3, w4 uint16) (uint16, uint16, uint16, uint16) {
	for k := rounds - 16; k >= 0; k -= 16 {
		for i := k + 15; i >= k+8; i-- { // rule B⁻¹
			gi := gInv(&s[i], w2)
			w1, w2, w3, w4 = gi, gi^w3^uint16(i+1), w4, w1
		}
		for i := k + 7; i >= k; i-- { // rule A⁻¹
			gi := gInv(&s[i], w2)
			w1, w2, w3, w4 = gi, w3, w4, w1^w2^uint16(i+1)
		}
	}
	return w1, w2, w3, w4
}

// skipjackCipher is SKIPJACK in either byte convention. NIST numbering
// reads w1 = bytes 0‖1 (big-endian), ..., w4 = bytes 6‖7: the block as one
// big-endian 64-bit word w1‖w2‖w3‖w4.
type skipjackCipher struct {
	s schedule
	// fortezza selects the Fortezza card convention. Reversing the 8 block
	// bytes and then reading big-endian words w1..w4 is the same as
	// reading the block as one little-endian 64-bit word, so the
	// conversion costs nothing per block; the key is reversed once when
	// the schedule is built.
	fortezza bool
}

// NewCipher returns SKIPJACK with a 10-byte key in NIST byte order.
func NewCipher(key []byte) (cipher.Block, error) {
	if len(key) != KeySize {
		return nil, KeySizeError(len(key))
	}
	return &skipjackCipher{s: newSchedule((*[KeySize]byte)(key))}, nil
}

func (c *skipjackCipher) BlockSize() int { return BlockSize }

func (c *skipjackCipher) Encrypt(dst, src []byte) { c.crypt(dst, src, (*schedule).encrypt) }

func (c *skipjackCipher) Decrypt(dst, src []byte) { c.crypt(dst, src, (*schedule).decrypt) }

// crypt applies steps (encrypt or decrypt) to the first block of src and
// writes the result to dst; the block is read completely before any byte
// is written, so dst and src may overlap.
func (c *skipjackCipher) crypt(dst, src []byte, steps func(*schedule, uint16, uint16, uint16, uint16) (uint16, uint16, uint16, uint16)) {
	blockcheck.Full("skipjack", dst, src, BlockSize)
	var v uint64
	if c.fortezza {
		v = binary.LittleEndian.Uint64(src)
	} else {
		v = binary.BigEndian.Uint64(src)
	}
	w1, w2, w3, w4 := steps(&c.s, uint16(v>>48), uint16(v>>32), uint16(v>>16), uint16(v))
	v = uint64(w1)<<48 | uint64(w2)<<32 | uint64(w3)<<16 | uint64(w4)
	if c.fortezza {
		binary.LittleEndian.PutUint64(dst, v)
	} else {
		binary.BigEndian.PutUint64(dst, v)
	}
}

// NewFortezzaCipher returns SKIPJACK in the Fortezza card byte convention,
// E_FORTEZZA(k, b) = rev8(E_NIST(rev10(k), rev8(b))). This is the cipher a
// Fortezza card (and Netscape's software card) applies for KEA key
// derivation, key wrap and CBC64.
func NewFortezzaCipher(key []byte) (cipher.Block, error) {
	if len(key) != KeySize {
		return nil, KeySizeError(len(key))
	}
	return newFortezza(key), nil
}

// newFortezza builds the Fortezza-convention cipher; key must be KeySize bytes.
func newFortezza(key []byte) *skipjackCipher {
	var rev [KeySize]byte
	for i := range rev {
		rev[i] = key[KeySize-1-i]
	}
	return &skipjackCipher{s: newSchedule(&rev), fortezza: true}
}
