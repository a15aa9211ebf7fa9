package pkcs11

import (
	"context"
	"crypto/dsa"
	"errors"
	"fmt"
	"math/big"
	"runtime"
	"sync"
	"sync/atomic"

	p11 "github.com/miekg/pkcs11"

	"github.com/tokenssl/tokenssl/kea"
	"github.com/tokenssl/tokenssl/kea/skipjack"
	"github.com/tokenssl/tokenssl/token"
	"github.com/tokenssl/tokenssl/token/pkcs11/internal/p11fortezza"
	"github.com/tokenssl/tokenssl/x509legacy"
)

// The Fortezza card on a PKCS#11 token that has the Fortezza mechanisms
// (docs/fortezza.md §3): CKM_KEA_KEY_DERIVE with CK_KEA_DERIVE_PARAMS,
// CKM_SKIPJACK_KEY_GEN, CKM_SKIPJACK_WRAP and CKM_SKIPJACK_CBC64 with the
// token-generated IV read back from the mechanism parameter. The parameter
// passing miekg/pkcs11 lacks is done by internal/p11fortezza.
//
// The card module built from internal/fortezzacard (bin/libfortezzacard.so)
// is such a token; integration/fortezza_module_test.go runs the handshakes
// through this code on it.
//
// How a card keeps r_s for full mode (PKCS#11 v2.20 Table 69): the server
// calls C_DeriveKey with isSender=FALSE and Rb = 0; the card generates the
// ephemeral pair, writes R_s into pRandomB, keeps r_s in a register and
// creates no key. The later derive with isSender=FALSE and that R_s as Rb
// finds r_s there and uses it once. r_s never leaves the card; a register
// the client never answers is reused by the card (the module keeps a
// bounded number), so FortezzaRandom.Destroy has nothing to do. E-mail mode
// (r_s = 1, NSS's choice) is the default for compatibility with tokens
// that only implement the sender side; FortezzaCardSpec.FullMode or
// SetEmailMode(false) selects full mode.

// FortezzaMechanisms are the mechanisms a token must list to be used as a
// Fortezza card by this backend.
var FortezzaMechanisms = []uint{
	p11.CKM_KEA_KEY_DERIVE, p11.CKM_SKIPJACK_KEY_GEN, p11.CKM_SKIPJACK_WRAP, p11.CKM_SKIPJACK_CBC64,
}

// HasFortezzaMechanisms reports whether b's token lists every mechanism of
// FortezzaMechanisms.
func HasFortezzaMechanisms(b *Backend) (bool, error) {
	have := map[uint]bool{}
	err := b.WithSession(context.Background(), func(c *p11.Ctx, _ p11.SessionHandle) error {
		b.mu.Lock()
		slot := b.slot
		b.mu.Unlock()
		list, err := c.GetMechanismList(slot)
		for _, m := range list {
			have[m.Mechanism] = true
		}
		return err
	})
	if err != nil {
		return false, err
	}
	for _, m := range FortezzaMechanisms {
		if !have[m] {
			return false, nil
		}
	}
	return true, nil
}

// FortezzaCardSpec says where a card's keys are.
type FortezzaCardSpec struct {
	// KEA selects the KEA private key (CKK_KEA); its certificate, if any,
	// is found beside it.
	KEA KeySpec
	// DSS selects the DSS private key (optional).
	DSS KeySpec
	// Params is the KEA domain; nil: read CKA_PRIME/SUBPRIME/BASE of the
	// KEA key.
	Params *kea.Params
	// PublicKey is the KEA public value Y; nil: from the certificate or
	// the public key object beside the private key.
	PublicKey *big.Int
	// FullMode makes ResponderRandom generate r_s on the card (KEA full
	// mode) instead of answering with the e-mail-mode constant 1.
	FullMode bool
	// SkipMechanismCheck opens the card even if the token does not list
	// the Fortezza mechanisms (tests: every operation then fails with the
	// module's CKR_MECHANISM_INVALID).
	SkipMechanismCheck bool
}

