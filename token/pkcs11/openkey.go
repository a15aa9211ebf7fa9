package pkcs11

import (
	"errors"
	"fmt"
	"strings"

	p11 "github.com/miekg/pkcs11"

	"github.com/tokenssl/tokenssl/token"
)

// The layout of a Fortezza card's objects on a token: the labels both the
// card on a PKCS#11 Fortezza token and the SoftHSM emulator (package
// softhsm) use, so a card is named the same way whichever serves it.
const (
	FortezzaKEALabel = "fortezza-kea" // the KEA private key (and its certificate)
	FortezzaDSSLabel = "fortezza-dss" // the DSS private key (and its certificate)
	FortezzaCALabel  = "fortezza-ca"  // the issuing CA's certificate
)

// CardKind says which implementation serves a Fortezza card.
type CardKind string

const (
	// CardPKCS11: the token does KEA and SKIPJACK itself (FortezzaCard).
	CardPKCS11 CardKind = "pkcs11"
	// CardEmulator: the token lacks the mechanisms; the card is emulated
	// on it (package softhsm).
	CardEmulator CardKind = "emulator"
)

// FortezzaEmulator opens a Fortezza card emulated on a token that lacks
// FortezzaMechanisms. softhsm.EmulateFortezza is one; this package cannot
// name it (softhsm is built on this package).
type FortezzaEmulator func(b *Backend, spec FortezzaCardSpec) (token.FortezzaCard, error)

// OpenFortezza opens the Fortezza card on b, and is the one place that
// decides how: a token that lists every FortezzaMechanisms entry is a real
// card (OpenFortezzaCard); any other token runs emulate, or, with emulate
// nil, is ErrUnsupported. It returns which path it took.
func OpenFortezza(b *Backend, spec FortezzaCardSpec, emulate FortezzaEmulator) (token.FortezzaCard, CardKind, error) {
	real, err := HasFortezzaMechanisms(b)
	if err != nil {
		return nil, "", err
	}
	if real {
		spec.SkipMechanismCheck = true // just checked
		c, err := OpenFortezzaCard(b, spec)
		if err != nil {
			return nil, "", err
		}
		return c, CardPKCS11, nil
	}
	if emulate == nil {
		return nil, "", &Error{Op: "open Fortezza card", Token: b.label, Kind: ErrUnsupported,
			Detail: "the token lacks CKM_KEA_KEY_DERIVE or CKM_SKIPJACK_* and no emulator was given"}
	}
	c, err := emulate(b, spec)
	if err != nil {
		return nil, "", err
	}
	return c, CardEmulator, nil
}

// KeyRequest names a private key on a token: the token (Config), the PIN
// (Config.PIN, or PIN when that is nil) and the key object.
type KeyRequest struct {
	Config
	// PIN is used when Config.PIN is nil.
	PIN PINSpec
	// Key selects the private key by CKA_LABEL and/or CKA_ID. Empty with
	// Fortezza: the card layout's KEA key.
	Key KeySpec
	// Fortezza asks for the token's Fortezza card. Without it a card is
	// still recognised by its key: a CKK_KEA key, or the layout's KEA
	// label (FortezzaKEALabel).
	Fortezza bool
	// Emulator serves Fortezza cards on tokens without the mechanisms
	// (see OpenFortezza); nil: only real cards.
	Emulator FortezzaEmulator
}

// OpenedKey is what OpenKey found: the key as the engine takes it and the
// certificates stored with it. Close releases the token.
type OpenedKey struct {
	// Key is a *RSAKey (crypto.Signer and crypto.Decrypter), *DSAKey
	// (crypto.Signer), *DHKey (token.DHAgreer) or a token.FortezzaCard.
	Key token.Key
	// Certificate is the DER certificate stored beside the key (for a
	// card, its KEA certificate), or nil if the token holds none.
	Certificate []byte
	// DSSCertificate and CACertificate are a card's DSS certificate and
	// the CA certificate stored on it, or nil.
	DSSCertificate, CACertificate []byte
	// Card is the card's implementation; empty for other keys.
	Card    CardKind
	Backend *Backend
}

// Close closes the card (if it holds resources) and the Backend.
func (k *OpenedKey) Close() error {
	var errs []error
	if c, ok := k.Key.(interface{ Close() error }); ok && k.Card != "" {
		errs = append(errs, c.Close())
	}
	if k.Backend != nil {
		errs = append(errs, k.Backend.Close())
	}
	return errors.Join(errs...)
}

