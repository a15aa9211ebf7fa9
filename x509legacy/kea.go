package x509legacy

import (
	"crypto/dsa"
	"crypto/sha1"
	"fmt"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// KEA public keys in certificates, following RFC 2528 / RFC 3279 §2.3.4 (as
// NSS decodes `.22` keys):
//
//	algorithm   id-keyExchangeAlgorithm
//	parameters  KEA-Parms-Id ::= OCTET STRING (SIZE (10))
//	subjectPublicKey BIT STRING: the public value Y itself, MSB first,
//	            no INTEGER wrapper
//
// The KEA-Parms-Id (domain identifier) is computed as RFC 3279 describes:
// SHA-1 over the DER Dss-Parms {p, q, g}, then the high 80 bits XOR the low
// 80 bits (see KEAParamsID). An identifier cannot be turned back into p, q,
// g, so a peer must already know the group; the SSL layer matches
// identifiers against its configured groups (kea.CertificatePublicKey).
//
// Choice: because a test peer or emulator may not know the group in advance,
// KEAParamsFull instead puts the full Dss-Parms SEQUENCE {p, q, g} into the
// parameters field (the same shape as a DSA key's parameters). This is not
// in RFC 3279 for `.22`, and NSS would not accept it, so the default is
// KEAParamsByID. The parser accepts both.
//
// Y is written as the fixed 128-byte big-endian string of the Fortezza
// card (CI_Y), which NSS copies verbatim into the card's KEA derive; shorter
// encodings with the leading zero bytes stripped are accepted on input.
//
// Older MISSI forms (.10 KEA, .20 KEA+DSS, the v1 Fortezza key blob) are not
// supported.

// KEA group sizes (package kea holds the arithmetic; these bound parsing).
const (
	// KEAValueSize is the size of Y in its fixed-length big-endian form.
	KEAValueSize    = 128
	keaPrimeBits    = 1024
	keaSubprimeBits = 160
)

// KEAParamsIDSize is the size of a KEA-Parms-Id.
const KEAParamsIDSize = 10

// KEAParamsEncoding selects how a KEA SubjectPublicKeyInfo carries the group.
type KEAParamsEncoding int

const (
	// KEAParamsByID writes the 10-byte KEA-Parms-Id (RFC 3279; the default).
	KEAParamsByID KEAParamsEncoding = iota
	// KEAParamsFull writes Dss-Parms {p, q, g} (non-standard for this OID).
	KEAParamsFull
)

// KEAPublicKey is a KEA public value as a certificate carries it.
type KEAPublicKey struct {
	// Y is the public value.
	Y *big.Int
	// ParamsID is the group's KEA-Parms-Id; computed from Params when the
	// certificate carries the full parameters.
	ParamsID []byte
	// Params is non-nil only when the certificate carried p, q, g
	// (KEAParamsFull). They have passed size checks only, not validation.
	Params *dsa.Parameters
}

// MatchParams reports whether k belongs to the group params the caller
// trusts: the identifier (and the full parameters, if present) must match,
// else the error wraps ErrParamsMismatch. It does not check Y against the
// group (kea.CertificatePublicKey does both).
func (k *KEAPublicKey) MatchParams(params *dsa.Parameters) error {
	id, err := KEAParamsID(params)
	if err != nil {
		return err
	}
	if string(id) != string(k.ParamsID) || (k.Params != nil && !paramsEqual(k.Params, params)) {
		return ErrParamsMismatch
	}
	return nil
}

func paramsEqual(a, b *dsa.Parameters) bool {
	return a.P.Cmp(b.P) == 0 && a.Q.Cmp(b.Q) == 0 && a.G.Cmp(b.G) == 0
}

// KEAParamsID computes the KEA-Parms-Id of params (RFC 3279 §2.3.4): SHA-1
// of the DER Dss-Parms {p, q, g}, with its high 80 bits XORed into its low
// 80 bits.
func KEAParamsID(params *dsa.Parameters) ([]byte, error) {
	if params == nil || params.P == nil || params.Q == nil || params.G == nil {
		return nil, fmt.Errorf("x509legacy: missing KEA parameters")
	}
	var b cryptobyte.Builder
	addDSSParms(&b, params)
	der, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("x509legacy: encoding KEA parameters: %w", err)
	}
	h := sha1.Sum(der)
	id := make([]byte, KEAParamsIDSize)
	for i := range id {
		id[i] = h[i] ^ h[i+KEAParamsIDSize]
	}
	return id, nil
}

