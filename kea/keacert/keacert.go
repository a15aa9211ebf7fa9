// Package keacert encodes and parses X.509 certificates for the Fortezza
// key exchange: certificates carrying a KEA public key
// (id-keyExchangeAlgorithm, 2.16.840.1.101.2.1.1.22) and certificates
// carrying a DSA key, all signed with dsa-with-sha1 by a DSA CA.
//
// crypto/x509 can neither create DSA-signed certificates nor verify DSA
// signatures, and it does not understand KEA keys (it parses a KEA
// certificate but leaves PublicKey nil with UnknownPublicKeyAlgorithm), so
// this package builds the DER itself with encoding/asn1 and signs with
// crypto/dsa. Certificates made here do parse with crypto/x509 and
// `openssl x509`.
//
// # KEA SubjectPublicKeyInfo
//
// Following RFC 2528 / RFC 3279 §2.3.4 (as NSS decodes `.22` keys):
//
//	algorithm   id-keyExchangeAlgorithm
//	parameters  KEA-Parms-Id ::= OCTET STRING (SIZE (10))
//	subjectPublicKey BIT STRING: the public value Y itself, MSB first,
//	            no INTEGER wrapper
//
// The KEA-Parms-Id (domain identifier) is computed as RFC 3279 describes:
// SHA-1 over the DER Dss-Parms {p, q, g}, then the high 80 bits XOR the low
// 80 bits (see ParamsID). An identifier cannot be turned back into p, q, g,
// so a peer must already know the group; the SSL layer matches identifiers
// against its configured groups (KEAPublicKey.PublicKey).
//
// Choice: because a test peer or emulator may not know the group in advance,
// ParamsFull instead puts the full Dss-Parms SEQUENCE {p, q, g} into the
// parameters field (the same shape as a DSA key's parameters). This is not
// in RFC 3279 for `.22`, and NSS would not accept it, so the default is
// ParamsByID. The parser accepts both.
//
// Y is written as the fixed 128-byte big-endian string of the Fortezza
// card (CI_Y), which NSS copies verbatim into the card's KEA derive; shorter
// encodings with the leading zero bytes stripped are accepted on input.
//
// Code that already holds a *x509.Certificate (crypto/x509 parses KEA
// certificates, leaving the key undecoded) gets the KEA key with
// ParseKEAPublicKey(cert.RawSubjectPublicKeyInfo).
//
// Older MISSI forms (.10 KEA, .20 KEA+DSS, the v1 Fortezza key blob) are not
// supported.
package keacert

import (
	"encoding/asn1"
	"errors"
)

// Object identifiers.
var (
	// OIDKeyExchangeAlgorithm is id-keyExchangeAlgorithm (RFC 2528), the
	// "MISSI Alternate KEA" key OID.
	OIDKeyExchangeAlgorithm = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 2, 1, 1, 22}
	// OIDPublicKeyDSA is id-dsa (RFC 3279 §2.3.2).
	OIDPublicKeyDSA = asn1.ObjectIdentifier{1, 2, 840, 10040, 4, 1}
	// OIDSignatureDSAWithSHA1 is id-dsa-with-sha1 (RFC 3279 §2.2.2).
	OIDSignatureDSAWithSHA1 = asn1.ObjectIdentifier{1, 2, 840, 10040, 4, 3}

	oidExtSubjectKeyID    = asn1.ObjectIdentifier{2, 5, 29, 14}
	oidExtKeyUsage        = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidExtBasicConstraint = asn1.ObjectIdentifier{2, 5, 29, 19}
	oidExtAuthorityKeyID  = asn1.ObjectIdentifier{2, 5, 29, 35}
)

// Sentinel errors; functions wrap them with detail.
var (
	// ErrMalformed reports DER that does not parse as the expected structure.
	ErrMalformed = errors.New("keacert: malformed certificate or key")
	// ErrUnsupportedKey reports a public-key algorithm this package does not
	// handle where one is required.
	ErrUnsupportedKey = errors.New("keacert: unsupported public key algorithm")
	// ErrNotKEA reports a certificate that does not carry a KEA key.
	ErrNotKEA = errors.New("keacert: certificate does not carry a KEA public key")
	// ErrSignature reports a DSA signature that does not verify.
	ErrSignature = errors.New("keacert: DSA signature verification failed")
	// ErrIssuerMismatch reports a certificate whose issuer is not the
	// given CA (name, CA flag or key usage).
	ErrIssuerMismatch = errors.New("keacert: certificate was not issued by this CA")
	// ErrParamsMismatch reports a KEA key whose parameters identifier does not
	// match the expected group.
	ErrParamsMismatch = errors.New("keacert: KEA parameters do not match")
)
