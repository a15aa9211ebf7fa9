package token

import (
	"crypto"
	"crypto/dsa"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"

	"github.com/tokenssl/tokenssl/internal/ctexp"
	"github.com/tokenssl/tokenssl/x509legacy"
)

// The software token: keys held in process memory, loaded from PEM files.
// It exists for tests, for the demo's file mode and for users without a
// token; it satisfies exactly the same interfaces as the PKCS#11 backend.

// LoadKeyFile reads a PEM private key from path: every form
// x509legacy.ParsePrivateKeyPEM reads (PKCS #8 "PRIVATE KEY" with RSA,
// ECDSA, Ed25519, DSA or DH keys; "RSA PRIVATE KEY", "EC PRIVATE KEY",
// OpenSSL's "DSA PRIVATE KEY", this project's "DH PRIVATE KEY").
func LoadKeyFile(path string) (Key, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := ParsePrivateKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("token: %s: %w", path, err)
	}
	return k, nil
}

// ParsePrivateKeyPEM returns the first private key found in data, as the
// engine takes it: DSA keys as *DSAKey (a crypto.Signer), DH keys as
// *DHKey (a DHAgreer), others as crypto/x509 returns them.
func ParsePrivateKeyPEM(data []byte) (Key, error) {
	k, err := x509legacy.ParsePrivateKeyPEM(data)
	if err != nil {
		return nil, err
	}
	return FromPrivateKey(k), nil
}

// FromPrivateKey wraps a key from x509legacy.ParsePrivateKeyPEM in the
// software token's types: *dsa.PrivateKey becomes *DSAKey and
// *x509legacy.DHPrivateKey *DHKey; other keys are returned as they are.
func FromPrivateKey(k crypto.PrivateKey) Key {
	switch k := k.(type) {
	case *dsa.PrivateKey:
		return &DSAKey{k}
	case *x509legacy.DHPrivateKey:
		return &DHKey{Pub: DHPublicKey{DHParams: DHParams{P: k.P, G: k.G, Q: k.Q}, Y: k.Y}, X: k.X}
	}
	return k
}

// ParseDSAPrivateKey parses OpenSSL's "DSA PRIVATE KEY" DER structure.
func ParseDSAPrivateKey(der []byte) (*DSAKey, error) {
	k, err := x509legacy.ParseDSAPrivateKey(der)
	if err != nil {
		return nil, err
	}
	return &DSAKey{k}, nil
}

// MarshalDSAPrivateKeyPEM encodes k in OpenSSL's "DSA PRIVATE KEY" format.
func MarshalDSAPrivateKeyPEM(k *dsa.PrivateKey) ([]byte, error) {
	der, err := x509legacy.MarshalDSAPrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "DSA PRIVATE KEY", Bytes: der}), nil
}

// DSAKey makes a *dsa.PrivateKey a crypto.Signer. crypto/dsa predates the
// interface; the engine needs one shape for every signing key.
type DSAKey struct {
	*dsa.PrivateKey
}

// Public returns the *dsa.PublicKey.
func (k *DSAKey) Public() crypto.PublicKey { return &k.PrivateKey.PublicKey }

// Sign signs digest (the caller hashes, e.g. SHA-1 for SSL 3.0) and returns
// a DER Dss-Sig-Value, the same convention as crypto/ecdsa and crypto11.
func (k *DSAKey) Sign(rand io.Reader, digest []byte, _ crypto.SignerOpts) ([]byte, error) {
	r, s, err := x509legacy.SignDSA(rand, k.PrivateKey, digest)
	if err != nil {
		return nil, err
	}
	return x509legacy.MarshalDSASignature(r, s)
}

// DHKey is a software Diffie-Hellman private key.
type DHKey struct {
	Pub DHPublicKey
	X   *big.Int
}

// DHPublic implements DHAgreer.
func (k *DHKey) DHPublic() *DHPublicKey { return &k.Pub }

// Agree implements DHAgreer.
func (k *DHKey) Agree(peerY *big.Int) ([]byte, error) {
	if peerY == nil || peerY.Cmp(big.NewInt(1)) <= 0 || peerY.Cmp(new(big.Int).Sub(k.Pub.P, big.NewInt(1))) >= 0 {
		return nil, errors.New("token: DH peer public value out of range")
	}
	// The static key's x is the secret that matters most: the exponent is
	// padded to the length of its public bound, q when known, else p.
	bound := k.Pub.P
	if k.Pub.Q != nil {
		bound = k.Pub.Q
	}
	return ctexp.Exp(peerY, k.X, k.Pub.P, bound.BitLen()).Bytes(), nil
}

// MarshalDHPrivateKeyPEM encodes k as a "DH PRIVATE KEY" PEM block (this
// project's format, see x509legacy.MarshalDHPrivateKey).
func MarshalDHPrivateKeyPEM(k *DHKey) ([]byte, error) {
	der, err := x509legacy.MarshalDHPrivateKey(&x509legacy.DHPrivateKey{
		DHPublicKey: x509legacy.DHPublicKey{P: k.Pub.P, G: k.Pub.G, Q: k.Pub.Q, Y: k.Pub.Y}, X: k.X})
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "DH PRIVATE KEY", Bytes: der}), nil
}
