package token

import (
	"crypto/dsa"
	"errors"
	"math/big"

	"github.com/tokenssl/tokenssl/kea"
)

// FortezzaCard is what a Fortezza card does for SSL 3.0's fortezza_kea key
// exchange (docs/fortezza.md §4): every private value, token encryption key (TEK)
// and message encryption key (MEK) stays on the card and is named by a
// handle; the engine only ever sees public values, wrapped keys, IVs and
// ciphertext.
//
// Roles follow KEA: the SSL client is the sender/initiator (it generates
// r_c during the derivation), the SSL server the recipient/responder.
// Every byte convention is the card's (docs/fortezza.md §1.6), so two
// implementations produce the same bytes on the wire.
//
// Implementations: the software card here (SoftwareFortezzaCard, for unit
// tests), the PKCS#11 card in token/pkcs11 (CKM_KEA_KEY_DERIVE,
// CKM_SKIPJACK_*), and the SoftHSM-based emulator in softhsm. The engine
// finds a card in ssl.Certificate.PrivateKey by type assertion.
//
// Handles returned by a card are owned by the caller, who must Destroy
// them (on every path); destroying twice is harmless. Methods are safe for
// concurrent use unless an implementation says otherwise.
type FortezzaCard interface {
	// KEAPublicKey returns the card's static KEA public key Y and its
	// domain parameters.
	KEAPublicKey() *kea.PublicKey
	// KEACertificate returns the DER certificate of the KEA key, if the
	// card holds one.
	KEACertificate() []byte
	// DSSPublicKey returns the card's DSS (DSA) public key, in the same
	// domain as the KEA key, or nil if the card has none.
	DSSPublicKey() *dsa.PublicKey
	// SignDSS signs a 20-byte SHA-1 digest with the card's DSS key and
	// returns the raw r‖s form a card produces (2 × 20 bytes), the
	// encoding of SSL 3.0's y_signature and CertificateVerify for
	// Fortezza.
	SignDSS(digest []byte) ([]byte, error)

	// ResponderRandom returns the server's r_s for ServerKeyExchange. In
	// full KEA mode it generates an ephemeral pair on the card (R_s =
	// g^r_s, 128 bytes); in e-mail mode it returns the constant 00…01
	// and no ephemeral exists (Random.R reports which). Which mode a card
	// uses is part of its configuration.
	ResponderRandom() (FortezzaRandom, error)
	// DeriveTEKAsSender is the client's KEA derivation (isSender=TRUE):
	// it generates a fresh ephemeral pair r_c on the card, combines it
	// with the card's static key, the server's static Y_s and its r_s
	// (e-mail mode if r_s is 1) and returns the TEK and R_c (128 bytes).
	DeriveTEKAsSender(peerY *big.Int, rs []byte) (tek FortezzaKey, rc []byte, err error)
	// DeriveTEKAsRecipient is the server's derivation (isSender=FALSE)
	// from its own random (from ResponderRandom), the client's static Y_c
	// and the client's R_c.
	DeriveTEKAsRecipient(rs FortezzaRandom, peerY *big.Int, rc []byte) (tek FortezzaKey, err error)

	// GenerateMEK generates a random SKIPJACK message encryption key.
	GenerateMEK() (FortezzaKey, error)
	// WrapKey wraps key under kek (CKM_SKIPJACK_WRAP): 12 bytes, the last
	// two a checksum.
	WrapKey(kek, key FortezzaKey) ([]byte, error)
	// UnwrapKey unwraps a 12-byte wrapped key under kek; a bad checksum
	// is ErrFortezzaChecksum.
	UnwrapKey(kek FortezzaKey, wrapped []byte) (FortezzaKey, error)

	// Encrypt encrypts plaintext (a multiple of 8 bytes) with SKIPJACK-
	// CBC64 under key from an IV the card generates, and returns the
	// 24-byte IV (LEAF ‖ CBC IV) and the ciphertext: the pre-master
	// secret under the TEK.
	Encrypt(key FortezzaKey, plaintext []byte) (iv, ciphertext []byte, err error)
	// Decrypt reverses Encrypt with the given 24-byte IV.
	Decrypt(key FortezzaKey, iv, ciphertext []byte) ([]byte, error)

	// NewEncrypter starts a SKIPJACK-CBC64 record encryption under key
	// from a card-generated IV, returned with it. The key stays on the
	// card; the stream keeps its own reference, so the caller may
	// destroy key afterwards.
	NewEncrypter(key FortezzaKey) (stream FortezzaCBC, iv []byte, err error)
	// NewDecrypter starts a SKIPJACK-CBC64 record decryption under key
	// from the given 24-byte IV.
	NewDecrypter(key FortezzaKey, iv []byte) (FortezzaCBC, error)
}

// FortezzaKey is a SKIPJACK key (a TEK or an MEK) held on a card.
type FortezzaKey interface {
	// Destroy removes the key from the card. It is idempotent.
	Destroy() error
}

// FortezzaRandom is the responder's r_s: an ephemeral pair on the card
// (full mode) or the e-mail-mode constant.
type FortezzaRandom interface {
	// R returns the 128-byte public value sent as r_s.
	R() []byte
	// Destroy removes the ephemeral private value from the card. It is
	// idempotent (and a no-op in e-mail mode).
	Destroy() error
}

// FortezzaCBC is a running SKIPJACK-CBC64 operation on a card whose
// chaining state persists across calls (SSL records). It satisfies the
// engine's ssl.FallibleBlockMode.
type FortezzaCBC interface {
	BlockSize() int
	// CryptBlocks encrypts or decrypts src (a multiple of 8 bytes) into
	// dst, which may overlap src exactly.
	CryptBlocks(dst, src []byte) error
	// Close ends the operation and releases what the card holds for it.
	// It is idempotent.
	Close() error
}

// Errors of Fortezza cards.
var (
	// ErrFortezzaChecksum: an unwrapped key's checksum did not match.
	ErrFortezzaChecksum = errors.New("token: Fortezza wrapped key checksum mismatch")
	// ErrFortezzaHandle: a key handle from another card, or destroyed.
	ErrFortezzaHandle = errors.New("token: invalid or destroyed Fortezza key handle")
	// ErrFortezzaPeer: a peer KEA value failed the checks of docs/fortezza.md
	// §2.2 (range, subgroup) or gave w = 0.
	ErrFortezzaPeer = errors.New("token: invalid peer KEA value")
)

// AsFortezzaCard returns k as a FortezzaCard, or nil.
func AsFortezzaCard(k Key) FortezzaCard {
	c, _ := k.(FortezzaCard)
	return c
}
