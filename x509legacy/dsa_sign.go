package x509legacy

import (
	"crypto/dsa"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"

	"filippo.io/bigmod"

	"github.com/tokenssl/tokenssl/internal/ctexp"
)

// DSA signing in constant time, for every software DSA key of the project
// (the software token's DSS key, the software Fortezza card's, certificate
// signing). crypto/dsa.Sign computes g^k and k^-1 with the secret nonce k
// on math/big, whose time depends on k's bits: a few leaked bits of k per
// signature recover x by a lattice attack. Here g^k runs through
// internal/ctexp and everything else that touches k or x (k^-1, x·r, the
// sum, the product) through filippo.io/bigmod modulo q.

const (
	// dsaSignAttempts bounds the fresh nonces tried when r or s comes out
	// zero, as crypto/dsa.Sign does; only a degenerate key needs a second.
	dsaSignAttempts = 10
	// dsaNonceDraws bounds the draws of one nonce: a draw below q (and not
	// zero) comes with probability over 1/2, so a random source that fails
	// 128 times in a row is broken (say, all zeros) and signing stops with
	// an error rather than loop for ever.
	dsaNonceDraws = 128
)

// SignDSA signs digest with priv (FIPS 186-4 §4.6) and returns r and s, a
// signature that crypto/dsa.Verify accepts for digest truncated to q's bit
// length. digest is the full hash output: its leftmost q.BitLen() bits are
// signed, as FIPS 186 says and as VerifyDSA checks (crypto/dsa.Sign instead
// reduces a longer digest modulo q; for digests no longer than q, such as
// SSL 3.0's 20-byte SHA-1, both sign the same number). The nonce k is read
// from random (crypto/rand.Reader if nil), uniform in [1, q-1].
//
// The time does not depend on k or x, under the assumptions of
// internal/ctexp (their byte lengths padded to q's). What may vary: the
// number of nonce draws (rejected draws are discarded), r, s and the
// digest, which are public.
func SignDSA(random io.Reader, priv *dsa.PrivateKey, digest []byte) (r, s *big.Int, err error) {
	if err := checkDSASigningKey(priv); err != nil {
		return nil, nil, err
	}
	if random == nil {
		random = rand.Reader
	}
	q, qBits := priv.Q, priv.Q.BitLen()
	qm, err := bigmod.NewModulus(q.Bytes())
	if err != nil {
		return nil, nil, fmt.Errorf("x509legacy: DSA key: q: %w", err)
	}
	qLen := qm.Size()
	buf := make([]byte, qLen)
	defer clear(buf)

	// x as a Nat modulo q: FillBytes into q's length, so that the byte
	// string's length does not depend on x; SetBytes refuses x >= q.
	if priv.X.BitLen() > qBits {
		return nil, nil, errors.New("x509legacy: DSA key: x is not below q")
	}
	priv.X.FillBytes(buf)
	x, err := bigmod.NewNat().SetBytes(buf, qm)
	if err != nil {
		return nil, nil, errors.New("x509legacy: DSA key: x is not below q")
	}
	defer clear(x.Bits())
	z, err := bigmod.NewNat().SetOverflowingBytes(truncateDigest(digest, qBits), qm)
	if err != nil {
		// Unreachable: the truncated digest has at most q's bit length.
		return nil, nil, fmt.Errorf("x509legacy: DSA digest: %w", err)
	}
	qMinus2 := new(big.Int).Sub(q, big.NewInt(2)).Bytes()

	for range dsaSignAttempts {
		k, kBig, err := dsaNonce(random, buf, qBits, qm)
		if err != nil {
			return nil, nil, err
		}
		r = ctexp.Exp(priv.G, kBig, priv.P, qBits)
		clear(kBig.Bits())
		r.Mod(r, q) // r is public from here on
		if r.Sign() == 0 {
			clear(k.Bits())
			continue
		}
		// k^-1 = k^(q-2) mod q (Fermat, q prime): the exponent is public,
		// bigmod's Exp constant-time in the base as in the exponent.
		kInv := bigmod.NewNat().Exp(k, qMinus2, qm)
		clear(k.Bits())
		rn, err := bigmod.NewNat().SetBytes(r.Bytes(), qm)
		if err != nil {
			return nil, nil, fmt.Errorf("x509legacy: DSA r: %w", err) // unreachable: r < q
		}
		// s = k^-1 (z + x r) mod q, accumulated in rn (Mul and Add
		// overwrite their receiver, x stays).
		sn := rn.Mul(x, qm).Add(z, qm).Mul(kInv, qm)
		clear(kInv.Bits())
		if sn.IsZero() == 1 {
			continue
		}
		return r, new(big.Int).SetBytes(sn.Bytes(qm)), nil
	}
	return nil, nil, errors.New("x509legacy: DSA signing: r or s zero at every attempt (degenerate key)")
}

// dsaNonce draws k uniform in [1, q-1] by rejection: q's byte length of
// random bytes into buf, the top byte masked to q's bit length, kept if
// below q and not zero. It returns k as a Nat modulo q and as a big.Int
// for ctexp (both for the caller to wipe, and buf).
func dsaNonce(random io.Reader, buf []byte, qBits int, qm *bigmod.Modulus) (*bigmod.Nat, *big.Int, error) {
	mask := byte(0xff >> (8*len(buf) - qBits))
	for range dsaNonceDraws {
		if _, err := io.ReadFull(random, buf); err != nil {
			return nil, nil, fmt.Errorf("x509legacy: DSA nonce: %w", err)
		}
		buf[0] &= mask
		k, err := bigmod.NewNat().SetBytes(buf, qm)
		if err != nil || k.IsZero() == 1 {
			continue // not below q, or zero: discarded, so its time leaks nothing kept
		}
		return k, new(big.Int).SetBytes(buf), nil
	}
	return nil, nil, fmt.Errorf("x509legacy: DSA nonce: no value in [1, q-1] in %d draws from the random source", dsaNonceDraws)
}

// checkDSASigningKey validates priv as cheaply as crypto/dsa.Sign does
// (positive values, q a whole number of bytes, which crypto/dsa.Verify
// requires) and what the constant-time arithmetic needs: p and q odd, p
// above 1 (Montgomery moduli, else ctexp falls back to math/big; primes
// are). x < q is checked by SignDSA as it converts x.
func checkDSASigningKey(priv *dsa.PrivateKey) error {
	switch {
	case priv == nil || priv.P == nil || priv.Q == nil || priv.G == nil || priv.X == nil:
		return errors.New("x509legacy: DSA key: incomplete private key")
	case priv.P.Sign() <= 0 || priv.P.Bit(0) == 0 || priv.P.BitLen() < 2:
		return errors.New("x509legacy: DSA key: p must be odd and greater than 1")
	case priv.Q.Sign() <= 0 || priv.Q.Bit(0) == 0 || priv.Q.BitLen()%8 != 0:
		return errors.New("x509legacy: DSA key: q must be positive, odd and a whole number of bytes")
	case priv.G.Sign() <= 0:
		return errors.New("x509legacy: DSA key: g must be positive")
	case priv.X.Sign() <= 0:
		return errors.New("x509legacy: DSA key: x must be positive")
	}
	return nil
}
