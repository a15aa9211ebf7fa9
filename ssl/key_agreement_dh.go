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

// fixedDHKeyAgreement is the fixed Diffie-Hellman exchange of DH_DSS and
// DH_RSA (and their _EXPORT variants): the server's DH public value is in
// its certificate (dhpublicnumber, signed by a DSA or an RSA CA: that is
// the DSS/RSA of the suite name), there is no ServerKeyExchange (§7.6.3),
// and the server's private value is a token.DHAgreer that may live on a
// token (CKM_DH_PKCS_DERIVE). The client sends an ephemeral public value,
// or an implicit one when it authenticated with a fixed-DH certificate in
// the same group (§7.6.7.3); see readClientDHPublic and clientDHExchange,
// which the DHE and DH_anon exchanges share.
type fixedDHKeyAgreement struct {
	suite *cipherSuite
	// clientKey is the client's fixed-DH certificate key, set by
	// useClientDHKey; nil for an ephemeral client value.
	clientKey token.DHAgreer
}

func (*fixedDHKeyAgreement) generateServerKeyExchange(*Conn, *Certificate, *clientHelloMsg, *serverHelloMsg) (*serverKeyExchangeMsg, error) {
	return nil, nil
}

func (ka *fixedDHKeyAgreement) processClientKeyExchange(c *Conn, cert *Certificate, ckx *clientKeyExchangeMsg) ([]byte, error) {
	agreer, ok := cert.PrivateKey.(token.DHAgreer)
	if !ok {
		return nil, c.sendAlert(alertHandshakeFailure, errors.New("certificate key is not a DH key"))
	}
	group := &agreer.DHPublic().DHParams
	yc, err := readClientDHPublic(c, ckx, group)
	if err != nil {
		return nil, err
	}
	z, err := agreer.Agree(yc)
	if err != nil {
		return nil, c.sendAlert(alertHandshakeFailure, fmt.Errorf("DH agreement with the certificate key: %w", err))
	}
	return z, nil
}

func (*fixedDHKeyAgreement) processServerKeyExchange(c *Conn, _ *clientHelloMsg, _ *serverHelloMsg, _ *x509.Certificate, _ *serverKeyExchangeMsg) error {
	// §7.6.3: not sent when the server certificate contains DH parameters.
	return c.sendAlert(alertUnexpectedMessage, errors.New("unexpected ServerKeyExchange for a fixed-DH suite"))
}

func (ka *fixedDHKeyAgreement) generateClientKeyExchange(c *Conn, _ *clientHelloMsg, cert *x509.Certificate) ([]byte, *clientKeyExchangeMsg, error) {
	pub, a, err := serverFixedDHKey(cert, ka.suite, c.config.minDHBits())
	if err != nil {
		return nil, nil, c.sendAlert(a, err)
	}
	return clientDHExchange(c, &pub.DHParams, pub.Y, ka.clientKey)
}

func (ka *fixedDHKeyAgreement) clientAuthDHGroup(leaf *x509.Certificate) *token.DHParams {
	pub, _, err := serverFixedDHKey(leaf, ka.suite, 0)
	if err != nil {
		return nil
	}
	return &pub.DHParams
}

func (ka *fixedDHKeyAgreement) useClientDHKey(key token.DHAgreer) { ka.clientKey = key }

// serverFixedDHKey reads and checks the DH key of a fixed-DH server
// certificate: unsupported_certificate if it is not a DH certificate signed
// by the suite's algorithm (DH_RSA: an RSA CA; DH_DSS: a DSA CA, as OpenSSL
// checks too), bad_certificate if the key does not parse or is out of
// range, handshake_failure if the group is refused by size. minBits 0
// skips the size check.
func serverFixedDHKey(cert *x509.Certificate, s *cipherSuite, minBits int) (*token.DHPublicKey, alert, error) {
	if cert == nil || cert.PublicKeyAlgorithm != x509.UnknownPublicKeyAlgorithm {
		return nil, alertUnsupportedCertificate, errors.New("server certificate has no DH key for a fixed-DH suite")
	}
	want := x509.RSA
	if s.auth == authDSS {
		want = x509.DSA
	}
	if got := x509legacy.SignerAlgorithm(cert.SignatureAlgorithm); got != want {
		return nil, alertUnsupportedCertificate, fmt.Errorf("%s needs a DH certificate signed with %v, not %v", s.name, want, cert.SignatureAlgorithm)
	}
	dh, err := x509legacy.DHPublicKeyFromCertificate(cert)
	if err != nil {
		return nil, alertBadCertificate, fmt.Errorf("server DH certificate: %w", err)
	}
	pub := &token.DHPublicKey{DHParams: token.DHParams{P: dh.P, G: dh.G, Q: dh.Q}, Y: dh.Y}
	if minBits > 0 {
		if a, err := checkDHGroupSize(dh.P, s.exportKex(), minBits); err != nil {
			return nil, a, err
		}
	}
	if a, err := checkDHPublic(dh.Y, &pub.DHParams); err != nil {
		return nil, a, fmt.Errorf("server DH certificate: %w", err)
	}
	return pub, 0, nil
}

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
func readClientDHPublic(c *Conn, ckx *clientKeyExchangeMsg, group *token.DHParams) (*big.Int, error) {
	raw, implicit, ok := parseClientDHPublic(ckx.ciphertext)
	if !ok {
		return nil, c.sendAlert(alertIllegalParameter, errors.New("malformed ClientDiffieHellmanPublic"))
	}
	var certKey *x509legacy.DHPublicKey
	if len(c.peerCertificates) > 0 {
		certKey = clientDHCertificate(c.peerCertificates[0])
	}
	var yc *big.Int
	switch {
	case implicit && certKey == nil:
		return nil, c.sendAlert(alertIllegalParameter, errors.New("implicit DH public value without a fixed-DH client certificate"))
	case !implicit && certKey != nil:
		return nil, c.sendAlert(alertIllegalParameter, errors.New("explicit DH public value with a fixed-DH client certificate"))
	case implicit:
		if !sameDHGroup(&token.DHParams{P: certKey.P, G: certKey.G}, group) {
			return nil, c.sendAlert(alertHandshakeFailure, errors.New("client DH certificate is not in the server's group"))
		}
		yc = certKey.Y
	default:
		yc = new(big.Int).SetBytes(raw)
	}
	if a, err := checkDHPublic(yc, group); err != nil {
		return nil, c.sendAlert(a, fmt.Errorf("client %w", err))
	}
	return yc, nil
}

