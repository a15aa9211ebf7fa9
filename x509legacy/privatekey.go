package x509legacy

import (
	"crypto"
	"crypto/dsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"golang.org/x/crypto/cryptobyte"

	"github.com/tokenssl/tokenssl/internal/ctexp"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Private keys in the forms OpenSSL 3 and 1.x write. x509.ParsePKCS8PrivateKey
// refuses DSA and DH keys ("PKCS#8 wrapping contained private key with
// unknown algorithm"), and OpenSSL 3's genpkey writes every key as PKCS #8
// by default, so this file reads those itself and hands the rest to
// crypto/x509:
//
//	PRIVATE KEY        PKCS #8 PrivateKeyInfo (RFC 5208): RSA, EC, Ed25519
//	                   (crypto/x509); DSA (id-dsa), DH (PKCS #3
//	                   dhKeyAgreement) and X9.42 DH (dhpublicnumber) here.
//	                   The private key is an INTEGER x; y is recomputed.
//	RSA PRIVATE KEY    PKCS #1 (crypto/x509)
//	EC PRIVATE KEY     SEC 1 (crypto/x509)
//	DSA PRIVATE KEY    OpenSSL's traditional SEQUENCE { 0, p, q, g, y, x }
//	DH PRIVATE KEY     this project's SEQUENCE { p, g, y, x, q OPTIONAL }
//	                   (OpenSSL has no traditional DH private key form)
//
// Encrypted keys (ENCRYPTED PRIVATE KEY, or a traditional block with a
// Proc-Type: 4,ENCRYPTED header) are refused with ErrEncryptedKey: there
// is no passphrase to ask for here.

// Size bounds checked before any exponentiation.
const (
	maxPrivateDSAPrimeBits = maxDSAPrimeBits
	maxPrivateDHPrimeBits  = MaxDHPrimeBits
)

var (
	// ErrNoPrivateKey reports PEM data without a private key block.
	ErrNoPrivateKey = errors.New("x509legacy: no private key found")
	// ErrEncryptedKey reports an encrypted private key.
	ErrEncryptedKey = errors.New("x509legacy: encrypted private key")
)

// DHPrivateKey is a Diffie-Hellman private key: the group, the public value
// Y = G^X mod P and the private value X. Q is kept when the key carries it
// (X9.42), so that peer values can be checked against the subgroup.
type DHPrivateKey struct {
	DHPublicKey
	X *big.Int
}

// Public returns the public half.
func (k *DHPrivateKey) Public() crypto.PublicKey { return &k.DHPublicKey }

// ParsePrivateKeyPEM returns the first private key in data, skipping other
// blocks (certificates, parameters): an *rsa.PrivateKey, *ecdsa.PrivateKey,
// ed25519.PrivateKey, *dsa.PrivateKey or *DHPrivateKey. An encrypted key
// yields an error wrapping ErrEncryptedKey that says how to decrypt it; no
// key at all, ErrNoPrivateKey.
func ParsePrivateKeyPEM(data []byte) (crypto.PrivateKey, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, ErrNoPrivateKey
		}
		encrypted := block.Type == "ENCRYPTED PRIVATE KEY" ||
			strings.HasSuffix(block.Type, "PRIVATE KEY") && strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED")
		if encrypted {
			return nil, fmt.Errorf("%w (%s): decrypt it with `openssl pkey -in FILE -out FILE.plain` and use the plain file", ErrEncryptedKey, block.Type)
		}
		switch block.Type {
		case "PRIVATE KEY":
			return ParsePKCS8PrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			return orNil(x509.ParsePKCS1PrivateKey(block.Bytes))
		case "EC PRIVATE KEY":
			return orNil(x509.ParseECPrivateKey(block.Bytes))
		case "DSA PRIVATE KEY":
			return orNil(ParseDSAPrivateKey(block.Bytes))
		case "DH PRIVATE KEY":
			return orNil(ParseDHPrivateKey(block.Bytes))
		}
	}
}

