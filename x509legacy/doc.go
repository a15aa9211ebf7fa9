// Package x509legacy reads, writes and verifies the X.509 pieces of SSL 3.0
// that crypto/x509 does not handle (any more):
//
//   - DSA: crypto/x509 still parses DSA keys and DSA-signed certificates but
//     since Go 1.16 neither verifies DSA signatures (dsa-with-sha1 is an
//     InsecureAlgorithmError, dsa-with-sha256 ErrUnsupportedAlgorithm) nor
//     creates DSA keys or signatures in certificates. SSL 3.0's DHE_DSS and
//     DH_DSS suites and dss_sign client authentication use them.
//     See dsa.go (keys, the DER Dss-Sig-Value), dsa_sign.go (constant-time
//     signing) and chain.go (verification).
//   - Diffie-Hellman keys in certificates (the fixed-DH certificates of
//     DH_DSS, DH_RSA, rsa_fixed_dh and dss_fixed_dh): crypto/x509 reports
//     them as UnknownPublicKeyAlgorithm and cannot write them. See dh.go.
//   - KEA keys (the Fortezza key exchange, id-keyExchangeAlgorithm): unknown
//     to crypto/x509. See kea.go and certificate.go; the binding of a KEA key
//     to a trusted group lives in package kea.
//   - Certificates for any of these keys signed by a DSA or RSA key held
//     behind a crypto.Signer (a token). See create.go.
//   - Private keys: x509.ParsePKCS8PrivateKey refuses DSA and DH keys, which
//     OpenSSL 3 writes as PKCS #8 by default; ParsePrivateKeyPEM reads them
//     and OpenSSL's traditional forms. See privatekey.go.
//
// Everything is parsed and built with golang.org/x/crypto/cryptobyte, as
// crypto/x509 and crypto/ecdsa do: DER only, no trailing data, sizes
// bounded before any arithmetic so that hostile input costs little.
//
// The package imports only the standard library, x/crypto and, for the
// arithmetic on secrets, internal/ctexp and filippo.io/bigmod, so that the
// engine (ssl), package kea, the token backends and the command line share
// it without import cycles. KEA groups and DSA domain parameters are both
// represented as dsa.Parameters (p, q, g).
package x509legacy

import (
	"encoding/asn1"
	"errors"
)

// Object identifiers.
var (
	// OIDPublicKeyDSA is id-dsa (RFC 3279 §2.3.2).
	OIDPublicKeyDSA = asn1.ObjectIdentifier{1, 2, 840, 10040, 4, 1}
	// OIDSignatureDSAWithSHA1 is id-dsa-with-sha1 (RFC 3279 §2.2.2).
	OIDSignatureDSAWithSHA1 = asn1.ObjectIdentifier{1, 2, 840, 10040, 4, 3}
	// OIDDHPublicNumber is dhpublicnumber (ANSI X9.42, RFC 3279 §2.3.3).
	OIDDHPublicNumber = asn1.ObjectIdentifier{1, 2, 840, 10046, 2, 1}
	// OIDDHKeyAgreement is PKCS #3 dhKeyAgreement.
	OIDDHKeyAgreement = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 3, 1}
	// OIDKeyExchangeAlgorithm is id-keyExchangeAlgorithm (RFC 2528), the
	// "MISSI Alternate KEA" key OID.
	OIDKeyExchangeAlgorithm = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 2, 1, 1, 22}

	oidPublicKeyRSA     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidSigSHA256WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}

	oidExtSubjectKeyID     = asn1.ObjectIdentifier{2, 5, 29, 14}
	oidExtKeyUsage         = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidExtSubjectAltName   = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidExtBasicConstraints = asn1.ObjectIdentifier{2, 5, 29, 19}
	oidExtAuthorityKeyID   = asn1.ObjectIdentifier{2, 5, 29, 35}
	oidExtExtendedKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 37}

	oidEKUAny        = asn1.ObjectIdentifier{2, 5, 29, 37, 0}
	oidEKUServerAuth = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 1}
	oidEKUClientAuth = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 2}
)

// Sentinel errors; functions wrap them with detail (test with errors.Is).
var (
	// ErrMalformed reports DER that does not parse as the expected
	// certificate or key structure.
	ErrMalformed = errors.New("x509legacy: malformed certificate or key")
	// ErrUnsupportedKey reports a public key whose algorithm this package
	// does not handle where one is required, or a DSA key whose parameters
	// are missing or outside the supported sizes.
	ErrUnsupportedKey = errors.New("x509legacy: unsupported public key")
	// ErrSignature reports a well-formed DSA signature that does not verify.
	ErrSignature = errors.New("x509legacy: DSA signature verification failed")
	// ErrMalformedSignature reports a signature that is not a DER
	// Dss-Sig-Value with positive r and s.
	ErrMalformedSignature = errors.New("x509legacy: malformed Dss-Sig-Value")
	// ErrNotKEA reports a certificate that does not carry a KEA public key.
	ErrNotKEA = errors.New("x509legacy: certificate does not carry a KEA public key")
	// ErrIssuerMismatch reports a certificate whose issuer is not the given
	// CA (name, CA flag or key usage).
	ErrIssuerMismatch = errors.New("x509legacy: certificate was not issued by this CA")
	// ErrParamsMismatch reports a KEA key whose parameters identifier does
	// not match the expected group.
	ErrParamsMismatch = errors.New("x509legacy: KEA parameters do not match")
)
