package x509legacy

import (
	"crypto"
	"crypto/dsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Certificates that crypto/x509.CreateCertificate cannot make: for DH, DSA
// and KEA subject keys, or signed by a DSA key (dsa-with-sha1). One
// builder serves every kind; the issuing key is a crypto.Signer so that it
// may live on a token. Certificates made here parse with crypto/x509 and
// `openssl x509`.

// Template describes a certificate to create.
type Template struct {
	// SerialNumber; nil means a random positive 127-bit number.
	SerialNumber *big.Int
	Subject      pkix.Name
	// NotBefore defaults to now, NotAfter to NotBefore plus one year. Both
	// are stored in UTC to the second (UTCTime for 1950..2049,
	// GeneralizedTime otherwise, RFC 5280 §4.1.2.5).
	NotBefore, NotAfter time.Time

	// The fields below are used by CreateCertificate.

	DNSNames []string
	// IsCA writes basicConstraints cA=TRUE (critical); otherwise a
	// non-critical basicConstraints with cA=FALSE is written.
	IsCA bool
	// KeyUsage, when non-zero, is written as a critical keyUsage extension
	// (x509.KeyUsageKeyAgreement for a DH certificate). For
	// CreateCACertificate, CreateKEACertificate and CreateDSACertificate, 0
	// means the default of the kind: CertSign|CRLSign|DigitalSignature for
	// a CA, KeyAgreement for a KEA certificate, DigitalSignature for a DSA
	// leaf.
	KeyUsage    x509.KeyUsage
	ExtKeyUsage []x509.ExtKeyUsage // ServerAuth, ClientAuth, Any

	// KEAParams selects the KEA parameter encoding (CreateKEACertificate).
	KEAParams KEAParamsEncoding
}

// CreateCertificate returns a DER certificate for the subject key spki (a
// DER SubjectPublicKeyInfo, e.g. from MarshalDHPublicKey), issued by parent
// and signed with signer, whose public key must be parent's. A nil parent
// makes a self-signed certificate: the issuer is the subject and signer
// must hold the key in spki. RSA signers sign sha256WithRSAEncryption
// (PKCS #1 v1.5); DSA signers (Public() a *dsa.PublicKey, Sign returning a
// DER Dss-Sig-Value like token.DSAKey) sign dsa-with-sha1.
func CreateCertificate(random io.Reader, tmpl *Template, parent *x509.Certificate, spki []byte, signer crypto.Signer) ([]byte, error) {
	if tmpl == nil {
		return nil, errors.New("x509legacy: nil template")
	}
	subject, err := marshalName(tmpl)
	if err != nil {
		return nil, err
	}
	issuer := subject
	if parent != nil {
		issuer = parent.RawSubject
	}
	exts, err := templateExtensions(tmpl)
	if err != nil {
		return nil, err
	}
	return buildCertificate(random, tmpl, issuer, subject, spki, exts, signer)
}

// CreateCACertificate creates a self-signed v3 CA certificate for the DSA
// key, signed dsa-with-sha1. random gives the serial number and the
// signature's nonce (SignDSA); if it is nil, crypto/rand.Reader is used.
func CreateCACertificate(random io.Reader, tmpl *Template, key *dsa.PrivateKey) ([]byte, error) {
	if key == nil {
		return nil, errors.New("x509legacy: nil CA key")
	}
	spki, err := MarshalDSAPublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	return createFortezza(random, tmpl, spki, nil, key, true,
		x509.KeyUsageCertSign|x509.KeyUsageCRLSign|x509.KeyUsageDigitalSignature)
}

// CreateKEACertificate creates a v3 certificate for the KEA public value y
// in the group params, issued and signed (dsa-with-sha1) by the CA
// certificate ca with its private key caKey.
func CreateKEACertificate(random io.Reader, tmpl *Template, params *dsa.Parameters, y *big.Int, ca *Certificate, caKey *dsa.PrivateKey) ([]byte, error) {
	if tmpl == nil {
		return nil, errors.New("x509legacy: nil template")
	}
	spki, err := MarshalKEAPublicKey(params, y, tmpl.KEAParams)
	if err != nil {
		return nil, err
	}
	return createLeaf(random, tmpl, spki, ca, caKey, x509.KeyUsageKeyAgreement)
}

// CreateDSACertificate creates a v3 certificate for the DSA public key pub
// (a DSS signing key, e.g. the one that signs a Fortezza y_signature),
// issued and signed by ca with caKey.
func CreateDSACertificate(random io.Reader, tmpl *Template, pub *dsa.PublicKey, ca *Certificate, caKey *dsa.PrivateKey) ([]byte, error) {
	spki, err := MarshalDSAPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return createLeaf(random, tmpl, spki, ca, caKey, x509.KeyUsageDigitalSignature)
}

func createLeaf(random io.Reader, tmpl *Template, spki []byte, ca *Certificate, caKey *dsa.PrivateKey, defaultUsage x509.KeyUsage) ([]byte, error) {
	if ca == nil || caKey == nil {
		return nil, errors.New("x509legacy: missing CA certificate or key")
	}
	caPub, ok := ca.PublicKey.(*dsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: CA certificate does not hold a DSA key", ErrUnsupportedKey)
	}
	if !dsaKeysEqual(caPub, &caKey.PublicKey) {
		return nil, errors.New("x509legacy: CA private key does not match the CA certificate")
	}
	return createFortezza(random, tmpl, spki, ca, caKey, false, defaultUsage)
}

// createFortezza makes the certificates of the Fortezza PKI: basic
// constraints only on the CA, a critical key usage, subject and authority
// key identifiers. ca == nil means self-signed.
func createFortezza(random io.Reader, tmpl *Template, spki []byte, ca *Certificate, key *dsa.PrivateKey, isCA bool, defaultUsage x509.KeyUsage) ([]byte, error) {
	if tmpl == nil {
		return nil, errors.New("x509legacy: nil template")
	}
	subject, err := marshalName(tmpl)
	if err != nil {
		return nil, err
	}
	_, _, keyBits, ok := readSPKI(spki)
	if !ok {
		return nil, fmt.Errorf("%w: SubjectPublicKeyInfo", ErrMalformed)
	}
	skid := sha1Sum(keyBits) // RFC 5280 §4.2.1.2 method (1)
	usage := tmpl.KeyUsage
	if usage == 0 {
		usage = defaultUsage
	}
	issuer := subject
	var akid []byte
	if ca != nil {
		issuer, akid = ca.RawSubject, ca.SubjectKeyID
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		if isCA {
			addExtension(b, oidExtBasicConstraints, true, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1Boolean(true) })
			})
		}
		addExtension(b, oidExtKeyUsage, true, func(b *cryptobyte.Builder) { addKeyUsage(b, usage) })
		addExtension(b, oidExtSubjectKeyID, false, func(b *cryptobyte.Builder) { b.AddASN1OctetString(skid) })
		if len(akid) > 0 {
			addExtension(b, oidExtAuthorityKeyID, false, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.Tag(0).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(akid) })
				})
			})
		}
	})
	exts, err := b.Bytes()
	if err != nil {
		return nil, err
	}
	return buildCertificate(random, tmpl, issuer, subject, spki, exts, dsaSigner{key})
}

