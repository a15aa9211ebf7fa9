// Package dsax509 verifies X.509 certificates signed with DSA, which
// crypto/x509 parses but no longer verifies, and builds certificate chains
// that contain them. SSL 3.0 peers (DHE_DSS and DH_DSS suites) commonly
// present such chains.
//
// CheckSignatureFrom verifies a DSA-with-SHA1 (1.2.840.10040.4.3) or
// DSA-with-SHA256 (2.16.840.1.101.3.4.3.2) certificate signature and defers
// every other algorithm to (*x509.Certificate).CheckSignatureFrom.
//
// VerifyChain is a small chain builder meant to be used only after
// (*x509.Certificate).Verify has failed because of DSA. crypto/x509 reports
// a DSA-with-SHA1 signature as an x509.InsecureAlgorithmError and a
// DSA-with-SHA256 one as x509.ErrUnsupportedAlgorithm, but during path
// building Verify turns either into an x509.UnknownAuthorityError whose
// cause cannot be unwrapped; so decide with HasDSASignature(leaf,
// intermediates...) instead: fall back to VerifyChain only if Verify failed
// and the presented certificates include a DSA signature.
//
// # What VerifyChain checks
//
//   - the validity period (NotBefore <= now <= NotAfter) of every certificate;
//   - that each issuer's RawSubject equals its child's RawIssuer (exact bytes,
//     as crypto/x509 does);
//   - that every intermediate has basic constraints with CA=true; a root must
//     too unless it is a version 1 or 2 certificate (old roots have no
//     extensions; crypto/x509 accepts them the same way);
//   - that an issuer whose key usage extension is present allows certSign;
//   - basic constraints pathLenConstraint;
//   - that no certificate has an unhandled critical extension;
//   - at most MaxDepth certificates above the leaf;
//   - every signature, via CheckSignatureFrom.
//
// # Limits
//
// VerifyChain does not implement, and so does not enforce:
//
//   - name constraints: a certificate in the path that carries any name
//     constraints is rejected (fail closed) rather than having them ignored;
//   - certificate policies, policy mappings and policy constraints (they are
//     ignored, as crypto/x509 did before Go 1.22);
//   - revocation (no CRL or OCSP);
//   - extended key usage, and host name matching of the leaf (the caller
//     must check the leaf's name itself, e.g. with leaf.VerifyHostname);
//   - DSA parameter inheritance (RFC 3279 §2.3.2): crypto/x509 cannot parse
//     a DSA key without parameters, so such certificates never reach here.
//
// DSA keys are accepted with a prime P of 512 to 4096 bits and a subgroup
// order Q of 160, 224 or 256 bits; the digest is truncated to the bit length
// of Q as FIPS 186-3 §4.6 requires.
package dsax509

import (
	"bytes"
	"crypto/dsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"hash"
	"math/big"
	"time"
)

// MaxDepth is the maximum number of certificates above the leaf
// (intermediates plus the root) in a chain built by VerifyChain.
const MaxDepth = 8

// maxSignatureChecks bounds the work VerifyChain does on a hostile set of
// intermediates (crypto/x509 uses the same bound).
const maxSignatureChecks = 100

// maxSigLen bounds the size of a Dss-Sig-Value: with Q of at most 256 bits,
// r and s take at most 35 bytes each, and the SEQUENCE at most 72.
const maxSigLen = 256

const (
	minPBits = 512
	maxPBits = 4096
)

var (
	// ErrVerification is returned when a DSA signature does not verify.
	ErrVerification = errors.New("dsax509: DSA verification failure")

	// ErrMalformedSignature is returned for a signature that is not a
	// DER-encoded Dss-Sig-Value with positive r and s.
	ErrMalformedSignature = errors.New("dsax509: malformed Dss-Sig-Value")

	// ErrUnsupportedKey is returned for a DSA public key whose parameters
	// are missing or outside the supported sizes.
	ErrUnsupportedKey = errors.New("dsax509: unsupported DSA public key")
)

// dssSigValue is Dss-Sig-Value from RFC 3279 §2.2.2.
type dssSigValue struct {
	R, S *big.Int
}