// orNil returns a nil interface, not a typed nil pointer, with an error.
func orNil[K any](k K, err error) (crypto.PrivateKey, error) {
	if err != nil {
		return nil, err
	}
	return k, nil
}

// ParsePKCS8PrivateKey parses a DER PKCS #8 PrivateKeyInfo (or RFC 5958
// OneAsymmetricKey). DSA and DH keys are decoded here; every other
// algorithm goes to x509.ParsePKCS8PrivateKey.
func ParsePKCS8PrivateKey(der []byte) (crypto.PrivateKey, error) {
	in := cryptobyte.String(der)
	var seq, alg, key cryptobyte.String
	var version int64
	var oid asn1.ObjectIdentifier
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1Int64WithTag(&version, cbasn1.INTEGER) ||
		!seq.ReadASN1(&alg, cbasn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&oid) {
		return nil, fmt.Errorf("%w: PKCS #8 PrivateKeyInfo", ErrMalformed)
	}
	isDSA := oid.Equal(OIDPublicKeyDSA)
	isDH := oid.Equal(OIDDHKeyAgreement) || oid.Equal(OIDDHPublicNumber)
	if !isDSA && !isDH {
		return x509.ParsePKCS8PrivateKey(der)
	}
	// attributes [0] and publicKey [1] (v2) may follow; y is recomputed
	// from x, so both are skipped.
	if (version != 0 && version != 1) || !seq.ReadASN1(&key, cbasn1.OCTET_STRING) ||
		!seq.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!seq.SkipOptionalASN1(cbasn1.Tag(1).ContextSpecific()) || !seq.Empty() {
		return nil, fmt.Errorf("%w: PKCS #8 PrivateKeyInfo", ErrMalformed)
	}
	x := new(big.Int)
	if !key.ReadASN1Integer(x) || !key.Empty() {
		return nil, fmt.Errorf("%w: PKCS #8 private value", ErrMalformed)
	}
	if isDSA {
		dp, ok := readDSSParms(&alg)
		if !ok || !alg.Empty() {
			return nil, fmt.Errorf("%w: PKCS #8 DSA parameters", ErrMalformed)
		}
		return orNil(newDSAPrivateKey(dp, nil, x))
	}
	var params cryptobyte.String
	var tag cbasn1.Tag
	if !alg.ReadAnyASN1Element(&params, &tag) || !alg.Empty() {
		return nil, fmt.Errorf("%w: PKCS #8 DH parameters", ErrMalformed)
	}
	pub, ok := readDHParams(oid, params)
	if !ok {
		return nil, fmt.Errorf("%w: PKCS #8 DH parameters", ErrMalformed)
	}
	return orNil(newDHPrivateKey(pub, x))
}

// newDSAPrivateKey checks the key's ranges and y = g^x mod p (computing y
// when it is nil).
func newDSAPrivateKey(dp *dsa.Parameters, y, x *big.Int) (*dsa.PrivateKey, error) {
	one := big.NewInt(1)
	p, q, g := dp.P, dp.Q, dp.G
	if p.Sign() <= 0 || p.BitLen() > maxPrivateDSAPrimeBits || q.Sign() <= 0 || q.Cmp(p) >= 0 ||
		g.Cmp(one) <= 0 || g.Cmp(p) >= 0 || x.Sign() <= 0 || x.Cmp(q) >= 0 {
		return nil, errors.New("x509legacy: DSA key parameters out of range")
	}
	gx := ctexp.Exp(g, x, p, q.BitLen())
	if y == nil {
		y = gx
	} else if gx.Cmp(y) != 0 {
		return nil, errors.New("x509legacy: DSA public value does not match private value")
	}
	return &dsa.PrivateKey{PublicKey: dsa.PublicKey{Parameters: *dp, Y: y}, X: x}, nil
}

