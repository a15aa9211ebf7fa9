package x509legacy

import (
	"bytes"
	"crypto/dsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Certificate is a parsed X.509 certificate as far as the Fortezza
// handshake needs one: unlike *x509.Certificate it decodes KEA keys and its
// CheckSignatureFrom verifies DSA signatures. (For DSA and DH chains of
// the other suites, crypto/x509 parses and chain.go verifies.)
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
	// PublicKey is *KEAPublicKey, *dsa.PublicKey, *DHPublicKey, or nil for
	// other algorithms (which are kept, not rejected, like crypto/x509
	// does).
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
	// They have passed size checks only; validate them before trusting them.
	Params *dsa.Parameters
	// KEA is the parsed key; kea.CertificatePublicKey binds it to a
	// trusted group.
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

// ParseCertificate parses a DER X.509 certificate (RFC 5280 §4.1). KEA,
// DSA and DH public keys are decoded; other key algorithms leave PublicKey
// nil. The signature is not verified.
func ParseCertificate(der []byte) (*Certificate, error) {
	malformed := func(what string) error { return fmt.Errorf("%w: %s", ErrMalformed, what) }
	in := cryptobyte.String(der)
	var cert, tbs, sigAlg cryptobyte.String
	var rawTBS cryptobyte.String
	var sigBits asn1.BitString
	if !in.ReadASN1(&cert, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, malformed("certificate")
	}
	if !cert.ReadASN1Element(&rawTBS, cbasn1.SEQUENCE) ||
		!cert.ReadASN1Element(&sigAlg, cbasn1.SEQUENCE) ||
		!cert.ReadASN1BitString(&sigBits) || !cert.Empty() {
		return nil, malformed("certificate")
	}
	if sigBits.BitLength%8 != 0 {
		return nil, malformed("signature has partial bytes")
	}
	c := &Certificate{Raw: der, RawTBSCertificate: rawTBS, Signature: sigBits.Bytes, SerialNumber: new(big.Int)}
	tbs = rawTBS
	if !tbs.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		return nil, malformed("TBSCertificate")
	}
	var version int64
	var hasVersion bool
	var versionField cryptobyte.String
	tagVersion := cbasn1.Tag(0).Constructed().ContextSpecific()
	if !tbs.ReadOptionalASN1(&versionField, &hasVersion, tagVersion) {
		return nil, malformed("TBSCertificate version")
	}
	if hasVersion && (!versionField.ReadASN1Int64WithTag(&version, cbasn1.INTEGER) || !versionField.Empty()) {
		return nil, malformed("TBSCertificate version")
	}
	if version < 0 || version > 2 {
		return nil, fmt.Errorf("%w: unknown version %d", ErrMalformed, version+1)
	}
	c.Version = int(version) + 1
	var innerAlg, validity, spki cryptobyte.String
	var rawIssuer, rawSubject cryptobyte.String
	if !tbs.ReadASN1Integer(c.SerialNumber) ||
		!tbs.ReadASN1Element(&innerAlg, cbasn1.SEQUENCE) ||
		!tbs.ReadASN1Element(&rawIssuer, cbasn1.SEQUENCE) ||
		!tbs.ReadASN1(&validity, cbasn1.SEQUENCE) ||
		!tbs.ReadASN1Element(&rawSubject, cbasn1.SEQUENCE) ||
		!tbs.ReadASN1Element(&spki, cbasn1.SEQUENCE) {
		return nil, malformed("TBSCertificate")
	}
	outerOID, outerParams, ok1 := readAlgorithm(sigAlg)
	innerOID, innerParams, ok2 := readAlgorithm(innerAlg)
	if !ok1 || !ok2 {
		return nil, malformed("signature algorithm")
	}
	if !outerOID.Equal(innerOID) || !bytes.Equal(normParams(outerParams), normParams(innerParams)) {
		return nil, malformed("inner and outer signature algorithms differ")
	}
	c.SignatureAlgorithm = outerOID
	var err error
	if c.NotBefore, c.NotAfter, err = readValidity(validity); err != nil {
		return nil, err
	}
	c.RawIssuer, c.RawSubject, c.RawSubjectPublicKeyInfo = rawIssuer, rawSubject, spki
	if err := parseName(rawSubject, &c.Subject); err != nil {
		return nil, fmt.Errorf("%w: subject: %v", ErrMalformed, err)
	}
	if err := parseName(rawIssuer, &c.Issuer); err != nil {
		return nil, fmt.Errorf("%w: issuer: %v", ErrMalformed, err)
	}
	// issuerUniqueID [1] and subjectUniqueID [2]: skipped.
	for _, tag := range []cbasn1.Tag{cbasn1.Tag(1).ContextSpecific(), cbasn1.Tag(2).ContextSpecific()} {
		if !tbs.SkipOptionalASN1(tag) {
			return nil, malformed("TBSCertificate unique ID")
		}
	}
	var extsField cryptobyte.String
	var hasExts bool
	if !tbs.ReadOptionalASN1(&extsField, &hasExts, cbasn1.Tag(3).Constructed().ContextSpecific()) || !tbs.Empty() {
		return nil, malformed("TBSCertificate")
	}
	if hasExts {
		var exts cryptobyte.String
		if !extsField.ReadASN1(&exts, cbasn1.SEQUENCE) || !extsField.Empty() {
			return nil, malformed("extensions")
		}
		for !exts.Empty() {
			var ext cryptobyte.String
			var e pkix.Extension
			var value cryptobyte.String
			if !exts.ReadASN1(&ext, cbasn1.SEQUENCE) || !ext.ReadASN1ObjectIdentifier(&e.Id) ||
				!readOptionalBool(&ext, &e.Critical) ||
				!ext.ReadASN1(&value, cbasn1.OCTET_STRING) || !ext.Empty() {
				return nil, malformed("extension")
			}
			e.Value = value
			c.Extensions = append(c.Extensions, e)
		}
	}

	oid, _, _, ok := readSPKI(spki)
	if !ok {
		return nil, malformed("SubjectPublicKeyInfo")
	}
	c.PublicKeyAlgorithm = oid
	pub, err := ParsePublicKey(spki)
	switch {
	case err == nil:
		c.PublicKey = pub
	case oid.Equal(OIDKeyExchangeAlgorithm) || oid.Equal(OIDPublicKeyDSA):
		return nil, err
	}
	if err := c.parseExtensions(); err != nil {
		return nil, err
	}
	return c, nil
}