// MarshalKEAPublicKey returns the DER SubjectPublicKeyInfo for the KEA
// public value y in the group params.
func MarshalKEAPublicKey(params *dsa.Parameters, y *big.Int, enc KEAParamsEncoding) ([]byte, error) {
	if y == nil || y.Sign() <= 0 || y.BitLen() > 8*KEAValueSize {
		return nil, fmt.Errorf("x509legacy: KEA public value must be positive and fit in %d bytes", KEAValueSize)
	}
	var addParams func(*cryptobyte.Builder)
	switch enc {
	case KEAParamsByID:
		id, err := KEAParamsID(params)
		if err != nil {
			return nil, err
		}
		addParams = func(b *cryptobyte.Builder) { b.AddASN1OctetString(id) }
	case KEAParamsFull:
		if params == nil || params.P == nil || params.Q == nil || params.G == nil {
			return nil, fmt.Errorf("x509legacy: missing KEA parameters")
		}
		addParams = func(b *cryptobyte.Builder) { addDSSParms(b, params) }
	default:
		return nil, fmt.Errorf("x509legacy: unknown KEAParamsEncoding %d", enc)
	}
	return marshalSPKI(OIDKeyExchangeAlgorithm, addParams, y.FillBytes(make([]byte, KEAValueSize)))
}

// ParsePublicKey parses a DER SubjectPublicKeyInfo holding a KEA key
// (returned as *KEAPublicKey), a DSA key (*dsa.PublicKey) or a DH key
// (*DHPublicKey). Other algorithms yield ErrUnsupportedKey.
func ParsePublicKey(der []byte) (any, error) {
	oid, params, bits, ok := readSPKI(der)
	if !ok {
		return nil, fmt.Errorf("%w: SubjectPublicKeyInfo", ErrMalformed)
	}
	switch {
	case oid.Equal(OIDKeyExchangeAlgorithm):
		return parseKEAKey(params, bits)
	case oid.Equal(OIDPublicKeyDSA):
		return parseDSAKey(params, bits)
	case oid.Equal(OIDDHPublicNumber), oid.Equal(OIDDHKeyAgreement):
		return ParseDHPublicKey(der)
	}
	return nil, fmt.Errorf("%w: %v", ErrUnsupportedKey, oid)
}

// ParseKEAPublicKey parses a DER SubjectPublicKeyInfo that must hold a KEA
// key. Code that holds a *x509.Certificate (crypto/x509 parses KEA
// certificates, leaving the key undecoded) passes
// cert.RawSubjectPublicKeyInfo.
func ParseKEAPublicKey(der []byte) (*KEAPublicKey, error) {
	k, err := ParsePublicKey(der)
	if err != nil {
		return nil, err
	}
	kk, ok := k.(*KEAPublicKey)
	if !ok {
		return nil, ErrNotKEA
	}
	return kk, nil
}

func parseKEAKey(params cryptobyte.String, bits []byte) (*KEAPublicKey, error) {
	if len(bits) == 0 || len(bits) > KEAValueSize {
		return nil, fmt.Errorf("%w: KEA public value must be 1 to %d whole bytes", ErrMalformed, KEAValueSize)
	}
	k := &KEAPublicKey{Y: new(big.Int).SetBytes(bits)}
	if k.Y.Sign() == 0 {
		return nil, fmt.Errorf("%w: KEA public value is zero", ErrMalformed)
	}
	switch {
	case params.PeekASN1Tag(cbasn1.OCTET_STRING):
		var id cryptobyte.String
		if !params.ReadASN1(&id, cbasn1.OCTET_STRING) || !params.Empty() {
			return nil, fmt.Errorf("%w: KEA-Parms-Id", ErrMalformed)
		}
		if len(id) != KEAParamsIDSize {
			return nil, fmt.Errorf("%w: KEA-Parms-Id is %d bytes, want %d", ErrMalformed, len(id), KEAParamsIDSize)
		}
		k.ParamsID = []byte(id)
	case params.PeekASN1Tag(cbasn1.SEQUENCE):
		dp, ok := readDSSParms(&params)
		if !ok || !params.Empty() {
			return nil, fmt.Errorf("%w: KEA Dss-Parms", ErrMalformed)
		}
		if dp.P.BitLen() != keaPrimeBits || dp.Q.BitLen() != keaSubprimeBits ||
			dp.P.Sign() <= 0 || dp.Q.Sign() <= 0 ||
			dp.G.Cmp(big.NewInt(1)) <= 0 || dp.G.Cmp(dp.P) >= 0 {
			return nil, fmt.Errorf("%w: KEA parameters are not a 1024/160 group", ErrMalformed)
		}
		if k.Y.Cmp(dp.P) >= 0 {
			return nil, fmt.Errorf("%w: KEA public value not below p", ErrMalformed)
		}
		id, err := KEAParamsID(dp)
		if err != nil {
			return nil, err
		}
		k.Params, k.ParamsID = dp, id
	default:
		return nil, fmt.Errorf("%w: KEA parameters must be an OCTET STRING or Dss-Parms", ErrMalformed)
	}
	return k, nil
}
