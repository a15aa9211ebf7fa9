package pkcs11

import (
	"crypto"
	"crypto/dsa"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/big"

	p11 "github.com/miekg/pkcs11"

	"github.com/tokenssl/tokenssl/token"
	"github.com/tokenssl/tokenssl/x509legacy"
)

// FindKey finds the private key matching spec and returns it as the
// engine's key types: *RSAKey (crypto.Signer, crypto.Decrypter), *DSAKey
// (crypto.Signer) or *DHKey (token.DHAgreer). Other key types (KEA, EC)
// are reachable through FindObject.
func (b *Backend) FindKey(spec KeySpec) (token.Key, error) {
	o, err := b.FindObject(spec, p11.CKO_PRIVATE_KEY)
	if err != nil {
		return nil, err
	}
	switch o.keyType {
	case p11.CKK_RSA:
		return newRSAKey(o)
	case p11.CKK_DSA:
		return newDSAKey(o)
	case p11.CKK_DH:
		return newDHKey(o)
	}
	return nil, &Error{Op: "find key", Token: b.label, Kind: ErrUnsupported,
		Detail: fmt.Sprintf("%s has key type %s; use FindObject", spec, keyTypeName(o.keyType))}
}

// readBig reads integer attributes of h; a failure returns nil values.
func readBig(c *p11.Ctx, sh p11.SessionHandle, h p11.ObjectHandle, types ...uint) ([]*big.Int, error) {
	tmpl := make([]*p11.Attribute, len(types))
	for i, t := range types {
		tmpl[i] = p11.NewAttribute(t, nil)
	}
	attrs, err := c.GetAttributeValue(sh, h, tmpl)
	if err != nil {
		return nil, err
	}
	out := make([]*big.Int, len(attrs))
	for i, a := range attrs {
		if len(a.Value) == 0 {
			return nil, fmt.Errorf("empty attribute 0x%x", types[i])
		}
		out[i] = new(big.Int).SetBytes(a.Value)
	}
	return out, nil
}

// publicPartner reads integer attributes from the CKO_PUBLIC_KEY stored
// beside o (same CKA_ID, or same label when o has no id).
func publicPartner(c *p11.Ctx, sh p11.SessionHandle, o *Object, types ...uint) ([]*big.Int, error) {
	spec := KeySpec{ID: o.id}
	if len(o.id) == 0 {
		spec = KeySpec{Label: o.label}
	}
	tmpl := append(spec.template(p11.CKO_PUBLIC_KEY), p11.NewAttribute(p11.CKA_KEY_TYPE, o.keyType))
	hs, err := findAll(c, sh, tmpl, 2)
	if err != nil {
		return nil, err
	}
	if len(hs) != 1 {
		return nil, errors.New("no unique public key object beside the private key")
	}
	return readBig(c, sh, hs[0], types...)
}

// readGroup reads the domain parameters (attrs) of the private key o
// and y, the CKA_VALUE of its public object: nil if there is none (the
// private object's CKA_VALUE is x). what names the key type in errors.
func (o *Object) readGroup(what string, attrs ...uint) (params []*big.Int, y *big.Int, err error) {
	err = o.b.run("read public key", func(c *p11.Ctx, sh p11.SessionHandle) error {
		v, err := readBig(c, sh, o.handle(), attrs...)
		if err != nil {
			return &Error{Op: "read " + what + " parameters", Token: o.b.label, Code: rv(err)}
		}
		params = v
		if v, err := publicPartner(c, sh, o, p11.CKA_VALUE); err == nil {
			y = v[0]
		}
		return nil
	})
	return params, y, err
}

// RSAKey is an RSA private key on a token.
type RSAKey struct {
	*Object
	pub *rsa.PublicKey
}

