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

// dheKeyAgreement is ephemeral Diffie-Hellman (§7.6.3): the server sends
// ServerDHParams (p, g, Ys) from Config.DHParameters (or
// Config.ExportDHParameters, at most 512 bits) with a fresh short exponent
// per handshake, and the client checks the group and Ys (dh_groups.go).
//
// DHE_RSA and DHE_DSS and their _EXPORT variants sign the params with the
// server's certificate key through crypto.Signer (so the key may be on a
// token): RSA over MD5‖SHA-1, DSA over the SHA-1 half (DER Dss-Sig-Value);
// the client checks the signature first.
//
// DH_anon and DH_anon_EXPORT (anon) send them unsigned (the anonymous
// Signature is an empty struct) and no server certificate. They only guard
// against passive eavesdroppers (Appendix F.1.1.1), which is why anonymous
// suites run only when listed in Config.CipherSuites; an anonymous server
// never asks for a client certificate (§7.6.4), so the client's public
// value is always explicit. One type serves both, as crypto/tls's
// ecdheKeyAgreement serves ECDHE_RSA and ECDHE_ECDSA: the two differ only
// in the signature.
type dheKeyAgreement struct {
	kexDefaults // keeps nothing on a token
	suite       *cipherSuite
	dh          ephemeralDH
	anon        bool
}

func newDHEKeyAgreement(s *cipherSuite) keyAgreement { return &dheKeyAgreement{suite: s} }

func newDHAnonKeyAgreement(s *cipherSuite) keyAgreement {
	return &dheKeyAgreement{suite: s, anon: true}
}

// traits: an anonymous server never sends a CertificateRequest; a signed
// one accepts fixed-DH client certificates in its group.
func (ka *dheKeyAgreement) traits() kexTraits {
	if ka.anon {
		return kexTraits{clientCertTypes: signingClientCerts}
	}
	return kexTraits{clientCertTypes: fixedDHClientCerts, fixedDHClientAuth: true}
}

// certificateFits: a certificate whose key signs with the suite's
// algorithm (RSA for DHE_RSA, DSA for DHE_DSS; no size limit on export,
// Appendix C). No certificate serves an anonymous exchange; the server
// picks an anonymous suite without one (chooseSuite).
func (ka *dheKeyAgreement) certificateFits(cert *Certificate) bool {
	if ka.anon {
		return false
	}
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
	var signer crypto.Signer
	if !ka.anon {
		var ok bool
		if signer, ok = cert.PrivateKey.(crypto.Signer); !ok {
			return nil, errors.New("ssl: certificate key cannot sign ServerKeyExchange")
		}
	}
	params, err := ka.dh.serverParams(config, ka.suite.exportKex())
	if err != nil {
		return nil, err
	}
	if ka.anon {
		return &serverKeyExchangeMsg{key: params}, nil
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
	if !ka.anon {
		if err := checkServerSigningKey(ka.suite, cert); err != nil {
			return withAlert(alertUnsupportedCertificate, err)
		}
	}
	p, g, ys, params, sig, ok := parseDHServerKeyExchange(skx.key, !ka.anon)
	if !ok {
		return withAlert(alertIllegalParameter, errors.New("malformed ServerKeyExchange"))
	}
	if !ka.anon {
		if err := verifyServerParams(cert.PublicKey, ch.random, sh.random, params, sig); err != nil {
			return err
		}
	}
	return ka.dh.clientAccept(config, ka.suite, p, g, ys)
}

func (ka *dheKeyAgreement) generateClientKeyExchange(config *Config, _ *clientHelloMsg, _ *x509.Certificate, clientCert *Certificate) ([]byte, *clientKeyExchangeMsg, error) {
	if ka.anon {
		return ka.dh.clientAgree(config, nil)
	}
	return ka.dh.clientAgree(config, fixedDHClientStatic(clientCert))
}

// clientAuthDHGroup: the server's group, which a fixed-DH client
// certificate must share; none for an anonymous exchange.
func (ka *dheKeyAgreement) clientAuthDHGroup(*x509.Certificate) *token.DHParams {
	if ka.anon {
		return nil
	}
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
