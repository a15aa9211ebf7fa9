package x509legacy

import (
	"bytes"
	"crypto"
	"crypto/dsa"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// DSA public keys (RFC 3279 §2.3.2) and the DER signature Dss-Sig-Value
// (RFC 3279 §2.2.2): the one encoder and decoder of each for the project.

// Size limits for DSA keys.
const (
	// maxDSACertPrimeBits bounds p of a DSA key parsed from a certificate
	// or SubjectPublicKeyInfo (DSA verification cost grows with p).
	maxDSACertPrimeBits = 3072
	// maxDSAPrimeBits bounds p of a parsed DSA private key (a peer's key
	// is bounded by CheckDSAPublicKey, bounds.go).
	maxDSAPrimeBits = 4096
	// maxSigLen bounds a Dss-Sig-Value: with q of at most 256 bits, r and
	// s take at most 35 bytes each and the SEQUENCE at most 72.
	maxSigLen = 256
)

// validDSAQBits reports whether q has one of the FIPS 186 sizes.
func validDSAQBits(n int) bool { return n == 160 || n == 224 || n == 256 }

// addDSSParms writes Dss-Parms ::= SEQUENCE { p, q, g INTEGER }.
func addDSSParms(b *cryptobyte.Builder, p *dsa.Parameters) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1BigInt(p.P)
		b.AddASN1BigInt(p.Q)
		b.AddASN1BigInt(p.G)
	})
}

// readDSSParms reads Dss-Parms; it checks nothing but the structure.
func readDSSParms(s *cryptobyte.String) (*dsa.Parameters, bool) {
	var seq cryptobyte.String
	p := &dsa.Parameters{P: new(big.Int), Q: new(big.Int), G: new(big.Int)}
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !seq.ReadASN1Integer(p.P) ||
		!seq.ReadASN1Integer(p.Q) || !seq.ReadASN1Integer(p.G) || !seq.Empty() {
		return nil, false
	}
	return p, true
}

// MarshalDSAPublicKey returns the DER SubjectPublicKeyInfo of a DSA key
// (RFC 3279 §2.3.2: Dss-Parms parameters present, INTEGER y). crypto/x509
// parses such keys but no longer writes them.
func MarshalDSAPublicKey(pub *dsa.PublicKey) ([]byte, error) {
	if pub == nil || pub.Y == nil || pub.P == nil || pub.Q == nil || pub.G == nil {
		return nil, errors.New("x509legacy: incomplete DSA public key")
	}
	var y cryptobyte.Builder
	y.AddASN1BigInt(pub.Y)
	yDER, err := y.Bytes()
	if err != nil {
		return nil, err
	}
	return marshalSPKI(OIDPublicKeyDSA, func(b *cryptobyte.Builder) { addDSSParms(b, &pub.Parameters) }, yDER)
}

// marshalSPKI writes SubjectPublicKeyInfo { AlgorithmIdentifier { oid,
// params }, BIT STRING key }.
func marshalSPKI(oid []int, params func(*cryptobyte.Builder), key []byte) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oid)
			params(b)
		})
		b.AddASN1BitString(key)
	})
	return b.Bytes()
}

// parseDSAKey decodes the parameters and key bits of a DSA
// SubjectPublicKeyInfo, with the size checks for keys from certificates.
func parseDSAKey(params cryptobyte.String, bits []byte) (*dsa.PublicKey, error) {
	dp, ok := readDSSParms(&params)
	if !ok || !params.Empty() {
		return nil, fmt.Errorf("%w: DSA parameters", ErrMalformed)
	}
	ys := cryptobyte.String(bits)
	y := new(big.Int)
	if !ys.ReadASN1Integer(y) || !ys.Empty() {
		return nil, fmt.Errorf("%w: DSA public key", ErrMalformed)
	}
	one := big.NewInt(1)
	switch {
	case dp.P.Sign() <= 0 || dp.P.BitLen() > maxDSACertPrimeBits:
		return nil, fmt.Errorf("%w: DSA p must be positive and at most %d bits", ErrMalformed, maxDSACertPrimeBits)
	case !validDSAQBits(dp.Q.BitLen()), dp.Q.Sign() <= 0:
		return nil, fmt.Errorf("%w: DSA q must be 160, 224 or 256 bits", ErrMalformed)
	case dp.G.Cmp(one) <= 0 || dp.G.Cmp(dp.P) >= 0:
		return nil, fmt.Errorf("%w: DSA g not in (1, p)", ErrMalformed)
	case y.Cmp(one) <= 0 || y.Cmp(dp.P) >= 0:
		return nil, fmt.Errorf("%w: DSA y not in (1, p)", ErrMalformed)
	}
	return &dsa.PublicKey{Parameters: *dp, Y: y}, nil
}

