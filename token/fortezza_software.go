package token

import (
	"crypto/cipher"
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
	r, s, err := dsa.Sign(c.rand(), c.DSS, digest)
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

// WrapKey implements FortezzaCard.
func (c *SoftwareFortezzaCard) WrapKey(kek, key FortezzaKey) ([]byte, error) {
	kv, err := c.value(kek)
	if err != nil {
		return nil, err
	}
	defer clear(kv)
	v, err := c.value(key)
	if err != nil {
		return nil, err
	}
	defer clear(v)
	return skipjack.WrapKey(kv, v)
}

// UnwrapKey implements FortezzaCard.
func (c *SoftwareFortezzaCard) UnwrapKey(kek FortezzaKey, wrapped []byte) (FortezzaKey, error) {
	kv, err := c.value(kek)
	if err != nil {
		return nil, err
	}
	defer clear(kv)
	v, err := UnwrapFortezzaKey(kv, wrapped)
	if err != nil {
		return nil, err
	}
	return c.newKey(v), nil
}

// UnwrapFortezzaKey is skipjack.UnwrapKey with the token's error for a bad
// checksum, for card implementations that unwrap in software.
func UnwrapFortezzaKey(kek, wrapped []byte) ([]byte, error) {
	v, err := skipjack.UnwrapKey(kek, wrapped)
	if errors.Is(err, skipjack.ErrChecksum) {
		return nil, ErrFortezzaChecksum
	}
	return v, err
}

// Encrypt implements FortezzaCard.
func (c *SoftwareFortezzaCard) Encrypt(key FortezzaKey, plaintext []byte) ([]byte, []byte, error) {
	stream, iv, err := c.NewEncrypter(key)
	if err != nil {
		return nil, nil, err
	}
	defer stream.Close()
	ct := make([]byte, len(plaintext))
	if err := stream.CryptBlocks(ct, plaintext); err != nil {
		return nil, nil, err
	}
	return iv, ct, nil
}

// Decrypt implements FortezzaCard.
func (c *SoftwareFortezzaCard) Decrypt(key FortezzaKey, iv, ciphertext []byte) ([]byte, error) {
	stream, err := c.NewDecrypter(key, iv)
	if err != nil {
		return nil, err
	}
	defer stream.Close()
	pt := make([]byte, len(ciphertext))
	if err := stream.CryptBlocks(pt, ciphertext); err != nil {
		return nil, err
	}
	return pt, nil
}

// NewEncrypter implements FortezzaCard.
func (c *SoftwareFortezzaCard) NewEncrypter(key FortezzaKey) (FortezzaCBC, []byte, error) {
	v, err := c.value(key)
	if err != nil {
		return nil, nil, err
	}
	defer clear(v)
	iv, err := skipjack.NewIV(c.rand())
	if err != nil {
		return nil, nil, err
	}
	s, err := NewSoftwareFortezzaCBC(v, iv[:], true)
	if err != nil {
		return nil, nil, err
	}
	return s, iv[:], nil
}

// NewDecrypter implements FortezzaCard.
func (c *SoftwareFortezzaCard) NewDecrypter(key FortezzaKey, iv []byte) (FortezzaCBC, error) {
	v, err := c.value(key)
	if err != nil {
		return nil, err
	}
	defer clear(v)
	return NewSoftwareFortezzaCBC(v, iv, false)
}

// softCBC is SKIPJACK-CBC64 in the card's byte convention, in software.
type softCBC struct {
	mu sync.Mutex
	bm cipher.BlockMode // nil once closed
}

// NewSoftwareFortezzaCBC returns SKIPJACK-CBC64 (card byte convention)
// under the 10-byte key from the CBC IV in iv24[16:24], the way a card
// loads a 24-byte Fortezza IV (the LEAF is not checked). Card
// implementations that compute SKIPJACK in software share it.
func NewSoftwareFortezzaCBC(key, iv24 []byte, encrypt bool) (FortezzaCBC, error) {
	cbcIV, err := skipjack.CBCIV(iv24)
	if err != nil {
		return nil, err
	}
	b, err := skipjack.NewFortezzaCipher(key)
	if err != nil {
		return nil, err
	}
	s := &softCBC{}
	if encrypt {
		s.bm = cipher.NewCBCEncrypter(b, cbcIV)
	} else {
		s.bm = cipher.NewCBCDecrypter(b, cbcIV)
	}
	return s, nil
}

func (s *softCBC) BlockSize() int { return skipjack.BlockSize }

func (s *softCBC) CryptBlocks(dst, src []byte) error {
	if len(src)%skipjack.BlockSize != 0 || len(dst) < len(src) {
		return fmt.Errorf("token: SKIPJACK-CBC64 input of %d bytes is not a whole number of blocks", len(src))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bm == nil {
		return errors.New("token: SKIPJACK-CBC64 operation closed")
	}
	s.bm.CryptBlocks(dst[:len(src)], src)
	return nil
}

func (s *softCBC) Close() error {
	s.mu.Lock()
	s.bm = nil
	s.mu.Unlock()
	return nil
}