// readOptionalBool reads a BOOLEAN DEFAULT FALSE. (cryptobyte's
// ReadOptionalASN1Boolean expects an EXPLICIT tag, so it does not serve.)
func readOptionalBool(s *cryptobyte.String, out *bool) bool {
	*out = false
	return !s.PeekASN1Tag(cbasn1.BOOLEAN) || s.ReadASN1Boolean(out)
}

// readAlgorithm splits an AlgorithmIdentifier element into its OID and its
// parameters element (nil if absent).
func readAlgorithm(alg cryptobyte.String) (asn1.ObjectIdentifier, []byte, bool) {
	var seq, params cryptobyte.String
	var oid asn1.ObjectIdentifier
	var tag cbasn1.Tag
	if !alg.ReadASN1(&seq, cbasn1.SEQUENCE) || !alg.Empty() || !seq.ReadASN1ObjectIdentifier(&oid) {
		return nil, nil, false
	}
	if !seq.Empty() && (!seq.ReadAnyASN1Element(&params, &tag) || !seq.Empty()) {
		return nil, nil, false
	}
	return oid, params, true
}

// normParams treats absent and NULL parameters as equal (both occur for
// dsa-with-sha1 in the wild).
func normParams(p []byte) []byte {
	if bytes.Equal(p, []byte{0x05, 0x00}) {
		return nil
	}
	return p
}

