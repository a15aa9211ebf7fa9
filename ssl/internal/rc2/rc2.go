// Package rc2 implements the RC2 block cipher as specified in RFC 2268
// ("A Description of the RC2(r) Encryption Algorithm").
//
// RC2 is needed only for the SSL 3.0 export suite
// SSL_RSA_EXPORT_WITH_RC2_CBC_40_MD5 (0x0006). It is a weak, legacy cipher;
// do not use it for anything else.
//
// # Effective key bits for SSL_RSA_EXPORT_WITH_RC2_CBC_40_MD5
//
// RC2 takes two parameters: the key (1..128 bytes) and the "effective key
// bits" T1 (1..1024), which limits the search space of the expanded key.
// SSL 3.0 (RFC 6101 §6.2.2) derives the export write key as
// final_write_key = MD5(write_key[0:5] + client_random + server_random),
// a 16-byte value. The two reference implementations both key RC2 with that
// 16-byte key and an effective key length of 128 bits:
//
//   - OpenSSL maps the SSL cipher to EVP_rc2_cbc (OpenSSL's ssl_ciph.c:
//     ssl_cipher_methods[SSL_ENC_RC2_IDX] = EVP_get_cipherbyname(SN_rc2_cbc)),
//     whose default key length is 16 and whose EVP_CTRL_INIT sets
//     key_bits = key_length*8 = 128 (crypto/evp/e_rc2.c); its s3_enc.c
//     passes the 16-byte MD5 output to EVP_CipherInit_ex unchanged. (It does
//     NOT use EVP_rc2_40_cbc, the PKCS#7/S-MIME 5-byte/40-bit variant.)
//   - NSS declares {cipher_rc2_40, calg_rc2, key_size 16, secret_key_size 5}
//     in bulk_cipher_defs and ssl3_InitPendingContexts passes
//     effKeyBits = cipher_def->key_size * BPB = 128 as
//     CK_RC2_CBC_PARAMS.ulEffectiveBits (lib/ssl/ssl3con.c).
//
// So the record layer must call NewCipher(finalWriteKey[:16],
// SSL3ExportEffectiveKeyBits). The "40" in the suite name refers to the
// 5 secret bytes fed into MD5, not to RC2's T1 parameter. That configuration
// (16-byte key, T1 = 128) is exactly RFC 2268 §5 test vector 7.
//
// # Side channels
//
// RC2's mashing rounds index the expanded key with data (K[R & 63]). The
// table is 128 bytes (two cache lines), but this implementation makes no
// attempt to hide those accesses from a cache-timing observer.
package rc2

import (
	"crypto/cipher"
	"encoding/binary"
	"math/bits"
	"strconv"

	"github.com/tokenssl/tokenssl/internal/blockcheck"
)

// BlockSize is the RC2 block size in bytes.
const BlockSize = 8

// SSL3ExportEffectiveKeyBits is the effective key length, in bits, that
// OpenSSL and NSS use with the 16-byte final write key of the SSL 3.0 suite
// SSL_RSA_EXPORT_WITH_RC2_CBC_40_MD5. See the package documentation.
const SSL3ExportEffectiveKeyBits = 128

// KeySizeError is returned by NewCipher for a key that is not 1..128 bytes.
type KeySizeError int

func (k KeySizeError) Error() string {
	return "rc2: invalid key size " + strconv.Itoa(int(k)) + " (want 1..128 bytes)"
}

// EffectiveKeyBitsError is returned by NewCipher for an effective key length
// outside 1..1024 bits.
type EffectiveKeyBitsError int

func (e EffectiveKeyBitsError) Error() string {
	return "rc2: invalid effective key bits " + strconv.Itoa(int(e)) + " (want 1..1024)"
}

