package keacert

import (
	"crypto/dsa"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"io"
	"math/big"
	"math/bits"
	"time"

	"github.com/tokenssl/tokenssl/kea"
)

// Template holds the fields of a certificate to create.
type Template struct {
	// SerialNumber; nil means a random positive 127-bit number.
	SerialNumber *big.Int
	Subject      pkix.Name
	// NotBefore defaults to now, NotAfter to NotBefore plus one year. Both
	// are stored in UTC to the second.
	NotBefore, NotAfter time.Time
	// KeyUsage; 0 means the default for the kind of certificate:
	// CertSign|CRLSign|DigitalSignature for a CA, KeyAgreement for a KEA
	// certificate, DigitalSignature for a DSA leaf.
	KeyUsage x509.KeyUsage
	// KEAParams selects the KEA parameter encoding (KEA certificates only).
	KEAParams ParamsEncoding
}

// CreateCACertificate creates a self-signed v3 CA certificate for the DSA
// key, signed dsa-with-sha1. If random is nil, crypto/rand.Reader is used
// for the serial number. (crypto/dsa.Sign always uses crypto/rand since
// Go 1.26, whatever random is.)
func CreateCACertificate(random io.Reader, template *Template, key *dsa.PrivateKey) ([]byte, error) {
	if key == nil {
		return nil, fmt.Errorf("keacert: nil CA key")
	}
	spki, err := dsaPublicKeyInfo(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	subject, err := marshalName(template)
	if err != nil {
		return nil, err
	}
	return create(random, template, spki, subject, nil, key, true,
		x509.KeyUsageCertSign|x509.KeyUsageCRLSign|x509.KeyUsageDigitalSignature)
}

// CreateKEACertificate creates a v3 certificate for the KEA public key pub,
// issued and signed (dsa-with-sha1) by the CA certificate ca with its
// private key caKey.
func CreateKEACertificate(random io.Reader, template *Template, pub *kea.PublicKey, ca *Certificate, caKey *dsa.PrivateKey) ([]byte, error) {
	if template == nil {
		return nil, fmt.Errorf("keacert: nil template")
	}
	spki, err := keaPublicKeyInfo(pub, template.KEAParams)
	if err != nil {
		return nil, err
	}
	return createLeaf(random, template, spki, ca, caKey, x509.KeyUsageKeyAgreement)
}

// CreateDSACertificate creates a v3 certificate for the DSA public key pub
// (a DSS signing key, e.g. the one that signs y_signature), issued and
// signed by ca with caKey.
func CreateDSACertificate(random io.Reader, template *Template, pub *dsa.PublicKey, ca *Certificate, caKey *dsa.PrivateKey) ([]byte, error) {
	spki, err := dsaPublicKeyInfo(pub)
	if err != nil {
		return nil, err
	}
	return createLeaf(random, template, spki, ca, caKey, x509.KeyUsageDigitalSignature)
}

func createLeaf(random io.Reader, template *Template, spki *publicKeyInfo, ca *Certificate, caKey *dsa.PrivateKey, defaultUsage x509.KeyUsage) ([]byte, error) {
	if ca == nil || caKey == nil {
		return nil, fmt.Errorf("keacert: missing CA certificate or key")
	}
	caPub, ok := ca.PublicKey.(*dsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: CA certificate does not hold a DSA key", ErrUnsupportedKey)
	}
	if !dsaKeysEqual(caPub, &caKey.PublicKey) {
		return nil, fmt.Errorf("keacert: CA private key does not match the CA certificate")
	}
	subject, err := marshalName(template)
	if err != nil {
		return nil, err
	}
	return create(random, template, spki, subject, ca, caKey, false, defaultUsage)
}

// create assembles, signs and encodes a certificate; ca == nil means
// self-signed.
func create(random io.Reader, template *Template, spki *publicKeyInfo, subject []byte, ca *Certificate, key *dsa.PrivateKey, isCA bool, defaultUsage x509.KeyUsage) ([]byte, error) {
	if random == nil {
		random = rand.Reader
	}
	serial := template.SerialNumber
	if serial == nil {
		b := make([]byte, 16)
		if _, err := io.ReadFull(random, b); err != nil {
			return nil, fmt.Errorf("keacert: generating serial number: %w", err)
		}
		b[0] &= 0x7f
		b[0] |= 0x40 // positive and never zero
		serial = new(big.Int).SetBytes(b)
	}
	if serial.Sign() <= 0 {
		return nil, fmt.Errorf("keacert: serial number must be positive")
	}
	notBefore := template.NotBefore
	if notBefore.IsZero() {
		notBefore = time.Now()
	}
	notAfter := template.NotAfter
	if notAfter.IsZero() {
		notAfter = notBefore.AddDate(1, 0, 0)
	}
	notBefore, notAfter = notBefore.UTC().Truncate(time.Second), notAfter.UTC().Truncate(time.Second)
	if notAfter.Before(notBefore) {
		return nil, fmt.Errorf("keacert: NotAfter is before NotBefore")
	}

	spkiDER, err := asn1.Marshal(*spki)
	if err != nil {
		return nil, err
	}
	skid := sha1.Sum(spki.PublicKey.Bytes) // RFC 5280 §4.2.1.2 method (1)

	usage := template.KeyUsage
	if usage == 0 {
		usage = defaultUsage
	}
	var exts []pkix.Extension
	if isCA {
		v, err := asn1.Marshal(basicConstraints{IsCA: true, MaxPathLen: -1})
		if err != nil {
			return nil, err
		}
		exts = append(exts, pkix.Extension{Id: oidExtBasicConstraint, Critical: true, Value: v})
	}
	ku, err := marshalKeyUsage(usage)
	if err != nil {
		return nil, err
	}
	exts = append(exts, pkix.Extension{Id: oidExtKeyUsage, Critical: true, Value: ku})
	v, err := asn1.Marshal(skid[:])
	if err != nil {
		return nil, err
	}
	exts = append(exts, pkix.Extension{Id: oidExtSubjectKeyID, Value: v})

	issuer := subject
	if ca != nil {
		issuer = ca.RawSubject
		if len(ca.SubjectKeyID) > 0 {
			v, err := asn1.Marshal(authorityKeyID{ID: ca.SubjectKeyID})
			if err != nil {
				return nil, err
			}
			exts = append(exts, pkix.Extension{Id: oidExtAuthorityKeyID, Value: v})
		}
	}

	sigAlg := pkix.AlgorithmIdentifier{Algorithm: OIDSignatureDSAWithSHA1} // parameters absent (RFC 3279 §2.2.2)
	tbs := tbsCertificate{
		Version:            2, // v3
		SerialNumber:       serial,
		SignatureAlgorithm: sigAlg,
		Issuer:             asn1.RawValue{FullBytes: issuer},
		Validity:           validity{notBefore, notAfter},
		Subject:            asn1.RawValue{FullBytes: subject},
		PublicKey:          publicKeyInfo{Raw: spkiDER},
		Extensions:         exts,
	}
	tbsDER, err := asn1.Marshal(tbs)
	if err != nil {
		return nil, fmt.Errorf("keacert: encoding TBSCertificate: %w", err)
	}
	sig, err := signDSA(random, key, tbsDER)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(certificate{
		TBSCertificate:     asn1.RawValue{FullBytes: tbsDER},
		SignatureAlgorithm: sigAlg,
		SignatureValue:     asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)},
	})
}

