package keacert

import (
	"bytes"
	"crypto/dsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"time"

	"github.com/tokenssl/tokenssl/kea"
)

// certificate is Certificate (RFC 5280 §4.1).
type certificate struct {
	TBSCertificate     asn1.RawValue
	SignatureAlgorithm pkix.AlgorithmIdentifier
	SignatureValue     asn1.BitString
}

// tbsCertificate is TBSCertificate (RFC 5280 §4.1).
type tbsCertificate struct {
	Raw                asn1.RawContent
	Version            int `asn1:"optional,explicit,default:0,tag:0"`
	SerialNumber       *big.Int
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Issuer             asn1.RawValue
	Validity           validity
	Subject            asn1.RawValue
	PublicKey          publicKeyInfo
	IssuerUniqueID     asn1.BitString   `asn1:"optional,tag:1"`
	SubjectUniqueID    asn1.BitString   `asn1:"optional,tag:2"`
	Extensions         []pkix.Extension `asn1:"omitempty,optional,explicit,tag:3"`
}

type validity struct {
	NotBefore, NotAfter time.Time
}

type basicConstraints struct {
	IsCA       bool `asn1:"optional"`
	MaxPathLen int  `asn1:"optional,default:-1"`
}

type authorityKeyID struct {
	ID []byte `asn1:"optional,tag:0"`
}

// Certificate is a parsed X.509 certificate as far as the Fortezza
// handshake needs one.
type Certificate struct {
	Raw                     []byte // complete DER
	RawTBSCertificate       []byte // the signed part
	RawSubjectPublicKeyInfo []byte
	RawSubject              []byte // DER Name, for exact issuer matching
	RawIssuer               []byte

	Version      int // 1, 2 or 3
	SerialNumber *big.Int
	Subject      pkix.Name
	Issuer       pkix.Name
	NotBefore    time.Time
	NotAfter     time.Time

	// PublicKeyAlgorithm is the SubjectPublicKeyInfo algorithm OID.
	// PublicKey is *KEAPublicKey, *dsa.PublicKey, or nil for other
	// algorithms (which are kept, not rejected, like crypto/x509 does).
	PublicKeyAlgorithm asn1.ObjectIdentifier
	PublicKey          any

	SignatureAlgorithm asn1.ObjectIdentifier
	Signature          []byte

	BasicConstraintsValid bool
	IsCA                  bool
	KeyUsage              x509.KeyUsage // 0 if the extension is absent
	SubjectKeyID          []byte
	AuthorityKeyID        []byte
	Extensions            []pkix.Extension
}

// KEACertificate is a certificate that carries a KEA public key.
type KEACertificate struct {
	Certificate
	// Y is the KEA public value.
	Y *big.Int
	// ParamsID is the 10-byte KEA-Parms-Id of the group.
	ParamsID []byte
	// Params is non-nil only if the certificate carries p, q, g in full.
	// They have passed size checks only; call Validate before trusting them.
	Params *kea.Params
	// KEA is the parsed key; KEA.PublicKey binds it to a trusted group.
	KEA *KEAPublicKey
}

// ParseKEACertificate parses a DER certificate that must carry a KEA key
// (id-keyExchangeAlgorithm). It does not verify the signature; use
// VerifyDSASignature.
func ParseKEACertificate(der []byte) (*KEACertificate, error) {
	c, err := ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	k, ok := c.PublicKey.(*KEAPublicKey)
	if !ok {
		return nil, fmt.Errorf("%w (algorithm %v)", ErrNotKEA, c.PublicKeyAlgorithm)
	}
	return &KEACertificate{Certificate: *c, Y: k.Y, ParamsID: k.ParamsID, Params: k.Params, KEA: k}, nil
}

// ParseDSACertificate parses a DER certificate that must carry a DSA key.
func ParseDSACertificate(der []byte) (*Certificate, *dsa.PublicKey, error) {
	c, err := ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	pub, ok := c.PublicKey.(*dsa.PublicKey)
	if !ok {
		return nil, nil, fmt.Errorf("%w: want a DSA key, have %v", ErrUnsupportedKey, c.PublicKeyAlgorithm)
	}
	return c, pub, nil
}