// clientDHExchange is the client's half of every DH exchange once the
// server's public value ys in group has been checked: with key (the
// fixed-DH client certificate's, already matched to group) the public value
// is implicit and the agreement runs through the token; otherwise the
// client makes an ephemeral key with a short exponent.
func clientDHExchange(c *Conn, group *token.DHParams, ys *big.Int, key token.DHAgreer) ([]byte, *clientKeyExchangeMsg, error) {
	if key != nil {
		z, err := key.Agree(ys)
		if err != nil {
			return nil, nil, c.sendAlert(alertHandshakeFailure, fmt.Errorf("DH agreement with the client certificate key: %w", err))
		}
		return z, &clientKeyExchangeMsg{}, nil
	}
	x, yc, err := generateDHKey(c.config.rand(), group)
	if err != nil {
		return nil, nil, c.sendAlert(alertHandshakeFailure, err)
	}
	var b cryptobyte.Builder
	addVec16(&b, "dh_Yc", yc.Bytes(), 1, maxUint16Vec)
	body, err := b.Bytes()
	if err != nil {
		return nil, nil, c.sendAlert(alertHandshakeFailure, err)
	}
	// Z with leading zero bytes stripped is the pre-master secret (§8.1.2,
	// as every SSL 3.0 implementation does it).
	return new(big.Int).Exp(ys, x, group.P).Bytes(), &clientKeyExchangeMsg{ciphertext: body}, nil
}

// fixedDHClientAuth is implemented by the key agreements in which a client
// may authenticate with a fixed-DH certificate (rsa_fixed_dh,
// dss_fixed_dh): DH and DHE.
type fixedDHClientAuth interface {
	// clientAuthDHGroup returns the group a client DH certificate must be
	// in (known once the server's Certificate and ServerKeyExchange have
	// been processed), or nil.
	clientAuthDHGroup(serverLeaf *x509.Certificate) *token.DHParams
	// useClientDHKey makes generateClientKeyExchange agree with key and
	// send an implicit public value.
	useClientDHKey(key token.DHAgreer)
}

// clientAuthDHGroup returns the group a fixed-DH client certificate must
// match for this exchange, or nil when the exchange takes none.
func clientAuthDHGroup(ka keyAgreement, serverLeaf *x509.Certificate) *token.DHParams {
	if f, ok := ka.(fixedDHClientAuth); ok {
		return f.clientAuthDHGroup(serverLeaf)
	}
	return nil
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

// useFixedDHClientCertificate hands the key of a fixed-DH client
// certificate to the key agreement and reports whether it did; the client
// then sends an implicit public value and no CertificateVerify (§7.6.8).
func useFixedDHClientCertificate(ka keyAgreement, cert *Certificate) bool {
	leaf, err := cert.leaf()
	if err != nil || clientDHCertificate(leaf) == nil {
		return false
	}
	key, isDH := cert.PrivateKey.(token.DHAgreer)
	f, ok := ka.(fixedDHClientAuth)
	if !isDH || !ok {
		return false
	}
	f.useClientDHKey(key)
	return true
}

// checkClientCertificateKey refuses, on the server, a client certificate
// that cannot prove possession of its key in suite s: one whose key can
// sign a CertificateVerify (RSA, DSA, ECDSA) always can; a fixed-DH
// certificate only in a DH or DHE exchange, through the implicit public
// value (readClientDHPublic); FORTEZZA_KEA checks its KEA certificate
// itself; anything else cannot (the server would otherwise expect no
// CertificateVerify and take the certificate on trust).
func checkClientCertificateKey(s *cipherSuite, leaf *x509.Certificate) error {
	if leaf.PublicKey != nil || s.kex == kexFortezza {
		return nil
	}
	if clientDHCertificate(leaf) == nil {
		return fmt.Errorf("client certificate key (%v) is not supported", leaf.PublicKeyAlgorithm)
	}
	if s.kex != kexDH && s.kex != kexDHE {
		return fmt.Errorf("a fixed-DH client certificate cannot authenticate a %s handshake", s.name)
	}
	return nil
}

// fixedDHCertificateFits: a DH certificate signed with the suite's
// algorithm, with a group of at most 512 bits on an export suite, whose
// private key is a token.DHAgreer holding the certificate's public value.
func fixedDHCertificateFits(s *cipherSuite, cert *Certificate) bool {
	agreer, ok := cert.PrivateKey.(token.DHAgreer)
	leaf, err := cert.leaf()
	if !ok || err != nil {
		return false
	}
	pub, _, err := serverFixedDHKey(leaf, s, 0)
	if err != nil || s.exportKex() && pub.P.BitLen() > exportDHBits {
		return false
	}
	own := agreer.DHPublic()
	return own != nil && own.Y != nil && own.Y.Cmp(pub.Y) == 0 && sameDHGroup(&own.DHParams, &pub.DHParams)
}
