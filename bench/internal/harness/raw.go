package harness

import (
	"crypto"
	"crypto/cipher"
	"crypto/des"
	"crypto/md5"
	"crypto/rand"
	"crypto/rc4"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/subtle"
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"math/big"

	"github.com/tokenssl/tokenssl/internal/ctexp"
	"github.com/tokenssl/tokenssl/ssl"
)

// The raw baselines: the cryptography a server cannot avoid, with no
// protocol around it, run in the server process so that they are measured
// the same way as the server's handshakes and records.

// ssl3MAC is the SSL 3.0 record MAC with the pads' hash states
// precomputed, the same construction and the same cost as
// ssl/internal/ssl3mac (which Go's internal rule keeps out of bench/):
// hash(secret + pad_2 + hash(secret + pad_1 + seq + type + length + data)).
// macTest checks it against the vector ssl3mac is tested with.
type ssl3MAC struct {
	h            stateHash
	inner, outer []byte
	header       [11]byte
	digest       [20]byte
}

type stateHash interface {
	hash.Hash
	encoding.BinaryMarshaler
	encoding.BinaryUnmarshaler
}

func newSSL3MAC(h crypto.Hash, secret []byte) *ssl3MAC {
	var sh stateHash
	padLen := 40
	if h == crypto.MD5 {
		sh, padLen = md5.New().(stateHash), 48
	} else {
		sh = sha1.New().(stateHash)
	}
	state := func(b byte) []byte {
		sh.Reset()
		sh.Write(secret)
		for i := 0; i < padLen; i++ {
			sh.Write([]byte{b})
		}
		s, _ := sh.MarshalBinary()
		return s
	}
	return &ssl3MAC{h: sh, inner: state(0x36), outer: state(0x5c)}
}

func (m *ssl3MAC) sum(dst []byte, seq uint64, typ uint8, content []byte) []byte {
	binary.BigEndian.PutUint64(m.header[0:8], seq)
	m.header[8] = typ
	binary.BigEndian.PutUint16(m.header[9:11], uint16(len(content)))
	m.h.UnmarshalBinary(m.inner)
	m.h.Write(m.header[:])
	m.h.Write(content)
	in := m.h.Sum(m.digest[:0])
	m.h.UnmarshalBinary(m.outer)
	m.h.Write(in)
	return m.h.Sum(dst)
}

// rawBulk runs what a server must do to echo n bytes on suite: each
// 16 KiB record decrypted and its MAC checked, then MACed and encrypted
// (with CBC padding for 3DES) — the cipher and MAC of both directions with
// no framing, buffering or system calls.
func rawBulk(suite uint16, n int) error {
	work, err := bulkWork(suite)
	if err != nil {
		return err
	}
	return work(n)
}

// bulkWork returns rawBulk's work for suite as a function of the byte
// count, with its keys and sequence numbers kept from call to call: what
// the plain-TCP echo with the raw cipher+MAC in its handler runs per read.
func bulkWork(suite uint16) (func(n int) error, error) {
	const rec = 16384
	data := make([]byte, rec)
	buf := make([]byte, 0, rec+64)
	macBuf := make([]byte, 0, 20)
	secret := make([]byte, 20)
	rand.Read(secret)
	rand.Read(data)
	inMAC, outMAC := newSSL3MAC(crypto.SHA1, secret), newSSL3MAC(crypto.SHA1, secret)
	var encrypt, decrypt func(dst, src []byte)
	switch suite {
	case ssl.SSL_RSA_WITH_RC4_128_SHA:
		key := make([]byte, 16)
		rand.Read(key)
		in, _ := rc4.NewCipher(key)
		out, _ := rc4.NewCipher(key)
		encrypt, decrypt = out.XORKeyStream, in.XORKeyStream
	case ssl.SSL_RSA_WITH_3DES_EDE_CBC_SHA:
		key, iv := make([]byte, 24), make([]byte, 8)
		rand.Read(key)
		rand.Read(iv)
		blk, err := des.NewTripleDESCipher(key)
		if err != nil {
			return nil, err
		}
		// Two independent chains, like the two directions of a connection.
		enc := cipher.NewCBCEncrypter(blk, iv)
		dec := cipher.NewCBCDecrypter(blk, iv)
		encrypt, decrypt = enc.CryptBlocks, dec.CryptBlocks
	default:
		return nil, fmt.Errorf("raw bulk: suite %#04x not measured", suite)
	}
	cbc := suite == ssl.SSL_RSA_WITH_3DES_EDE_CBC_SHA
	seal := func(seq uint64, plain []byte) []byte {
		out := outMAC.sum(append(buf[:0], plain...), seq, 23, plain)
		if cbc {
			pad := 8 - len(out)%8
			for i := 0; i < pad; i++ {
				out = append(out, byte(pad-1))
			}
		}
		encrypt(out, out)
		return out
	}
	var seq uint64
	return func(n int) error {
		for ; n > 0; seq++ {
			chunk := data[:min(rec, n)]
			n -= len(chunk)
			// Outbound work (MAC, pad, encrypt), then inbound work on the
			// same bytes (decrypt, check the MAC): each byte once each way.
			ct := seal(seq, chunk)
			decrypt(ct, ct)
			body := len(ct) - 20
			if cbc {
				body = len(ct) - int(ct[len(ct)-1]) - 1 - 20
			}
			if body < 0 || subtle.ConstantTimeCompare(inMAC.sum(macBuf[:0], seq, 23, ct[:body]), ct[body:body+20]) != 1 {
				return errors.New("raw bulk: MAC mismatch (the raw loop is wrong)")
			}
		}
		return nil
	}, nil
}

// rsaDecryptOp returns the RSA operation of an RSA key exchange: one
// PKCS#1 v1.5 decryption of a 48-byte pre-master secret with the server
// key.
func rsaDecryptOp(dec crypto.Decrypter, pub *rsa.PublicKey) (func() error, error) {
	ct, err := rsa.EncryptPKCS1v15(rand.Reader, pub, make([]byte, 48))
	if err != nil {
		return nil, err
	}
	return func() error {
		pms, err := dec.Decrypt(rand.Reader, ct, nil)
		if err != nil {
			return err
		}
		if len(pms) != 48 {
			return errors.New("raw decrypt: wrong length")
		}
		return nil
	}, nil
}

// dheOp returns the public-key work of a DHE_RSA server: one RSA
// signature of an MD5‖SHA-1 digest and two exponentiations in the server's
// group with the exponent length the engine uses there (256 bits for group
// 14, ssl/dh_groups.go dhExponentBits): g^x and Yc^x, by the same
// constant-time exponentiation as the handshake (internal/ctexp).
func dheOp(signer crypto.Signer) (func() error, error) {
	group := ssl.RFC3526Group14()
	digest := make([]byte, 36)
	rand.Read(digest)
	limit := new(big.Int).Lsh(big.NewInt(1), 256)
	peer, err := rand.Int(rand.Reader, limit)
	if err != nil {
		return nil, err
	}
	peerY := new(big.Int).Exp(group.G, peer, group.P)
	return func() error {
		if _, err := signer.Sign(rand.Reader, digest, crypto.MD5SHA1); err != nil {
			return err
		}
		x, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return err
		}
		x.Add(x, big.NewInt(2))
		ctexp.Exp(group.G, x, group.P, 256)
		ctexp.Exp(peerY, x, group.P, 256)
		return nil
	}, nil
}

// repeat runs op n times back to back: the raw loop, every operation
// started on a core that has just done the same.
func repeat(op func() error, n int) error {
	for i := 0; i < n; i++ {
		if err := op(); err != nil {
			return err
		}
	}
	return nil
}