// FortezzaCard is a token.FortezzaCard on a PKCS#11 Fortezza token.
// Operations are serialised: a card has one crypto unit.
type FortezzaCard struct {
	b     *Backend
	fn    *p11fortezza.Module
	kea   *Object
	mu    sync.Mutex
	email atomic.Bool

	fortezzaKeys // KEAPublicKey, KEACertificate, DSSPublicKey, SignDSS
}

// fortezzaKeys names the embedded FortezzaKeys so that the field stays
// unexported.
type fortezzaKeys = FortezzaKeys

// FortezzaKeys are a Fortezza card's static keys on a token: the KEA
// public key and its certificate, and the DSS key if there is one. A card
// embeds them for the token.FortezzaCard methods that only read them; the
// card here and the softhsm emulator share them.
type FortezzaKeys struct {
	pub     *kea.PublicKey
	keaCert []byte
	dss     *DSAKey
	label   string // the token's, for errors
}

// NewFortezzaKeys returns the keys of a card on b: the KEA public key pub
// and its DER certificate keaCert (nil: none), and dss (nil: none).
func NewFortezzaKeys(b *Backend, pub *kea.PublicKey, keaCert []byte, dss *DSAKey) FortezzaKeys {
	return FortezzaKeys{pub: pub, keaCert: keaCert, dss: dss, label: b.label}
}

// KEAPublicKey implements token.FortezzaCard.
func (k *FortezzaKeys) KEAPublicKey() *kea.PublicKey { return k.pub }

// KEACertificate implements token.FortezzaCard.
func (k *FortezzaKeys) KEACertificate() []byte { return k.keaCert }

// DSSPublicKey implements token.FortezzaCard.
func (k *FortezzaKeys) DSSPublicKey() *dsa.PublicKey {
	if k.dss == nil {
		return nil
	}
	return k.dss.pub
}

// SignDSS implements token.FortezzaCard: CKM_DSA on the token, returned as
// the card's raw r‖s.
func (k *FortezzaKeys) SignDSS(digest []byte) ([]byte, error) {
	if k.dss == nil {
		return nil, &Error{Op: "DSS sign", Token: k.label, Kind: ErrUnsupported, Detail: "the Fortezza card has no DSS key"}
	}
	return k.dss.SignRaw(digest)
}

var _ token.FortezzaCard = (*FortezzaCard)(nil)

