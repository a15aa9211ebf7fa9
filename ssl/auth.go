package ssl

import (
	"crypto"
	"crypto/dsa"
	"crypto/ecdsa"
	"crypto/md5"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/big"

	"golang.org/x/crypto/cryptobyte"

	"github.com/tokenssl/tokenssl/token"
	"github.com/tokenssl/tokenssl/x509legacy"
)

// Signatures of the handshake (ServerKeyExchange, CertificateVerify,
// Fortezza's y_signature) and which key signs or proves what.

// signHandshake signs the SSL 3.0 way: RSA over the 36-byte MD5‖SHA-1 value
// with no DigestInfo; DSA over the 20-byte SHA-1 value, DER Dss-Sig-Value.
func signHandshake(key crypto.Signer, rand io.Reader, md5sha1 []byte) ([]byte, error) {
	switch key.Public().(type) {
	case *rsa.PublicKey:
		return key.Sign(rand, md5sha1, crypto.MD5SHA1)
	case *dsa.PublicKey, *ecdsa.PublicKey:
		return key.Sign(rand, md5sha1[16:], crypto.SHA1)
	}
	return nil, errors.New("ssl: unsupported signing key type")
}

// checkPeerPublicKey applies the peer key bounds (x509legacy/bounds.go:
// DSA sizes of FIPS 186, RSA modulus and DH prime at most 8192 bits) to a
// key the peer presented, before any arithmetic with it. Every use of a
// peer's key calls it or its x509legacy function: parseChain for every
// certificate received (bad_certificate), and the signature checks and the
// RSA encryption again, where a key outside the bounds is an
// unsupported_certificate (docs/ssl3.md, "Peer keys").
func checkPeerPublicKey(pub crypto.PublicKey) error {
	if err := x509legacy.CheckPublicKey(pub); err != nil {
		return withAlert(alertUnsupportedCertificate, err)
	}
	return nil
}

// verifyHandshakeSignature checks a signature made by signHandshake. DSA
// signatures are accepted both as DER (OpenSSL) and as raw r‖s of twice
// the length of q (NSS, Fortezza).
func verifyHandshakeSignature(pub crypto.PublicKey, md5sha1, sig []byte) error {
	if err := checkPeerPublicKey(pub); err != nil {
		return err
	}
	switch pk := pub.(type) {
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(pk, crypto.MD5SHA1, md5sha1, sig)
	case *dsa.PublicKey:
		r, s, err := parseDSASignature(sig, pk)
		if err != nil {
			return err
		}
		if err := x509legacy.CheckDSASignatureRange(pk, r, s); err != nil {
			return err
		}
		// dsa.Verify truncates the digest to the length of q itself.
		if !dsa.Verify(pk, md5sha1[16:], r, s) {
			return errors.New("ssl: DSA signature does not verify")
		}
		return nil
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(pk, md5sha1[16:], sig) {
			return errors.New("ssl: ECDSA signature does not verify")
		}
		return nil
	}
	return errors.New("ssl: unsupported public key type for signatures")
}

// parseDSASignature decodes a DER Dss-Sig-Value, or the raw r‖s NSS and
// Fortezza send: exactly twice the byte length of pub's q (40 bytes for a
// 160-bit q, 56 for 224, 64 for 256), each half big-endian.
func parseDSASignature(sig []byte, pub *dsa.PublicKey) (r, s *big.Int, err error) {
	if r, s, err := x509legacy.ParseDSASignature(sig); err == nil {
		return r, s, nil
	}
	if n := (pub.Q.BitLen() + 7) / 8; len(sig) == 2*n {
		return new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:]), nil
	}
	return nil, nil, fmt.Errorf("ssl: malformed DSA signature (%d bytes: neither DER nor raw r‖s of %d bytes)", len(sig), 2*((pub.Q.BitLen()+7)/8))
}

// serverParamsDigest is the value a ServerKeyExchange signature covers
// (§7.6.3): MD5 then SHA of ClientHello.random + ServerHello.random +
// ServerParams. RSA signs all 36 bytes, DSA the SHA part.
func serverParamsDigest(clientRandom, serverRandom, params []byte) []byte {
	out := make([]byte, 0, md5.Size+sha1.Size)
	h := md5.New()
	h.Write(clientRandom)
	h.Write(serverRandom)
	h.Write(params)
	out = h.Sum(out)
	h = sha1.New()
	h.Write(clientRandom)
	h.Write(serverRandom)
	h.Write(params)
	return h.Sum(out)
}

// signServerParams returns a signed ServerKeyExchange body: params, then
// their Signature (signHandshake) as an opaque <0..2^16-1> vector.
func signServerParams(rand io.Reader, key crypto.Signer, clientRandom, serverRandom, params []byte) ([]byte, error) {
	sig, err := signHandshake(key, rand, serverParamsDigest(clientRandom, serverRandom, params))
	if err != nil {
		return nil, fmt.Errorf("ssl: signing ServerKeyExchange: %w", err)
	}
	var b cryptobyte.Builder
	b.AddBytes(params)
	addVec16(&b, "ServerKeyExchange.signature", sig, 0, maxUint16Vec)
	return b.Bytes()
}