// buildCertificate assembles the TBSCertificate, signs it with signer and
// returns the DER certificate. exts is the DER SEQUENCE OF Extension.
func buildCertificate(random io.Reader, tmpl *Template, issuer, subject, spki, exts []byte, signer crypto.Signer) ([]byte, error) {
	if random == nil {
		random = rand.Reader
	}
	serial := tmpl.SerialNumber
	if serial == nil {
		b := make([]byte, 16)
		if _, err := io.ReadFull(random, b); err != nil {
			return nil, fmt.Errorf("x509legacy: generating serial number: %w", err)
		}
		b[0] &= 0x7f
		b[0] |= 0x40 // positive and never zero
		serial = new(big.Int).SetBytes(b)
	}
	if serial.Sign() <= 0 {
		return nil, errors.New("x509legacy: serial number must be positive")
	}
	notBefore := tmpl.NotBefore
	if notBefore.IsZero() {
		notBefore = time.Now()
	}
	notAfter := tmpl.NotAfter
	if notAfter.IsZero() {
		notAfter = notBefore.AddDate(1, 0, 0)
	}
	if notAfter.Before(notBefore) {
		return nil, errors.New("x509legacy: NotAfter is before NotBefore")
	}

	var sigAlg []int
	var hash crypto.Hash
	switch signer.Public().(type) {
	case *rsa.PublicKey:
		sigAlg, hash = oidSigSHA256WithRSA, crypto.SHA256
	case *dsa.PublicKey:
		sigAlg, hash = OIDSignatureDSAWithSHA1, crypto.SHA1
	default:
		return nil, fmt.Errorf("x509legacy: cannot sign with a %T", signer.Public())
	}
	addAlg := func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(sigAlg)
			if hash == crypto.SHA256 {
				b.AddASN1NULL() // RSA algorithm identifiers carry NULL parameters
			}
			// dsa-with-sha1: parameters absent (RFC 3279 §2.2.2).
		})
	}
	var tbs cryptobyte.Builder
	tbs.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1Int64(2) // v3
		})
		b.AddASN1BigInt(serial)
		addAlg(b)
		b.AddBytes(issuer)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			addTime(b, notBefore)
			addTime(b, notAfter)
		})
		b.AddBytes(subject)
		b.AddBytes(spki)
		b.AddASN1(cbasn1.Tag(3).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddBytes(exts)
		})
	})
	tbsDER, err := tbs.Bytes()
	if err != nil {
		return nil, fmt.Errorf("x509legacy: encoding TBSCertificate: %w", err)
	}
	var digest []byte
	if hash == crypto.SHA256 {
		d := sha256.Sum256(tbsDER)
		digest = d[:]
	} else {
		digest = sha1Sum(tbsDER)
	}
	sig, err := signer.Sign(random, digest, hash)
	if err != nil {
		return nil, fmt.Errorf("x509legacy: signing: %w", err)
	}
	var cert cryptobyte.Builder
	cert.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(tbsDER)
		addAlg(b)
		b.AddASN1BitString(sig)
	})
	return cert.Bytes()
}