// ParseDSSSigValue decodes a DER Dss-Sig-Value, SEQUENCE { r INTEGER,
// s INTEGER } (RFC 3279 §2.2.2), as found in a DSA certificate signature or
// an SSL 3.0 DSS ServerKeyExchange signature. It accepts only canonical DER
// with positive r and s and no trailing data.
func ParseDSSSigValue(der []byte) (r, s *big.Int, err error) {
	if len(der) > maxSigLen {
		return nil, nil, ErrMalformedSignature
	}
	var v dssSigValue
	rest, err := asn1.Unmarshal(der, &v)
	if err != nil || len(rest) != 0 || v.R == nil || v.S == nil ||
		v.R.Sign() <= 0 || v.S.Sign() <= 0 {
		return nil, nil, ErrMalformedSignature
	}
	// encoding/asn1 already rejects most non-DER input; re-encoding and
	// comparing makes sure there is exactly one accepted encoding.
	if re, err := asn1.Marshal(v); err != nil || !bytes.Equal(re, der) {
		return nil, nil, ErrMalformedSignature
	}
	return v.R, v.S, nil
}

// MarshalDSSSigValue encodes r and s as a DER Dss-Sig-Value.
func MarshalDSSSigValue(r, s *big.Int) ([]byte, error) {
	if r == nil || s == nil || r.Sign() <= 0 || s.Sign() <= 0 {
		return nil, errors.New("dsax509: r and s must be positive")
	}
	return asn1.Marshal(dssSigValue{r, s})
}

// checkKey rejects DSA keys that are missing parameters or whose sizes are
// outside what FIPS 186 and this package support; it bounds the cost of
// verification with an attacker-supplied key.
func checkKey(pub *dsa.PublicKey) error {
	if pub == nil || pub.P == nil || pub.Q == nil || pub.G == nil || pub.Y == nil {
		return ErrUnsupportedKey
	}
	pBits, qBits := pub.P.BitLen(), pub.Q.BitLen()
	if pBits < minPBits || pBits > maxPBits {
		return fmt.Errorf("%w: %d-bit P", ErrUnsupportedKey, pBits)
	}
	if qBits != 160 && qBits != 224 && qBits != 256 {
		return fmt.Errorf("%w: %d-bit Q", ErrUnsupportedKey, qBits)
	}
	one := big.NewInt(1)
	if pub.Q.Cmp(pub.P) >= 0 || pub.G.Cmp(one) <= 0 || pub.G.Cmp(pub.P) >= 0 ||
		pub.Y.Cmp(one) <= 0 || pub.Y.Cmp(pub.P) >= 0 {
		return fmt.Errorf("%w: parameter out of range", ErrUnsupportedKey)
	}
	return nil
}

// truncateDigest returns the leftmost min(8*len(digest), qBits) bits of
// digest as a byte string (FIPS 186-3 §4.6).
func truncateDigest(digest []byte, qBits int) []byte {
	if len(digest)*8 <= qBits {
		return digest
	}
	out := bytes.Clone(digest[:(qBits+7)/8])
	if excess := len(out)*8 - qBits; excess > 0 {
		// Shift the whole string right so that it holds the leftmost
		// qBits bits (unreachable for the supported Q sizes).
		v := new(big.Int).SetBytes(out)
		v.Rsh(v, uint(excess))
		out = v.FillBytes(out)
	}
	return out
}

// VerifyDSA checks that sig, a DER Dss-Sig-Value, is a valid DSA signature
// of digest (the full hash output; it is truncated to the size of Q here)
// by pub. It returns nil on success, ErrVerification for a well-formed
// signature that does not verify, and ErrMalformedSignature or
// ErrUnsupportedKey otherwise.
func VerifyDSA(pub *dsa.PublicKey, digest, sig []byte) error {
	if err := checkKey(pub); err != nil {
		return err
	}
	r, s, err := ParseDSSSigValue(sig)
	if err != nil {
		return err
	}
	if !dsa.Verify(pub, truncateDigest(digest, pub.Q.BitLen()), r, s) {
		return ErrVerification
	}
	return nil
}

