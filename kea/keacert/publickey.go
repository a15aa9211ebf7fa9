package keacert

import (
	"crypto/dsa"
	"crypto/sha1"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"

	"github.com/tokenssl/tokenssl/kea"
)

// ParamsIDSize is the size of a KEA-Parms-Id.
const ParamsIDSize = 10

// ParamsEncoding selects how a KEA SubjectPublicKeyInfo carries the group.
type ParamsEncoding int

const (
	// ParamsByID writes the 10-byte KEA-Parms-Id (RFC 3279; the default).
	ParamsByID ParamsEncoding = iota
	// ParamsFull writes Dss-Parms {p, q, g} (non-standard for this OID).
	ParamsFull
)

// Size limits for keys read from certificates. They bound the work a
// hostile certificate can cause (DSA verification cost grows with p).
const (
	maxDSAPrimeBits = 3072
	maxValueBytes   = kea.ValueSize
)

// dssParms is Dss-Parms (RFC 3279 §2.3.2).
type dssParms struct {
	P, Q, G *big.Int
}

// publicKeyInfo is SubjectPublicKeyInfo.
type publicKeyInfo struct {
	Raw       asn1.RawContent
	Algorithm pkix.AlgorithmIdentifier
	PublicKey asn1.BitString
}

// KEAPublicKey is a KEA public value as a certificate carries it.
type KEAPublicKey struct {
	// Y is the public value.
	Y *big.Int
	// ParamsID is the group's KEA-Parms-Id; computed from Params when the
	// certificate carries the full parameters.
	ParamsID []byte
	// Params is non-nil only when the certificate carried p, q, g
	// (ParamsFull). They have passed size checks only, not Validate.
	Params *kea.Params
}

// PublicKey binds k to the group params the caller trusts: the identifier
// (and the full parameters, if present) must match params, and Y must pass
// kea.CheckPublic.
func (k *KEAPublicKey) PublicKey(params *kea.Params) (*kea.PublicKey, error) {
	id, err := ParamsID(params)
	if err != nil {
		return nil, err
	}
	if string(id) != string(k.ParamsID) || (k.Params != nil && !k.Params.Equal(params)) {
		return nil, ErrParamsMismatch
	}
	if err := kea.CheckPublic(params, k.Y); err != nil {
		return nil, err
	}
	return &kea.PublicKey{Params: kea.Params{P: params.P, Q: params.Q, G: params.G}, Y: k.Y}, nil
}

// ParamsID computes the KEA-Parms-Id of params (RFC 3279 §2.3.4): SHA-1 of
// the DER Dss-Parms {p, q, g}, with its high 80 bits XORed into its low 80
// bits.
func ParamsID(params *kea.Params) ([]byte, error) {
	if params == nil || params.P == nil || params.Q == nil || params.G == nil {
		return nil, fmt.Errorf("keacert: missing KEA parameters")
	}
	der, err := asn1.Marshal(dssParms{params.P, params.Q, params.G})
	if err != nil {
		return nil, fmt.Errorf("keacert: encoding KEA parameters: %w", err)
	}
	h := sha1.Sum(der)
	id := make([]byte, ParamsIDSize)
	for i := range id {
		id[i] = h[i] ^ h[i+ParamsIDSize]
	}
	return id, nil
}

// MarshalKEAPublicKey returns the DER SubjectPublicKeyInfo for pub.
func MarshalKEAPublicKey(pub *kea.PublicKey, enc ParamsEncoding) ([]byte, error) {
	spki, err := keaPublicKeyInfo(pub, enc)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(*spki)
}

