package ssl

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
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
// explicit value sent with such a certificate is refused. With static
// (the server's key is a fixed-DH certificate's, group.Q known), the value
// must be in the order-q subgroup (checkStaticDHPublic); against an
// ephemeral key it is range-checked (checkEphemeralServerDHPublic).
func readClientDHPublic(clientLeaf *x509.Certificate, ckx *clientKeyExchangeMsg, group *token.DHParams, static bool) (*big.Int, error) {
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
	check := checkEphemeralServerDHPublic
	if static {
		check = checkStaticDHPublic
	}
	if a, err := check(yc, group); err != nil {
		return nil, withAlert(a, fmt.Errorf("client %w", err))
	}
	return yc, nil
}

// staticDHAgree runs the agreement of a static DH key with a peer value
// already checked against its subgroup. If the token refuses (SoftHSM
// refuses a shared value of 1 or p-1) or fails, the handshake goes on
// with a random pre-master secret and fails at Finished, like any wrong
// value: a failure reported at once would tell a hostile peer something
// about the key. Only a token that is gone (token.ErrUnavailable, which no
// peer value can cause) ends the handshake now.
func staticDHAgree(config *Config, key token.DHAgreer, group *token.DHParams, peerY *big.Int) ([]byte, error) {
	z, err := key.Agree(peerY)
	if err == nil && len(z) > 0 {
		return z, nil
	}
	if errors.Is(err, token.ErrUnavailable) {
		return nil, withAlert(alertHandshakeFailure, fmt.Errorf("DH agreement with the certificate key: %w", err))
	}
	z = make([]byte, (group.P.BitLen()+7)/8)
	if _, err := io.ReadFull(config.rand(), z); err != nil {
		return nil, withAlert(alertHandshakeFailure, errors.New("random source failed"))
	}
	return z, nil
}

// checkEphemeralServerDHPublic checks the client's value against the
// server's ephemeral key: 1 < y < p-1 only, as crypto/tls checks it. The
// key is fresh per handshake, so a value in a small subgroup can only
// confine this handshake's pre-master secret, which the client that chose
// it knows anyway; a substituted value fails the CertificateVerify or
// Finished. No y^q exponentiation for it (docs/ssl3.md, "Peer keys").
func checkEphemeralServerDHPublic(y *big.Int, group *token.DHParams) (alert, error) {
	if y == nil || y.Cmp(big.NewInt(1)) <= 0 || y.Cmp(new(big.Int).Sub(group.P, big.NewInt(1))) >= 0 {
		return alertIllegalParameter, errors.New("DH public value out of range")
	}
	return 0, nil
}

// clientDHExchange is the client's half of every DH exchange once the
// server's public value ys in group has been checked: with a static key
// (the fixed-DH client certificate's, already matched to group) the public
// value is implicit, ys must be in the key's order-q subgroup — q from the
// client's certificate, since a DHE group carries none — and the agreement
// runs through the token; otherwise the client makes an ephemeral key with
// a short exponent.
func clientDHExchange(config *Config, group *token.DHParams, ys *big.Int, static *staticDHKey) ([]byte, *clientKeyExchangeMsg, error) {
	if static != nil {
		if a, err := checkStaticDHPublic(ys, static.group); err != nil {
			return nil, nil, withAlert(a, fmt.Errorf("server %w", err))
		}
		z, err := staticDHAgree(config, static.key, static.group, ys)
		if err != nil {
			return nil, nil, err
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
	return dhExp(ys, x, group).Bytes(), &clientKeyExchangeMsg{ciphertext: body}, nil
}

// staticDHKey is a fixed-DH certificate's key with its group, whose
// subgroup order is known (staticDHGroup).
type staticDHKey struct {
	key   token.DHAgreer
	group *token.DHParams
}

// fixedDHClientStatic returns the key of a fixed-DH client certificate (a
// DH certificate whose key is a token.DHAgreer, with a known subgroup
// order), or nil.
func fixedDHClientStatic(cert *Certificate) *staticDHKey {
	if cert == nil {
		return nil
	}
	leaf, err := cert.leaf()
	if err != nil {
		return nil
	}
	pub := clientDHCertificate(leaf)
	key, ok := cert.PrivateKey.(token.DHAgreer)
	if pub == nil || !ok {
		return nil
	}
	var keyQ *big.Int
	if own := key.DHPublic(); own != nil {
		keyQ = own.Q
	}
	group := staticDHGroup(token.DHParams{P: pub.P, G: pub.G}, pub.Q, keyQ)
	if group == nil {
		return nil
	}
	return &staticDHKey{key: key, group: group}
}

// fixedDHClientKey returns the private key of a fixed-DH client
// certificate usable as such (fixedDHClientStatic), or nil. In an exchange
// with kexTraits.fixedDHClientAuth such a certificate authenticates
// through the implicit public value, and the client sends no
// CertificateVerify (§7.6.8).
func fixedDHClientKey(cert *Certificate) token.DHAgreer {
	if st := fixedDHClientStatic(cert); st != nil {
		return st.key
	}
	return nil
}

// fixedDHCertType returns the CertificateRequest type a client certificate
// answers as a fixed-DH certificate in group — rsa_fixed_dh or dss_fixed_dh
// after the algorithm that signed it — or 0 if it is not one, its private
// key is not a token.DHAgreer, or it is in another group.
func fixedDHCertType(cert *Certificate, leaf *x509.Certificate, group *token.DHParams) byte {
	if fixedDHClientStatic(cert) == nil || group == nil {
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
	yc, err := readClientDHPublic(clientLeaf, ckx, e.group, false)
	if err != nil {
		return nil, err
	}
	return dhExp(yc, e.x, e.group).Bytes(), nil
}

// clientAccept checks the server's group and public value.
func (e *ephemeralDH) clientAccept(config *Config, s *cipherSuite, p, g, ys *big.Int) error {
	if a, err := checkServerDHParams(p, g, ys, s.exportKex(), config.minDHBits()); err != nil {
		return withAlert(a, fmt.Errorf("ServerKeyExchange: %w", err))
	}
	e.peerGroup, e.peerY = &token.DHParams{P: p, G: g}, ys
	return nil
}

func (e *ephemeralDH) clientAgree(config *Config, key *staticDHKey) ([]byte, *clientKeyExchangeMsg, error) {
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
