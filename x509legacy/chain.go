package x509legacy

import (
	"bytes"
	"crypto/dsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"hash"
	"time"
)

// Chains with DSA signatures: this file verifies X.509 certificates signed
// with DSA, which crypto/x509 parses but no longer verifies, and builds
// certificate chains that contain them. SSL 3.0 peers (DHE_DSS and DH_DSS suites) commonly
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
// DSA keys are accepted within the bounds of CheckDSAPublicKey (bounds.go:
// the FIPS 186-4 sizes and 512..1024-bit p with 160-bit q), checked before
// any arithmetic; the digest is truncated to the bit length of Q as FIPS
// 186-3 §4.6 requires.

// MaxDepth is the maximum number of certificates above the leaf
// (intermediates plus the root) in a chain built by VerifyChain.
const MaxDepth = 8

// maxSignatureChecks bounds the work VerifyChain does on a hostile set of
// intermediates (crypto/x509 uses the same bound).
const maxSignatureChecks = 100

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
		return errors.New("x509legacy: nil certificate")
	}
	// The issuer's key may come from a peer: bound it before crypto/x509
	// or VerifyDSA computes with it.
	if err := CheckPublicKey(parent.PublicKey); err != nil {
		return err
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
		return fmt.Errorf("x509legacy: %v signature, but the issuer's key is %T", child.SignatureAlgorithm, parent.PublicKey)
	}
	h := newHash()
	h.Write(child.RawTBSCertificate)
	return VerifyDSA(pub, h.Sum(nil), child.Signature)
}

// VerifyChain builds and verifies chains from leaf to one of roots, through
// any of intermediates, at time now (time.Now() if zero). It returns every
// chain found, each starting with leaf and ending with a root, or the most
// specific error met. It is meant for chains that crypto/x509 rejects only
// because they contain DSA signatures; see the comment at the top of chain.go for
// what it checks and what it does not.
func VerifyChain(leaf *x509.Certificate, intermediates []*x509.Certificate, roots []*x509.Certificate, now time.Time) ([][]*x509.Certificate, error) {
	if leaf == nil {
		return nil, errors.New("x509legacy: nil leaf certificate")
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
		b.fail(errors.New("x509legacy: too many candidate issuers"))
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
		b.fail(fmt.Errorf("x509legacy: signature of %q by %q: %w", child.Subject, cand.Subject, err))
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
			Detail: "name constraints are not supported by x509legacy"}
	}
	return nil
}