// piTable is PITABLE from RFC 2268 §2, a permutation of 0..255 derived from
// the digits of pi. Cross-checked byte for byte against two independent
// copies (BoringSSL decrepit/rc2 key_table and golang.org/x/crypto
// pkcs12/internal/rc2 piTable).
var piTable = [256]byte{
	0xd9, 0x78, 0xf9, 0xc4, 0x19, 0xdd, 0xb5, 0xed, 0x28, 0xe9, 0xfd, 0x79, 0x4a, 0xa0, 0xd8, 0x9d,
	0xc6, 0x7e, 0x37, 0x83, 0x2b, 0x76, 0x53, 0x8e, 0x62, 0x4c, 0x64, 0x88, 0x44, 0x8b, 0xfb, 0xa2,
	0x17, 0x9a, 0x59, 0xf5, 0x87, 0xb3, 0x4f, 0x13, 0x61, 0x45, 0x6d, 0x8d, 0x09, 0x81, 0x7d, 0x32,
	0xbd, 0x8f, 0x40, 0xeb, 0x86, 0xb7, 0x7b, 0x0b, 0xf0, 0x95, 0x21, 0x22, 0x5c, 0x6b, 0x4e, 0x82,
	0x54, 0xd6, 0x65, 0x93, 0xce, 0x60, 0xb2, 0x1c, 0x73, 0x56, 0xc0, 0x14, 0xa7, 0x8c, 0xf1, 0xdc,
	0x12, 0x75, 0xca, 0x1f, 0x3b, 0xbe, 0xe4, 0xd1, 0x42, 0x3d, 0xd4, 0x30, 0xa3, 0x3c, 0xb6, 0x26,
	0x6f, 0xbf, 0x0e, 0xda, 0x46, 0x69, 0x07, 0x57, 0x27, 0xf2, 0x1d, 0x9b, 0xbc, 0x94, 0x43, 0x03,
	0xf8, 0x11, 0xc7, 0xf6, 0x90, 0xef, 0x3e, 0xe7, 0x06, 0xc3, 0xd5, 0x2f, 0xc8, 0x66, 0x1e, 0xd7,
	0x08, 0xe8, 0xea, 0xde, 0x80, 0x52, 0xee, 0xf7, 0x84, 0xaa, 0x72, 0xac, 0x35, 0x4d, 0x6a, 0x2a,
	0x96, 0x1a, 0xd2, 0x71, 0x5a, 0x15, 0x49, 0x74, 0x4b, 0x9f, 0xd0, 0x5e, 0x04, 0x18, 0xa4, 0xec,
	0xc2, 0xe0, 0x41, 0x6e, 0x0f, 0x51, 0xcb, 0xcc, 0x24, 0x91, 0xaf, 0x50, 0xa1, 0xf4, 0x70, 0x39,
	0x99, 0x7c, 0x3a, 0x85, 0x23, 0xb8, 0xb4, 0x7a, 0xfc, 0x02, 0x36, 0x5b, 0x25, 0x55, 0x97, 0x31,
	0x2d, 0x5d, 0xfa, 0x98, 0xe3, 0x8a, 0x92, 0xae, 0x05, 0xdf, 0x29, 0x10, 0x67, 0x6c, 0xba, 0xc9,
	0xd3, 0x00, 0xe6, 0xcf, 0xe1, 0x9e, 0xa8, 0x2c, 0x63, 0x16, 0x01, 0x3f, 0x58, 0xe2, 0x89, 0xa9,
	0x0d, 0x38, 0x34, 0x1b, 0xab, 0x33, 0xff, 0xb0, 0xbb, 0x48, 0x0c, 0x5f, 0xb9, 0xb1, 0xcd, 0x2e,
	0xc5, 0xf3, 0xdb, 0x47, 0xe5, 0xa5, 0x9c, 0x77, 0x0a, 0xa6, 0x20, 0x68, 0xfe, 0x7f, 0xc1, 0xad,
}

type rc2Cipher struct {
	k [64]uint16 // expanded key K[0..63] (RFC 2268 §2)
}

// NewCipher returns an RC2 cipher.Block for key (1..128 bytes) with the
// given effective key length in bits (1..1024). Other values return a
// KeySizeError or an EffectiveKeyBitsError; NewCipher never clamps them.
//
// For SSL_RSA_EXPORT_WITH_RC2_CBC_40_MD5 use the 16-byte final write key and
// SSL3ExportEffectiveKeyBits (128).
func NewCipher(key []byte, effectiveKeyBits int) (cipher.Block, error) {
	if len(key) < 1 || len(key) > 128 {
		return nil, KeySizeError(len(key))
	}
	if effectiveKeyBits < 1 || effectiveKeyBits > 1024 {
		return nil, EffectiveKeyBitsError(effectiveKeyBits)
	}
	c := new(rc2Cipher)
	c.expandKey(key, effectiveKeyBits)
	return c, nil
}

