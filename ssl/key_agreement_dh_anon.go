package ssl

import (
	"crypto/x509"
	"errors"
)

// dhAnonKeyAgreement is anonymous ephemeral Diffie-Hellman, DH_anon and
// DH_anon_EXPORT: ServerDHParams with no signature (§7.6.3: the anonymous
// Signature is an empty struct) and no server certificate. It only guards
// against passive eavesdroppers (Appendix F.1.1.1), which is why anonymous
// suites run only when listed in Config.CipherSuites; an anonymous server
// never asks for a client certificate (§7.6.4), so the client's public
// value is always explicit.
type dhAnonKeyAgreement struct {
	kexDefaults // keeps nothing on a token
	suite       *cipherSuite
	dh          ephemeralDH
}

func newDHAnonKeyAgreement(s *cipherSuite) keyAgreement { return &dhAnonKeyAgreement{suite: s} }

// traits: an anonymous server never sends a CertificateRequest.
func (*dhAnonKeyAgreement) traits() kexTraits { return kexTraits{clientCertTypes: signingClientCerts} }

// certificateFits: no certificate serves an anonymous exchange; the server
// picks an anonymous suite without one (chooseSuite).
func (*dhAnonKeyAgreement) certificateFits(*Certificate) bool { return false }

func (ka *dhAnonKeyAgreement) generateServerKeyExchange(config *Config, _ *Certificate, _ *clientHelloMsg, _ *serverHelloMsg) (*serverKeyExchangeMsg, error) {
	params, err := ka.dh.serverParams(config, ka.suite.exportKex())
	if err != nil {
		return nil, err
	}
	return &serverKeyExchangeMsg{key: params}, nil
}

func (ka *dhAnonKeyAgreement) processClientKeyExchange(_ *Config, _ *Certificate, _ *clientHelloMsg, clientLeaf *x509.Certificate, ckx *clientKeyExchangeMsg) ([]byte, error) {
	return ka.dh.serverAgree(clientLeaf, ckx)
}

func (ka *dhAnonKeyAgreement) processServerKeyExchange(config *Config, _ *clientHelloMsg, _ *serverHelloMsg, _ *x509.Certificate, skx *serverKeyExchangeMsg) error {
	p, g, ys, _, _, ok := parseDHServerKeyExchange(skx.key, false)
	if !ok {
		return withAlert(alertIllegalParameter, errors.New("malformed ServerKeyExchange"))
	}
	return ka.dh.clientAccept(config, ka.suite, p, g, ys)
}

func (ka *dhAnonKeyAgreement) generateClientKeyExchange(config *Config, _ *clientHelloMsg, _ *x509.Certificate, _ *Certificate) ([]byte, *clientKeyExchangeMsg, error) {
	return ka.dh.clientAgree(config, nil)
}
