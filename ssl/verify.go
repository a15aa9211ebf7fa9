package ssl

import (
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/tokenssl/tokenssl/x509legacy"
)

// Verification of received certificate chains, and the alert each
// failure is reported with.

// certificateAlert maps a chain verification failure to the SSL 3.0 alert
// that names it best.
func certificateAlert(err error) alert {
	var inv x509.CertificateInvalidError
	if errors.As(err, &inv) && inv.Reason == x509.Expired {
		return alertCertificateExpired
	}
	var uk x509.UnknownAuthorityError
	if errors.As(err, &uk) {
		return alertCertificateUnknown
	}
	return alertBadCertificate
}

// parseChain parses a received certificate list and bounds the key of
// every certificate in it (x509legacy.CheckPublicKey, the function behind
// checkPeerPublicKey) before anything computes with one: the leaf's key
// checks CertificateVerify or ServerKeyExchange, the others' keys verify
// the chain. Callers answer any failure with bad_certificate, as crypto/tls
// does for an RSA key over its bound (docs/ssl3.md, "Peer keys").
func parseChain(raw [][]byte) ([]*x509.Certificate, error) {
	if err := checkChainLimits(raw); err != nil {
		return nil, err
	}
	certs := make([]*x509.Certificate, len(raw))
	for i, der := range raw {
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("certificate %d does not parse: %w", i, err)
		}
		if cert.PublicKey == nil {
			// A key crypto/x509 does not know (DH, KEA): x509legacy
			// parses and bounds it; any other failure is left to the
			// exchange that needs the key.
			if _, err := x509legacy.ParsePublicKey(cert.RawSubjectPublicKeyInfo); errors.Is(err, x509legacy.ErrKeyBounds) {
				return nil, fmt.Errorf("certificate %d: %w", i, err)
			}
		} else if err := x509legacy.CheckPublicKey(cert.PublicKey); err != nil {
			return nil, fmt.Errorf("certificate %d: %w", i, err)
		}
		certs[i] = cert
	}
	return certs, nil
}

// verifyChain verifies certs (leaf first) against roots for the given usage.
//
// crypto/x509 no longer verifies DSA signatures: when it fails on a chain
// that has one, verifyDSAChain retries with x509legacy.VerifyChain and checkExtKeyUsage
// applies the usage. Limits of that path: the trust anchor must be among
// the presented certificates (a CertPool cannot be listed), so a peer with
// a DSA-signed certificate must send the CA; name constraints fail closed;
// policies and revocation are not checked (see x509legacy/chain.go).
// certificateAlert maps the failures as for any chain: expired →
// certificate_expired, no anchor → certificate_unknown, anything else (a
// bad signature, the host name, the usage) → bad_certificate.
func verifyChain(certs []*x509.Certificate, roots *x509.CertPool, dnsName string, now time.Time, usage x509.ExtKeyUsage) ([][]*x509.Certificate, error) {
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	chains, err := certs[0].Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: inter, DNSName: dnsName, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{usage},
	})
	if err != nil && x509legacy.HasDSASignature(certs...) {
		// crypto/x509 no longer verifies DSA signatures (Fortezza KEA and
		// DSS certificates, DSS CAs).
		if chains, err = verifyDSAChain(certs, roots, dnsName, now); err == nil {
			err = checkExtKeyUsage(chains, usage)
		}
		if err != nil {
			return nil, err
		}
	}
	return chains, err
}

// verifyDSAChain verifies a chain that crypto/x509 rejected because of DSA
// signatures (Fortezza KEA and DSS certificates are signed by a DSA CA):
// the trust anchors are the presented certificates that are in roots (a
// CertPool cannot be listed, so the server must send its CA), the chain is
// built and checked by x509legacy.VerifyChain, and dnsName, if given, must match the
// leaf's DNS names or, lacking those, its common name (1996 certificates
// have no subjectAltName).
func verifyDSAChain(certs []*x509.Certificate, roots *x509.CertPool, dnsName string, now time.Time) ([][]*x509.Certificate, error) {
	if roots == nil {
		return nil, errors.New("ssl: DSA-signed chain and no explicit root pool")
	}
	var anchors []*x509.Certificate
	for _, cand := range certs {
		if poolContains(roots, cand) {
			anchors = append(anchors, cand)
		}
	}
	if len(anchors) == 0 {
		return nil, x509.UnknownAuthorityError{Cert: certs[0]}
	}
	chains, err := x509legacy.VerifyChain(certs[0], certs[1:], anchors, now)
	if err != nil {
		return nil, err
	}
	if dnsName != "" {
		leaf := certs[0]
		if len(leaf.DNSNames) > 0 || len(leaf.IPAddresses) > 0 {
			if err := leaf.VerifyHostname(dnsName); err != nil {
				return nil, err
			}
		} else if leaf.Subject.CommonName != dnsName {
			return nil, x509.HostnameError{Certificate: leaf, Host: dnsName}
		}
	}
	return chains, nil
}

// poolContains reports whether cert is in pool: adding a certificate a
// pool already holds leaves it unchanged.
func poolContains(pool *x509.CertPool, cert *x509.Certificate) bool {
	clone := pool.Clone()
	clone.AddCert(cert)
	return clone.Equal(pool)
}

// checkExtKeyUsage applies crypto/x509's extended key usage rule to chains
// built without it (verifyDSAChain): every certificate that lists extended
// key usages must list usage or anyExtendedKeyUsage (or, for server
// authentication, one of the old Server Gated Crypto usages). One chain
// passing is enough.
func checkExtKeyUsage(chains [][]*x509.Certificate, usage x509.ExtKeyUsage) error {
	for _, chain := range chains {
		ok := true
		for _, cert := range chain {
			if len(cert.ExtKeyUsage) == 0 && len(cert.UnknownExtKeyUsage) == 0 {
				continue
			}
			allowed := false
			for _, u := range cert.ExtKeyUsage {
				if u == usage || u == x509.ExtKeyUsageAny || usage == x509.ExtKeyUsageServerAuth &&
					(u == x509.ExtKeyUsageNetscapeServerGatedCrypto || u == x509.ExtKeyUsageMicrosoftServerGatedCrypto) {
					allowed = true
				}
			}
			ok = ok && allowed
		}
		if ok {
			return nil
		}
	}
	return x509.CertificateInvalidError{Cert: chains[0][0], Reason: x509.IncompatibleUsage}
}
