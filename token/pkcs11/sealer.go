package pkcs11

import (
	"crypto/rand"
	"errors"
	"fmt"

	p11 "github.com/miekg/pkcs11"

	"github.com/tokenssl/tokenssl/token"
)

// AESKey is a secret AES key object on a token (CKO_SECRET_KEY, CKK_AES)
// used as a token.Sealer with CKM_AES_GCM: the key never leaves the token.
// The sealed form is the software Sealer's (nonce || ciphertext || tag),
// so the same key value imported on several tokens, or held in a key file,
// opens what any of them sealed. The nonce is drawn here and passed in
// CK_GCM_PARAMS, as SoftHSM expects; a token that insists on generating
// its own IV is not supported.
type AESKey struct {
	*Object
}

// FindSealer finds the AES key matching spec.
func (b *Backend) FindSealer(spec KeySpec) (*AESKey, error) {
	o, err := b.FindObject(spec, p11.CKO_SECRET_KEY)
	if err != nil {
		return nil, err
	}
	if o.keyType != p11.CKK_AES {
		return nil, &Error{Op: "find sealing key", Token: b.label, Kind: ErrKeyNotFound,
			Detail: fmt.Sprintf("secret key %s is of type %#x, not AES", spec, o.keyType)}
	}
	return &AESKey{Object: o}, nil
}

// String names the key, never its value.
func (k *AESKey) String() string {
	return fmt.Sprintf("AES key %q on token %q", k.label, k.b.label)
}

// Seal implements token.Sealer.
func (k *AESKey) Seal(plaintext, ad []byte) ([]byte, error) {
	iv := make([]byte, token.GCMNonceSize)
	if _, err := rand.Read(iv); err != nil {
		return nil, err
	}
	ct, err := runFor(k.b, "seal", func(c *p11.Ctx, sh p11.SessionHandle) ([]byte, error) {
		params := p11.NewGCMParams(iv, ad, 8*token.GCMTagSize)
		defer params.Free()
		return opEncrypt.run(c, sh, p11.NewMechanism(p11.CKM_AES_GCM, params), k.handle(), plaintext)
	})
	if err != nil {
		return nil, wrapOp(err, "seal", k.b.label)
	}
	return append(iv, ct...), nil
}

// Open implements token.Sealer. A tag that does not verify is
// token.ErrNotOpened; a token failing is its own error.
func (k *AESKey) Open(sealed, ad []byte) ([]byte, error) {
	if len(sealed) < token.GCMNonceSize+token.GCMTagSize {
		return nil, token.ErrNotOpened
	}
	pt, err := runFor(k.b, "open", func(c *p11.Ctx, sh p11.SessionHandle) ([]byte, error) {
		params := p11.NewGCMParams(sealed[:token.GCMNonceSize], ad, 8*token.GCMTagSize)
		defer params.Free()
		return opDecrypt.run(c, sh, p11.NewMechanism(p11.CKM_AES_GCM, params), k.handle(), sealed[token.GCMNonceSize:])
	})
	if err != nil {
		if errors.Is(err, token.ErrUnavailable) {
			return nil, wrapOp(err, "open", k.b.label)
		}
		switch rv(err) {
		// SoftHSM reports a tag that does not verify as CKR_GENERAL_ERROR
		// (the token being still there: do probed it).
		case p11.CKR_ENCRYPTED_DATA_INVALID, p11.CKR_ENCRYPTED_DATA_LEN_RANGE, p11.CKR_GENERAL_ERROR:
			return nil, token.ErrNotOpened
		}
		return nil, wrapOp(err, "open", k.b.label)
	}
	return pt, nil
}

var _ token.Sealer = (*AESKey)(nil)

// OpenSealerURI opens the token a PKCS#11 URI names and finds the AES key
// (type=secret-key, or no type) for sealing: what a "-session-key" flag
// does with a URI. def supplies what the URI leaves out, as for OpenURI.
// The caller closes the Backend when done with the key.
func OpenSealerURI(uri string, def Config) (*Backend, *AESKey, error) {
	u, err := ParseURI(uri)
	if err != nil {
		return nil, nil, err
	}
	if u.Type != "" && u.Type != "secret-key" {
		return nil, nil, fmt.Errorf("pkcs11 URI: type=%s does not name a secret key", u.Type)
	}
	if u.Object == "" && len(u.ID) == 0 {
		return nil, nil, errors.New("pkcs11 URI: names no key (give object= or id=)")
	}
	cfg, err := u.Config(def)
	if err != nil {
		return nil, nil, err
	}
	b, err := Open(cfg)
	if err != nil {
		return nil, nil, err
	}
	if err := u.matches(b); err != nil {
		b.Close()
		return nil, nil, err
	}
	k, err := b.FindSealer(u.KeySpec())
	if err != nil {
		b.Close()
		return nil, nil, err
	}
	return b, k, nil
}
