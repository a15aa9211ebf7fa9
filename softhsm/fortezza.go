package softhsm

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"sync/atomic"

	p11 "github.com/miekg/pkcs11"

	"github.com/tokenssl/tokenssl/kea"
	"github.com/tokenssl/tokenssl/kea/skipjack"
	"github.com/tokenssl/tokenssl/token"
	"github.com/tokenssl/tokenssl/token/pkcs11"
	"github.com/tokenssl/tokenssl/x509legacy"
)

// The Fortezza card emulator: a token.FortezzaCard on a SoftHSM token,
// which has neither KEA nor SKIPJACK (docs/pkcs11.md).
//
// What SoftHSM holds, and does:
//   - the static KEA private value x, as a CKK_DH private key in the KEA
//     group (p, g), and each ephemeral r (r_c of the client, r_s of a
//     full-mode server) as a session DH key pair generated on the token
//     (CKA_VALUE_BITS 160, like a card's 160-bit exponents);
//   - the two exponentiations of w, t = Y_peer^r and u = R_peer^x, each a
//     CKM_DH_PKCS_DERIVE into a session secret whose value is read out and
//     the object destroyed;
//   - the DSS key (CKM_DSA over the 20-byte SHA-1);
//   - TEKs and MEKs, as session CKK_GENERIC_SECRET objects of 10 bytes
//     (MEKs generated with CKM_GENERIC_SECRET_KEY_GEN).
//
// What Go does, with package kea in the card's byte convention (docs/fortezza.md
// §1.6): the checks on peer values, w = (t + u) mod p, the KDF w → TEK,
// SKIPJACK key wrap/unwrap with checksum, CBC64 with token-style 24-byte IVs
// ("THIS IS NOT LEAF" ‖ 8 random bytes). Secret keys are read from SoftHSM
// only for the duration of one operation, the way a card loads a key into
// its crypto unit; a record cipher keeps the key schedule of its MEK in
// memory for the life of the connection, like a card's loaded key register.
// The bytes on the wire are exactly a card's.

// Labels of the card's objects on the token: the card layout of
// token/pkcs11, which a real card shares.
const (
	FortezzaKEALabel = pkcs11.FortezzaKEALabel // CKK_DH key pair (x, Y) and the KEA certificate
	FortezzaDSSLabel = pkcs11.FortezzaDSSLabel // DSA key pair and its certificate
	FortezzaCALabel  = pkcs11.FortezzaCALabel  // the issuing CA's certificate
)

// EmulateFortezza is the emulator as pkcs11.OpenFortezza and
// pkcs11.OpenKey take it (KeyRequest.Emulator): the card on a token that
// lacks the Fortezza mechanisms. The emulator keeps its objects under the
// fixed labels above; spec.Params is the fallback KEA domain.
func EmulateFortezza(b *pkcs11.Backend, spec pkcs11.FortezzaCardSpec) (token.FortezzaCard, error) {
	if (spec.KEA.Label != "" && spec.KEA.Label != FortezzaKEALabel) || len(spec.KEA.ID) > 0 {
		return nil, fmt.Errorf("softhsm: the emulated card's KEA key is labelled %q, not selected by %s", FortezzaKEALabel, spec.KEA)
	}
	c, err := OpenFortezzaCard(b, spec.Params)
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return c, nil
}

var _ pkcs11.FortezzaEmulator = EmulateFortezza

// FortezzaCard is the emulated card. It is safe for concurrent use.
type FortezzaCard struct {
	b        *pkcs11.Backend
	ownsB    bool
	kea      *pkcs11.Object // static KEA private value (CKK_DH)
	dssCert  []byte
	caCert   []byte
	emailMod atomic.Bool

	live atomic.Int64

	// fortezzaKeys is the card's KEAPublicKey, KEACertificate,
	// DSSPublicKey and SignDSS (CKM_DSA on the token).
	fortezzaKeys

	// skipjackUnit is the card's WrapKey, UnwrapKey, Encrypt, Decrypt,
	// NewEncrypter and NewDecrypter: SKIPJACK in Go on keys loaded from
	// SoftHSM.
	skipjackUnit
}

// skipjackUnit names the embedded SKIPJACK half so that the field stays
// unexported.
type skipjackUnit = token.SoftwareSKIPJACK

// fortezzaKeys, likewise, keeps the embedded keys' field unexported.
type fortezzaKeys = pkcs11.FortezzaKeys

var _ token.FortezzaCard = (*FortezzaCard)(nil)