func readValidity(v cryptobyte.String) (notBefore, notAfter time.Time, err error) {
	read := func(t *time.Time) bool {
		switch {
		case v.PeekASN1Tag(cbasn1.UTCTime):
			return v.ReadASN1UTCTime(t)
		case v.PeekASN1Tag(cbasn1.GeneralizedTime):
			return v.ReadASN1GeneralizedTime(t)
		}
		return false
	}
	if !read(&notBefore) || !read(&notAfter) || !v.Empty() {
		return notBefore, notAfter, fmt.Errorf("%w: validity", ErrMalformed)
	}
	return notBefore, notAfter, nil
}

// parseName decodes a DER Name (RDNSequence) the way crypto/x509 does.
func parseName(der []byte, name *pkix.Name) error {
	raw := cryptobyte.String(der)
	var seq cryptobyte.String
	if !raw.ReadASN1(&seq, cbasn1.SEQUENCE) || !raw.Empty() {
		return errors.New("invalid RDNSequence")
	}
	var rdns pkix.RDNSequence
	for !seq.Empty() {
		var set cryptobyte.String
		var rdn pkix.RelativeDistinguishedNameSET
		if !seq.ReadASN1(&set, cbasn1.SET) {
			return errors.New("invalid RDNSequence")
		}
		for !set.Empty() {
			var atv, value cryptobyte.String
			var attr pkix.AttributeTypeAndValue
			var tag cbasn1.Tag
			if !set.ReadASN1(&atv, cbasn1.SEQUENCE) || !atv.ReadASN1ObjectIdentifier(&attr.Type) ||
				!atv.ReadAnyASN1(&value, &tag) || !atv.Empty() {
				return errors.New("invalid attribute")
			}
			s, err := parseASN1String(tag, value)
			if err != nil {
				return err
			}
			attr.Value = s
			rdn = append(rdn, attr)
		}
		rdns = append(rdns, rdn)
	}
	name.FillFromRDNSequence(&rdns)
	return nil
}

// parseASN1String decodes the directory string types of names.
func parseASN1String(tag cbasn1.Tag, value []byte) (string, error) {
	switch tag {
	case cbasn1.UTF8String:
		if !utf8.Valid(value) {
			return "", errors.New("invalid UTF8String")
		}
		return string(value), nil
	case cbasn1.PrintableString, cbasn1.IA5String, cbasn1.Tag(asn1.TagNumericString):
		for _, b := range value {
			if b >= utf8.RuneSelf {
				return "", fmt.Errorf("invalid string of type %v", tag)
			}
		}
		return string(value), nil
	case cbasn1.T61String:
		// Treated as Latin-1, as crypto/x509 and BoringSSL do.
		buf := make([]byte, 0, len(value))
		for _, b := range value {
			buf = utf8.AppendRune(buf, rune(b))
		}
		return string(buf), nil
	case cbasn1.Tag(asn1.TagBMPString):
		if len(value)%2 != 0 {
			return "", errors.New("invalid BMPString")
		}
		u := make([]uint16, 0, len(value)/2)
		for i := 0; i < len(value); i += 2 {
			u = append(u, uint16(value[i])<<8|uint16(value[i+1]))
		}
		return string(utf16.Decode(u)), nil
	}
	return "", fmt.Errorf("unsupported string type %v", tag)
}

