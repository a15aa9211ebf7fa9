// Package ssl3mac implements the SSL 3.0 record MAC.
//
// The construction (SSL 3.0 draft of March 1996, §7.2.3.1, with the record
// type added as in the November 1996 text / RFC 6101 §5.2.3.1) is
//
//	hash(MAC_write_secret + pad_2 +
//	     hash(MAC_write_secret + pad_1 + seq_num + type + length + content))
//
// where pad_1 is 0x36 and pad_2 is 0x5c, repeated 48 times for MD5 and 40
// times for SHA-1, seq_num is a big-endian uint64, type a uint8 and length
// a big-endian uint16. It resembles HMAC but is not HMAC: the secret is not
// XORed into the pads but concatenated with them.
package ssl3mac

import (
	"crypto"
	_ "crypto/md5"  // registers crypto.MD5
	_ "crypto/sha1" // registers crypto.SHA1
	"encoding"
	"encoding/binary"
	"errors"
	"hash"
)

const (
	pad1Byte = 0x36
	pad2Byte = 0x5c

	md5PadLen  = 48
	sha1PadLen = 40

	// headerLen is seq_num (8) + type (1) + length (2).
	headerLen = 11
	// maxSize is the largest digest size supported (SHA-1).
	maxSize = 20
)

// stateHash is what the precomputation needs from the hash: crypto/md5 and
// crypto/sha1 digests implement both interfaces.
type stateHash interface {
	hash.Hash
	encoding.BinaryMarshaler
	encoding.BinaryUnmarshaler
}

// MAC computes SSL 3.0 record MACs under one MAC_write_secret.
//
// A MAC is not safe for concurrent use: Sum reuses internal buffers so that
// it does not allocate.
type MAC struct {
	h stateHash
	// inner and outer are the marshaled hash states after absorbing
	// secret+pad_1 and secret+pad_2, so that each record restores them
	// instead of rehashing the 48- or 40-byte pad and the secret.
	inner, outer []byte
	size         int

	header [headerLen]byte
	digest [maxSize]byte
}

// New returns a MAC for the given hash, which must be crypto.MD5 or
// crypto.SHA1, keyed with secret. The secret is copied into the
// precomputed hash states and not retained otherwise.
func New(h crypto.Hash, secret []byte) (*MAC, error) {
	var padLen int
	switch h {
	case crypto.MD5:
		padLen = md5PadLen
	case crypto.SHA1:
		padLen = sha1PadLen
	default:
		return nil, errors.New("ssl3mac: hash must be MD5 or SHA-1")
	}
	if !h.Available() {
		return nil, errors.New("ssl3mac: hash function not available")
	}
	sh, ok := h.New().(stateHash)
	if !ok {
		return nil, errors.New("ssl3mac: hash state cannot be marshaled")
	}
	var pad [md5PadLen]byte

	state := func(b byte) ([]byte, error) {
		sh.Reset()
		sh.Write(secret)
		for i := range pad[:padLen] {
			pad[i] = b
		}
		sh.Write(pad[:padLen])
		return sh.MarshalBinary()
	}
	inner, err := state(pad1Byte)
	if err != nil {
		return nil, err
	}
	outer, err := state(pad2Byte)
	if err != nil {
		return nil, err
	}
	return &MAC{h: sh, inner: inner, outer: outer, size: sh.Size()}, nil
}

// Size returns the length of the MAC in bytes: 16 for MD5, 20 for SHA-1.
func (m *MAC) Size() int { return m.size }

// Sum appends to dst the MAC of a record with sequence number seq, content
// type typ and the given content (SSLCompressed.fragment), and returns the
// resulting slice. The length field is len(content), which must fit a
// uint16; Sum panics otherwise, since no SSL record can be that long.
//
// Sum does not allocate when dst has room for Size more bytes.
func (m *MAC) Sum(dst []byte, seq uint64, typ uint8, content []byte) []byte {
	if len(content) > 0xffff {
		panic("ssl3mac: content longer than 65535 bytes")
	}
	binary.BigEndian.PutUint64(m.header[0:8], seq)
	m.header[8] = typ
	binary.BigEndian.PutUint16(m.header[9:11], uint16(len(content)))

	// The states were produced by the same hash implementation, so
	// UnmarshalBinary cannot fail; a failure would be a bug worth a panic
	// rather than a silently wrong MAC.
	if err := m.h.UnmarshalBinary(m.inner); err != nil {
		panic("ssl3mac: restoring inner state: " + err.Error())
	}
	m.h.Write(m.header[:])
	m.h.Write(content)
	innerSum := m.h.Sum(m.digest[:0])

	if err := m.h.UnmarshalBinary(m.outer); err != nil {
		panic("ssl3mac: restoring outer state: " + err.Error())
	}
	m.h.Write(innerSum)
	return m.h.Sum(dst)
}
