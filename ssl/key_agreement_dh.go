package ssl

import (
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"

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
	kexDefaults // keeps nothing on a token
	suite       *cipherSuite
}

func newFixedDHKeyAgreement(s *cipherSuite) keyAgreement { return &fixedDHKeyAgreement{suite: s} }

// fixedDHClientCerts are the CertificateRequest types of the DH and DHE
// exchanges: a fixed-DH certificate in the server's group authenticates
// through the implicit public value (readClientDHPublic).
var fixedDHClientCerts = []byte{certTypeRSASign, certTypeDSSSign, certTypeRSAFixedDH, certTypeDSSFixedDH}

func (*fixedDHKeyAgreement) traits() kexTraits {
	return kexTraits{clientCertTypes: fixedDHClientCerts, fixedDHClientAuth: true}
}

// certificateFits: a DH certificate signed with the suite's algorithm,
// with a group of at most 512 bits on an export suite, whose private key is
// a token.DHAgreer holding the certificate's public value, and whose
// subgroup order is known (serverStaticGroup): without it no client value
// could be checked against small subgroups.
func (ka *fixedDHKeyAgreement) certificateFits(cert *Certificate) bool {
	agreer, ok := cert.PrivateKey.(token.DHAgreer)
	leaf, err := cert.leaf()
	if !ok || err != nil {
		return false
	}
	s := ka.suite
	pub, _, err := serverFixedDHKey(leaf, s, 0)
	if err != nil || s.exportKex() && pub.P.BitLen() > exportDHBits {
		return false
	}
	own := agreer.DHPublic()
	return own != nil && own.Y != nil && own.Y.Cmp(pub.Y) == 0 && sameDHGroup(&own.DHParams, &pub.DHParams) &&
		staticDHGroup(pub.DHParams, pub.Q, own.Q) != nil
}

// serverStaticGroup returns the group of the server's fixed-DH key with
// its subgroup order: the certificate's q (X9.42; a token's CKK_DH key
// holds none), the key's, or (p-1)/2 for a safe prime.
func (ka *fixedDHKeyAgreement) serverStaticGroup(cert *Certificate, agreer token.DHAgreer) (*token.DHParams, error) {
	leaf, err := cert.leaf()
	if err != nil {
		return nil, err
	}
	pub, _, err := serverFixedDHKey(leaf, ka.suite, 0)
	if err != nil {
		return nil, err
	}
	var keyQ *big.Int
	if own := agreer.DHPublic(); own != nil {
		keyQ = own.Q
	}
	if group := staticDHGroup(pub.DHParams, pub.Q, keyQ); group != nil {
		return group, nil
	}
	return nil, errors.New("fixed-DH certificate with no known subgroup order")
}

func (*fixedDHKeyAgreement) generateServerKeyExchange(*Config, *Certificate, *clientHelloMsg, *serverHelloMsg) (*serverKeyExchangeMsg, error) {
	return nil, nil
}

// processClientKeyExchange: the client's value meets our static key, so it
// must be in the order-q subgroup (decided from public values, at
// ClientKeyExchange, illegal_parameter); the agreement itself never fails
// early (staticDHAgree).
func (ka *fixedDHKeyAgreement) processClientKeyExchange(config *Config, cert *Certificate, _ *clientHelloMsg, clientLeaf *x509.Certificate, ckx *clientKeyExchangeMsg) ([]byte, error) {
	agreer, ok := cert.PrivateKey.(token.DHAgreer)
	if !ok {
		return nil, withAlert(alertHandshakeFailure, errors.New("certificate key is not a DH key"))
	}
	group, err := ka.serverStaticGroup(cert, agreer)
	if err != nil {
		return nil, withAlert(alertHandshakeFailure, err)
	}
	yc, err := readClientDHPublic(clientLeaf, ckx, group, true)
	if err != nil {
		return nil, err
	}
	return staticDHAgree(config, agreer, group, yc)
}

func (*fixedDHKeyAgreement) processServerKeyExchange(*Config, *clientHelloMsg, *serverHelloMsg, *x509.Certificate, *serverKeyExchangeMsg) error {
	// §7.6.3: not sent when the server certificate contains DH parameters.
	return withAlert(alertUnexpectedMessage, errors.New("unexpected ServerKeyExchange for a fixed-DH suite"))
}

func (ka *fixedDHKeyAgreement) generateClientKeyExchange(config *Config, _ *clientHelloMsg, serverLeaf *x509.Certificate, clientCert *Certificate) ([]byte, *clientKeyExchangeMsg, error) {
	pub, a, err := serverFixedDHKey(serverLeaf, ka.suite, config.minDHBits())
	if err != nil {
		return nil, nil, withAlert(a, err)
	}
	return clientDHExchange(config, &pub.DHParams, pub.Y, fixedDHClientStatic(clientCert))
}

func (ka *fixedDHKeyAgreement) clientAuthDHGroup(leaf *x509.Certificate) *token.DHParams {
	pub, _, err := serverFixedDHKey(leaf, ka.suite, 0)
	if err != nil {
		return nil
	}
	return &pub.DHParams
}

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
