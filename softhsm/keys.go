package softhsm

import (
	"context"
	"crypto"
	"crypto/dsa"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"

	p11 "github.com/miekg/pkcs11"

	"github.com/tokenssl/tokenssl/token"
	"github.com/tokenssl/tokenssl/token/pkcs11"
)

// KeyRef names a key pair created on a token.
type KeyRef struct {
	Label  string
	ID     []byte
	Public crypto.PublicKey // *rsa.PublicKey, *dsa.PublicKey or *token.DHPublicKey
}

// Spec returns the selection that finds the key with token/pkcs11.
func (k KeyRef) Spec() pkcs11.KeySpec { return pkcs11.KeySpec{Label: k.Label, ID: k.ID} }

// keyID is CKA_ID when the caller gives none: SHA-1 of the public value,
// the convention of OpenSC and GnuTLS tools.
func keyID(id []byte, public *big.Int) []byte {
	if len(id) > 0 {
		return id
	}
	h := sha1.Sum(public.Bytes())
	return h[:]
}

// privateAttrs are what every private key gets (see sensitiveAttrs).
func privateAttrs(keyType uint, label string, id []byte) []*p11.Attribute {
	return sensitiveAttrs(p11.CKO_PRIVATE_KEY, keyType, label, id)
}

// sensitiveAttrs are what every private or secret key of class gets: a
// token object that needs login, never leaves the token in clear
// (CKA_SENSITIVE) and cannot be wrapped out (CKA_EXTRACTABLE false).
func sensitiveAttrs(class, keyType uint, label string, id []byte) []*p11.Attribute {
	return append(keyAttrs(class, keyType, true, label, id),
		p11.NewAttribute(p11.CKA_SENSITIVE, true),
		p11.NewAttribute(p11.CKA_EXTRACTABLE, false))
}

func publicAttrs(keyType uint, label string, id []byte) []*p11.Attribute {
	return keyAttrs(p11.CKO_PUBLIC_KEY, keyType, false, label, id)
}

// keyAttrs are what both halves of a key pair get: the object attributes
// (objectAttrs) and the key type.
func keyAttrs(class, keyType uint, private bool, label string, id []byte) []*p11.Attribute {
	return append(objectAttrs(class, private, label, id), p11.NewAttribute(p11.CKA_KEY_TYPE, keyType))
}

// objectAttrs are what every object stored here gets: a token object of
// class, named by label and id, that needs login if private.
func objectAttrs(class uint, private bool, label string, id []byte) []*p11.Attribute {
	return []*p11.Attribute{
		p11.NewAttribute(p11.CKA_CLASS, class),
		p11.NewAttribute(p11.CKA_TOKEN, true),
		p11.NewAttribute(p11.CKA_PRIVATE, private),
		p11.NewAttribute(p11.CKA_LABEL, label),
		p11.NewAttribute(p11.CKA_ID, id),
	}
}

func mkAttr(t uint, v any) *p11.Attribute { return p11.NewAttribute(t, v) }

// withSession opens a Backend (one login), runs fn on a session, closes.
func (t *Token) withSession(fn func(c *p11.Ctx, sh p11.SessionHandle) error) error {
	b, err := t.Open()
	if err != nil {
		return err
	}
	defer b.Close()
	return b.WithSession(context.Background(), fn)
}

func (t *Token) create(templates ...[]*p11.Attribute) error {
	return t.withSession(func(c *p11.Ctx, sh p11.SessionHandle) error {
		var made []p11.ObjectHandle
		for _, tmpl := range templates {
			h, err := c.CreateObject(sh, tmpl)
			if err != nil {
				for _, h := range made {
					c.DestroyObject(sh, h)
				}
				return fmt.Errorf("softhsm: C_CreateObject: %w", err)
			}
			made = append(made, h)
		}
		return nil
	})
}

// ImportRSA stores k (private and public object) under label and id
// (id nil: SHA-1 of the modulus).
func (t *Token) ImportRSA(label string, id []byte, k *rsa.PrivateKey) (KeyRef, error) {
	if len(k.Primes) != 2 {
		return KeyRef{}, errors.New("softhsm: only two-prime RSA keys can be imported")
	}
	k.Precompute()
	id = keyID(id, k.N)
	e := big.NewInt(int64(k.E)).Bytes()
	priv := append(privateAttrs(p11.CKK_RSA, label, id),
		mkAttr(p11.CKA_SIGN, true), mkAttr(p11.CKA_DECRYPT, true),
		mkAttr(p11.CKA_MODULUS, k.N.Bytes()), mkAttr(p11.CKA_PUBLIC_EXPONENT, e),
		mkAttr(p11.CKA_PRIVATE_EXPONENT, k.D.Bytes()),
		mkAttr(p11.CKA_PRIME_1, k.Primes[0].Bytes()), mkAttr(p11.CKA_PRIME_2, k.Primes[1].Bytes()),
		mkAttr(p11.CKA_EXPONENT_1, k.Precomputed.Dp.Bytes()), mkAttr(p11.CKA_EXPONENT_2, k.Precomputed.Dq.Bytes()),
		mkAttr(p11.CKA_COEFFICIENT, k.Precomputed.Qinv.Bytes()))
	pub := append(publicAttrs(p11.CKK_RSA, label, id),
		mkAttr(p11.CKA_VERIFY, true), mkAttr(p11.CKA_ENCRYPT, true),
		mkAttr(p11.CKA_MODULUS, k.N.Bytes()), mkAttr(p11.CKA_PUBLIC_EXPONENT, e))
	if err := t.create(priv, pub); err != nil {
		return KeyRef{}, err
	}
	return KeyRef{Label: label, ID: id, Public: &k.PublicKey}, nil
}