// --- certificates ---

// verifyServerParams checks the signature of a ServerKeyExchange made by
// signServerParams; a signature that does not verify is a
// handshake_failure (SSL 3.0 has no decrypt_error).
func verifyServerParams(pub crypto.PublicKey, clientRandom, serverRandom, params, sig []byte) error {
	if err := verifyHandshakeSignature(pub, serverParamsDigest(clientRandom, serverRandom, params), sig); err != nil {
		return withAlert(alertHandshakeFailure, fmt.Errorf("ServerKeyExchange signature: %w", err))
	}
	return nil
}

// fortezzaSigner is a card's DSS key as a crypto.Signer whose signatures
// are the raw 40-byte r‖s SSL 3.0 uses with Fortezza (docs/fortezza.md §4.2).
type fortezzaSigner struct{ card token.FortezzaCard }

func (s fortezzaSigner) Public() crypto.PublicKey { return s.card.DSSPublicKey() }

func (s fortezzaSigner) Sign(_ io.Reader, digest []byte, _ crypto.SignerOpts) ([]byte, error) {
	return s.card.SignDSS(digest)
}

// handshakeSigner returns the key that signs CertificateVerify: a
// crypto.Signer as is, or a Fortezza card's DSS key.
func handshakeSigner(k token.Key) (crypto.Signer, bool) {
	if card := token.AsFortezzaCard(k); card != nil {
		if card.DSSPublicKey() == nil {
			return nil, false
		}
		return fortezzaSigner{card}, true
	}
	s, ok := k.(crypto.Signer)
	return s, ok
}

// fortezzaCard returns the Fortezza card behind cert, or nil.
func fortezzaCard(cert *Certificate) token.FortezzaCard {
	if cert == nil {
		return nil
	}
	return token.AsFortezzaCard(cert.PrivateKey)
}

// verifyFortezzaYSignature checks y_signature: DSA over SHA-1(y_c), as the
// raw 40-byte r‖s of a card (a DER Dss-Sig-Value cannot fit in 40 bytes
// reliably, and NSS sends raw).
func verifyFortezzaYSignature(pub *dsa.PublicKey, yc, sig []byte) error {
	if err := checkPeerPublicKey(pub); err != nil {
		return err
	}
	if len(sig) != fortezzaYSigLen {
		return errors.New("wrong length")
	}
	h := sha1.Sum(yc)
	r := new(big.Int).SetBytes(sig[:20])
	s := new(big.Int).SetBytes(sig[20:])
	if err := x509legacy.CheckDSASignatureRange(pub, r, s); err != nil {
		return err
	}
	if !dsa.Verify(pub, h[:], r, s) {
		return errors.New("does not verify under the client certificate's DSS key")
	}
	return nil
}

// checkClientCertificateKey refuses, on the server, a client certificate
// that cannot prove possession of its key in suite s: one whose key can
// sign a CertificateVerify (RSA, DSA, ECDSA) always can; a fixed-DH
// certificate only in a DH or DHE exchange, through the implicit public
// value (readClientDHPublic); FORTEZZA_KEA checks its KEA certificate
// itself; anything else cannot (the server would otherwise expect no
// CertificateVerify and take the certificate on trust).
func checkClientCertificateKey(s *cipherSuite, leaf *x509.Certificate) error {
	t := s.ka(s).traits()
	if leaf.PublicKey != nil || t.checksClientKey {
		return nil
	}
	if clientDHCertificate(leaf) == nil {
		return fmt.Errorf("client certificate key (%v) is not supported", leaf.PublicKeyAlgorithm)
	}
	if !t.fixedDHClientAuth {
		return fmt.Errorf("a fixed-DH client certificate cannot authenticate a %s handshake", s.name)
	}
	return nil
}

// clientCertificateType returns the CertificateRequest type a client
// certificate answers (§7.6.4), or 0 if none: RSA and DSS signing keys, a
// Fortezza card's DSS certificate, a fixed-DH certificate in dhGroup (the
// exchange's clientAuthDHGroup). No SSL 3.0 type carries ECDSA.
func clientCertificateType(cert *Certificate, leaf *x509.Certificate, dhGroup *token.DHParams) byte {
	if fortezzaCard(cert) != nil {
		return certTypeFortezzaDMS
	}
	switch leaf.PublicKey.(type) {
	case *rsa.PublicKey:
		return certTypeRSASign
	case *dsa.PublicKey:
		return certTypeDSSSign
	case nil: // a key crypto/x509 does not know: DH?
		return fixedDHCertType(cert, leaf, dhGroup)
	}
	return 0
}
