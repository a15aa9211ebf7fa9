package token

import (
	"bytes"
	"crypto/dsa"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"
	"sync"
	"sync/atomic"

	"github.com/tokenssl/tokenssl/kea"
	"github.com/tokenssl/tokenssl/kea/skipjack"
	"github.com/tokenssl/tokenssl/x509legacy"
)

// SoftwareFortezzaCard is a Fortezza card in process memory: the KEA and DSS
// private values, TEKs and MEKs are Go values behind handles. It computes
// exactly what a card computes (kea and kea/skipjack in the card's byte
// convention) and exists for unit tests; it protects nothing.
type SoftwareFortezzaCard struct {
	KEA     *kea.PrivateKey // static KEA pair (x, Y)
	DSS     *dsa.PrivateKey // DSS key in the same domain; may be nil
	KEACert []byte          // DER, optional
	Rand    io.Reader       // nil: crypto/rand
	// EmailMode makes ResponderRandom return the e-mail-mode constant 1
	// (as NSS servers do) instead of a full-mode ephemeral R_s.
	EmailMode bool

	live atomic.Int64 // keys and ephemerals not yet destroyed
}

var _ FortezzaCard = (*SoftwareFortezzaCard)(nil)

func (c *SoftwareFortezzaCard) rand() io.Reader {
	if c.Rand == nil {
		return rand.Reader
	}
	return c.Rand
}

// LiveObjects returns how many keys and ephemeral values are held and not
// yet destroyed (tests check that a handshake leaves none behind).
func (c *SoftwareFortezzaCard) LiveObjects() int64 { return c.live.Load() }

// KEAPublicKey implements FortezzaCard.
func (c *SoftwareFortezzaCard) KEAPublicKey() *kea.PublicKey { return c.KEA.Public() }

// KEACertificate implements FortezzaCard.
func (c *SoftwareFortezzaCard) KEACertificate() []byte { return c.KEACert }

// DSSPublicKey implements FortezzaCard.
func (c *SoftwareFortezzaCard) DSSPublicKey() *dsa.PublicKey {
	if c.DSS == nil {
		return nil
	}
	return &c.DSS.PublicKey
}

// SignDSS implements FortezzaCard.
func (c *SoftwareFortezzaCard) SignDSS(digest []byte) ([]byte, error) {
	if c.DSS == nil {
		return nil, errors.New("token: Fortezza card has no DSS key")
	}
	r, s, err := x509legacy.SignDSA(c.rand(), c.DSS, digest)
	if err != nil {
		return nil, err
	}
	return RawDSASignature(c.DSS.Q, r, s)
}

// RawDSASignature encodes r and s as the fixed-width r‖s of a card, each
// as long as q.
func RawDSASignature(q, r, s *big.Int) ([]byte, error) {
	n := (q.BitLen() + 7) / 8
	if r.Sign() <= 0 || s.Sign() <= 0 || r.BitLen() > 8*n || s.BitLen() > 8*n {
		return nil, errors.New("token: DSA signature out of range")
	}
	out := make([]byte, 2*n)
	r.FillBytes(out[:n])
	s.FillBytes(out[n:])
	return out, nil
}

// softKey is a SKIPJACK key of the software card.
type softKey struct {
	card *SoftwareFortezzaCard
	mu   sync.Mutex
	v    []byte // nil once destroyed
}

func (c *SoftwareFortezzaCard) newKey(v []byte) *softKey {
	c.live.Add(1)
	return &softKey{card: c, v: v}
}

func (k *softKey) Destroy() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.v != nil {
		clear(k.v)
		k.v = nil
		k.card.live.Add(-1)
	}
	return nil
}

// value returns a copy of the key bytes if k is a live key of card c.
func (c *SoftwareFortezzaCard) value(k FortezzaKey) ([]byte, error) {
	sk, ok := k.(*softKey)
	if !ok || sk.card != c {
		return nil, ErrFortezzaHandle
	}
	sk.mu.Lock()
	defer sk.mu.Unlock()
	if sk.v == nil {
		return nil, ErrFortezzaHandle
	}
	return append([]byte(nil), sk.v...), nil
}

// softRandom is r_s of the software card.
type softRandom struct {
	card *SoftwareFortezzaCard
	mu   sync.Mutex
	eph  *kea.PrivateKey // nil in e-mail mode or once destroyed
	r    []byte
}

func (r *softRandom) R() []byte { return append([]byte(nil), r.r...) }

func (r *softRandom) Destroy() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.eph != nil {
		r.eph.X.SetInt64(0)
		r.eph = nil
		r.card.live.Add(-1)
	}
	return nil
}