func newRSAKey(o *Object) (*RSAKey, error) {
	k := &RSAKey{Object: o}
	err := o.b.run("read public key", func(c *p11.Ctx, sh p11.SessionHandle) error {
		// The modulus and public exponent are readable on a sensitive
		// private key object; fall back to the public object.
		v, err := readBig(c, sh, o.handle(), p11.CKA_MODULUS, p11.CKA_PUBLIC_EXPONENT)
		if err != nil {
			if v, err = publicPartner(c, sh, o, p11.CKA_MODULUS, p11.CKA_PUBLIC_EXPONENT); err != nil {
				return &Error{Op: "read public key", Token: o.b.label, Detail: err.Error()}
			}
		}
		if !v[1].IsInt64() || v[1].Int64() > 1<<31-1 {
			return &Error{Op: "read public key", Token: o.b.label, Kind: ErrUnsupported, Detail: "public exponent too large"}
		}
		k.pub = &rsa.PublicKey{N: v[0], E: int(v[1].Int64())}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return k, nil
}

// Public returns the *rsa.PublicKey.
func (k *RSAKey) Public() crypto.PublicKey { return k.pub }

// DigestInfo prefixes of EMSA-PKCS1-v1_5 (RFC 8017 §9.2 note 1).
var digestInfoPrefix = map[crypto.Hash][]byte{
	crypto.MD5:    {0x30, 0x20, 0x30, 0x0c, 0x06, 0x08, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x05, 0x05, 0x00, 0x04, 0x10},
	crypto.SHA1:   {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14},
	crypto.SHA224: {0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04, 0x05, 0x00, 0x04, 0x1c},
	crypto.SHA256: {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20},
	crypto.SHA384: {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30},
	crypto.SHA512: {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40},
}

// Sign makes a PKCS#1 v1.5 signature with CKM_RSA_PKCS (the token adds the
// type-1 padding). For crypto.MD5SHA1 — SSL 3.0's 36-byte MD5‖SHA-1 — the
// digest is signed raw, with no DigestInfo, as crypto/rsa does; for other
// hashes the DigestInfo is prepended here; hash 0 signs digest as is.
// PSS is not offered.
func (k *RSAKey) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if _, ok := opts.(*rsa.PSSOptions); ok {
		return nil, &Error{Op: "sign", Token: k.b.label, Kind: ErrUnsupported, Detail: "RSA-PSS"}
	}
	var data []byte
	switch h := opts.HashFunc(); h {
	case 0:
		data = digest
	case crypto.MD5SHA1:
		if len(digest) != 36 {
			return nil, &Error{Op: "sign", Token: k.b.label, Detail: fmt.Sprintf("MD5SHA1 digest is %d bytes, want 36", len(digest))}
		}
		data = digest
	default:
		prefix, ok := digestInfoPrefix[h]
		if !ok {
			return nil, &Error{Op: "sign", Token: k.b.label, Kind: ErrUnsupported, Detail: "hash " + h.String()}
		}
		if len(digest) != h.Size() {
			return nil, &Error{Op: "sign", Token: k.b.label, Detail: fmt.Sprintf("%s digest is %d bytes, want %d", h, len(digest), h.Size())}
		}
		data = append(append(make([]byte, 0, len(prefix)+len(digest)), prefix...), digest...)
	}
	if len(data) > k.pub.Size()-11 {
		return nil, &Error{Op: "sign", Token: k.b.label, Detail: "message too long for RSA key size"}
	}
	return k.sign(p11.CKM_RSA_PKCS, data)
}

// Decrypt does PKCS#1 v1.5 decryption with CKM_RSA_PKCS. A malformed
// ciphertext (bad padding, wrong length) returns ErrDecrypt and nothing
// else: the caller substitutes its random pre-master secret. With
// *rsa.PKCS1v15DecryptOptions{SessionKeyLen: n} it behaves like crypto/rsa:
// a random n-byte key replaces any malformed or wrong-length plaintext and
// no error is returned for it. OAEP is not offered.
func (k *RSAKey) Decrypt(rand io.Reader, ciphertext []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	sessionKeyLen := 0
	switch o := opts.(type) {
	case nil:
	case *rsa.PKCS1v15DecryptOptions:
		sessionKeyLen = o.SessionKeyLen
	default:
		return nil, &Error{Op: "decrypt", Token: k.b.label, Kind: ErrUnsupported, Detail: fmt.Sprintf("options %T", opts)}
	}
	var key []byte
	if sessionKeyLen > 0 {
		key = make([]byte, sessionKeyLen)
		if _, err := io.ReadFull(rand, key); err != nil {
			return nil, err
		}
	}
	plain, err := k.decrypt(ciphertext)
	if sessionKeyLen == 0 {
		return plain, err
	}
	if err != nil && err != ErrDecrypt {
		// Operational, not data-dependent: the token is gone, the
		// Backend closed, the wait for a session timed out.
		return nil, err
	}
	ok := 0
	if err == nil {
		ok = subtle.ConstantTimeEq(int32(len(plain)), int32(sessionKeyLen))
		if ok == 1 {
			subtle.ConstantTimeCopy(ok, key, plain)
		}
	}
	return key, nil
}

// decryptFault, set only by tests, replaces the result of a real C_Decrypt
// on SoftHSM with a return code SoftHSM never gives (CKR_DEVICE_ERROR, a
// removal): fault injection on the real path, not a stub of the token.
var decryptFault func() error

func (k *RSAKey) decrypt(ciphertext []byte) ([]byte, error) {
	if len(ciphertext) != k.pub.Size() {
		return nil, ErrDecrypt
	}
	ctx, cancel := k.b.opCtx()
	defer cancel()
	var plain []byte
	op := func(c *p11.Ctx, sh p11.SessionHandle) error {
		var err error
		plain, err = opDecrypt.run(c, sh, p11.NewMechanism(p11.CKM_RSA_PKCS, nil), k.handle(), ciphertext)
		if f := decryptFault; f != nil {
			if ferr := f(); ferr != nil {
				plain, err = nil, ferr
			}
		}
		return err
	}
	err := k.b.do(ctx, "decrypt", 0, op)
	if errors.Is(err, ErrTokenUnavailable) && classify(rv(err)) == classSessionLost {
		// Our session or login went away in passing: the next call
		// reconnects first. Only if that fails does the handshake end early.
		err = k.b.do(ctx, "decrypt", 0, op)
	}
	// Only classes removed and sessionLost come back as ErrTokenUnavailable
	// (errors.go): every ambiguous code is a decryption failure here.
	switch {
	case err == nil:
		return plain, nil
	case errors.Is(err, ErrTokenUnavailable), errors.Is(err, ErrClosed):
		return nil, err
	case rv(err) == 0:
		// Not from the module: pool wait timeout and the like.
		return nil, err
	}
	// Everything else from the module (CKR_GENERAL_ERROR for bad padding on
	// SoftHSM, CKR_ENCRYPTED_DATA_INVALID elsewhere) is the same opaque error.
	return nil, ErrDecrypt
}

// DSAKey is a DSA private key on a token.
type DSAKey struct {
	*Object
	pub *dsa.PublicKey
}

func newDSAKey(o *Object) (*DSAKey, error) {
	pqg, y, err := o.readGroup("DSA", p11.CKA_PRIME, p11.CKA_SUBPRIME, p11.CKA_BASE)
	if err != nil {
		return nil, err
	}
	k := &DSAKey{Object: o, pub: &dsa.PublicKey{Parameters: dsa.Parameters{P: pqg[0], Q: pqg[1], G: pqg[2]}, Y: y}}
	if k.pub.Y == nil {
		// y lives on the public object or in the certificate.
		der, err := o.Certificate()
		if err != nil {
			return nil, &Error{Op: "read public key", Token: o.b.label, Detail: "DSA key has neither a public key object nor a certificate beside it"}
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, &Error{Op: "read public key", Token: o.b.label, Detail: "certificate: " + err.Error()}
		}
		pub, ok := cert.PublicKey.(*dsa.PublicKey)
		if !ok || pub.P.Cmp(k.pub.P) != 0 {
			return nil, &Error{Op: "read public key", Token: o.b.label, Detail: "certificate does not hold this DSA key"}
		}
		k.pub.Y = pub.Y
	}
	return k, nil
}

// Public returns the *dsa.PublicKey.
func (k *DSAKey) Public() crypto.PublicKey { return k.pub }

// Sign signs a digest (SSL 3.0: the 20-byte SHA-1) with CKM_DSA and
// converts the token's raw r‖s to a DER Dss-Sig-Value, the convention of
// token.DSAKey and crypto11. A digest longer than q is truncated to q's
// byte length first (FIPS 186: the leftmost bits).
func (k *DSAKey) Sign(_ io.Reader, digest []byte, _ crypto.SignerOpts) ([]byte, error) {
	r, s, err := k.signRS(digest)
	if err != nil {
		return nil, err
	}
	return x509legacy.MarshalDSASignature(r, s)
}

// SignRaw signs digest as Sign does and returns the signature as a
// Fortezza card gives it: the fixed-width r‖s of token.RawDSASignature
// (the DSS half of a card on a token signs with it).
func (k *DSAKey) SignRaw(digest []byte) ([]byte, error) {
	r, s, err := k.signRS(digest)
	if err != nil {
		return nil, err
	}
	return token.RawDSASignature(k.pub.Q, r, s)
}

// signRS is one CKM_DSA signature of digest (cut to q's length).
func (k *DSAKey) signRS(digest []byte) (r, s *big.Int, err error) {
	qlen := (k.pub.Q.BitLen() + 7) / 8
	if len(digest) > qlen {
		digest = digest[:qlen]
	}
	raw, err := k.sign(p11.CKM_DSA, digest)
	if err != nil {
		return nil, nil, err
	}
	if len(raw) == 0 || len(raw)%2 != 0 {
		return nil, nil, &Error{Op: "sign", Token: k.b.label, Detail: fmt.Sprintf("token returned a %d-byte DSA signature", len(raw))}
	}
	half := len(raw) / 2
	return new(big.Int).SetBytes(raw[:half]), new(big.Int).SetBytes(raw[half:]), nil
}

// DHKey is a Diffie-Hellman (PKCS#3, CKK_DH) private key on a token.
type DHKey struct {
	*Object
	pub token.DHPublicKey
}

var _ token.DHAgreer = (*DHKey)(nil)

func newDHKey(o *Object) (*DHKey, error) {
	pg, y, err := o.readGroup("DH", p11.CKA_PRIME, p11.CKA_BASE)
	if err != nil {
		return nil, err
	}
	k := &DHKey{Object: o, pub: token.DHPublicKey{DHParams: token.DHParams{P: pg[0], G: pg[1]}, Y: y}}
	if k.pub.Y == nil {
		// No public object: y = g^x mod p is one derivation with g as the
		// peer value, computed on the token without exposing x.
		y, err := k.derive(k.pub.G)
		if err != nil {
			return nil, err
		}
		k.pub.Y = new(big.Int).SetBytes(y)
	}
	return k, nil
}

// DHPublic returns the public value and domain parameters. Q is not stored
// on a CKK_DH token object: it is nil unless set by the caller.
func (k *DHKey) DHPublic() *token.DHPublicKey { return &k.pub }

// Agree derives peerY^x mod p with CKM_DH_PKCS_DERIVE into a session
// object, reads its CKA_VALUE, destroys it, and strips leading zero bytes
// (SoftHSM left-pads the value to the length of p).
func (k *DHKey) Agree(peerY *big.Int) ([]byte, error) {
	one := big.NewInt(1)
	if peerY == nil || peerY.Cmp(one) <= 0 || peerY.Cmp(new(big.Int).Sub(k.pub.P, one)) >= 0 {
		return nil, &Error{Op: "DH agree", Token: k.b.label, Detail: "peer public value out of range"}
	}
	z, err := k.derive(peerY)
	if err != nil {
		return nil, err
	}
	i := 0
	for i < len(z) && z[i] == 0 {
		i++
	}
	return z[i:], nil
}

func (k *DHKey) derive(peer *big.Int) ([]byte, error) {
	plen := (k.pub.P.BitLen() + 7) / 8
	tmpl := []*p11.Attribute{
		p11.NewAttribute(p11.CKA_CLASS, p11.CKO_SECRET_KEY),
		p11.NewAttribute(p11.CKA_KEY_TYPE, p11.CKK_GENERIC_SECRET),
		p11.NewAttribute(p11.CKA_VALUE_LEN, plen),
		p11.NewAttribute(p11.CKA_TOKEN, false),
		// The shared secret leaves the token by design (SSL 3.0 derives the
		// master secret in software), so it must be readable.
		p11.NewAttribute(p11.CKA_SENSITIVE, false),
		p11.NewAttribute(p11.CKA_EXTRACTABLE, true),
	}
	var z []byte
	err := k.b.run("DH derive", func(c *p11.Ctx, sh p11.SessionHandle) error {
		h, err := c.DeriveKey(sh, []*p11.Mechanism{p11.NewMechanism(p11.CKM_DH_PKCS_DERIVE, peer.Bytes())}, k.handle(), tmpl)
		if err != nil {
			return err
		}
		defer c.DestroyObject(sh, h)
		z, err = getAttr(c, sh, h, p11.CKA_VALUE)
		return err
	})
	if err != nil {
		return nil, wrapOp(err, "DH derive", k.b.label)
	}
	return z, nil
}

// wrapOp gives a raw module error the operation and token context.
func wrapOp(err error, op, label string) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	if c := rv(err); c != 0 {
		return &Error{Op: op, Token: label, Code: c}
	}
	return err
}