// GenerateRSA generates a key pair on the token (e = 65537).
func (t *Token) GenerateRSA(label string, id []byte, bits int) (KeyRef, error) {
	return t.generate(label, id, p11.CKM_RSA_PKCS_KEY_PAIR_GEN, "RSA", func(tmpID []byte) (pubT, privT []*p11.Attribute) {
		pubT = append(publicAttrs(p11.CKK_RSA, label, tmpID),
			mkAttr(p11.CKA_VERIFY, true), mkAttr(p11.CKA_ENCRYPT, true),
			mkAttr(p11.CKA_MODULUS_BITS, bits), mkAttr(p11.CKA_PUBLIC_EXPONENT, []byte{1, 0, 1}))
		privT = append(privateAttrs(p11.CKK_RSA, label, tmpID), mkAttr(p11.CKA_SIGN, true), mkAttr(p11.CKA_DECRYPT, true))
		return pubT, privT
	}, []uint{p11.CKA_MODULUS, p11.CKA_PUBLIC_EXPONENT}, func(v []*big.Int) (crypto.PublicKey, *big.Int) {
		return &rsa.PublicKey{N: v[0], E: int(v[1].Int64())}, v[0]
	})
}

// generate generates a key pair with mech (what names the kind in errors)
// from the templates for tmpID (the caller's id, or a placeholder until the
// public value is known), reads the public attributes named by read and
// turns them into the public key and the value its default CKA_ID is
// derived from, and sets that CKA_ID when the caller chose none.
func (t *Token) generate(label string, id []byte, mech uint, what string,
	templates func(tmpID []byte) (pubT, privT []*p11.Attribute),
	read []uint, public func(v []*big.Int) (crypto.PublicKey, *big.Int)) (KeyRef, error) {
	ref := KeyRef{Label: label}
	err := t.withSession(func(c *p11.Ctx, sh p11.SessionHandle) error {
		tmpID := id
		if len(tmpID) == 0 {
			tmpID = []byte("pending")
		}
		pubT, privT := templates(tmpID)
		pubH, privH, err := c.GenerateKeyPair(sh, []*p11.Mechanism{p11.NewMechanism(mech, nil)}, pubT, privT)
		if err != nil {
			return fmt.Errorf("softhsm: %s key generation: %w", what, err)
		}
		q := make([]*p11.Attribute, len(read))
		for i, typ := range read {
			q[i] = mkAttr(typ, nil)
		}
		a, err := c.GetAttributeValue(sh, pubH, q)
		if err != nil {
			return err
		}
		v := make([]*big.Int, len(a))
		for i := range a {
			v[i] = new(big.Int).SetBytes(a[i].Value)
		}
		pub, idFrom := public(v)
		ref.Public = pub
		ref.ID, err = setID(c, sh, id, idFrom, pubH, privH)
		return err
	})
	return ref, err
}

// setID gives generated objects their final CKA_ID (SHA-1 of the public
// value) when the caller chose none.
func setID(c *p11.Ctx, sh p11.SessionHandle, id []byte, public *big.Int, hs ...p11.ObjectHandle) ([]byte, error) {
	if len(id) > 0 {
		return id, nil
	}
	id = keyID(nil, public)
	for _, h := range hs {
		if err := c.SetAttributeValue(sh, h, []*p11.Attribute{mkAttr(p11.CKA_ID, id)}); err != nil {
			return nil, fmt.Errorf("softhsm: set CKA_ID: %w", err)
		}
	}
	return id, nil
}