func (c *Certificate) parseExtensions() error {
	seen := make(map[string]bool)
	for _, e := range c.Extensions {
		key := e.Id.String()
		if seen[key] {
			return fmt.Errorf("%w: duplicate extension %s", ErrMalformed, key)
		}
		seen[key] = true
		v := cryptobyte.String(e.Value)
		ok := true
		switch {
		case e.Id.Equal(oidExtBasicConstraints):
			var bc cryptobyte.String
			var isCA bool
			ok = v.ReadASN1(&bc, cbasn1.SEQUENCE) && v.Empty() &&
				readOptionalBool(&bc, &isCA)
			if ok && bc.PeekASN1Tag(cbasn1.INTEGER) {
				var pathLen int64
				ok = bc.ReadASN1Int64WithTag(&pathLen, cbasn1.INTEGER) && pathLen >= 0
			}
			if ok = ok && bc.Empty(); ok {
				c.BasicConstraintsValid, c.IsCA = true, isCA
			}
		case e.Id.Equal(oidExtKeyUsage):
			var bits asn1.BitString
			if ok = v.ReadASN1BitString(&bits) && v.Empty(); ok {
				for i := range 9 {
					if bits.At(i) != 0 {
						c.KeyUsage |= 1 << i
					}
				}
			}
		case e.Id.Equal(oidExtSubjectKeyID):
			var id cryptobyte.String
			if ok = v.ReadASN1(&id, cbasn1.OCTET_STRING) && v.Empty(); ok {
				c.SubjectKeyID = []byte(id)
			}
		case e.Id.Equal(oidExtAuthorityKeyID):
			var aki, id cryptobyte.String
			var has bool
			ok = v.ReadASN1(&aki, cbasn1.SEQUENCE) && v.Empty() &&
				aki.ReadOptionalASN1(&id, &has, cbasn1.Tag(0).ContextSpecific())
			if ok && has {
				c.AuthorityKeyID = []byte(id)
			}
		}
		if !ok {
			return fmt.Errorf("%w: extension %s", ErrMalformed, key)
		}
	}
	return nil
}

// CheckValidity reports an error if now is outside [NotBefore, NotAfter].
func (c *Certificate) CheckValidity(now time.Time) error {
	if now.Before(c.NotBefore) {
		return fmt.Errorf("x509legacy: certificate not valid before %v", c.NotBefore)
	}
	if now.After(c.NotAfter) {
		return fmt.Errorf("x509legacy: certificate expired at %v", c.NotAfter)
	}
	return nil
}

// VerifyDSASignature checks that cert was issued by ca: cert's issuer name
// equals ca's subject (byte for byte), ca may sign certificates (if it is a
// v3 certificate, basicConstraints cA and, when keyUsage is present,
// keyCertSign), and cert's dsa-with-sha1 signature verifies under ca's DSA
// key. A self-signed CA verifies against itself. Validity periods are not
// checked; see CheckValidity.
func VerifyDSASignature(cert, ca *Certificate) error {
	if cert == nil || ca == nil {
		return fmt.Errorf("x509legacy: nil certificate")
	}
	if !cert.SignatureAlgorithm.Equal(OIDSignatureDSAWithSHA1) {
		return fmt.Errorf("%w: signature algorithm %v is not dsa-with-sha1", ErrSignature, cert.SignatureAlgorithm)
	}
	if !bytes.Equal(cert.RawIssuer, ca.RawSubject) {
		return fmt.Errorf("%w: issuer %q is not CA subject %q", ErrIssuerMismatch, cert.Issuer.String(), ca.Subject.String())
	}
	if ca.Version == 3 && (!ca.BasicConstraintsValid || !ca.IsCA) {
		return fmt.Errorf("%w: %q is not a CA certificate", ErrIssuerMismatch, ca.Subject.String())
	}
	if ca.KeyUsage != 0 && ca.KeyUsage&x509.KeyUsageCertSign == 0 {
		return fmt.Errorf("%w: %q may not sign certificates", ErrIssuerMismatch, ca.Subject.String())
	}
	pub, ok := ca.PublicKey.(*dsa.PublicKey)
	if !ok {
		return fmt.Errorf("%w: CA key is %v, not DSA", ErrUnsupportedKey, ca.PublicKeyAlgorithm)
	}
	return VerifyDSA(pub, sha1Sum(cert.RawTBSCertificate), cert.Signature)
}

// CheckSignatureFrom is VerifyDSASignature(c, parent).
func (c *Certificate) CheckSignatureFrom(parent *Certificate) error {
	return VerifyDSASignature(c, parent)
}