// ResponderRandom implements FortezzaCard.
func (c *SoftwareFortezzaCard) ResponderRandom() (FortezzaRandom, error) {
	if c.EmailMode {
		return &softRandom{card: c, r: kea.EmailModeR()}, nil
	}
	eph, err := kea.GenerateKey(c.rand(), &c.KEA.Params)
	if err != nil {
		return nil, err
	}
	r, err := kea.EncodeValue(eph.Y)
	if err != nil {
		return nil, err
	}
	c.live.Add(1)
	return &softRandom{card: c, eph: eph, r: r}, nil
}

// DeriveTEKAsSender implements FortezzaCard.
func (c *SoftwareFortezzaCard) DeriveTEKAsSender(peerY *big.Int, rs []byte) (FortezzaKey, []byte, error) {
	rb, err := DecodeKEARandom(rs)
	if err != nil {
		return nil, nil, err
	}
	eph, err := kea.GenerateKey(c.rand(), &c.KEA.Params)
	if err != nil {
		return nil, nil, err
	}
	defer eph.X.SetInt64(0)
	rc, err := kea.EncodeValue(eph.Y)
	if err != nil {
		return nil, nil, err
	}
	w, err := kea.InitiatorSharedValue(c.KEA, eph, peerY, rb)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrFortezzaPeer, err)
	}
	tek, err := kea.DeriveTEK(w)
	clear(w)
	if err != nil {
		return nil, nil, err
	}
	return c.newKey(tek), rc, nil
}

// DeriveTEKAsRecipient implements FortezzaCard.
func (c *SoftwareFortezzaCard) DeriveTEKAsRecipient(rs FortezzaRandom, peerY *big.Int, rc []byte) (FortezzaKey, error) {
	sr, ok := rs.(*softRandom)
	if !ok || sr.card != c {
		return nil, ErrFortezzaHandle
	}
	ra, err := DecodeKEARandom(rc)
	if err != nil {
		return nil, err
	}
	sr.mu.Lock()
	eph := sr.eph
	if eph == nil && !kea.IsEmailMode(new(big.Int).SetBytes(sr.r)) {
		sr.mu.Unlock()
		return nil, ErrFortezzaHandle
	}
	w, err := kea.ResponderSharedValue(c.KEA, eph, peerY, ra)
	sr.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFortezzaPeer, err)
	}
	tek, err := kea.DeriveTEK(w)
	clear(w)
	if err != nil {
		return nil, err
	}
	return c.newKey(tek), nil
}

// DecodeKEARandom parses a 128-byte r_s or r_c.
func DecodeKEARandom(b []byte) (*big.Int, error) {
	if len(b) != kea.ValueSize {
		return nil, fmt.Errorf("%w: random value is %d bytes, want %d", ErrFortezzaPeer, len(b), kea.ValueSize)
	}
	return new(big.Int).SetBytes(b), nil
}

// GenerateMEK implements FortezzaCard.
func (c *SoftwareFortezzaCard) GenerateMEK() (FortezzaKey, error) {
	k := make([]byte, skipjack.KeySize)
	if _, err := io.ReadFull(c.rand(), k); err != nil {
		return nil, err
	}
	return c.newKey(k), nil
}

// skipjackUnit is the card's SKIPJACK half, on its keys' values.
func (c *SoftwareFortezzaCard) skipjackUnit() SoftwareSKIPJACK {
	return NewSoftwareSKIPJACK(c.value, c.store, c.Rand)
}

// store keeps a copy of v as a new key.
func (c *SoftwareFortezzaCard) store(v []byte) (FortezzaKey, error) {
	return c.newKey(bytes.Clone(v)), nil
}

// WrapKey implements FortezzaCard.
func (c *SoftwareFortezzaCard) WrapKey(kek, key FortezzaKey) ([]byte, error) {
	return c.skipjackUnit().WrapKey(kek, key)
}

// UnwrapKey implements FortezzaCard.
func (c *SoftwareFortezzaCard) UnwrapKey(kek FortezzaKey, wrapped []byte) (FortezzaKey, error) {
	return c.skipjackUnit().UnwrapKey(kek, wrapped)
}

// Encrypt implements FortezzaCard.
func (c *SoftwareFortezzaCard) Encrypt(key FortezzaKey, plaintext []byte) ([]byte, []byte, error) {
	return c.skipjackUnit().Encrypt(key, plaintext)
}

// Decrypt implements FortezzaCard.
func (c *SoftwareFortezzaCard) Decrypt(key FortezzaKey, iv, ciphertext []byte) ([]byte, error) {
	return c.skipjackUnit().Decrypt(key, iv, ciphertext)
}

// NewEncrypter implements FortezzaCard.
func (c *SoftwareFortezzaCard) NewEncrypter(key FortezzaKey) (FortezzaCBC, []byte, error) {
	return c.skipjackUnit().NewEncrypter(key)
}

// NewDecrypter implements FortezzaCard.
func (c *SoftwareFortezzaCard) NewDecrypter(key FortezzaKey, iv []byte) (FortezzaCBC, error) {
	return c.skipjackUnit().NewDecrypter(key, iv)
}