// dsaHash returns the hash of a DSA signature algorithm.
func dsaHash(alg x509.SignatureAlgorithm) (func() hash.Hash, bool) {
	switch alg {
	case x509.DSAWithSHA1:
		return sha1.New, true
	case x509.DSAWithSHA256:
		return sha256.New, true
	}
	return nil, false
}

// HasDSASignature reports whether any of certs is signed with DSA-with-SHA1
// or DSA-with-SHA256, that is, whether crypto/x509 would fail to verify it.
// (A root's own self-signature is never checked, so only the leaf and the
// intermediates matter.)
func HasDSASignature(certs ...*x509.Certificate) bool {
	for _, c := range certs {
		if c == nil {
			continue
		}
		if _, ok := dsaHash(c.SignatureAlgorithm); ok {
			return true
		}
	}
	return false
}

// CheckSignatureFrom verifies that parent signed child. For DSA-with-SHA1
// and DSA-with-SHA256 signatures it requires parent's public key to be a
// *dsa.PublicKey and applies the same issuer checks as
// (*x509.Certificate).CheckSignatureFrom (a version 3 parent must have basic
// constraints with CA=true; a key usage extension, if present, must allow
// certSign), failing with x509.ConstraintViolationError. For every other
// signature algorithm it returns child.CheckSignatureFrom(parent).
func CheckSignatureFrom(child, parent *x509.Certificate) error {
	if child == nil || parent == nil {
		return errors.New("dsax509: nil certificate")
	}
	newHash, ok := dsaHash(child.SignatureAlgorithm)
	if !ok {
		return child.CheckSignatureFrom(parent)
	}
	if parent.Version == 3 && !parent.BasicConstraintsValid ||
		parent.BasicConstraintsValid && !parent.IsCA {
		return x509.ConstraintViolationError{}
	}
	if parent.KeyUsage != 0 && parent.KeyUsage&x509.KeyUsageCertSign == 0 {
		return x509.ConstraintViolationError{}
	}
	pub, ok := parent.PublicKey.(*dsa.PublicKey)
	if !ok {
		return fmt.Errorf("dsax509: %v signature, but the issuer's key is %T", child.SignatureAlgorithm, parent.PublicKey)
	}
	h := newHash()
	h.Write(child.RawTBSCertificate)
	return VerifyDSA(pub, h.Sum(nil), child.Signature)
}

// VerifyChain builds and verifies chains from leaf to one of roots, through
// any of intermediates, at time now (time.Now() if zero). It returns every
// chain found, each starting with leaf and ending with a root, or the most
// specific error met. It is meant for chains that crypto/x509 rejects only
// because they contain DSA signatures; see the package documentation for
// what it checks and what it does not.
func VerifyChain(leaf *x509.Certificate, intermediates []*x509.Certificate, roots []*x509.Certificate, now time.Time) ([][]*x509.Certificate, error) {
	if leaf == nil {
		return nil, errors.New("dsax509: nil leaf certificate")
	}
	if now.IsZero() {
		now = time.Now()
	}
	if err := checkCertificate(leaf, now); err != nil {
		return nil, err
	}
	for _, root := range roots {
		if root != nil && bytes.Equal(root.Raw, leaf.Raw) {
			return [][]*x509.Certificate{{leaf}}, nil
		}
	}
	b := &builder{intermediates: intermediates, roots: roots, now: now}
	b.extend([]*x509.Certificate{leaf})
	if len(b.chains) > 0 {
		return b.chains, nil
	}
	if b.err != nil {
		return nil, b.err
	}
	return nil, x509.UnknownAuthorityError{Cert: leaf}
}

type builder struct {
	intermediates, roots []*x509.Certificate
	now                  time.Time
	chains               [][]*x509.Certificate
	sigChecks            int
	err                  error // first failure met while extending a chain
}

func (b *builder) fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

// extend tries every candidate issuer of the last certificate in chain.
func (b *builder) extend(chain []*x509.Certificate) {
	for _, root := range b.roots {
		b.try(chain, root, true)
	}
	for _, ic := range b.intermediates {
		b.try(chain, ic, false)
	}
}