func keaPublicKeyInfo(pub *kea.PublicKey, enc ParamsEncoding) (*publicKeyInfo, error) {
	if pub == nil {
		return nil, fmt.Errorf("keacert: nil KEA public key")
	}
	y, err := kea.EncodeValue(pub.Y)
	if err != nil || pub.Y.Sign() <= 0 {
		return nil, fmt.Errorf("keacert: KEA public value must be positive and fit in %d bytes", kea.ValueSize)
	}
	var params []byte
	switch enc {
	case ParamsByID:
		id, err := ParamsID(&pub.Params)
		if err != nil {
			return nil, err
		}
		params, err = asn1.Marshal(id)
		if err != nil {
			return nil, err
		}
	case ParamsFull:
		if pub.P == nil || pub.Q == nil || pub.G == nil {
			return nil, fmt.Errorf("keacert: missing KEA parameters")
		}
		params, err = asn1.Marshal(dssParms{pub.P, pub.Q, pub.G})
		if err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("keacert: unknown ParamsEncoding %d", enc)
	}
	return &publicKeyInfo{
		Algorithm: pkix.AlgorithmIdentifier{
			Algorithm:  OIDKeyExchangeAlgorithm,
			Parameters: asn1.RawValue{FullBytes: params},
		},
		PublicKey: asn1.BitString{Bytes: y, BitLength: 8 * len(y)},
	}, nil
}

// MarshalDSAPublicKey returns the DER SubjectPublicKeyInfo for a DSA key
// (RFC 3279 §2.3.2: Dss-Parms parameters, INTEGER y).
func MarshalDSAPublicKey(pub *dsa.PublicKey) ([]byte, error) {
	spki, err := dsaPublicKeyInfo(pub)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(*spki)
}

func dsaPublicKeyInfo(pub *dsa.PublicKey) (*publicKeyInfo, error) {
	if pub == nil || pub.Y == nil || pub.P == nil || pub.Q == nil || pub.G == nil {
		return nil, fmt.Errorf("keacert: incomplete DSA public key")
	}
	params, err := asn1.Marshal(dssParms{pub.P, pub.Q, pub.G})
	if err != nil {
		return nil, err
	}
	y, err := asn1.Marshal(pub.Y)
	if err != nil {
		return nil, err
	}
	return &publicKeyInfo{
		Algorithm: pkix.AlgorithmIdentifier{
			Algorithm:  OIDPublicKeyDSA,
			Parameters: asn1.RawValue{FullBytes: params},
		},
		PublicKey: asn1.BitString{Bytes: y, BitLength: 8 * len(y)},
	}, nil
}

// ParsePublicKey parses a DER SubjectPublicKeyInfo holding a KEA key
// (returned as *KEAPublicKey) or a DSA key (*dsa.PublicKey). Other
// algorithms yield ErrUnsupportedKey.
func ParsePublicKey(der []byte) (any, error) {
	var spki publicKeyInfo
	if err := unmarshalExact(der, &spki); err != nil {
		return nil, fmt.Errorf("%w: SubjectPublicKeyInfo: %v", ErrMalformed, err)
	}
	return parsePublicKeyInfo(&spki)
}

// ParseKEAPublicKey parses a DER SubjectPublicKeyInfo that must hold a KEA
// key.
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

func parsePublicKeyInfo(spki *publicKeyInfo) (any, error) {
	switch {
	case spki.Algorithm.Algorithm.Equal(OIDKeyExchangeAlgorithm):
		return parseKEA(spki)
	case spki.Algorithm.Algorithm.Equal(OIDPublicKeyDSA):
		return parseDSA(spki)
	}
	return nil, fmt.Errorf("%w: %v", ErrUnsupportedKey, spki.Algorithm.Algorithm)
}

