package keacert

import (
	"bytes"
	"crypto/dsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"io"
	"math/big"
)

// dsaSignature is Dss-Sig-Value (RFC 3279 §2.2.2).
type dsaSignature struct {
	R, S *big.Int
}

// signDSA returns the DER Dss-Sig-Value of SHA-1(msg) under key.
func signDSA(random io.Reader, key *dsa.PrivateKey, msg []byte) ([]byte, error) {
	digest := sha1.Sum(msg)
	r, s, err := dsa.Sign(random, key, digest[:])
	if err != nil {
		return nil, fmt.Errorf("keacert: DSA signing: %w", err)
	}
	return asn1.Marshal(dsaSignature{r, s})
}

// verifyDSA checks a DER Dss-Sig-Value over SHA-1(msg).
func verifyDSA(pub *dsa.PublicKey, msg, sig []byte) error {
	var ds dsaSignature
	if err := unmarshalExact(sig, &ds); err != nil {
		return fmt.Errorf("%w: malformed Dss-Sig-Value: %v", ErrSignature, err)
	}
	if ds.R.Sign() <= 0 || ds.S.Sign() <= 0 {
		return fmt.Errorf("%w: non-positive r or s", ErrSignature)
	}
	digest := sha1.Sum(msg)
	// dsa.Verify truncates the digest to the size of q itself.
	if !dsa.Verify(pub, digest[:], ds.R, ds.S) {
		return ErrSignature
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
		return fmt.Errorf("keacert: nil certificate")
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
	return verifyDSA(pub, cert.RawTBSCertificate, cert.Signature)
}

// CheckSignatureFrom is VerifyDSASignature(c, parent).
func (c *Certificate) CheckSignatureFrom(parent *Certificate) error {
	return VerifyDSASignature(c, parent)
}
