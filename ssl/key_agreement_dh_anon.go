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
	suite *cipherSuite
	dh    ephemeralDH
}

func (ka *dhAnonKeyAgreement) generateServerKeyExchange(c *Conn, _ *Certificate, _ *clientHelloMsg, _ *serverHelloMsg) (*serverKeyExchangeMsg, error) {
	params, err := ka.dh.serverParams(c, ka.suite.exportKex())
	if err != nil {
		return nil, err
	}
	return &serverKeyExchangeMsg{key: params}, nil
}

func (ka *dhAnonKeyAgreement) processClientKeyExchange(c *Conn, _ *Certificate, ckx *clientKeyExchangeMsg) ([]byte, error) {
	return ka.dh.serverAgree(c, ckx)
}

func (ka *dhAnonKeyAgreement) processServerKeyExchange(c *Conn, _ *clientHelloMsg, _ *serverHelloMsg, _ *x509.Certificate, skx *serverKeyExchangeMsg) error {
	p, g, ys, _, _, ok := parseDHServerKeyExchange(skx.key, false)
	if !ok {
		return c.sendAlert(alertIllegalParameter, errors.New("malformed ServerKeyExchange"))
	}
	return ka.dh.clientAccept(c, ka.suite, p, g, ys)
}

func (ka *dhAnonKeyAgreement) generateClientKeyExchange(c *Conn, _ *clientHelloMsg, _ *x509.Certificate) ([]byte, *clientKeyExchangeMsg, error) {
	return ka.dh.clientAgree(c, nil)
}