// OpenFortezzaCard finds the emulated card's objects on b (the labels
// above): the KEA key pair and its certificate, the DSS key and its
// certificate (optional) and the CA certificate (optional). The KEA domain
// parameters come from the KEA certificate when it carries them in full,
// else from params (nil: the built-in group).
func OpenFortezzaCard(b *pkcs11.Backend, params *kea.Params) (*FortezzaCard, error) {
	o, err := b.FindObject(pkcs11.KeySpec{Label: FortezzaKEALabel}, p11.CKO_PRIVATE_KEY)
	if err != nil {
		return nil, fmt.Errorf("softhsm: Fortezza KEA key: %w", err)
	}
	c := &FortezzaCard{b: b, kea: o}
	c.skipjackUnit = token.NewSoftwareSKIPJACK(c.load, c.store, nil)
	keaCert, err := b.FindCertificate(pkcs11.KeySpec{Label: FortezzaKEALabel})
	if err != nil {
		return nil, fmt.Errorf("softhsm: Fortezza KEA certificate: %w", err)
	}
	kc, err := x509legacy.ParseKEACertificate(keaCert)
	if err != nil {
		return nil, err
	}
	if kc.Params != nil {
		params = &kea.Params{P: kc.Params.P, Q: kc.Params.Q, G: kc.Params.G}
	} else if params == nil {
		params = kea.DefaultParams()
	}
	pub, err := kea.CertificatePublicKey(kc.KEA, params)
	if err != nil {
		return nil, fmt.Errorf("softhsm: Fortezza KEA certificate: %w", err)
	}
	// The token's key must be the certificate's: compare y with g^x,
	// computed on the token.
	y, err := c.exp(context.Background(), o, params.G)
	if err != nil {
		return nil, err
	}
	if new(big.Int).SetBytes(y).Cmp(pub.Y) != 0 {
		return nil, errors.New("softhsm: the KEA key on the token does not match its certificate")
	}
	var dss *pkcs11.DSAKey
	if k, err := b.FindKey(pkcs11.KeySpec{Label: FortezzaDSSLabel}); err == nil {
		if dk, ok := k.(*pkcs11.DSAKey); ok {
			dss = dk
			c.dssCert, _ = b.FindCertificate(pkcs11.KeySpec{Label: FortezzaDSSLabel})
		}
	}
	c.fortezzaKeys = pkcs11.NewFortezzaKeys(b, pub, keaCert, dss)
	c.caCert, _ = b.FindCertificate(pkcs11.KeySpec{Label: FortezzaCALabel})
	return c, nil
}

// SetEmailMode selects e-mail KEA mode for ResponderRandom (r_s = 1, as NSS
// servers send) instead of full mode.
func (c *FortezzaCard) SetEmailMode(on bool) { c.emailMod.Store(on) }

// Backend returns the token the card lives on.
func (c *FortezzaCard) Backend() *pkcs11.Backend { return c.b }

// Close closes the Backend if the card opened it.
func (c *FortezzaCard) Close() error {
	if c.ownsB {
		return c.b.Close()
	}
	return nil
}

// DSSCertificate returns the DER DSS certificate, or nil.
func (c *FortezzaCard) DSSCertificate() []byte { return c.dssCert }

// CACertificate returns the DER certificate of the CA stored on the card, or nil.
func (c *FortezzaCard) CACertificate() []byte { return c.caCert }

// LiveObjects counts keys and ephemerals handed out and not yet destroyed.
func (c *FortezzaCard) LiveObjects() int64 { return c.live.Load() }

// SessionObjects counts the session (non-token) objects on the token now:
// after every handshake has ended it must be 0.
func (c *FortezzaCard) SessionObjects() (int, error) {
	n := 0
	err := c.b.WithSession(context.Background(), func(ctx *p11.Ctx, sh p11.SessionHandle) error {
		if err := ctx.FindObjectsInit(sh, []*p11.Attribute{p11.NewAttribute(p11.CKA_TOKEN, false)}); err != nil {
			return err
		}
		defer ctx.FindObjectsFinal(sh)
		for {
			hs, _, err := ctx.FindObjects(sh, 100)
			if err != nil {
				return err
			}
			if len(hs) == 0 {
				return nil
			}
			n += len(hs)
		}
	})
	return n, err
}

// --- token objects ---