// ensure the interfaces the engine looks for.
var (
	_ crypto.Signer    = (*RSAKey)(nil)
	_ crypto.Decrypter = (*RSAKey)(nil)
	_ crypto.Signer    = (*DSAKey)(nil)
)

// singlePartOp is a PKCS#11 operation done in one call after its init:
// C_SignInit then C_Sign, and likewise for encryption and decryption.
type singlePartOp struct {
	init func(c *p11.Ctx, sh p11.SessionHandle, m []*p11.Mechanism, key p11.ObjectHandle) error
	do   func(c *p11.Ctx, sh p11.SessionHandle, in []byte) ([]byte, error)
}

var (
	opSign    = singlePartOp{(*p11.Ctx).SignInit, (*p11.Ctx).Sign}
	opEncrypt = singlePartOp{(*p11.Ctx).EncryptInit, (*p11.Ctx).Encrypt}
	opDecrypt = singlePartOp{(*p11.Ctx).DecryptInit, (*p11.Ctx).Decrypt}
)

// run starts op with mech and key on sh and runs it over in.
func (op singlePartOp) run(c *p11.Ctx, sh p11.SessionHandle, mech *p11.Mechanism, key p11.ObjectHandle, in []byte) ([]byte, error) {
	if err := op.init(c, sh, []*p11.Mechanism{mech}, key); err != nil {
		return nil, err
	}
	return op.do(c, sh, in)
}

// sign runs one C_SignInit/C_Sign with mech over data on a pooled session.
func (o *Object) sign(mech uint, data []byte) ([]byte, error) {
	sig, err := runFor(o.b, "sign", func(c *p11.Ctx, sh p11.SessionHandle) ([]byte, error) {
		return opSign.run(c, sh, p11.NewMechanism(mech, nil), o.handle(), data)
	})
	if err != nil {
		return nil, wrapOp(err, "sign", o.b.label)
	}
	return sig, nil
}
