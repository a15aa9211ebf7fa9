package ssl

import (
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"

	"golang.org/x/crypto/cryptobyte"

	"github.com/tokenssl/tokenssl/token"
	"github.com/tokenssl/tokenssl/x509legacy"
)

// The halves of a Diffie-Hellman exchange that fixed DH (DH_DSS, DH_RSA),
// DHE and DH_anon share: the client's public value on the server side, the
// client's agreement, the ephemeral server key, and fixed-DH client
// certificates (§7.6.7.3). Groups and value checks are in dh_groups.go.

// clientDHCertificate returns the DH key of a fixed-DH certificate (one
// whose key crypto/x509 does not know and x509legacy parses), or nil.
func clientDHCertificate(leaf *x509.Certificate) *x509legacy.DHPublicKey {
	if leaf == nil || leaf.PublicKeyAlgorithm != x509.UnknownPublicKeyAlgorithm {
		return nil
	}
	pub, err := x509legacy.DHPublicKeyFromCertificate(leaf)
	if err != nil {
		return nil
	}
	return pub
}

// parseClientDHPublic reads ClientDiffieHellmanPublic (§7.6.7.3): an empty
// body for the implicit encoding, or exactly one dh_Yc<1..2^16-1>.
func parseClientDHPublic(body []byte) (yc []byte, implicit, ok bool) {
	if len(body) == 0 {
		return nil, true, true
	}
	s := cryptobyte.String(body)
	if !readVec16(&s, &yc, 1, maxUint16Vec) || !s.Empty() {
		return nil, false, false
	}
	return yc, false, true
}

// readClientDHPublic is the server's half of every DH exchange: it returns
// the client's public value from ClientKeyExchange — explicit, or implicit
// in a fixed-DH client certificate, which must then be in the server's
// group — checked against group. A fixed-DH client certificate cannot sign
// a CertificateVerify (§7.6.8), so the pre-master secret computed from its
// public value is the only proof that the client holds its key: an
// explicit value sent with such a certificate is refused.
func readClientDHPublic(clientLeaf *x509.Certificate, ckx *clientKeyExchangeMsg, group *token.DHParams) (*big.Int, error) {
	raw, implicit, ok := parseClientDHPublic(ckx.ciphertext)
	if !ok {
		return nil, withAlert(alertIllegalParameter, errors.New("malformed ClientDiffieHellmanPublic"))
	}
	certKey := clientDHCertificate(clientLeaf)
	var yc *big.Int
	switch {
	case implicit && certKey == nil:
		return nil, withAlert(alertIllegalParameter, errors.New("implicit DH public value without a fixed-DH client certificate"))
	case !implicit && certKey != nil:
		return nil, withAlert(alertIllegalParameter, errors.New("explicit DH public value with a fixed-DH client certificate"))
	case implicit:
		if !sameDHGroup(&token.DHParams{P: certKey.P, G: certKey.G}, group) {
			return nil, withAlert(alertHandshakeFailure, errors.New("client DH certificate is not in the server's group"))
		}
		yc = certKey.Y
	default:
		yc = new(big.Int).SetBytes(raw)
	}
	if a, err := checkDHPublic(yc, group); err != nil {
		return nil, withAlert(a, fmt.Errorf("client %w", err))
	}
	return yc, nil
}

// clientDHExchange is the client's half of every DH exchange once the
// server's public value ys in group has been checked: with key (the
// fixed-DH client certificate's, already matched to group) the public value
// is implicit and the agreement runs through the token; otherwise the
// client makes an ephemeral key with a short exponent.
func clientDHExchange(config *Config, group *token.DHParams, ys *big.Int, key token.DHAgreer) ([]byte, *clientKeyExchangeMsg, error) {
	if key != nil {
		z, err := key.Agree(ys)
		if err != nil {
			return nil, nil, withAlert(alertHandshakeFailure, fmt.Errorf("DH agreement with the client certificate key: %w", err))
		}
		return z, &clientKeyExchangeMsg{}, nil
	}
	x, yc, err := generateDHKey(config.rand(), group)
	if err != nil {
		return nil, nil, withAlert(alertHandshakeFailure, err)
	}
	var b cryptobyte.Builder
	addVec16(&b, "dh_Yc", yc.Bytes(), 1, maxUint16Vec)
	body, err := b.Bytes()
	if err != nil {
		return nil, nil, withAlert(alertHandshakeFailure, err)
	}
	// Z with leading zero bytes stripped is the pre-master secret (§8.1.2,
	// as every SSL 3.0 implementation does it).
	return new(big.Int).Exp(ys, x, group.P).Bytes(), &clientKeyExchangeMsg{ciphertext: body}, nil
}