// OpenKey opens the token req names, logs in and returns whatever private
// key it holds there: an RSA, DSA or DH key, or the token's Fortezza card
// (a real card or the emulator, see OpenFortezza), with the certificates
// stored on the token. It is the one way the command line and the URI
// path open a key.
func OpenKey(req KeyRequest) (*OpenedKey, error) {
	cfg, err := withPIN(req.Config, req.PIN)
	if err != nil {
		return nil, err
	}
	if !req.Fortezza && req.Key.Label == "" && len(req.Key.ID) == 0 {
		return nil, &Error{Op: "open key", Detail: "names no key (give a label or an id)"}
	}
	b, err := Open(cfg)
	if err != nil {
		return nil, err
	}
	return openKeyOn(b, req)
}

// withPIN resolves spec into cfg.PIN unless cfg already has a PIN source.
func withPIN(cfg Config, spec PINSpec) (Config, error) {
	if cfg.PIN != nil {
		return cfg, nil
	}
	src, err := spec.Resolve()
	if err != nil {
		return cfg, err
	}
	cfg.PIN = src
	return cfg, nil
}

// openKeyOn opens req's key on b, which the result then owns; if that
// fails, b is closed.
func openKeyOn(b *Backend, req KeyRequest) (*OpenedKey, error) {
	k, err := openKey(b, req)
	if err != nil {
		b.Close()
		return nil, err
	}
	return k, nil
}

func openKey(b *Backend, req KeyRequest) (*OpenedKey, error) {
	card := req.Fortezza
	if !card {
		o, err := b.FindObject(req.Key, p11.CKO_PRIVATE_KEY)
		if err != nil {
			return nil, err
		}
		card = o.keyType == p11.CKK_KEA || o.label == FortezzaKEALabel
	}
	if !card {
		key, err := b.FindKey(req.Key)
		if err != nil {
			return nil, err
		}
		out := &OpenedKey{Key: key, Backend: b}
		if o, ok := key.(interface{ Certificate() ([]byte, error) }); ok {
			out.Certificate, _ = o.Certificate() // absent is fine: the caller may have a file
		}
		return out, nil
	}
	spec := FortezzaCardSpec{KEA: req.Key, DSS: KeySpec{Label: FortezzaDSSLabel}}
	if spec.KEA.Label == "" && len(spec.KEA.ID) == 0 {
		spec.KEA.Label = FortezzaKEALabel
	}
	c, kind, err := OpenFortezza(b, spec, req.Emulator)
	if err != nil {
		return nil, err
	}
	out := &OpenedKey{Key: c, Card: kind, Backend: b, Certificate: c.KEACertificate()}
	if d, ok := c.(interface{ DSSCertificate() []byte }); ok {
		out.DSSCertificate = d.DSSCertificate()
	} else {
		out.DSSCertificate, _ = b.FindCertificate(spec.DSS)
	}
	out.CACertificate, _ = b.FindCertificate(KeySpec{Label: FortezzaCALabel})
	return out, nil
}

// OpenKeyURI is OpenKey for an RFC 7512 URI: def supplies what the URI
// leaves out (module, PIN, pool size, emulator); the URI's token, object,
// id and PIN replace def's.
func OpenKeyURI(uri string, def KeyRequest) (*OpenedKey, error) {
	u, err := ParseURI(uri)
	if err != nil {
		return nil, err
	}
	if u.Type != "" && u.Type != "private" {
		return nil, fmt.Errorf("pkcs11 URI: type=%s does not name a private key", u.Type)
	}
	if u.Object == "" && len(u.ID) == 0 {
		return nil, errors.New("pkcs11 URI: names no key (give object= or id=)")
	}
	req := def
	// The URI's PIN, if it has one, replaces def's however def gave it.
	if req.Config, err = u.Config(def.Config); err != nil {
		return nil, err
	}
	if u.PINValue == "" && u.PINSource == "" {
		if req.Config, err = withPIN(req.Config, def.PIN); err != nil {
			return nil, err
		}
	}
	req.Key = u.KeySpec()
	b, err := Open(req.Config)
	if err != nil {
		if u.carriesPIN && u.ModulePath != "" {
			return nil, scrubModulePath(err, u.ModulePath)
		}
		return nil, err
	}
	if err := u.matches(b); err != nil {
		b.Close()
		return nil, err
	}
	return openKeyOn(b, req)
}

// scrubModulePath rewrites an Open error so that it does not quote a
// module-path taken from a URI that carries a PIN: in a pin-value with an
// unescaped '&', the "module-path" may be the PIN's tail. The kind and the
// return code survive for errors.Is.
func scrubModulePath(err error, path string) error {
	var e *Error
	if !errors.As(err, &e) {
		return errors.New(strings.ReplaceAll(err.Error(), path, "(module-path not quoted: the URI carries a PIN)"))
	}
	const hidden = "(module-path not quoted: the URI carries a PIN)"
	out := *e
	if out.Token == path {
		out.Token = ""
	}
	out.Op = strings.ReplaceAll(out.Op, path, hidden)
	out.Detail = strings.ReplaceAll(out.Detail, path, hidden)
	return &out
}