func (b *builder) try(chain []*x509.Certificate, cand *x509.Certificate, isRoot bool) {
	child := chain[len(chain)-1]
	if cand == nil || !bytes.Equal(cand.RawSubject, child.RawIssuer) {
		return
	}
	for _, c := range chain {
		if bytes.Equal(c.Raw, cand.Raw) {
			return // no loops
		}
	}
	// Adding cand puts len(chain) certificates above the leaf.
	if len(chain) > MaxDepth {
		b.fail(x509.CertificateInvalidError{Cert: cand, Reason: x509.TooManyIntermediates,
			Detail: fmt.Sprintf("more than %d certificates above the leaf", MaxDepth)})
		return
	}
	if b.sigChecks >= maxSignatureChecks {
		b.fail(errors.New("dsax509: too many candidate issuers"))
		return
	}
	if err := checkCertificate(cand, b.now); err != nil {
		b.fail(err)
		return
	}
	if err := checkIssuer(cand, isRoot, len(chain)-1); err != nil {
		b.fail(err)
		return
	}
	b.sigChecks++
	if err := CheckSignatureFrom(child, cand); err != nil {
		b.fail(fmt.Errorf("dsax509: signature of %q by %q: %w", child.Subject, cand.Subject, err))
		return
	}
	next := append(chain[:len(chain):len(chain)], cand)
	if isRoot {
		b.chains = append(b.chains, next)
		return
	}
	b.extend(next)
}

// checkCertificate applies the checks that hold for every certificate in a
// chain: validity period and no unhandled critical extensions.
func checkCertificate(c *x509.Certificate, now time.Time) error {
	if now.Before(c.NotBefore) {
		return x509.CertificateInvalidError{Cert: c, Reason: x509.Expired,
			Detail: fmt.Sprintf("current time %s is before %s", now.UTC().Format(time.RFC3339), c.NotBefore.UTC().Format(time.RFC3339))}
	}
	if now.After(c.NotAfter) {
		return x509.CertificateInvalidError{Cert: c, Reason: x509.Expired,
			Detail: fmt.Sprintf("current time %s is after %s", now.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339))}
	}
	if len(c.UnhandledCriticalExtensions) > 0 {
		return x509.UnhandledCriticalExtension{}
	}
	return nil
}

// hasNameConstraints reports whether c carries any name constraints.
func hasNameConstraints(c *x509.Certificate) bool {
	return c.PermittedDNSDomainsCritical ||
		len(c.PermittedDNSDomains) > 0 || len(c.ExcludedDNSDomains) > 0 ||
		len(c.PermittedIPRanges) > 0 || len(c.ExcludedIPRanges) > 0 ||
		len(c.PermittedEmailAddresses) > 0 || len(c.ExcludedEmailAddresses) > 0 ||
		len(c.PermittedURIDomains) > 0 || len(c.ExcludedURIDomains) > 0
}

// checkIssuer checks that cand may issue certificates with intermediatesBelow
// intermediate CA certificates between it and the leaf.
func checkIssuer(cand *x509.Certificate, isRoot bool, intermediatesBelow int) error {
	notCA := x509.CertificateInvalidError{Cert: cand, Reason: x509.NotAuthorizedToSign}
	switch {
	case cand.BasicConstraintsValid:
		if !cand.IsCA {
			notCA.Detail = "basic constraints CA is false"
			return notCA
		}
	case !isRoot || cand.Version >= 3:
		notCA.Detail = "no basic constraints"
		return notCA
	}
	if cand.KeyUsage != 0 && cand.KeyUsage&x509.KeyUsageCertSign == 0 {
		notCA.Detail = "key usage does not allow certSign"
		return notCA
	}
	if cand.BasicConstraintsValid && (cand.MaxPathLen > 0 || cand.MaxPathLen == 0 && cand.MaxPathLenZero) &&
		intermediatesBelow > cand.MaxPathLen {
		return x509.CertificateInvalidError{Cert: cand, Reason: x509.TooManyIntermediates,
			Detail: fmt.Sprintf("pathLenConstraint %d, %d intermediates below", cand.MaxPathLen, intermediatesBelow)}
	}
	if hasNameConstraints(cand) {
		return x509.CertificateInvalidError{Cert: cand, Reason: x509.CANotAuthorizedForThisName,
			Detail: "name constraints are not supported by dsax509"}
	}
	return nil
}