// fixedDHClientKey returns the private key of a fixed-DH client
// certificate (a DH certificate whose key is a token.DHAgreer), or nil. In
// an exchange with kexTraits.fixedDHClientAuth such a certificate
// authenticates through the implicit public value, and the client sends no
// CertificateVerify (§7.6.8).
func fixedDHClientKey(cert *Certificate) token.DHAgreer {
	if cert == nil {
		return nil
	}
	leaf, err := cert.leaf()
	if err != nil || clientDHCertificate(leaf) == nil {
		return nil
	}
	key, _ := cert.PrivateKey.(token.DHAgreer)
	return key
}

// fixedDHCertType returns the CertificateRequest type a client certificate
// answers as a fixed-DH certificate in group — rsa_fixed_dh or dss_fixed_dh
// after the algorithm that signed it — or 0 if it is not one, its private
// key is not a token.DHAgreer, or it is in another group.
func fixedDHCertType(cert *Certificate, leaf *x509.Certificate, group *token.DHParams) byte {
	if _, ok := cert.PrivateKey.(token.DHAgreer); !ok || group == nil {
		return 0
	}
	pub := clientDHCertificate(leaf)
	if pub == nil || !sameDHGroup(&token.DHParams{P: pub.P, G: pub.G}, group) {
		return 0
	}
	switch x509legacy.SignerAlgorithm(leaf.SignatureAlgorithm) {
	case x509.RSA:
		return certTypeRSAFixedDH
	case x509.DSA:
		return certTypeDSSFixedDH
	}
	return 0
}

// ephemeralDH is the exchange DHE and DH_anon share.
type ephemeralDH struct {
	// Server: the group and private exponent of this handshake.
	group *token.DHParams
	x     *big.Int
	// Client: the server's checked group and public value.
	peerGroup *token.DHParams
	peerY     *big.Int
}

// serverParams makes this handshake's key and returns ServerDHParams.
func (e *ephemeralDH) serverParams(config *Config, export bool) ([]byte, error) {
	group, err := config.serverDHGroup(export)
	if err != nil {
		return nil, err
	}
	x, y, err := generateDHKey(config.rand(), group)
	if err != nil {
		return nil, err
	}
	e.group, e.x = group, x
	return marshalServerDHParams(group.P.Bytes(), group.G.Bytes(), y.Bytes())
}

func (e *ephemeralDH) serverAgree(clientLeaf *x509.Certificate, ckx *clientKeyExchangeMsg) ([]byte, error) {
	if e.x == nil {
		return nil, withAlert(alertHandshakeFailure, errors.New("internal error: no server DH key"))
	}
	yc, err := readClientDHPublic(clientLeaf, ckx, e.group)
	if err != nil {
		return nil, err
	}
	return new(big.Int).Exp(yc, e.x, e.group.P).Bytes(), nil
}

// clientAccept checks the server's group and public value.
func (e *ephemeralDH) clientAccept(config *Config, s *cipherSuite, p, g, ys *big.Int) error {
	if a, err := checkServerDHParams(p, g, ys, s.exportKex(), config.minDHBits()); err != nil {
		return withAlert(a, fmt.Errorf("ServerKeyExchange: %w", err))
	}
	e.peerGroup, e.peerY = &token.DHParams{P: p, G: g}, ys
	return nil
}

func (e *ephemeralDH) clientAgree(config *Config, key token.DHAgreer) ([]byte, *clientKeyExchangeMsg, error) {
	if e.peerGroup == nil {
		return nil, nil, withAlert(alertUnexpectedMessage, errors.New("server sent no ServerKeyExchange"))
	}
	return clientDHExchange(config, e.peerGroup, e.peerY, key)
}

// parseDHServerKeyExchange splits a DHE (signed) or DH_anon (!signed)
// ServerKeyExchange body: ServerDHParams, then for DHE a Signature as an
// opaque <0..2^16-1> vector and nothing after it; for DH_anon nothing at
// all (the anonymous Signature is an empty struct). params is the signed
// ServerParams encoding.
func parseDHServerKeyExchange(body []byte, signed bool) (p, g, ys *big.Int, params, sig []byte, ok bool) {
	pb, gb, yb, rest, ok := parseServerDHParams(body)
	if !ok {
		return nil, nil, nil, nil, nil, false
	}
	params = body[:len(body)-len(rest)]
	if signed {
		s := cryptobyte.String(rest)
		if !readVec16(&s, &sig, 0, maxUint16Vec) || !s.Empty() {
			return nil, nil, nil, nil, nil, false
		}
	} else if len(rest) != 0 {
		return nil, nil, nil, nil, nil, false
	}
	return new(big.Int).SetBytes(pb), new(big.Int).SetBytes(gb), new(big.Int).SetBytes(yb), params, sig, true
}

// checkServerDHParams applies the client's checks to a server's group and
// public value: form, size policy, then Ys (see dh_groups.go for the
// alerts).
func checkServerDHParams(p, g, ys *big.Int, export bool, minBits int) (alert, error) {
	if a, err := checkDHGroup(p, g); err != nil {
		return a, err
	}
	if a, err := checkDHGroupSize(p, export, minBits); err != nil {
		return a, err
	}
	return checkDHPublic(ys, &token.DHParams{P: p, G: g})
}