// ImportDSA stores k under label and id (id nil: SHA-1 of y). SoftHSM
// accepts DSA keys of 512 to 1024 bits.
func (t *Token) ImportDSA(label string, id []byte, k *dsa.PrivateKey) (KeyRef, error) {
	id = keyID(id, k.Y)
	pqg := func(a []*p11.Attribute) []*p11.Attribute {
		return append(a, mkAttr(p11.CKA_PRIME, k.P.Bytes()), mkAttr(p11.CKA_SUBPRIME, k.Q.Bytes()), mkAttr(p11.CKA_BASE, k.G.Bytes()))
	}
	priv := append(pqg(privateAttrs(p11.CKK_DSA, label, id)), mkAttr(p11.CKA_SIGN, true), mkAttr(p11.CKA_VALUE, k.X.Bytes()))
	pub := append(pqg(publicAttrs(p11.CKK_DSA, label, id)), mkAttr(p11.CKA_VERIFY, true), mkAttr(p11.CKA_VALUE, k.Y.Bytes()))
	if err := t.create(priv, pub); err != nil {
		return KeyRef{}, err
	}
	return KeyRef{Label: label, ID: id, Public: &k.PublicKey}, nil
}

// GenerateDSA generates a DSA key pair on the token with the given
// domain parameters.
func (t *Token) GenerateDSA(label string, id []byte, params dsa.Parameters) (KeyRef, error) {
	return t.generate(label, id, p11.CKM_DSA_KEY_PAIR_GEN, "DSA", func(tmpID []byte) (pubT, privT []*p11.Attribute) {
		pubT = append(publicAttrs(p11.CKK_DSA, label, tmpID), mkAttr(p11.CKA_VERIFY, true),
			mkAttr(p11.CKA_PRIME, params.P.Bytes()), mkAttr(p11.CKA_SUBPRIME, params.Q.Bytes()), mkAttr(p11.CKA_BASE, params.G.Bytes()))
		privT = append(privateAttrs(p11.CKK_DSA, label, tmpID), mkAttr(p11.CKA_SIGN, true))
		return pubT, privT
	}, []uint{p11.CKA_VALUE}, func(v []*big.Int) (crypto.PublicKey, *big.Int) {
		return &dsa.PublicKey{Parameters: params, Y: v[0]}, v[0]
	})
}

// ImportDH stores a Diffie-Hellman key (CKK_DH) with the chosen private
// value under label and id (id nil: SHA-1 of y). Q is not representable on
// a CKK_DH object and is dropped.
func (t *Token) ImportDH(label string, id []byte, k *token.DHKey) (KeyRef, error) {
	id = keyID(id, k.Pub.Y)
	pg := func(a []*p11.Attribute) []*p11.Attribute {
		return append(a, mkAttr(p11.CKA_PRIME, k.Pub.P.Bytes()), mkAttr(p11.CKA_BASE, k.Pub.G.Bytes()))
	}
	priv := append(pg(privateAttrs(p11.CKK_DH, label, id)), mkAttr(p11.CKA_DERIVE, true), mkAttr(p11.CKA_VALUE, k.X.Bytes()))
	pub := append(pg(publicAttrs(p11.CKK_DH, label, id)), mkAttr(p11.CKA_VALUE, k.Pub.Y.Bytes()))
	if err := t.create(priv, pub); err != nil {
		return KeyRef{}, err
	}
	pubKey := k.Pub
	return KeyRef{Label: label, ID: id, Public: &pubKey}, nil
}

// GenerateDH generates a Diffie-Hellman key pair on the token in the given
// group.
func (t *Token) GenerateDH(label string, id []byte, params token.DHParams) (KeyRef, error) {
	return t.generate(label, id, p11.CKM_DH_PKCS_KEY_PAIR_GEN, "DH", func(tmpID []byte) (pubT, privT []*p11.Attribute) {
		pubT = append(publicAttrs(p11.CKK_DH, label, tmpID), mkAttr(p11.CKA_PRIME, params.P.Bytes()), mkAttr(p11.CKA_BASE, params.G.Bytes()))
		privT = append(privateAttrs(p11.CKK_DH, label, tmpID), mkAttr(p11.CKA_DERIVE, true))
		return pubT, privT
	}, []uint{p11.CKA_VALUE}, func(v []*big.Int) (crypto.PublicKey, *big.Int) {
		return &token.DHPublicKey{DHParams: params, Y: v[0]}, v[0]
	})
}

// ImportCertificate stores an X.509 certificate (DER) as a public
// CKO_CERTIFICATE with the label and id of the key it belongs to.
func (t *Token) ImportCertificate(label string, id []byte, der []byte) error {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("softhsm: certificate: %w", err)
	}
	serial, err := asn1.Marshal(cert.SerialNumber)
	if err != nil {
		return err
	}
	return t.create(append(objectAttrs(p11.CKO_CERTIFICATE, false, label, id),
		mkAttr(p11.CKA_CERTIFICATE_TYPE, p11.CKC_X_509),
		mkAttr(p11.CKA_SUBJECT, cert.RawSubject),
		mkAttr(p11.CKA_ISSUER, cert.RawIssuer),
		mkAttr(p11.CKA_SERIAL_NUMBER, serial),
		mkAttr(p11.CKA_VALUE, der)))
}