// marshalName returns the DER Name of tmpl.Subject.
func marshalName(tmpl *Template) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for _, rdn := range tmpl.Subject.ToRDNSequence() {
			b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
				for _, atv := range rdn {
					s, ok := atv.Value.(string)
					if !ok {
						b.SetError(fmt.Errorf("x509legacy: subject attribute %v is not a string", atv.Type))
						return
					}
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1ObjectIdentifier(atv.Type)
						b.AddASN1(nameStringTag(s), func(b *cryptobyte.Builder) { b.AddBytes([]byte(s)) })
					})
				}
			})
		}
	})
	der, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("x509legacy: encoding subject: %w", err)
	}
	return der, nil
}

// nameStringTag chooses PrintableString when s allows it and UTF8String
// otherwise, as encoding/asn1 (and so crypto/x509) does.
func nameStringTag(s string) cbasn1.Tag {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			'\'' <= c && c <= ')' || '+' <= c && c <= '/' || c == ' ' || c == ':' || c == '=' || c == '?') {
			return cbasn1.UTF8String
		}
	}
	return cbasn1.PrintableString
}

// addTime writes UTCTime for 1950..2049 and GeneralizedTime otherwise
// (RFC 5280 §4.1.2.5).
func addTime(b *cryptobyte.Builder, t time.Time) {
	t = t.UTC().Truncate(time.Second)
	if t.Year() >= 1950 && t.Year() < 2050 {
		b.AddASN1UTCTime(t)
	} else {
		b.AddASN1GeneralizedTime(t)
	}
}

// addExtension writes Extension ::= SEQUENCE { extnID, critical DEFAULT
// FALSE, extnValue OCTET STRING }.
func addExtension(b *cryptobyte.Builder, oid []int, critical bool, value func(*cryptobyte.Builder)) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oid)
		if critical {
			b.AddASN1Boolean(true)
		}
		b.AddASN1(cbasn1.OCTET_STRING, value)
	})
}

// templateExtensions returns the DER SEQUENCE OF Extension that
// CreateCertificate writes for tmpl.
func templateExtensions(tmpl *Template) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		addExtension(b, oidExtBasicConstraints, tmpl.IsCA, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				if tmpl.IsCA {
					b.AddASN1Boolean(true)
				}
			})
		})
		if tmpl.KeyUsage != 0 {
			addExtension(b, oidExtKeyUsage, true, func(b *cryptobyte.Builder) {
				addKeyUsage(b, tmpl.KeyUsage)
			})
		}
		if len(tmpl.ExtKeyUsage) > 0 {
			addExtension(b, oidExtExtendedKeyUsage, false, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					for _, u := range tmpl.ExtKeyUsage {
						switch u {
						case x509.ExtKeyUsageAny:
							b.AddASN1ObjectIdentifier(oidEKUAny)
						case x509.ExtKeyUsageServerAuth:
							b.AddASN1ObjectIdentifier(oidEKUServerAuth)
						case x509.ExtKeyUsageClientAuth:
							b.AddASN1ObjectIdentifier(oidEKUClientAuth)
						default:
							b.SetError(fmt.Errorf("x509legacy: extended key usage %d not supported", u))
						}
					}
				})
			})
		}
		if len(tmpl.DNSNames) > 0 {
			addExtension(b, oidExtSubjectAltName, false, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					for _, name := range tmpl.DNSNames {
						// dNSName [2] IA5String, implicitly tagged.
						b.AddASN1(cbasn1.Tag(2).ContextSpecific(), func(b *cryptobyte.Builder) {
							b.AddBytes([]byte(name))
						})
					}
				})
			})
		}
	})
	return b.Bytes()
}

// addKeyUsage writes the keyUsage BIT STRING in DER (RFC 5280 §4.2.1.3):
// bit i of ku is named bit i (the most significant bit of the first byte
// is bit 0), with trailing zero bits removed.
func addKeyUsage(b *cryptobyte.Builder, ku x509.KeyUsage) {
	var bytes [2]byte
	last := -1
	for i := 0; i < 16; i++ {
		if ku&(1<<i) != 0 {
			bytes[i/8] |= 0x80 >> (i % 8)
			last = i
		}
	}
	b.AddASN1(cbasn1.BIT_STRING, func(b *cryptobyte.Builder) {
		if last < 0 {
			b.AddUint8(0) // no bits
			return
		}
		b.AddUint8(uint8(7 - last%8))
		b.AddBytes(bytes[:last/8+1])
	})
}