// readableSecretAttrs are a generic session secret whose value this
// process reads (not sensitive, extractable), and then extra.
func readableSecretAttrs(extra ...*p11.Attribute) []*p11.Attribute {
	return append([]*p11.Attribute{
		mkAttr(p11.CKA_CLASS, p11.CKO_SECRET_KEY),
		mkAttr(p11.CKA_KEY_TYPE, p11.CKK_GENERIC_SECRET),
		mkAttr(p11.CKA_TOKEN, false),
		mkAttr(p11.CKA_SENSITIVE, false),
		mkAttr(p11.CKA_EXTRACTABLE, true),
	}, extra...)
}

// secretTemplate is a 10-byte session secret readable by this process:
// the emulator computes SKIPJACK in Go and has to load the key.
func secretTemplate(value []byte) []*p11.Attribute {
	size := mkAttr(p11.CKA_VALUE_LEN, skipjack.KeySize)
	if value != nil {
		size = mkAttr(p11.CKA_VALUE, value)
	}
	return readableSecretAttrs(mkAttr(p11.CKA_PRIVATE, true), mkAttr(p11.CKA_LABEL, "fortezza-session-key"), size)
}

// objectValue reads the CKA_VALUE of object h.
func objectValue(ctx *p11.Ctx, sh p11.SessionHandle, h p11.ObjectHandle) ([]byte, error) {
	a, err := ctx.GetAttributeValue(sh, h, []*p11.Attribute{mkAttr(p11.CKA_VALUE, nil)})
	if err != nil {
		return nil, err
	}
	return a[0].Value, nil
}

// emuKey is a TEK or MEK: a session secret object on SoftHSM.
type emuKey struct {
	card *FortezzaCard
	mu   sync.Mutex
	h    p11.ObjectHandle // 0 once destroyed
}

func (k *emuKey) Destroy() error { return k.card.destroy(&k.mu, &k.h) }

// destroy destroys the session object *h once (guarded by mu) and zeroes
// *h; 0 means already destroyed, or never an object.
func (c *FortezzaCard) destroy(mu *sync.Mutex, h *p11.ObjectHandle) error {
	mu.Lock()
	defer mu.Unlock()
	if *h == 0 {
		return nil
	}
	obj := *h
	*h = 0
	c.live.Add(-1)
	return c.b.WithSession(context.Background(), func(ctx *p11.Ctx, sh p11.SessionHandle) error {
		return ctx.DestroyObject(sh, obj)
	})
}

// newKey stores value (nil: generate) as a session secret.
func (c *FortezzaCard) newKey(ctx *p11.Ctx, sh p11.SessionHandle, value []byte) (*emuKey, error) {
	var h p11.ObjectHandle
	var err error
	if value == nil {
		h, err = ctx.GenerateKey(sh, []*p11.Mechanism{p11.NewMechanism(p11.CKM_GENERIC_SECRET_KEY_GEN, nil)}, secretTemplate(nil))
	} else {
		h, err = ctx.CreateObject(sh, secretTemplate(value))
	}
	if err != nil {
		return nil, err
	}
	c.live.Add(1)
	return &emuKey{card: c, h: h}, nil
}

