package ssl

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"encoding"
	"hash"
)

// SSL 3.0 key derivation and handshake hashes. Section numbers refer to the
// SSL 3.0 draft of March 1996 (docs/ssl3.md); the formulas are
// unchanged in the November 1996 text (RFC 6101 §6.1, §6.2.2, §5.6.8,
// §5.6.9).

// senderClient and senderServer are the Sender values of §7.6.9 ("CLNT" and
// "SRVR").
var (
	senderClient = [4]byte{0x43, 0x4C, 0x4E, 0x54}
	senderServer = [4]byte{0x53, 0x52, 0x56, 0x52}
)

const (
	// ssl3MasterLen is the length of the master secret (§8.1).
	ssl3MasterLen = 48
	// ssl3MaxKeyBlock is the most key_block the 'A'..'ZZ…Z' labels can
	// produce: 26 rounds of one MD5 output each. The largest SSL 3.0 cipher
	// spec needs 2*20 + 2*24 + 2*8 = 104 bytes.
	ssl3MaxKeyBlock = 26 * md5.Size
	// ssl3MD5PadLen and ssl3SHAPadLen are the pad lengths of the MAC and
	// the handshake hashes: 48 bytes for MD5, 40 for SHA (Appendix C).
	ssl3MD5PadLen = 48
	ssl3SHAPadLen = 40
)

// masterFromPreMaster derives the 48-byte master secret (§8.1):
//
//	MD5(pre_master_secret + SHA('A' + pre_master_secret +
//	    ClientHello.random + ServerHello.random)) +
//	MD5(pre_master_secret + SHA('BB' + ...)) +
//	MD5(pre_master_secret + SHA('CCC' + ...))
func masterFromPreMaster(preMaster, clientRandom, serverRandom []byte) []byte {
	return ssl3Expand(preMaster, clientRandom, serverRandom, ssl3MasterLen)
}

// keyBlock returns the first n bytes of the key_block (§8.2.2):
//
//	MD5(master_secret + SHA('A' + master_secret +
//	    ServerHello.random + ClientHello.random)) +
//	MD5(master_secret + SHA('BB' + ...)) + ...
//
// Note the order of the randoms: server first, the reverse of §8.1. n may be
// at most 416 (26 labels of 16 bytes); keyBlock panics beyond that.
func keyBlock(master, clientRandom, serverRandom []byte, n int) []byte {
	return ssl3Expand(master, serverRandom, clientRandom, n)
}

// ssl3Expand computes MD5(secret + SHA(label_i + secret + r1 + r2)) for
// labels 'A', 'BB', 'CCC', ... and returns the first n bytes of the
// concatenation.
func ssl3Expand(secret, r1, r2 []byte, n int) []byte {
	if n < 0 || n > ssl3MaxKeyBlock {
		panic("ssl: key derivation length out of range")
	}
	rounds := (n + md5.Size - 1) / md5.Size
	out := make([]byte, 0, rounds*md5.Size)
	var label [26]byte
	var shaSum [sha1.Size]byte
	md, sh := md5.New(), sha1.New()
	for i := 0; i < rounds; i++ {
		for j := 0; j <= i; j++ {
			label[j] = 'A' + byte(i)
		}
		sh.Reset()
		sh.Write(label[:i+1])
		sh.Write(secret)
		sh.Write(r1)
		sh.Write(r2)
		md.Reset()
		md.Write(secret)
		md.Write(sh.Sum(shaSum[:0]))
		out = md.Sum(out)
	}
	return out[:n:n]
}

// exportKey applies the export rule of §8.2.2 to a write key taken from the
// key_block:
//
//	final_client_write_key = MD5(client_write_key +
//	    ClientHello.random + ServerHello.random)
//	final_server_write_key = MD5(server_write_key +
//	    ServerHello.random + ClientHello.random)
//
// so callers pass (clientRandom, serverRandom) for the client key and
// (serverRandom, clientRandom) for the server key. The result is truncated
// to n bytes ("discarding the least-significant bytes", i.e. keeping the
// first n); n must be at most 16.
func exportKey(secret, firstRandom, secondRandom []byte, n int) []byte {
	if n < 0 || n > md5.Size {
		panic("ssl: export key length out of range")
	}
	h := md5.New()
	h.Write(secret)
	h.Write(firstRandom)
	h.Write(secondRandom)
	return h.Sum(nil)[:n:n]
}

// exportIV derives an export cipher's IV from the randoms alone (§8.2.2):
//
//	client_write_IV = MD5(ClientHello.random + ServerHello.random)
//	server_write_IV = MD5(ServerHello.random + ClientHello.random)
//
// truncated to n bytes (at most 16).
func exportIV(firstRandom, secondRandom []byte, n int) []byte {
	return exportKey(nil, firstRandom, secondRandom, n)
}

// finishedHash keeps the running MD5 and SHA-1 hashes of all handshake
// messages (header included) from ClientHello on, for Finished (§7.6.9)
// and CertificateVerify (§7.6.8).
type finishedHash struct {
	md5, sha1 hash.Hash
}

func newFinishedHash() finishedHash {
	return finishedHash{md5: md5.New(), sha1: sha1.New()}
}

// Write adds a handshake message to the transcript. It never fails.
func (h *finishedHash) Write(msg []byte) (int, error) {
	h.md5.Write(msg)
	h.sha1.Write(msg)
	return len(msg), nil
}