func parseKEA(spki *publicKeyInfo) (*KEAPublicKey, error) {
	bits := spki.PublicKey
	if bits.BitLength%8 != 0 || len(bits.Bytes) == 0 || len(bits.Bytes) > maxValueBytes {
		return nil, fmt.Errorf("%w: KEA public value must be 1 to %d whole bytes", ErrMalformed, maxValueBytes)
	}
	k := &KEAPublicKey{Y: new(big.Int).SetBytes(bits.Bytes)}
	if k.Y.Sign() == 0 {
		return nil, fmt.Errorf("%w: KEA public value is zero", ErrMalformed)
	}
	raw := spki.Algorithm.Parameters
	switch {
	case raw.Class == asn1.ClassUniversal && raw.Tag == asn1.TagOctetString && !raw.IsCompound:
		var id []byte
		if err := unmarshalExact(raw.FullBytes, &id); err != nil {
			return nil, fmt.Errorf("%w: KEA-Parms-Id: %v", ErrMalformed, err)
		}
		if len(id) != ParamsIDSize {
			return nil, fmt.Errorf("%w: KEA-Parms-Id is %d bytes, want %d", ErrMalformed, len(id), ParamsIDSize)
		}
		k.ParamsID = id
	case raw.Class == asn1.ClassUniversal && raw.Tag == asn1.TagSequence && raw.IsCompound:
		var dp dssParms
		if err := unmarshalExact(raw.FullBytes, &dp); err != nil {
			return nil, fmt.Errorf("%w: KEA Dss-Parms: %v", ErrMalformed, err)
		}
		params := &kea.Params{P: dp.P, Q: dp.Q, G: dp.G}
		if params.P.BitLen() != kea.PrimeBits || params.Q.BitLen() != kea.SubprimeBits ||
			params.P.Sign() <= 0 || params.Q.Sign() <= 0 ||
			params.G.Cmp(big.NewInt(1)) <= 0 || params.G.Cmp(params.P) >= 0 {
			return nil, fmt.Errorf("%w: KEA parameters are not a 1024/160 group", ErrMalformed)
		}
		if k.Y.Cmp(params.P) >= 0 {
			return nil, fmt.Errorf("%w: KEA public value not below p", ErrMalformed)
		}
		id, err := ParamsID(params)
		if err != nil {
			return nil, err
		}
		k.Params, k.ParamsID = params, id
	default:
		return nil, fmt.Errorf("%w: KEA parameters must be an OCTET STRING or Dss-Parms", ErrMalformed)
	}
	return k, nil
}

func parseDSA(spki *publicKeyInfo) (*dsa.PublicKey, error) {
	if spki.PublicKey.BitLength%8 != 0 {
		return nil, fmt.Errorf("%w: DSA public key has partial bytes", ErrMalformed)
	}
	y := new(big.Int)
	if err := unmarshalExact(spki.PublicKey.Bytes, &y); err != nil {
		return nil, fmt.Errorf("%w: DSA public key: %v", ErrMalformed, err)
	}
	var dp dssParms
	if err := unmarshalExact(spki.Algorithm.Parameters.FullBytes, &dp); err != nil {
		return nil, fmt.Errorf("%w: DSA parameters: %v", ErrMalformed, err)
	}
	one := big.NewInt(1)
	switch {
	case dp.P.Sign() <= 0 || dp.P.BitLen() > maxDSAPrimeBits:
		return nil, fmt.Errorf("%w: DSA p must be positive and at most %d bits", ErrMalformed, maxDSAPrimeBits)
	case dp.Q.BitLen() != 160 && dp.Q.BitLen() != 224 && dp.Q.BitLen() != 256, dp.Q.Sign() <= 0:
		return nil, fmt.Errorf("%w: DSA q must be 160, 224 or 256 bits", ErrMalformed)
	case dp.G.Cmp(one) <= 0 || dp.G.Cmp(dp.P) >= 0:
		return nil, fmt.Errorf("%w: DSA g not in (1, p)", ErrMalformed)
	case y.Cmp(one) <= 0 || y.Cmp(dp.P) >= 0:
		return nil, fmt.Errorf("%w: DSA y not in (1, p)", ErrMalformed)
	}
	return &dsa.PublicKey{Parameters: dsa.Parameters{P: dp.P, Q: dp.Q, G: dp.G}, Y: y}, nil
}

// unmarshalExact is asn1.Unmarshal that also rejects trailing bytes.
func unmarshalExact(der []byte, v any) error {
	rest, err := asn1.Unmarshal(der, v)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return fmt.Errorf("%d trailing bytes", len(rest))
	}
	return nil
}