// ParseDSASignature decodes a DER Dss-Sig-Value, SEQUENCE { r INTEGER,
// s INTEGER } (RFC 3279 §2.2.2), as found in a DSA certificate signature or
// an SSL 3.0 DSS ServerKeyExchange signature. It accepts only DER with
// positive r and s and no trailing data.
func ParseDSASignature(der []byte) (r, s *big.Int, err error) {
	if len(der) > maxSigLen {
		return nil, nil, ErrMalformedSignature
	}
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	r, s = new(big.Int), new(big.Int)
	// ReadASN1 rejects non-minimal lengths and ReadASN1Integer non-minimal
	// integers, so there is exactly one accepted encoding.
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1Integer(r) || !seq.ReadASN1Integer(s) || !seq.Empty() ||
		r.Sign() <= 0 || s.Sign() <= 0 {
		return nil, nil, ErrMalformedSignature
	}
	return r, s, nil
}

// MarshalDSASignature encodes r and s as a DER Dss-Sig-Value.
func MarshalDSASignature(r, s *big.Int) ([]byte, error) {
	if r == nil || s == nil || r.Sign() <= 0 || s.Sign() <= 0 {
		return nil, errors.New("x509legacy: r and s must be positive")
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1BigInt(r)
		b.AddASN1BigInt(s)
	})
	return b.Bytes()
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
// by pub. It returns nil on success, ErrSignature for a well-formed
// signature that does not verify, and ErrMalformedSignature or
// ErrUnsupportedKey otherwise.
func VerifyDSA(pub *dsa.PublicKey, digest, sig []byte) error {
	if err := CheckDSAPublicKey(pub); err != nil {
		return err
	}
	r, s, err := ParseDSASignature(sig)
	if err != nil {
		return err
	}
	if err := CheckDSASignatureRange(pub, r, s); err != nil {
		return err
	}
	if !dsa.Verify(pub, truncateDigest(digest, pub.Q.BitLen()), r, s) {
		return ErrSignature
	}
	return nil
}

// dsaSigner makes a *dsa.PrivateKey a crypto.Signer returning a DER
// Dss-Sig-Value (the convention of token.DSAKey and crypto11), so that one
// certificate builder serves in-memory and token keys.
type dsaSigner struct{ *dsa.PrivateKey }

func (k dsaSigner) Public() crypto.PublicKey { return &k.PrivateKey.PublicKey }

func (k dsaSigner) Sign(random io.Reader, digest []byte, _ crypto.SignerOpts) ([]byte, error) {
	r, s, err := SignDSA(random, k.PrivateKey, digest)
	if err != nil {
		return nil, err
	}
	return MarshalDSASignature(r, s)
}

// dsaKeysEqual reports whether a and b are the same DSA public key.
func dsaKeysEqual(a, b *dsa.PublicKey) bool {
	return a.Y.Cmp(b.Y) == 0 && a.P.Cmp(b.P) == 0 && a.Q.Cmp(b.Q) == 0 && a.G.Cmp(b.G) == 0
}

// sha1Sum is the digest of dsa-with-sha1.
func sha1Sum(b []byte) []byte { d := sha1.Sum(b); return d[:] }
