package kea

import (
	"crypto/rand"
	"fmt"
	"io"
	"math/big"

	"github.com/tokenssl/tokenssl/internal/ctexp"
)

// PublicKey is a KEA public value Y = g^x mod p (static) or R = g^r mod p
// (ephemeral) together with its group.
type PublicKey struct {
	Params
	Y *big.Int
}

// PrivateKey is a KEA key pair. Static and ephemeral pairs have the same
// type: X is the private exponent (x or r), Y the public value (Y or R).
type PrivateKey struct {
	Params
	X *big.Int
	Y *big.Int
}

// Public returns the public half of priv.
func (priv *PrivateKey) Public() *PublicKey {
	return &PublicKey{Params: priv.Params, Y: priv.Y}
}

// GenerateKey generates a key pair in params: x uniform in [1, q-1] and
// Y = g^x mod p. Use it for static keys and for each ephemeral R alike.
// params are not re-validated (call Validate once); only their shape is
// checked. If random is nil, crypto/rand.Reader is used.
func GenerateKey(random io.Reader, params *Params) (*PrivateKey, error) {
	if err := params.checkShape(); err != nil {
		return nil, err
	}
	if random == nil {
		random = rand.Reader
	}
	// Reduce 64 extra bits modulo q-1 so the bias is below 2^-64 (FIPS
	// 186-4 B.1.1 "extra random bits").
	buf := make([]byte, (params.Q.BitLen()+64+7)/8)
	if _, err := io.ReadFull(random, buf); err != nil {
		return nil, fmt.Errorf("kea: generating private value: %w", err)
	}
	x := new(big.Int).SetBytes(buf)
	clear(buf)
	qm1 := new(big.Int).Sub(params.Q, one)
	x.Mod(x, qm1)
	x.Add(x, one)
	return &PrivateKey{
		Params: params.clone(),
		X:      x,
		Y:      ctexp.Exp(params.G, x, params.P, params.Q.BitLen()),
	}, nil
}

// Validate checks that priv is consistent: the parameters have the right
// shape, 1 <= X < q, and Y = g^X mod p. It does not re-run the primality
// tests of Params.Validate.
func (priv *PrivateKey) Validate() error {
	if err := priv.Params.checkShape(); err != nil {
		return err
	}
	if err := checkPrivate(&priv.Params, priv.X); err != nil {
		return err
	}
	if priv.Y == nil || ctexp.Exp(priv.G, priv.X, priv.P, priv.Q.BitLen()).Cmp(priv.Y) != 0 {
		return fmt.Errorf("kea: public value does not match private value")
	}
	return nil
}

// Validate runs Params.Validate and CheckPublic on Y. (Without this method
// the promoted Params.Validate would silently skip Y.)
func (pub *PublicKey) Validate() error {
	if err := pub.Params.Validate(); err != nil {
		return err
	}
	return CheckPublic(&pub.Params, pub.Y)
}

// CheckPublic checks a peer's public value v (a static Y or an ephemeral R)
// as docs/fortezza.md §2.2 requires: 1 < v < p-1 and v^q ≡ 1 (mod p). It returns
// ErrPublicRange or ErrPublicOrder (or ErrInvalidParams for malformed params).
func CheckPublic(params *Params, v *big.Int) error {
	if err := params.checkShape(); err != nil {
		return err
	}
	if v == nil {
		return fmt.Errorf("%w: missing value", ErrPublicRange)
	}
	pm1 := new(big.Int).Sub(params.P, one)
	if v.Cmp(one) <= 0 || v.Cmp(pm1) >= 0 {
		return ErrPublicRange
	}
	// v is public, so the variable-time Exp is fine here.
	if new(big.Int).Exp(v, params.Q, params.P).Cmp(one) != 0 {
		return ErrPublicOrder
	}
	return nil
}

// checkPrivate checks 1 <= x < q.
func checkPrivate(params *Params, x *big.Int) error {
	if x == nil || x.Sign() <= 0 || x.Cmp(params.Q) >= 0 {
		return ErrPrivateRange
	}
	return nil
}

// EncodeValue returns v as a ValueSize-byte big-endian string, left-padded
// with zeros: the wire form of Y, R (r_c, r_s) and w.
func EncodeValue(v *big.Int) ([]byte, error) {
	if v == nil || v.Sign() < 0 || v.BitLen() > 8*ValueSize {
		return nil, fmt.Errorf("kea: value does not fit in %d bytes", ValueSize)
	}
	return v.FillBytes(make([]byte, ValueSize)), nil
}

// DecodeValue parses a big-endian public value of at most ValueSize bytes
// (leading zeros allowed). It does not check the value; use CheckPublic.
func DecodeValue(b []byte) (*big.Int, error) {
	if len(b) == 0 || len(b) > ValueSize {
		return nil, fmt.Errorf("kea: value is %d bytes, want 1 to %d", len(b), ValueSize)
	}
	return new(big.Int).SetBytes(b), nil
}
