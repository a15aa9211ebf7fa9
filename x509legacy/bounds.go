package x509legacy

import (
	"crypto/dsa"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"fmt"
	"math/big"
)

// Bounds on the public keys a peer presents: the one place that decides
// how large a key we are willing to compute with. The cost of verifying a
// DSA signature grows with p (a 16384-bit p costs seconds), of an RSA
// operation with the modulus, of a DH exponentiation with p; so every
// place a peer's key is used (certificate chains, CertificateVerify,
// ServerKeyExchange signatures, Fortezza's y_signature, DH certificates and
// groups) calls CheckPublicKey or one of the functions below before any
// arithmetic, and x509legacy's own DSA verification does too.
//
// DSA: the (L, N) pairs of FIPS 186-4 §4.2 — (1024, 160), (2048, 224),
// (2048, 256), (3072, 256) — and the 512..1024-bit p with a 160-bit q of
// FIPS 186-2, which SSL 3.0-era DSS certificates and Fortezza cards use;
// besides, the pairs OpenSSL writes outside FIPS: 1024/224 (OpenSSL 3's
// `dsaparam 1024`) and 2048/160 (OpenSSL 0.9.8's `dsaparam 2048`). So p is
// 512..1024 or 2048 bits with a q of 160, 224 or 256 bits, or 3072 bits
// with a 256-bit q: at most 3072 bits, which bounds the cost.
//
// RSA: a modulus of at most MaxRSAModulusBits (8192, the bound crypto/tls
// applies to certificates since Go 1.21; 16384 would allow keys that cost
// eight times as much per private operation and that no CA issues) and a
// public exponent below 2^32.
//
// DH: a prime of at most MaxDHPrimeBits (dh.go); a subgroup order, when
// known, below p.

// ErrKeyBounds reports a peer's key outside the bounds; it wraps
// ErrUnsupportedKey.
var ErrKeyBounds = fmt.Errorf("%w: outside the peer key bounds", ErrUnsupportedKey)

// MaxRSAModulusBits bounds the modulus of a peer's RSA key.
const MaxRSAModulusBits = 8192

// maxRSAExponentBits bounds a peer's RSA public exponent (crypto/rsa takes
// an int; the cost of a verification grows with the exponent's length).
const maxRSAExponentBits = 32

// dsaSizesText names the allowed DSA sizes in errors.
const dsaSizesText = "allowed: p of 512..1024 or 2048 bits with a 160-, 224- or 256-bit q, or 3072 bits with a 256-bit q"

// dsaSizeAllowed reports whether a DSA key with an L-bit p and an N-bit q
// is within the bounds.
func dsaSizeAllowed(l, n int) bool {
	if n != 160 && n != 224 && n != 256 {
		return false
	}
	return l >= 512 && l <= 1024 || l == 2048 || l == 3072 && n == 256
}

// CheckDSAPublicKey checks a peer's DSA key against the bounds and the
// ranges 1 < g < p, 1 < y < p, q < p. It does no exponentiation. Errors
// wrap ErrUnsupportedKey and name the bound.
func CheckDSAPublicKey(pub *dsa.PublicKey) error {
	if pub == nil || pub.P == nil || pub.Q == nil || pub.G == nil || pub.Y == nil {
		return fmt.Errorf("%w: incomplete DSA key", ErrUnsupportedKey)
	}
	l, n := pub.P.BitLen(), pub.Q.BitLen()
	if !dsaSizeAllowed(l, n) || pub.P.Sign() <= 0 || pub.Q.Sign() <= 0 {
		return fmt.Errorf("%w: DSA key with a %d-bit p and a %d-bit q (%s)", ErrKeyBounds, l, n, dsaSizesText)
	}
	one := big.NewInt(1)
	if pub.Q.Cmp(pub.P) >= 0 || pub.G.Cmp(one) <= 0 || pub.G.Cmp(pub.P) >= 0 ||
		pub.Y.Cmp(one) <= 0 || pub.Y.Cmp(pub.P) >= 0 {
		return fmt.Errorf("%w: DSA parameter out of range", ErrUnsupportedKey)
	}
	return nil
}

// CheckDSASignatureRange checks 0 < r, s < q, the range FIPS 186-4 §4.7
// requires, before any arithmetic with them (pub already checked).
func CheckDSASignatureRange(pub *dsa.PublicKey, r, s *big.Int) error {
	if r == nil || s == nil || r.Sign() <= 0 || s.Sign() <= 0 || r.Cmp(pub.Q) >= 0 || s.Cmp(pub.Q) >= 0 {
		return fmt.Errorf("%w: DSA signature r or s outside (0, q)", ErrSignature)
	}
	return nil
}

// CheckRSAPublicKey checks a peer's RSA key: a modulus of at most
// MaxRSAModulusBits and an odd exponent in [3, 2^32).
func CheckRSAPublicKey(pub *rsa.PublicKey) error {
	if pub == nil || pub.N == nil {
		return fmt.Errorf("%w: incomplete RSA key", ErrUnsupportedKey)
	}
	if bits := pub.N.BitLen(); bits > MaxRSAModulusBits {
		return fmt.Errorf("%w: %d-bit RSA modulus exceeds %d bits", ErrKeyBounds, bits, MaxRSAModulusBits)
	}
	if pub.E < 3 || pub.E&1 == 0 || big.NewInt(int64(pub.E)).BitLen() > maxRSAExponentBits {
		return fmt.Errorf("%w: RSA exponent %d outside [3, 2^%d) or even", ErrKeyBounds, pub.E, maxRSAExponentBits)
	}
	return nil
}

// CheckDHPrimeSize checks a peer's DH prime against MaxDHPrimeBits.
func CheckDHPrimeSize(p *big.Int) error {
	if p == nil {
		return fmt.Errorf("%w: no DH prime", ErrUnsupportedKey)
	}
	if bits := p.BitLen(); bits > MaxDHPrimeBits {
		return fmt.Errorf("%w: %d-bit DH prime exceeds %d bits", ErrKeyBounds, bits, MaxDHPrimeBits)
	}
	return nil
}

// CheckPublicKey applies the bounds to any public key a peer may present:
// as crypto/x509 parses it (RSA, DSA, ECDSA, Ed25519), or as this package
// does (*DHPublicKey, *KEAPublicKey). nil (a key crypto/x509 does not know)
// passes: the caller parses it with this package, which checks it then.
// Any other type is refused.
func CheckPublicKey(pub any) error {
	switch k := pub.(type) {
	case nil:
		return nil
	case *rsa.PublicKey:
		return CheckRSAPublicKey(k)
	case *dsa.PublicKey:
		return CheckDSAPublicKey(k)
	case *ecdsa.PublicKey, ed25519.PublicKey:
		return nil // named curves only: crypto/x509 parses no other
	case *DHPublicKey:
		return CheckDHPrimeSize(k.P)
	case *KEAPublicKey:
		return nil // parseKEAKey admits only 1024/160 groups
	}
	return fmt.Errorf("%w: %T", ErrUnsupportedKey, pub)
}