// load reads the value of one of our keys (the card loading it).
func (c *FortezzaCard) load(k token.FortezzaKey) ([]byte, error) {
	ek, ok := k.(*emuKey)
	if !ok || ek.card != c {
		return nil, token.ErrFortezzaHandle
	}
	ek.mu.Lock()
	defer ek.mu.Unlock()
	if ek.h == 0 {
		return nil, token.ErrFortezzaHandle
	}
	var v []byte
	err := c.b.WithSession(context.Background(), func(ctx *p11.Ctx, sh p11.SessionHandle) error {
		var err error
		v, err = objectValue(ctx, sh, ek.h)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(v) != skipjack.KeySize {
		return nil, fmt.Errorf("softhsm: Fortezza key object holds %d bytes", len(v))
	}
	return v, nil
}

// derive is one CKM_DH_PKCS_DERIVE: peer^(private of base) mod p, read out
// as a 128-byte value and the session object destroyed.
func derive(ctx *p11.Ctx, sh p11.SessionHandle, base p11.ObjectHandle, peer *big.Int) (*big.Int, error) {
	tmpl := readableSecretAttrs(mkAttr(p11.CKA_VALUE_LEN, kea.ValueSize))
	h, err := ctx.DeriveKey(sh, []*p11.Mechanism{p11.NewMechanism(p11.CKM_DH_PKCS_DERIVE, peer.Bytes())}, base, tmpl)
	if err != nil {
		return nil, fmt.Errorf("softhsm: CKM_DH_PKCS_DERIVE: %w", err)
	}
	defer ctx.DestroyObject(sh, h)
	v, err := objectValue(ctx, sh, h)
	if err != nil {
		return nil, err
	}
	return new(big.Int).SetBytes(v), nil
}

// exp computes peer^x mod p with the static KEA key (also g^x = Y).
func (c *FortezzaCard) exp(cx context.Context, o *pkcs11.Object, peer *big.Int) ([]byte, error) {
	var out []byte
	err := o.WithObject(cx, func(ctx *p11.Ctx, sh p11.SessionHandle, h p11.ObjectHandle) error {
		v, err := derive(ctx, sh, h, peer)
		if err != nil {
			return err
		}
		out = v.Bytes()
		return nil
	})
	return out, err
}

// genEphemeral generates an ephemeral KEA pair (r, R = g^r) on the token as
// session DH objects; the public object is destroyed at once.
func (c *FortezzaCard) genEphemeral(ctx *p11.Ctx, sh p11.SessionHandle) (p11.ObjectHandle, []byte, error) {
	params := c.KEAPublicKey().Params
	pubT := []*p11.Attribute{
		mkAttr(p11.CKA_CLASS, p11.CKO_PUBLIC_KEY), mkAttr(p11.CKA_KEY_TYPE, p11.CKK_DH),
		mkAttr(p11.CKA_TOKEN, false), mkAttr(p11.CKA_PRIME, params.P.Bytes()), mkAttr(p11.CKA_BASE, params.G.Bytes()),
	}
	privT := []*p11.Attribute{
		mkAttr(p11.CKA_CLASS, p11.CKO_PRIVATE_KEY), mkAttr(p11.CKA_KEY_TYPE, p11.CKK_DH),
		mkAttr(p11.CKA_TOKEN, false), mkAttr(p11.CKA_PRIVATE, true), mkAttr(p11.CKA_SENSITIVE, true),
		mkAttr(p11.CKA_EXTRACTABLE, false), mkAttr(p11.CKA_DERIVE, true),
		mkAttr(p11.CKA_VALUE_BITS, kea.SubprimeBits),
	}
	pubH, privH, err := ctx.GenerateKeyPair(sh, []*p11.Mechanism{p11.NewMechanism(p11.CKM_DH_PKCS_KEY_PAIR_GEN, nil)}, pubT, privT)
	if err != nil {
		return 0, nil, fmt.Errorf("softhsm: ephemeral KEA key generation: %w", err)
	}
	y, err := objectValue(ctx, sh, pubH)
	ctx.DestroyObject(sh, pubH)
	if err != nil {
		ctx.DestroyObject(sh, privH)
		return 0, nil, err
	}
	r, err := kea.EncodeValue(new(big.Int).SetBytes(y))
	if err != nil {
		ctx.DestroyObject(sh, privH)
		return 0, nil, err
	}
	return privH, r, nil
}

// tekFrom combines t and u into w and w into a TEK object.
func (c *FortezzaCard) tekFrom(ctx *p11.Ctx, sh p11.SessionHandle, t, u *big.Int) (*emuKey, error) {
	w, err := kea.CombineW(&c.KEAPublicKey().Params, t, u)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", token.ErrFortezzaPeer, err)
	}
	tek, err := kea.DeriveTEK(w)
	clear(w)
	if err != nil {
		return nil, err
	}
	defer clear(tek)
	return c.newKey(ctx, sh, tek)
}

func (c *FortezzaCard) checkPeer(vs ...*big.Int) error {
	for _, v := range vs {
		if err := kea.CheckPublic(&c.KEAPublicKey().Params, v); err != nil {
			return fmt.Errorf("%w: %v", token.ErrFortezzaPeer, err)
		}
	}
	return nil
}

// DeriveTEKAsSender implements token.FortezzaCard.
func (c *FortezzaCard) DeriveTEKAsSender(peerY *big.Int, rs []byte) (token.FortezzaKey, []byte, error) {
	rb, err := token.DecodeKEARandom(rs)
	if err != nil {
		return nil, nil, err
	}
	email := kea.IsEmailMode(rb)
	if email {
		rb = peerY // e-mail mode: R_B is replaced by Y_B
	}
	if err := c.checkPeer(peerY, rb); err != nil {
		return nil, nil, err
	}
	var tek *emuKey
	var rc []byte
	err = c.kea.WithObject(context.Background(), func(ctx *p11.Ctx, sh p11.SessionHandle, x p11.ObjectHandle) error {
		r, R, err := c.genEphemeral(ctx, sh)
		if err != nil {
			return err
		}
		defer ctx.DestroyObject(sh, r)
		t, err := derive(ctx, sh, r, peerY) // Y_B^r_A
		if err != nil {
			return err
		}
		u, err := derive(ctx, sh, x, rb) // R_B^x_A (Y_B^x_A in e-mail mode)
		if err != nil {
			return err
		}
		if tek, err = c.tekFrom(ctx, sh, t, u); err != nil {
			return err
		}
		rc = R
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return tek, rc, nil
}

// emuRandom is r_s: a session DH private key (full mode) or the constant 1.
type emuRandom struct {
	card *FortezzaCard
	mu   sync.Mutex
	h    p11.ObjectHandle // 0 in e-mail mode or once destroyed
	r    []byte
}

func (r *emuRandom) R() []byte { return append([]byte(nil), r.r...) }

func (r *emuRandom) Destroy() error { return r.card.destroy(&r.mu, &r.h) }

// ResponderRandom implements token.FortezzaCard.
func (c *FortezzaCard) ResponderRandom() (token.FortezzaRandom, error) {
	if c.emailMod.Load() {
		return &emuRandom{card: c, r: kea.EmailModeR()}, nil
	}
	rnd := &emuRandom{card: c}
	err := c.b.WithSession(context.Background(), func(ctx *p11.Ctx, sh p11.SessionHandle) error {
		var err error
		rnd.h, rnd.r, err = c.genEphemeral(ctx, sh)
		return err
	})
	if err != nil {
		return nil, err
	}
	c.live.Add(1)
	return rnd, nil
}

// DeriveTEKAsRecipient implements token.FortezzaCard.
func (c *FortezzaCard) DeriveTEKAsRecipient(rs token.FortezzaRandom, peerY *big.Int, rc []byte) (token.FortezzaKey, error) {
	er, ok := rs.(*emuRandom)
	if !ok || er.card != c {
		return nil, token.ErrFortezzaHandle
	}
	ra, err := token.DecodeKEARandom(rc)
	if err != nil {
		return nil, err
	}
	if err := c.checkPeer(peerY, ra); err != nil {
		return nil, err
	}
	er.mu.Lock()
	defer er.mu.Unlock()
	email := er.h == 0
	if email && !kea.IsEmailMode(new(big.Int).SetBytes(er.r)) {
		return nil, token.ErrFortezzaHandle // destroyed
	}
	var tek *emuKey
	err = c.kea.WithObject(context.Background(), func(ctx *p11.Ctx, sh p11.SessionHandle, x p11.ObjectHandle) error {
		rb := er.h
		if email {
			rb = x // e-mail mode: r_B is replaced by x_B
		}
		t, err := derive(ctx, sh, rb, peerY) // Y_A^r_B
		if err != nil {
			return err
		}
		u, err := derive(ctx, sh, x, ra) // R_A^x_B
		if err != nil {
			return err
		}
		tek, err = c.tekFrom(ctx, sh, t, u)
		return err
	})
	if err != nil {
		return nil, err
	}
	return tek, nil
}

// GenerateMEK implements token.FortezzaCard.
func (c *FortezzaCard) GenerateMEK() (token.FortezzaKey, error) { return c.store(nil) }

// store keeps value (nil: generates one) as a session secret on a
// session of its own: an MEK, or an unwrapped key.
func (c *FortezzaCard) store(value []byte) (token.FortezzaKey, error) {
	var k *emuKey
	err := c.b.WithSession(context.Background(), func(ctx *p11.Ctx, sh p11.SessionHandle) error {
		var err error
		k, err = c.newKey(ctx, sh, value)
		return err
	})
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return k, nil
}

// BenchmarkDerives runs n CKM_DH_PKCS_DERIVE with the static KEA key
// against peer (a public value of the group) on one session: the raw cost
// of the token's exponentiations, for benchmarks.
func (c *FortezzaCard) BenchmarkDerives(n int, peer *big.Int) error {
	return c.kea.WithObject(context.Background(), func(ctx *p11.Ctx, sh p11.SessionHandle, x p11.ObjectHandle) error {
		for i := 0; i < n; i++ {
			if _, err := derive(ctx, sh, x, peer); err != nil {
				return err
			}
		}
		return nil
	})
}