// ParseCertificate parses a DER X.509 certificate. KEA and DSA public keys
// are decoded; other key algorithms leave PublicKey nil. The signature is
// not verified.
func ParseCertificate(der []byte) (*Certificate, error) {
	var cert certificate
	if err := unmarshalExact(der, &cert); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	var tbs tbsCertificate
	if err := unmarshalExact(cert.TBSCertificate.FullBytes, &tbs); err != nil {
		return nil, fmt.Errorf("%w: TBSCertificate: %v", ErrMalformed, err)
	}
	if tbs.Version < 0 || tbs.Version > 2 {
		return nil, fmt.Errorf("%w: unknown version %d", ErrMalformed, tbs.Version+1)
	}
	if !algorithmsEqual(tbs.SignatureAlgorithm, cert.SignatureAlgorithm) {
		return nil, fmt.Errorf("%w: inner and outer signature algorithms differ", ErrMalformed)
	}
	if cert.SignatureValue.BitLength%8 != 0 {
		return nil, fmt.Errorf("%w: signature has partial bytes", ErrMalformed)
	}
	c := &Certificate{
		Raw:                     der,
		RawTBSCertificate:       cert.TBSCertificate.FullBytes,
		RawSubjectPublicKeyInfo: tbs.PublicKey.Raw,
		RawSubject:              tbs.Subject.FullBytes,
		RawIssuer:               tbs.Issuer.FullBytes,
		Version:                 tbs.Version + 1,
		SerialNumber:            tbs.SerialNumber,
		NotBefore:               tbs.Validity.NotBefore,
		NotAfter:                tbs.Validity.NotAfter,
		PublicKeyAlgorithm:      tbs.PublicKey.Algorithm.Algorithm,
		SignatureAlgorithm:      cert.SignatureAlgorithm.Algorithm,
		Signature:               cert.SignatureValue.Bytes,
		Extensions:              tbs.Extensions,
	}
	if err := parseName(c.RawSubject, &c.Subject); err != nil {
		return nil, fmt.Errorf("%w: subject: %v", ErrMalformed, err)
	}
	if err := parseName(c.RawIssuer, &c.Issuer); err != nil {
		return nil, fmt.Errorf("%w: issuer: %v", ErrMalformed, err)
	}
	pub, err := parsePublicKeyInfo(&tbs.PublicKey)
	switch {
	case err == nil:
		c.PublicKey = pub
	case c.PublicKeyAlgorithm.Equal(OIDKeyExchangeAlgorithm) || c.PublicKeyAlgorithm.Equal(OIDPublicKeyDSA):
		return nil, err
	}
	if err := c.parseExtensions(); err != nil {
		return nil, err
	}
	return c, nil
}

func parseName(der []byte, name *pkix.Name) error {
	var rdn pkix.RDNSequence
	if err := unmarshalExact(der, &rdn); err != nil {
		return err
	}
	name.FillFromRDNSequence(&rdn)
	return nil
}

func (c *Certificate) parseExtensions() error {
	seen := make(map[string]bool)
	for _, e := range c.Extensions {
		key := e.Id.String()
		if seen[key] {
			return fmt.Errorf("%w: duplicate extension %s", ErrMalformed, key)
		}
		seen[key] = true
		var err error
		switch {
		case e.Id.Equal(oidExtBasicConstraint):
			var bc basicConstraints
			if err = unmarshalExact(e.Value, &bc); err == nil {
				c.BasicConstraintsValid, c.IsCA = true, bc.IsCA
			}
		case e.Id.Equal(oidExtKeyUsage):
			var bits asn1.BitString
			if err = unmarshalExact(e.Value, &bits); err == nil {
				for i := range 9 {
					if bits.At(i) != 0 {
						c.KeyUsage |= 1 << i
					}
				}
			}
		case e.Id.Equal(oidExtSubjectKeyID):
			err = unmarshalExact(e.Value, &c.SubjectKeyID)
		case e.Id.Equal(oidExtAuthorityKeyID):
			var aki authorityKeyID
			if err = unmarshalExact(e.Value, &aki); err == nil {
				c.AuthorityKeyID = aki.ID
			}
		}
		if err != nil {
			return fmt.Errorf("%w: extension %s: %v", ErrMalformed, key, err)
		}
	}
	return nil
}

// CheckValidity reports an error if now is outside [NotBefore, NotAfter].
func (c *Certificate) CheckValidity(now time.Time) error {
	if now.Before(c.NotBefore) {
		return fmt.Errorf("keacert: certificate not valid before %v", c.NotBefore)
	}
	if now.After(c.NotAfter) {
		return fmt.Errorf("keacert: certificate expired at %v", c.NotAfter)
	}
	return nil
}

// algorithmsEqual compares AlgorithmIdentifiers, treating absent and NULL
// parameters as equal (both occur for dsa-with-sha1 in the wild).
func algorithmsEqual(a, b pkix.AlgorithmIdentifier) bool {
	norm := func(p asn1.RawValue) []byte {
		if bytes.Equal(p.FullBytes, asn1.NullBytes) {
			return nil
		}
		return p.FullBytes
	}
	return a.Algorithm.Equal(b.Algorithm) && bytes.Equal(norm(a.Parameters), norm(b.Parameters))
}