// OpenFortezzaCard opens the card on b. Without SkipMechanismCheck a token
// lacking the mechanisms is ErrUnsupported.
func OpenFortezzaCard(b *Backend, spec FortezzaCardSpec) (*FortezzaCard, error) {
	if !spec.SkipMechanismCheck {
		ok, err := HasFortezzaMechanisms(b)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, &Error{Op: "open Fortezza card", Token: b.label, Kind: ErrUnsupported,
				Detail: "the token lacks CKM_KEA_KEY_DERIVE or CKM_SKIPJACK_* (use the softhsm emulator)"}
		}
	}
	fn, err := p11fortezza.Load(b.m.Path())
	if err != nil {
		return nil, err
	}
	o, err := b.FindObject(spec.KEA, p11.CKO_PRIVATE_KEY)
	if err != nil {
		return nil, err
	}
	params := spec.Params
	y := spec.PublicKey
	var keaCert []byte
	if der, err := o.Certificate(); err == nil {
		keaCert = der
		if kc, err := x509legacy.ParseKEACertificate(der); err == nil {
			if params == nil && kc.Params != nil {
				params = &kea.Params{P: kc.Params.P, Q: kc.Params.Q, G: kc.Params.G}
			}
			if y == nil {
				y = kc.Y
			}
		}
	}
	err = b.run("read KEA key", func(cx *p11.Ctx, sh p11.SessionHandle) error {
		if params == nil {
			v, err := readBig(cx, sh, o.handle(), p11.CKA_PRIME, p11.CKA_SUBPRIME, p11.CKA_BASE)
			if err != nil {
				return &Error{Op: "read KEA parameters", Token: b.label, Code: rv(err)}
			}
			params = &kea.Params{P: v[0], Q: v[1], G: v[2]}
		}
		if y == nil {
			v, err := publicPartner(cx, sh, o, p11.CKA_VALUE)
			if err != nil {
				return &Error{Op: "read KEA public key", Token: b.label, Detail: err.Error()}
			}
			y = v[0]
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var dss *DSAKey
	if spec.DSS.Label != "" || len(spec.DSS.ID) > 0 {
		k, err := b.FindKey(spec.DSS)
		if err != nil {
			return nil, err
		}
		dk, ok := k.(*DSAKey)
		if !ok {
			return nil, &Error{Op: "open Fortezza card", Token: b.label, Kind: ErrUnsupported, Detail: "the DSS key is not a DSA key"}
		}
		dss = dk
	}
	c := &FortezzaCard{b: b, fn: fn, kea: o, fortezzaKeys: NewFortezzaKeys(b, &kea.PublicKey{Params: *params, Y: y}, keaCert, dss)}
	c.email.Store(!spec.FullMode)
	return c, nil
}

// p11Key is a SKIPJACK session key object (TEK or MEK).
type p11Key struct {
	card *FortezzaCard
	mu   sync.Mutex
	h    p11.ObjectHandle
}

func (k *p11Key) Destroy() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.h == 0 {
		return nil
	}
	h := k.h
	k.h = 0
	return k.card.session("destroy key", func(cx *p11.Ctx, sh p11.SessionHandle) error { return cx.DestroyObject(sh, h) })
}

func (c *FortezzaCard) handle(k token.FortezzaKey) (p11.ObjectHandle, error) {
	pk, ok := k.(*p11Key)
	if !ok || pk.card != c {
		return 0, token.ErrFortezzaHandle
	}
	pk.mu.Lock()
	defer pk.mu.Unlock()
	if pk.h == 0 {
		return 0, token.ErrFortezzaHandle
	}
	return pk.h, nil
}

func (c *FortezzaCard) session(op string, fn func(cx *p11.Ctx, sh p11.SessionHandle) error) error {
	return wrapOp(c.b.run(op, fn), op, c.b.label)
}

// skipjackTemplate is a session SKIPJACK key usable for wrapping and
// record encryption.
func skipjackTemplate() []*p11.Attribute {
	return []*p11.Attribute{
		p11.NewAttribute(p11.CKA_CLASS, p11.CKO_SECRET_KEY),
		p11.NewAttribute(p11.CKA_KEY_TYPE, p11.CKK_SKIPJACK),
		p11.NewAttribute(p11.CKA_TOKEN, false),
		p11.NewAttribute(p11.CKA_SENSITIVE, true),
		p11.NewAttribute(p11.CKA_WRAP, true), p11.NewAttribute(p11.CKA_UNWRAP, true),
		p11.NewAttribute(p11.CKA_ENCRYPT, true), p11.NewAttribute(p11.CKA_DECRYPT, true),
	}
}

// fortezzaRandom is r_s: the e-mail-mode constant, or R_s whose private
// value the card keeps (see above).
type fortezzaRandom struct{ r []byte }

func (r fortezzaRandom) R() []byte      { return append([]byte(nil), r.r...) }
func (r fortezzaRandom) Destroy() error { return nil }

// SetEmailMode selects e-mail KEA mode (r_s = 1) or full mode for
// ResponderRandom.
func (c *FortezzaCard) SetEmailMode(on bool) { c.email.Store(on) }

// ResponderRandom implements token.FortezzaCard. In full mode it is
// C_DeriveKey(isSender=FALSE, Rb=0): the card generates r_s, keeps it and
// returns R_s in pRandomB.
func (c *FortezzaCard) ResponderRandom() (token.FortezzaRandom, error) {
	if c.email.Load() {
		return fortezzaRandom{kea.EmailModeR()}, nil
	}
	p := &p11fortezza.KEADeriveParams{RandomA: make([]byte, kea.ValueSize), RandomB: make([]byte, kea.ValueSize)}
	h, err := c.keaDerive("KEA generate r_s", p)
	if err != nil {
		return nil, wrapOp(err, "KEA generate r_s", c.b.label)
	}
	if h != 0 {
		// A token that made a key here does not keep r_s the PKCS#11 way.
		_ = c.session("destroy key", func(cx *p11.Ctx, sh p11.SessionHandle) error { return cx.DestroyObject(sh, h) })
		return nil, &Error{Op: "KEA generate r_s", Token: c.b.label, Kind: ErrUnsupported, Detail: "the token derived a key for Rb = 0 instead of generating R_s"}
	}
	if v := new(big.Int).SetBytes(p.RandomB); v.Cmp(big.NewInt(1)) <= 0 {
		return nil, &Error{Op: "KEA generate r_s", Token: c.b.label, Kind: ErrUnsupported, Detail: "the token returned no R_s"}
	}
	return fortezzaRandom{p.RandomB}, nil
}

// keaDerive is one C_DeriveKey(CKM_KEA_KEY_DERIVE) with the card's KEA
// key, under the card's lock (one crypto unit, one r_s register). h is the
// key the token made, if any.
func (c *FortezzaCard) keaDerive(op string, p *p11fortezza.KEADeriveParams) (h p11.ObjectHandle, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	err = c.kea.b.do(context.Background(), op, probeGeneral, func(cx *p11.Ctx, sh p11.SessionHandle) error {
		var err error
		h, err = c.fn.DeriveKEA(sh, p11.CKM_KEA_KEY_DERIVE, c.kea.handle(), p, skipjackTemplate())
		return err
	})
	return h, err
}

func (c *FortezzaCard) deriveKEA(p *p11fortezza.KEADeriveParams) (token.FortezzaKey, error) {
	h, err := c.keaDerive("KEA derive", p)
	if err != nil {
		if rv(err) == p11.CKR_MECHANISM_PARAM_INVALID {
			// The card's checks on the peer's values (docs/fortezza.md §2.2)
			// failed, or r_s is not (or no longer) in its register.
			return nil, fmt.Errorf("%w: %w", token.ErrFortezzaPeer, wrapOp(err, "KEA derive", c.b.label))
		}
		return nil, wrapOp(err, "KEA derive", c.b.label)
	}
	if h == 0 {
		return nil, &Error{Op: "KEA derive", Token: c.b.label, Detail: "the token created no TEK"}
	}
	return &p11Key{card: c, h: h}, nil
}

// DeriveTEKAsSender implements token.FortezzaCard: isSender=TRUE, the token
// writes r_c into pRandomA.
func (c *FortezzaCard) DeriveTEKAsSender(peerY *big.Int, rs []byte) (token.FortezzaKey, []byte, error) {
	if _, err := token.DecodeKEARandom(rs); err != nil {
		return nil, nil, err
	}
	y, err := kea.EncodeValue(peerY)
	if err != nil {
		return nil, nil, err
	}
	p := &p11fortezza.KEADeriveParams{IsSender: true, RandomA: make([]byte, kea.ValueSize), RandomB: rs, PublicData: y}
	k, err := c.deriveKEA(p)
	if err != nil {
		return nil, nil, err
	}
	return k, p.RandomA, nil
}

// DeriveTEKAsRecipient implements token.FortezzaCard: isSender=FALSE.
func (c *FortezzaCard) DeriveTEKAsRecipient(rs token.FortezzaRandom, peerY *big.Int, rc []byte) (token.FortezzaKey, error) {
	if _, err := token.DecodeKEARandom(rc); err != nil {
		return nil, err
	}
	y, err := kea.EncodeValue(peerY)
	if err != nil {
		return nil, err
	}
	return c.deriveKEA(&p11fortezza.KEADeriveParams{RandomA: rc, RandomB: rs.R(), PublicData: y})
}

// GenerateMEK implements token.FortezzaCard (CKM_SKIPJACK_KEY_GEN).
func (c *FortezzaCard) GenerateMEK() (token.FortezzaKey, error) {
	var h p11.ObjectHandle
	err := c.session("generate MEK", func(cx *p11.Ctx, sh p11.SessionHandle) error {
		var err error
		h, err = cx.GenerateKey(sh, []*p11.Mechanism{p11.NewMechanism(p11.CKM_SKIPJACK_KEY_GEN, nil)}, skipjackTemplate())
		return err
	})
	if err != nil {
		return nil, err
	}
	return &p11Key{card: c, h: h}, nil
}

// WrapKey implements token.FortezzaCard (CKM_SKIPJACK_WRAP).
func (c *FortezzaCard) WrapKey(kek, key token.FortezzaKey) ([]byte, error) {
	kh, err := c.handle(kek)
	if err != nil {
		return nil, err
	}
	h, err := c.handle(key)
	if err != nil {
		return nil, err
	}
	var out []byte
	err = c.session("wrap key", func(cx *p11.Ctx, sh p11.SessionHandle) error {
		out, err = cx.WrapKey(sh, []*p11.Mechanism{p11.NewMechanism(p11.CKM_SKIPJACK_WRAP, nil)}, kh, h)
		return err
	})
	if err == nil && len(out) != skipjack.WrappedKeySize {
		err = fmt.Errorf("pkcs11: wrapped SKIPJACK key of %d bytes", len(out))
	}
	return out, err
}

// UnwrapKey implements token.FortezzaCard; a checksum failure
// (CKR_WRAPPED_KEY_INVALID) is token.ErrFortezzaChecksum.
func (c *FortezzaCard) UnwrapKey(kek token.FortezzaKey, wrapped []byte) (token.FortezzaKey, error) {
	kh, err := c.handle(kek)
	if err != nil {
		return nil, err
	}
	if len(wrapped) != skipjack.WrappedKeySize {
		return nil, token.ErrFortezzaChecksum
	}
	var h p11.ObjectHandle
	err = c.session("unwrap key", func(cx *p11.Ctx, sh p11.SessionHandle) error {
		h, err = cx.UnwrapKey(sh, []*p11.Mechanism{p11.NewMechanism(p11.CKM_SKIPJACK_WRAP, nil)}, kh, wrapped, skipjackTemplate())
		return err
	})
	if code := rv(err); code == p11.CKR_WRAPPED_KEY_INVALID || code == p11.CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT {
		return nil, token.ErrFortezzaChecksum
	}
	if err != nil {
		return nil, err
	}
	return &p11Key{card: c, h: h}, nil
}

// Encrypt implements token.FortezzaCard (C_EncryptInit reads the IV back,
// then C_Encrypt).
func (c *FortezzaCard) Encrypt(key token.FortezzaKey, plaintext []byte) ([]byte, []byte, error) {
	iv := make([]byte, skipjack.IVSize)
	ct, err := c.crypt(key, iv, plaintext, true)
	if err != nil {
		return nil, nil, err
	}
	return iv, ct, nil
}

// Decrypt implements token.FortezzaCard.
func (c *FortezzaCard) Decrypt(key token.FortezzaKey, iv, ciphertext []byte) ([]byte, error) {
	return c.crypt(key, iv, ciphertext, false)
}

// crypt is one single-part SKIPJACK-CBC64 operation under key from iv.
func (c *FortezzaCard) crypt(key token.FortezzaKey, iv, in []byte, encrypt bool) ([]byte, error) {
	h, err := c.handle(key)
	if err != nil {
		return nil, err
	}
	op, run := "SKIPJACK decrypt", (*p11.Ctx).Decrypt
	if encrypt {
		op, run = "SKIPJACK encrypt", (*p11.Ctx).Encrypt
	}
	var out []byte
	err = c.session(op, func(cx *p11.Ctx, sh p11.SessionHandle) error {
		if err := c.initCBC64(sh, h, iv, encrypt); err != nil {
			return err
		}
		out, err = run(cx, sh, in)
		return err
	})
	return out, err
}

// initCBC64 starts CKM_SKIPJACK_CBC64 under h on sh from the 24-byte iv;
// to encrypt, the token writes the IV it generates into iv.
func (c *FortezzaCard) initCBC64(sh p11.SessionHandle, h p11.ObjectHandle, iv []byte, encrypt bool) error {
	if encrypt {
		return c.fn.EncryptInitIV(sh, p11.CKM_SKIPJACK_CBC64, h, iv)
	}
	return c.fn.DecryptInitIV(sh, p11.CKM_SKIPJACK_CBC64, h, iv)
}

// p11CBC is a multi-part SKIPJACK-CBC64 operation on a session of its own
// (the chaining state lives in the token's session across records).
type p11CBC struct {
	card    *FortezzaCard
	mu      sync.Mutex
	sh      p11.SessionHandle
	gen     uint64
	encrypt bool
	open    bool
	cleanup runtime.Cleanup
}

// ownSession opens a session outside the pool (login is per token, so it
// is logged in).
func (c *FortezzaCard) ownSession() (p11.SessionHandle, uint64, error) {
	m := c.b.m
	m.mu.RLock()
	defer m.mu.RUnlock()
	c.b.mu.Lock()
	slot := c.b.slot
	c.b.mu.Unlock()
	sh, err := m.ctx.OpenSession(slot, p11.CKF_SERIAL_SESSION|p11.CKF_RW_SESSION)
	if err != nil {
		return 0, 0, &Error{Op: "C_OpenSession", Token: c.b.label, Code: rv(err)}
	}
	return sh, m.gen, nil
}

func (c *FortezzaCard) newCBC(key token.FortezzaKey, iv []byte, encrypt bool) (*p11CBC, error) {
	h, err := c.handle(key)
	if err != nil {
		return nil, err
	}
	sh, gen, err := c.ownSession()
	if err != nil {
		return nil, err
	}
	s := &p11CBC{card: c, sh: sh, gen: gen, encrypt: encrypt, open: true}
	m := c.b.m
	m.mu.RLock()
	err = c.initCBC64(sh, h, iv, encrypt)
	m.mu.RUnlock()
	if err != nil {
		s.Close()
		return nil, wrapOp(err, "SKIPJACK-CBC64 init", c.b.label)
	}
	// Backstop if the record layer never closes the stream.
	s.cleanup = runtime.AddCleanup(s, func(x struct {
		m   *Module
		sh  p11.SessionHandle
		gen uint64
	}) {
		x.m.mu.RLock()
		if x.m.initialized && x.m.gen == x.gen {
			_ = x.m.ctx.CloseSession(x.sh)
		}
		x.m.mu.RUnlock()
	}, struct {
		m   *Module
		sh  p11.SessionHandle
		gen uint64
	}{m, sh, gen})
	return s, nil
}

// NewEncrypter implements token.FortezzaCard.
func (c *FortezzaCard) NewEncrypter(key token.FortezzaKey) (token.FortezzaCBC, []byte, error) {
	iv := make([]byte, skipjack.IVSize)
	s, err := c.newCBC(key, iv, true)
	if err != nil {
		return nil, nil, err
	}
	return s, iv, nil
}

// NewDecrypter implements token.FortezzaCard.
func (c *FortezzaCard) NewDecrypter(key token.FortezzaKey, iv []byte) (token.FortezzaCBC, error) {
	if len(iv) != skipjack.IVSize {
		return nil, fmt.Errorf("pkcs11: Fortezza IV is %d bytes", len(iv))
	}
	return c.newCBC(key, append([]byte(nil), iv...), false)
}

func (s *p11CBC) BlockSize() int { return skipjack.BlockSize }

func (s *p11CBC) CryptBlocks(dst, src []byte) error {
	if len(src)%skipjack.BlockSize != 0 || len(dst) < len(src) {
		return errors.New("pkcs11: SKIPJACK-CBC64 input is not a whole number of blocks")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.open {
		return errors.New("pkcs11: SKIPJACK-CBC64 operation closed")
	}
	m := s.card.b.m
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.gen != s.gen {
		return unavailable("SKIPJACK-CBC64", s.card.b.label, 0, "module re-initialised")
	}
	var out []byte
	var err error
	if s.encrypt {
		out, err = m.ctx.EncryptUpdate(s.sh, src)
	} else {
		out, err = m.ctx.DecryptUpdate(s.sh, src)
	}
	if err != nil {
		return wrapOp(err, "SKIPJACK-CBC64", s.card.b.label)
	}
	if len(out) != len(src) {
		return fmt.Errorf("pkcs11: SKIPJACK-CBC64 returned %d bytes for %d", len(out), len(src))
	}
	copy(dst, out)
	return nil
}

func (s *p11CBC) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.open {
		return nil
	}
	s.open = false
	s.cleanup.Stop()
	m := s.card.b.m
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.initialized && m.gen == s.gen {
		return m.ctx.CloseSession(s.sh)
	}
	return nil
}
