// Package camellia implements the Camellia block cipher of RFC 3713
// (M. Matsui, J. Nakajima, S. Moriai, "A Description of the Camellia
// Encryption Algorithm", 2004).
//
// Camellia is needed for the cipher suites of RFC 4132 that SSL 3.0 peers
// (NSS, OpenSSL 1.0.2) negotiate: *_WITH_CAMELLIA_128_CBC_SHA and
// *_WITH_CAMELLIA_256_CBC_SHA. 192-bit keys are implemented too, because
// the RFC's key schedule covers them at no cost and its vectors test them.
//
// Blocks are 128 bits; keys 128, 192 or 256 bits. Everything is big-endian.
// The F function's S-boxes and P-function are folded into eight 256-entry
// tables of 64-bit words built at init from SBOX1 alone (SBOX2..4 are
// rotations of it, RFC 3713 §2.4.2). Lookups are indexed by secret data, as
// in every table-driven S-box cipher; there are no secret-dependent branches.
package camellia

import (
	"crypto/cipher"
	"encoding/binary"
	"math/bits"
	"strconv"

	"github.com/tokenssl/tokenssl/internal/blockcheck"
)

// BlockSize is the Camellia block size in bytes.
const BlockSize = 16

// KeySizeError is returned by NewCipher for a key that is not 16, 24 or 32
// bytes.
type KeySizeError int

func (k KeySizeError) Error() string {
	return "camellia: invalid key size " + strconv.Itoa(int(k)) + " (want 16, 24 or 32 bytes)"
}

// schedule holds the subkeys in the order one direction uses them, so that
// encryption and decryption share crypt: kw[0], kw[1] whiten the input,
// k[i] is round i's F key, ke[2j], ke[2j+1] key the j-th FL/FL^-1 layer,
// and kw[2], kw[3] whiten the output.
type schedule struct {
	kw [4]uint64
	k  [24]uint64
	ke [6]uint64
}

type camelliaCipher struct {
	rounds int // 18 for 128-bit keys, 24 otherwise
	enc    schedule
	dec    schedule
}

// NewCipher returns a Camellia cipher.Block for a 16-, 24- or 32-byte key.
func NewCipher(key []byte) (cipher.Block, error) {
	switch len(key) {
	case 16, 24, 32:
	default:
		return nil, KeySizeError(len(key))
	}
	c := new(camelliaCipher)
	c.rounds = expandKey(key, &c.enc)
	invertSchedule(&c.enc, &c.dec, c.rounds)
	return c, nil
}

// The key schedule constants Σ1..Σ6 (RFC 3713 §2.2): the hexadecimal
// digits of the fractional parts of the square roots of 2, 3, 5, 7, 11, 13.
var sigma = [6]uint64{
	0xA09E667F3BCC908B, 0xB67AE8584CAA73B2, 0xC6EF372FE94F82BE,
	0x54FF53A5F1D36F1C, 0x10E527FADE682D1D, 0xB05688C2B3E6C1FD,
}

// u128 is a 128-bit value as two 64-bit halves.
type u128 struct{ hi, lo uint64 }

// rotl returns x <<< n for 0 <= n < 128.
func (x u128) rotl(n uint) u128 {
	if n >= 64 {
		x.hi, x.lo = x.lo, x.hi
		n -= 64
	}
	if n == 0 {
		return x
	}
	return u128{x.hi<<n | x.lo>>(64-n), x.lo<<n | x.hi>>(64-n)}
}