func marshalName(template *Template) ([]byte, error) {
	if template == nil {
		return nil, fmt.Errorf("keacert: nil template")
	}
	der, err := asn1.Marshal(template.Subject.ToRDNSequence())
	if err != nil {
		return nil, fmt.Errorf("keacert: encoding subject: %w", err)
	}
	return der, nil
}

// marshalKeyUsage encodes KeyUsage as the DER BIT STRING of RFC 5280
// §4.2.1.3: bit i of the Go value is named bit i, numbered from the most
// significant bit of the first byte, with trailing zero bits dropped.
func marshalKeyUsage(ku x509.KeyUsage) ([]byte, error) {
	b := []byte{bits.Reverse8(byte(ku)), bits.Reverse8(byte(ku >> 8))}
	n := 16 - bits.TrailingZeros16(uint16(b[0])<<8|uint16(b[1]))
	if ku == 0 {
		n = 0
	}
	return asn1.Marshal(asn1.BitString{Bytes: b[:(n+7)/8], BitLength: n})
}

func dsaKeysEqual(a, b *dsa.PublicKey) bool {
	return a.Y.Cmp(b.Y) == 0 && a.P.Cmp(b.P) == 0 && a.Q.Cmp(b.Q) == 0 && a.G.Cmp(b.G) == 0
}