// newDHPrivateKey checks the group and 0 < x < p (x < q when q is known),
// and computes y.
func newDHPrivateKey(pub *DHPublicKey, x *big.Int) (*DHPrivateKey, error) {
	if err := pub.checkGroup(); err != nil {
		return nil, err
	}
	bound := pub.P
	if pub.Q != nil {
		bound = pub.Q
	}
	if x.Sign() <= 0 || x.Cmp(bound) >= 0 {
		return nil, errors.New("x509legacy: DH private value out of range")
	}
	y := ctexp.Exp(pub.G, x, pub.P, bound.BitLen())
	if pub.Y != nil && pub.Y.Cmp(y) != 0 {
		return nil, errors.New("x509legacy: DH public value does not match private value")
	}
	pub.Y = y
	if err := pub.check(); err != nil {
		return nil, err
	}
	return &DHPrivateKey{DHPublicKey: *pub, X: x}, nil
}

// readInts reads n INTEGERs from s.
func readInts(s *cryptobyte.String, n int) ([]*big.Int, bool) {
	out := make([]*big.Int, n)
	for i := range out {
		out[i] = new(big.Int)
		if !s.ReadASN1Integer(out[i]) {
			return nil, false
		}
	}
	return out, true
}

// ParseDSAPrivateKey parses OpenSSL's traditional "DSA PRIVATE KEY" DER:
// SEQUENCE { version 0, p, q, g, y, x INTEGER }.
func ParseDSAPrivateKey(der []byte) (*dsa.PrivateKey, error) {
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	var version int64
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1Int64WithTag(&version, cbasn1.INTEGER) || version != 0 {
		return nil, fmt.Errorf("%w: DSA private key", ErrMalformed)
	}
	v, ok := readInts(&seq, 5)
	if !ok || !seq.Empty() {
		return nil, fmt.Errorf("%w: DSA private key", ErrMalformed)
	}
	return newDSAPrivateKey(&dsa.Parameters{P: v[0], Q: v[1], G: v[2]}, v[3], v[4])
}

// MarshalDSAPrivateKey encodes k in OpenSSL's traditional "DSA PRIVATE KEY"
// DER form.
func MarshalDSAPrivateKey(k *dsa.PrivateKey) ([]byte, error) {
	if k == nil || k.P == nil || k.Q == nil || k.G == nil || k.Y == nil || k.X == nil {
		return nil, errors.New("x509legacy: incomplete DSA private key")
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(0)
		for _, v := range []*big.Int{k.P, k.Q, k.G, k.Y, k.X} {
			b.AddASN1BigInt(v)
		}
	})
	return b.Bytes()
}

// ParseDHPrivateKey parses this project's "DH PRIVATE KEY" DER:
// SEQUENCE { p, g, y, x INTEGER, q INTEGER OPTIONAL }.
func ParseDHPrivateKey(der []byte) (*DHPrivateKey, error) {
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, fmt.Errorf("%w: DH private key", ErrMalformed)
	}
	v, ok := readInts(&seq, 4)
	if !ok {
		return nil, fmt.Errorf("%w: DH private key", ErrMalformed)
	}
	pub := &DHPublicKey{P: v[0], G: v[1], Y: v[2]}
	if !seq.Empty() {
		pub.Q = new(big.Int)
		if !seq.ReadASN1Integer(pub.Q) || !seq.Empty() {
			return nil, fmt.Errorf("%w: DH private key", ErrMalformed)
		}
	}
	return newDHPrivateKey(pub, v[3])
}

// MarshalDHPrivateKey encodes k in this project's "DH PRIVATE KEY" DER
// form (read by ParseDHPrivateKey).
func MarshalDHPrivateKey(k *DHPrivateKey) ([]byte, error) {
	if k == nil || k.P == nil || k.G == nil || k.Y == nil || k.X == nil {
		return nil, errors.New("x509legacy: incomplete DH private key")
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for _, v := range []*big.Int{k.P, k.G, k.Y, k.X} {
			b.AddASN1BigInt(v)
		}
		if k.Q != nil {
			b.AddASN1BigInt(k.Q)
		}
	})
	return b.Bytes()
}
