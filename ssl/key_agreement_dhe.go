package ssl

import (
	"crypto"
	"crypto/dsa"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"

	"golang.org/x/crypto/cryptobyte"

	"github.com/tokenssl/tokenssl/token"
)

// dheKeyAgreement is ephemeral Diffie-Hellman signed by the server's
// certificate key: DHE_RSA and DHE_DSS and their _EXPORT variants (§7.6.3).
// The server sends ServerDHParams (p, g, Ys) from Config.DHParameters (or
// Config.ExportDHParameters, at most 512 bits) with a fresh short exponent
// per handshake, signed through crypto.Signer (so the key may be on a
// token): RSA over MD5‖SHA-1, DSA over the SHA-1 half (DER Dss-Sig-Value).
// The client checks the signature, then the group and Ys (dh_groups.go).
type dheKeyAgreement struct {
	suite *cipherSuite
	dh    ephemeralDH
	// clientKey is the client's fixed-DH certificate key (implicit public
	// value, §7.6.7.3), set by useClientDHKey.
	clientKey token.DHAgreer
}

func (ka *dheKeyAgreement) generateServerKeyExchange(c *Conn, cert *Certificate, ch *clientHelloMsg, sh *serverHelloMsg) (*serverKeyExchangeMsg, error) {
	signer, ok := cert.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, errors.New("ssl: certificate key cannot sign ServerKeyExchange")
	}
	params, err := ka.dh.serverParams(c, ka.suite.exportKex())
	if err != nil {
		return nil, err
	}
	body, err := signServerParams(c, signer, ch.random, sh.random, params)
	if err != nil {
		return nil, err
	}
	return &serverKeyExchangeMsg{key: body}, nil
}

func (ka *dheKeyAgreement) processClientKeyExchange(c *Conn, _ *Certificate, ckx *clientKeyExchangeMsg) ([]byte, error) {
	return ka.dh.serverAgree(c, ckx)
}

func (ka *dheKeyAgreement) processServerKeyExchange(c *Conn, ch *clientHelloMsg, sh *serverHelloMsg, cert *x509.Certificate, skx *serverKeyExchangeMsg) error {
	if err := checkServerSigningKey(ka.suite, cert); err != nil {
		return c.sendAlert(alertUnsupportedCertificate, err)
	}
	p, g, ys, params, sig, ok := parseDHServerKeyExchange(skx.key, true)
	if !ok {
		return c.sendAlert(alertIllegalParameter, errors.New("malformed ServerKeyExchange"))
	}
	if err := verifyHandshakeSignature(cert.PublicKey, serverParamsDigest(ch.random, sh.random, params), sig); err != nil {
		return c.sendAlert(alertHandshakeFailure, fmt.Errorf("ServerKeyExchange signature: %w", err))
	}
	return ka.dh.clientAccept(c, ka.suite, p, g, ys)
}

func (ka *dheKeyAgreement) generateClientKeyExchange(c *Conn, _ *clientHelloMsg, _ *x509.Certificate) ([]byte, *clientKeyExchangeMsg, error) {
	return ka.dh.clientAgree(c, ka.clientKey)
}

func (ka *dheKeyAgreement) clientAuthDHGroup(*x509.Certificate) *token.DHParams {
	return ka.dh.peerGroup
}

func (ka *dheKeyAgreement) useClientDHKey(key token.DHAgreer) { ka.clientKey = key }

// checkServerSigningKey checks that the server certificate's key is the
// signature algorithm of a DHE suite: RSA for DHE_RSA, DSA for DHE_DSS.
func checkServerSigningKey(s *cipherSuite, cert *x509.Certificate) error {
	if cert == nil {
		return errors.New("no server certificate")
	}
	switch cert.PublicKey.(type) {
	case *rsa.PublicKey:
		if s.auth == authRSA {
			return nil
		}
	case *dsa.PublicKey:
		if s.auth == authDSS {
			return nil
		}
	}
	return fmt.Errorf("server certificate key %v does not fit %s", cert.PublicKeyAlgorithm, s.name)
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
func (e *ephemeralDH) serverParams(c *Conn, export bool) ([]byte, error) {
	group, err := c.config.serverDHGroup(export)
	if err != nil {
		return nil, err
	}
	x, y, err := generateDHKey(c.config.rand(), group)
	if err != nil {
		return nil, err
	}
	e.group, e.x = group, x
	return marshalServerDHParams(group.P.Bytes(), group.G.Bytes(), y.Bytes())
}

func (e *ephemeralDH) serverAgree(c *Conn, ckx *clientKeyExchangeMsg) ([]byte, error) {
	if e.x == nil {
		return nil, c.sendAlert(alertHandshakeFailure, errors.New("internal error: no server DH key"))
	}
	yc, err := readClientDHPublic(c, ckx, e.group)
	if err != nil {
		return nil, err
	}
	return new(big.Int).Exp(yc, e.x, e.group.P).Bytes(), nil
}

// clientAccept checks the server's group and public value.
func (e *ephemeralDH) clientAccept(c *Conn, s *cipherSuite, p, g, ys *big.Int) error {
	if a, err := checkServerDHParams(p, g, ys, s.exportKex(), c.config.minDHBits()); err != nil {
		return c.sendAlert(a, fmt.Errorf("ServerKeyExchange: %w", err))
	}
	e.peerGroup, e.peerY = &token.DHParams{P: p, G: g}, ys
	return nil
}

func (e *ephemeralDH) clientAgree(c *Conn, key token.DHAgreer) ([]byte, *clientKeyExchangeMsg, error) {
	if e.peerGroup == nil {
		return nil, nil, c.sendAlert(alertUnexpectedMessage, errors.New("server sent no ServerKeyExchange"))
	}
	return clientDHExchange(c, e.peerGroup, e.peerY, key)
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

// dheCertificateFits: a certificate whose key signs with the suite's
// algorithm (RSA for DHE_RSA, DSA for DHE_DSS; no size limit on export,
// Appendix C).
func dheCertificateFits(s *cipherSuite, cert *Certificate) bool {
	signer, ok := cert.PrivateKey.(crypto.Signer)
	leaf, err := cert.leaf()
	if !ok || err != nil || checkServerSigningKey(s, leaf) != nil {
		return false
	}
	switch signer.Public().(type) {
	case *rsa.PublicKey:
		return s.auth == authRSA
	case *dsa.PublicKey:
		return s.auth == authDSS
	}
	return false
}