// expandKey derives the encryption subkeys (RFC 3713 §2.2, §2.3) and
// returns the number of rounds.
func expandKey(key []byte, s *schedule) int {
	kl := u128{binary.BigEndian.Uint64(key[0:]), binary.BigEndian.Uint64(key[8:])}
	var kr u128
	switch len(key) {
	case 24:
		r := binary.BigEndian.Uint64(key[16:])
		kr = u128{r, ^r}
	case 32:
		kr = u128{binary.BigEndian.Uint64(key[16:]), binary.BigEndian.Uint64(key[24:])}
	}

	d1, d2 := kl.hi^kr.hi, kl.lo^kr.lo
	d2 ^= f(d1, sigma[0])
	d1 ^= f(d2, sigma[1])
	d1 ^= kl.hi
	d2 ^= kl.lo
	d2 ^= f(d1, sigma[2])
	d1 ^= f(d2, sigma[3])
	ka := u128{d1, d2}

	if len(key) == 16 {
		// The 18-round table of §2.3 (the 128-bit key).
		set := func(dst []uint64, x u128, n uint) {
			r := x.rotl(n)
			dst[0], dst[1] = r.hi, r.lo
		}
		set(s.kw[0:2], kl, 0)
		set(s.k[0:2], ka, 0)
		set(s.k[2:4], kl, 15)
		set(s.k[4:6], ka, 15)
		set(s.ke[0:2], ka, 30)
		set(s.k[6:8], kl, 45)
		s.k[8] = ka.rotl(45).hi
		s.k[9] = kl.rotl(60).lo
		set(s.k[10:12], ka, 60)
		set(s.ke[2:4], kl, 77)
		set(s.k[12:14], kl, 94)
		set(s.k[14:16], ka, 94)
		set(s.k[16:18], kl, 111)
		set(s.kw[2:4], ka, 111)
		return 18
	}

	d1, d2 = ka.hi^kr.hi, ka.lo^kr.lo
	d2 ^= f(d1, sigma[4])
	d1 ^= f(d2, sigma[5])
	kb := u128{d1, d2}

	// The 24-round table of §2.3 (192- and 256-bit keys).
	for _, e := range [...]struct {
		dst []uint64
		x   u128
		n   uint
	}{
		{s.kw[0:2], kl, 0},
		{s.k[0:2], kb, 0},
		{s.k[2:4], kr, 15},
		{s.k[4:6], ka, 15},
		{s.ke[0:2], kr, 30},
		{s.k[6:8], kb, 30},
		{s.k[8:10], kl, 45},
		{s.k[10:12], ka, 45},
		{s.ke[2:4], kl, 60},
		{s.k[12:14], kr, 60},
		{s.k[14:16], kb, 60},
		{s.k[16:18], kl, 77},
		{s.ke[4:6], ka, 77},
		{s.k[18:20], kr, 94},
		{s.k[20:22], ka, 94},
		{s.k[22:24], kl, 111},
		{s.kw[2:4], kb, 111},
	} {
		r := e.x.rotl(e.n)
		e.dst[0], e.dst[1] = r.hi, r.lo
	}
	return 24
}

// invertSchedule lays out the decryption subkeys: decryption is the same
// network with kw1,kw2 swapped with kw3,kw4 and the k and ke sequences
// reversed (RFC 3713 §2.3.3).
func invertSchedule(e, d *schedule, rounds int) {
	d.kw = [4]uint64{e.kw[2], e.kw[3], e.kw[0], e.kw[1]}
	for i := 0; i < rounds; i++ {
		d.k[i] = e.k[rounds-1-i]
	}
	nke := 2 * (rounds/6 - 1)
	for i := 0; i < nke; i++ {
		d.ke[i] = e.ke[nke-1-i]
	}
}

func (*camelliaCipher) BlockSize() int { return BlockSize }

// Encrypt encrypts the first block of src into dst. dst and src may
// overlap: the whole block is read before any of it is written.
func (c *camelliaCipher) Encrypt(dst, src []byte) { crypt(&c.enc, c.rounds, dst, src) }

// Decrypt decrypts the first block of src into dst; see Encrypt.
func (c *camelliaCipher) Decrypt(dst, src []byte) { crypt(&c.dec, c.rounds, dst, src) }

// crypt runs the Feistel network of RFC 3713 §2.3.1 / §2.3.2: whitening,
// six rounds per group with an FL / FL^-1 layer between groups, whitening.
func crypt(s *schedule, rounds int, dst, src []byte) {
	blockcheck.Full("camellia", dst, src, BlockSize)
	d1 := binary.BigEndian.Uint64(src[0:8]) ^ s.kw[0]
	d2 := binary.BigEndian.Uint64(src[8:16]) ^ s.kw[1]
	for i := 0; i < rounds; i += 6 {
		if i > 0 {
			j := 2 * (i/6 - 1)
			d1 = fl(d1, s.ke[j])
			d2 = flInv(d2, s.ke[j+1])
		}
		k := s.k[i : i+6 : i+6]
		d2 ^= f(d1, k[0])
		d1 ^= f(d2, k[1])
		d2 ^= f(d1, k[2])
		d1 ^= f(d2, k[3])
		d2 ^= f(d1, k[4])
		d1 ^= f(d2, k[5])
	}
	binary.BigEndian.PutUint64(dst[0:8], d2^s.kw[2])
	binary.BigEndian.PutUint64(dst[8:16], d1^s.kw[3])
}

// f is the F function (RFC 3713 §2.4.1): S-function then P-function, one
// table per input byte (sp[0] for the most significant).
func f(in, ke uint64) uint64 {
	x := in ^ ke
	return sp[0][x>>56] ^ sp[1][x>>48&0xff] ^ sp[2][x>>40&0xff] ^ sp[3][x>>32&0xff] ^
		sp[4][x>>24&0xff] ^ sp[5][x>>16&0xff] ^ sp[6][x>>8&0xff] ^ sp[7][x&0xff]
}

