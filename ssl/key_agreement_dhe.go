package ssl

import (
	"crypto"
	"crypto/dsa"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"

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
	kexDefaults // keeps nothing on a token
	suite       *cipherSuite
	dh          ephemeralDH
}

func newDHEKeyAgreement(s *cipherSuite) keyAgreement { return &dheKeyAgreement{suite: s} }

func (*dheKeyAgreement) traits() kexTraits {
	return kexTraits{clientCertTypes: fixedDHClientCerts, fixedDHClientAuth: true}
}

// certificateFits: a certificate whose key signs with the suite's
// algorithm (RSA for DHE_RSA, DSA for DHE_DSS; no size limit on export,
// Appendix C).
func (ka *dheKeyAgreement) certificateFits(cert *Certificate) bool {
	signer, ok := cert.PrivateKey.(crypto.Signer)
	leaf, err := cert.leaf()
	if !ok || err != nil || checkServerSigningKey(ka.suite, leaf) != nil {
		return false
	}
	switch signer.Public().(type) {
	case *rsa.PublicKey:
		return ka.suite.auth == authRSA
	case *dsa.PublicKey:
		return ka.suite.auth == authDSS
	}
	return false
}

func (ka *dheKeyAgreement) generateServerKeyExchange(config *Config, cert *Certificate, ch *clientHelloMsg, sh *serverHelloMsg) (*serverKeyExchangeMsg, error) {
	signer, ok := cert.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, errors.New("ssl: certificate key cannot sign ServerKeyExchange")
	}
	params, err := ka.dh.serverParams(config, ka.suite.exportKex())
	if err != nil {
		return nil, err
	}
	body, err := signServerParams(config.rand(), signer, ch.random, sh.random, params)
	if err != nil {
		return nil, err
	}
	return &serverKeyExchangeMsg{key: body}, nil
}

func (ka *dheKeyAgreement) processClientKeyExchange(_ *Config, _ *Certificate, _ *clientHelloMsg, clientLeaf *x509.Certificate, ckx *clientKeyExchangeMsg) ([]byte, error) {
	return ka.dh.serverAgree(clientLeaf, ckx)
}

func (ka *dheKeyAgreement) processServerKeyExchange(config *Config, ch *clientHelloMsg, sh *serverHelloMsg, cert *x509.Certificate, skx *serverKeyExchangeMsg) error {
	if err := checkServerSigningKey(ka.suite, cert); err != nil {
		return withAlert(alertUnsupportedCertificate, err)
	}
	p, g, ys, params, sig, ok := parseDHServerKeyExchange(skx.key, true)
	if !ok {
		return withAlert(alertIllegalParameter, errors.New("malformed ServerKeyExchange"))
	}
	if err := verifyServerParams(cert.PublicKey, ch.random, sh.random, params, sig); err != nil {
		return err
	}
	return ka.dh.clientAccept(config, ka.suite, p, g, ys)
}

func (ka *dheKeyAgreement) generateClientKeyExchange(config *Config, _ *clientHelloMsg, _ *x509.Certificate, clientCert *Certificate) ([]byte, *clientKeyExchangeMsg, error) {
	return ka.dh.clientAgree(config, fixedDHClientStatic(clientCert))
}

func (ka *dheKeyAgreement) clientAuthDHGroup(*x509.Certificate) *token.DHParams {
	return ka.dh.peerGroup
}

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