// expandKey is the key expansion of RFC 2268 §2.
func (c *rc2Cipher) expandKey(key []byte, t1 int) {
	var l [128]byte
	t := len(key)
	copy(l[:], key)
	// First loop: L[i] = PITABLE[L[i-1] + L[i-T]] (byte addition).
	for i := t; i < 128; i++ {
		l[i] = piTable[l[i-1]+l[i-t]]
	}
	// Reduce the effective key to T1 bits.
	t8 := (t1 + 7) / 8
	tm := byte(0xff >> uint(8*t8-t1))
	l[128-t8] = piTable[l[128-t8]&tm]
	for i := 127 - t8; i >= 0; i-- {
		l[i] = piTable[l[i+1]^l[i+t8]]
	}
	for i := range c.k {
		c.k[i] = uint16(l[2*i]) | uint16(l[2*i+1])<<8
	}
	clear(l[:])
}

func (*rc2Cipher) BlockSize() int { return BlockSize }

// Encrypt encrypts the first block of src into dst (RFC 2268 §3): five
// mixing rounds, a mashing round, six mixing rounds, a mashing round and
// five mixing rounds. Words are little-endian.
func (c *rc2Cipher) Encrypt(dst, src []byte) {
	blockcheck.Full("rc2", dst, src, BlockSize)
	r0, r1, r2, r3 := load(src)
	k := &c.k

	// Mixing R[i] += K[j] + (R[i-1] & R[i-2]) + (~R[i-1] & R[i-3]) is
	// written with the identity (a & b) + (^a & c) = c ^ (a & (b ^ c)) (the
	// two terms have no common bits), which shortens the dependency chain.
	for i := 0; i < 16; i++ {
		kk := k[4*i : 4*i+4 : 4*i+4]
		r0 = bits.RotateLeft16(r0+kk[0]+(r1^(r3&(r2^r1))), 1)
		r1 = bits.RotateLeft16(r1+kk[1]+(r2^(r0&(r3^r2))), 2)
		r2 = bits.RotateLeft16(r2+kk[2]+(r3^(r1&(r0^r3))), 3)
		r3 = bits.RotateLeft16(r3+kk[3]+(r0^(r2&(r1^r0))), 5)

		if i == 4 || i == 10 {
			r0 += k[r3&63]
			r1 += k[r0&63]
			r2 += k[r1&63]
			r3 += k[r2&63]
		}
	}

	store(dst, r0, r1, r2, r3)
}

// Decrypt decrypts the first block of src into dst (RFC 2268 §4).
func (c *rc2Cipher) Decrypt(dst, src []byte) {
	blockcheck.Full("rc2", dst, src, BlockSize)
	r0, r1, r2, r3 := load(src)
	k := &c.k

	for i := 15; i >= 0; i-- {
		kk := k[4*i : 4*i+4 : 4*i+4]
		r3 = bits.RotateLeft16(r3, -5)
		r3 -= kk[3] + (r2 & r1) + (^r2 & r0)
		r2 = bits.RotateLeft16(r2, -3)
		r2 -= kk[2] + (r1 & r0) + (^r1 & r3)
		r1 = bits.RotateLeft16(r1, -2)
		r1 -= kk[1] + (r0 & r3) + (^r0 & r2)
		r0 = bits.RotateLeft16(r0, -1)
		r0 -= kk[0] + (r3 & r2) + (^r3 & r1)

		if i == 11 || i == 5 {
			r3 -= k[r2&63]
			r2 -= k[r1&63]
			r1 -= k[r0&63]
			r0 -= k[r3&63]
		}
	}

	store(dst, r0, r1, r2, r3)
}

// load reads the block's four little-endian words R[0..3].
func load(src []byte) (r0, r1, r2, r3 uint16) {
	return binary.LittleEndian.Uint16(src[0:]), binary.LittleEndian.Uint16(src[2:]),
		binary.LittleEndian.Uint16(src[4:]), binary.LittleEndian.Uint16(src[6:])
}

// store writes R[0..3] as the block's four little-endian words.
func store(dst []byte, r0, r1, r2, r3 uint16) {
	binary.LittleEndian.PutUint16(dst[0:], r0)
	binary.LittleEndian.PutUint16(dst[2:], r1)
	binary.LittleEndian.PutUint16(dst[4:], r2)
	binary.LittleEndian.PutUint16(dst[6:], r3)
}
