package token

import (
	"crypto"
	"crypto/dsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"

	"github.com/tokenssl/tokenssl/x509legacy"
)

// The software token: keys held in process memory, loaded from PEM files.
// It exists for tests, for the demo's file mode and for users without a
// token; it satisfies exactly the same interfaces as the PKCS#11 backend.

// LoadKeyFile reads a PEM private key from path. Supported blocks:
// "PRIVATE KEY" (PKCS#8: RSA, ECDSA, Ed25519), "RSA PRIVATE KEY",
// "EC PRIVATE KEY", "DSA PRIVATE KEY" (OpenSSL's DSA format) and
// "DH PRIVATE KEY" (this project's format, see MarshalDHPrivateKeyPEM).
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

// ParsePrivateKeyPEM returns the first private key found in data.
func ParsePrivateKeyPEM(data []byte) (Key, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, ErrNoKey
		}
		switch block.Type {
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, err
			}
			return k, nil
		case "RSA PRIVATE KEY":
			return x509.ParsePKCS1PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			return x509.ParseECPrivateKey(block.Bytes)
		case "DSA PRIVATE KEY":
			return ParseDSAPrivateKey(block.Bytes)
		case "DH PRIVATE KEY":
			return parseDHPrivateKey(block.Bytes)
		}
	}
}

// opensslDSAPrivateKey is OpenSSL's traditional DSA private key structure.
type opensslDSAPrivateKey struct {
	Version       int
	P, Q, G, Y, X *big.Int
}

// ParseDSAPrivateKey parses OpenSSL's "DSA PRIVATE KEY" DER structure.
func ParseDSAPrivateKey(der []byte) (*DSAKey, error) {
	var k opensslDSAPrivateKey
	rest, err := asn1.Unmarshal(der, &k)
	if err != nil || len(rest) != 0 || k.Version != 0 {
		return nil, errors.New("token: malformed DSA private key")
	}
	priv := &dsa.PrivateKey{
		PublicKey: dsa.PublicKey{Parameters: dsa.Parameters{P: k.P, Q: k.Q, G: k.G}, Y: k.Y},
		X:         k.X,
	}
	if err := checkDSA(priv); err != nil {
		return nil, err
	}
	return &DSAKey{priv}, nil
}

func checkDSA(k *dsa.PrivateKey) error {
	one := big.NewInt(1)
	if k.P == nil || k.Q == nil || k.G == nil || k.Y == nil || k.X == nil ||
		k.P.Sign() <= 0 || k.Q.Sign() <= 0 || k.G.Cmp(one) <= 0 || k.G.Cmp(k.P) >= 0 ||
		k.X.Sign() <= 0 || k.X.Cmp(k.Q) >= 0 {
		return errors.New("token: DSA key parameters out of range")
	}
	if new(big.Int).Exp(k.G, k.X, k.P).Cmp(k.Y) != 0 {
		return errors.New("token: DSA public value does not match private value")
	}
	return nil
}

// MarshalDSAPrivateKeyPEM encodes k in OpenSSL's "DSA PRIVATE KEY" format.
func MarshalDSAPrivateKeyPEM(k *dsa.PrivateKey) ([]byte, error) {
	der, err := asn1.Marshal(opensslDSAPrivateKey{P: k.P, Q: k.Q, G: k.G, Y: k.Y, X: k.X})
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
	r, s, err := dsa.Sign(rand, k.PrivateKey, digest)
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
	return new(big.Int).Exp(peerY, k.X, k.Pub.P).Bytes(), nil
}

// dhPrivateKeyASN1 is this project's PEM body for a DH private key: the
// domain parameters, the public and the private value.
type dhPrivateKeyASN1 struct {
	P, G, Y, X *big.Int
	Q          *big.Int `asn1:"optional"`
}

func parseDHPrivateKey(der []byte) (*DHKey, error) {
	var k dhPrivateKeyASN1
	rest, err := asn1.Unmarshal(der, &k)
	if err != nil || len(rest) != 0 || k.P == nil || k.P.Sign() <= 0 || k.X == nil || k.X.Sign() <= 0 {
		return nil, errors.New("token: malformed DH private key")
	}
	if new(big.Int).Exp(k.G, k.X, k.P).Cmp(k.Y) != 0 {
		return nil, errors.New("token: DH public value does not match private value")
	}
	return &DHKey{Pub: DHPublicKey{DHParams: DHParams{P: k.P, G: k.G, Q: k.Q}, Y: k.Y}, X: k.X}, nil
}

// MarshalDHPrivateKeyPEM encodes k as a "DH PRIVATE KEY" PEM block.
func MarshalDHPrivateKeyPEM(k *DHKey) ([]byte, error) {
	der, err := asn1.Marshal(dhPrivateKeyASN1{P: k.Pub.P, G: k.Pub.G, Y: k.Pub.Y, X: k.X, Q: k.Pub.Q})
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "DH PRIVATE KEY", Bytes: der}), nil
}