// fl is the FL function (RFC 3713 §2.4.2).
func fl(x, k uint64) uint64 {
	x1, x2 := uint32(x>>32), uint32(x)
	k1, k2 := uint32(k>>32), uint32(k)
	x2 ^= bits.RotateLeft32(x1&k1, 1)
	x1 ^= x2 | k2
	return uint64(x1)<<32 | uint64(x2)
}

// flInv is FL^-1 (RFC 3713 §2.4.3).
func flInv(y, k uint64) uint64 {
	y1, y2 := uint32(y>>32), uint32(y)
	k1, k2 := uint32(k>>32), uint32(k)
	y1 ^= y2 | k2
	y2 ^= bits.RotateLeft32(y1&k1, 1)
	return uint64(y1)<<32 | uint64(y2)
}

// sp[i][v] is F's output when input byte i (0 = most significant) is v and
// all other bytes are zero; F is the XOR of the eight, since the P-function
// is linear.
var sp [8][256]uint64

func init() {
	for i := range sp {
		for v := range 256 {
			var t [8]byte
			t[i] = sbox(i, byte(v))
			sp[i][v] = pFunction(t)
		}
	}
}

// sbox applies the S-box that F uses for input byte i (§2.4.1: SBOX1, 2,
// 3, 4, 2, 3, 4, 1), each derived from SBOX1 as in §2.4.4.
func sbox(i int, x byte) byte {
	switch i {
	case 0, 7:
		return sbox1[x]
	case 1, 4:
		return bits.RotateLeft8(sbox1[x], 1) // SBOX2
	case 2, 5:
		return bits.RotateLeft8(sbox1[x], 7) // SBOX3
	default:
		return sbox1[bits.RotateLeft8(x, 1)] // SBOX4
	}
}

// pFunction is the P-function of §2.4.1 on the S-function's outputs
// t1..t8 (t[0]..t[7]), written as the RFC states it.
func pFunction(t [8]byte) uint64 {
	t1, t2, t3, t4, t5, t6, t7, t8 := t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]
	y := [8]byte{
		t1 ^ t3 ^ t4 ^ t6 ^ t7 ^ t8,
		t1 ^ t2 ^ t4 ^ t5 ^ t7 ^ t8,
		t1 ^ t2 ^ t3 ^ t5 ^ t6 ^ t8,
		t2 ^ t3 ^ t4 ^ t5 ^ t6 ^ t7,
		t1 ^ t2 ^ t6 ^ t7 ^ t8,
		t2 ^ t3 ^ t5 ^ t7 ^ t8,
		t3 ^ t4 ^ t5 ^ t6 ^ t8,
		t1 ^ t4 ^ t5 ^ t6 ^ t7,
	}
	return binary.BigEndian.Uint64(y[:])
}

// sbox1 is SBOX1 of RFC 3713 §2.4.4.
var sbox1 = [256]byte{
	112, 130, 44, 236, 179, 39, 192, 229, 228, 133, 87, 53, 234, 12, 174, 65,
	35, 239, 107, 147, 69, 25, 165, 33, 237, 14, 79, 78, 29, 101, 146, 189,
	134, 184, 175, 143, 124, 235, 31, 206, 62, 48, 220, 95, 94, 197, 11, 26,
	166, 225, 57, 202, 213, 71, 93, 61, 217, 1, 90, 214, 81, 86, 108, 77,
	139, 13, 154, 102, 251, 204, 176, 45, 116, 18, 43, 32, 240, 177, 132, 153,
	223, 76, 203, 194, 52, 126, 118, 5, 109, 183, 169, 49, 209, 23, 4, 215,
	20, 88, 58, 97, 222, 27, 17, 28, 50, 15, 156, 22, 83, 24, 242, 34,
	254, 68, 207, 178, 195, 181, 122, 145, 36, 8, 232, 168, 96, 252, 105, 80,
	170, 208, 160, 125, 161, 137, 98, 151, 84, 91, 30, 149, 224, 255, 100, 210,
	16, 196, 0, 72, 163, 247, 117, 219, 138, 3, 230, 218, 9, 63, 221, 148,
	135, 92, 131, 2, 205, 74, 144, 51, 115, 103, 246, 243, 157, 127, 191, 226,
	82, 155, 216, 38, 200, 55, 198, 59, 129, 150, 111, 75, 19, 190, 99, 46,
	233, 121, 167, 140, 159, 110, 188, 142, 41, 245, 249, 182, 47, 253, 180, 89,
	120, 152, 6, 106, 231, 70, 113, 186, 212, 37, 171, 66, 136, 162, 141, 250,
	114, 7, 185, 85, 248, 238, 172, 10, 54, 73, 42, 104, 60, 56, 241, 164,
	64, 40, 211, 123, 187, 201, 67, 193, 21, 227, 173, 244, 119, 199, 128, 158,
}