// clone returns an independent copy of the running hashes.
func (h finishedHash) clone() finishedHash {
	return finishedHash{md5: cloneHashState(h.md5, md5.New), sha1: cloneHashState(h.sha1, sha1.New)}
}

// cloneHashState copies h's state into a fresh hash: through hash.Cloner
// (one allocation, no encoding) where the hash has it, else through
// encoding.BinaryMarshaler; crypto/md5 and crypto/sha1 always support that.
func cloneHashState(h hash.Hash, newHash func() hash.Hash) hash.Hash {
	if cl, ok := h.(hash.Cloner); ok {
		if c, err := cl.Clone(); err == nil {
			return c
		}
	}
	m, ok := h.(encoding.BinaryMarshaler)
	if !ok {
		panic("ssl: hash state cannot be marshaled")
	}
	state, err := m.MarshalBinary()
	if err != nil {
		panic("ssl: marshaling hash state: " + err.Error())
	}
	c := newHash()
	u, ok := c.(encoding.BinaryUnmarshaler)
	if !ok {
		panic("ssl: hash state cannot be unmarshaled")
	}
	if err := u.UnmarshalBinary(state); err != nil {
		panic("ssl: unmarshaling hash state: " + err.Error())
	}
	return c
}

// finishedSum returns the 36-byte Finished body (§7.6.9):
//
//	md5_hash: MD5(master_secret + pad2 +
//	              MD5(handshake_messages + Sender + master_secret + pad1))
//	sha_hash: SHA(master_secret + pad2 +
//	              SHA(handshake_messages + Sender + master_secret + pad1))
//
// with 48-byte pads for MD5 and 40-byte pads for SHA. The running hashes
// are not disturbed.
func (h finishedHash) finishedSum(master []byte, sender [4]byte) []byte {
	return h.ssl3HandshakeSum(master, sender[:])
}

// certificateVerifySum returns the 36-byte value signed in CertificateVerify
// (§7.6.8): the construction of finishedSum without Sender. An RSA signature
// covers all 36 bytes; a DSA signature only the SHA part, [16:]. The running
// hashes are not disturbed.
func (h finishedHash) certificateVerifySum(master []byte) []byte {
	return h.ssl3HandshakeSum(master, nil)
}

func (h finishedHash) ssl3HandshakeSum(master, sender []byte) []byte {
	out := make([]byte, 0, md5.Size+sha1.Size)
	out = ssl3PaddedHash(out, cloneHashState(h.md5, md5.New), master, sender, ssl3MD5PadLen)
	out = ssl3PaddedHash(out, cloneHashState(h.sha1, sha1.New), master, sender, ssl3SHAPadLen)
	return out
}

// ssl3PaddedHash appends H(master + pad2 + H(... + sender + master +
// pad1)) to dst, where h already holds handshake_messages; h is reset for
// the outer hash (one hash object per half, not two). The inner digest is
// computed into dst's tail, which the outer digest then overwrites, so
// that nothing but the hashes is allocated.
func ssl3PaddedHash(dst []byte, h hash.Hash, master, sender []byte, padLen int) []byte {
	h.Write(sender)
	h.Write(master)
	h.Write(handshakePad1[:padLen])
	n := len(dst)
	withInner := h.Sum(dst)
	h.Reset()
	h.Write(master)
	h.Write(handshakePad2[:padLen])
	h.Write(withInner[n:])
	return h.Sum(withInner[:n])
}

// The pads of the handshake hashes, read-only: 48 bytes serve MD5 and
// their first 40 SHA.
var (
	handshakePad1 = bytes.Repeat([]byte{0x36}, ssl3MD5PadLen)
	handshakePad2 = bytes.Repeat([]byte{0x5c}, ssl3MD5PadLen)
)

// keyMaterial is the partition of the key_block for one cipher spec
// (§8.2.2), after export expansion.
type keyMaterial struct {
	clientMAC, serverMAC []byte
	clientKey, serverKey []byte
	clientIV, serverIV   []byte
}

// deriveKeys partitions the key_block and applies the export rules.
func deriveKeys(s *cipherSuite, master, clientRandom, serverRandom []byte) keyMaterial {
	macLen := s.macSize()
	keyLen := s.cipher.keyMaterial
	ivLen := s.cipher.ivSize
	n := 2*macLen + 2*keyLen + 2*ivLen
	kb := keyBlock(master, clientRandom, serverRandom, n)
	var km keyMaterial
	km.clientMAC, kb = kb[:macLen], kb[macLen:]
	km.serverMAC, kb = kb[:macLen], kb[macLen:]
	km.clientKey, kb = kb[:keyLen], kb[keyLen:]
	km.serverKey, kb = kb[:keyLen], kb[keyLen:]
	km.clientIV, kb = kb[:ivLen], kb[ivLen:]
	km.serverIV = kb[:ivLen]
	if s.exportCipher() {
		exp := s.cipher.expandedKey
		km.clientKey = exportKey(km.clientKey, clientRandom, serverRandom, exp)
		km.serverKey = exportKey(km.serverKey, serverRandom, clientRandom, exp)
		if ivLen > 0 {
			km.clientIV = exportIV(clientRandom, serverRandom, ivLen)
			km.serverIV = exportIV(serverRandom, clientRandom, ivLen)
		}
	}
	return km
}
