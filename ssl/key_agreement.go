package ssl

import (
	"crypto"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"errors"
	"fmt"
	"io"

	"github.com/tokenssl/tokenssl/token"
)

// keyAgreement is one key exchange algorithm (§7.6.3, §7.6.7), in the shape
// of crypto/tls: the server side builds ServerKeyExchange and consumes
// ClientKeyExchange; the client side the reverse. Every implementation
// returns the pre-master secret and reaches private keys only through the
// token interfaces.
type keyAgreement interface {
	// generateServerKeyExchange returns nil when the exchange sends none.
	generateServerKeyExchange(c *Conn, cert *Certificate, ch *clientHelloMsg, sh *serverHelloMsg) (*serverKeyExchangeMsg, error)
	processClientKeyExchange(c *Conn, cert *Certificate, ckx *clientKeyExchangeMsg) ([]byte, error)

	processServerKeyExchange(c *Conn, ch *clientHelloMsg, sh *serverHelloMsg, cert *x509.Certificate, skx *serverKeyExchangeMsg) error
	generateClientKeyExchange(c *Conn, ch *clientHelloMsg, cert *x509.Certificate) (preMaster []byte, ckx *clientKeyExchangeMsg, err error)
}

// keyExchangeAvailable reports whether this build implements s's exchange.
func keyExchangeAvailable(s *cipherSuite) bool {
	switch s.kex {
	case kexRSA, kexDH, kexDHE, kexDHAnon:
		return true
	case kexFortezza:
		return true
	}
	return false
}

func newKeyAgreement(s *cipherSuite) keyAgreement {
	switch s.kex {
	case kexRSA:
		if s.exportKex() {
			return &rsaExportKeyAgreement{}
		}
		return rsaKeyAgreement{}
	case kexDH:
		return &fixedDHKeyAgreement{suite: s}
	case kexDHE:
		return &dheKeyAgreement{suite: s}
	case kexDHAnon:
		return &dhAnonKeyAgreement{suite: s}
	case kexFortezza:
		return &fortezzaKeyAgreement{suite: s}
	}
	return nil
}

// certificateFits reports whether cert can serve suite s on the server.
func certificateFits(s *cipherSuite, cert *Certificate) bool {
	switch s.kex {
	case kexRSA:
		if s.exportKex() {
			return rsaExportCertificateFits(cert)
		}
		_, isDecrypter := cert.PrivateKey.(crypto.Decrypter)
		leaf, err := cert.leaf()
		if err != nil || !isDecrypter {
			return false
		}
		_, isRSA := leaf.PublicKey.(*rsa.PublicKey)
		return isRSA
	case kexDH:
		return fixedDHCertificateFits(s, cert)
	case kexDHE:
		return dheCertificateFits(s, cert)
	case kexFortezza:
		return fortezzaCertificateFits(cert)
	}
	return false
}

// rsaKeyAgreement: the client encrypts a 48-byte pre-master secret under the
// server certificate's RSA key (§7.6.7.1).
type rsaKeyAgreement struct{}

func (rsaKeyAgreement) generateServerKeyExchange(*Conn, *Certificate, *clientHelloMsg, *serverHelloMsg) (*serverKeyExchangeMsg, error) {
	return nil, nil
}

func (rsaKeyAgreement) processClientKeyExchange(c *Conn, cert *Certificate, ckx *clientKeyExchangeMsg) ([]byte, error) {
	d, ok := cert.PrivateKey.(crypto.Decrypter)
	if !ok {
		return nil, errors.New("ssl: certificate key cannot decrypt")
	}
	preMaster, err := decryptPreMaster(c.config.rand(), d, ckx.ciphertext, c.offeredVersion)
	if err != nil {
		// Our failure (token gone, no randomness), not the peer's.
		return nil, c.sendAlert(alertHandshakeFailure, err)
	}
	return preMaster, nil
}

// decryptPreMaster implements the Bleichenbacher countermeasure: whatever
// goes wrong — bad padding, wrong length, a token error, a version that is
// not the one the client offered (roll-back, §7.6.7.1) — the handshake
// continues with a random pre-master secret and fails only at Finished, so
// no failure is distinguishable from another. Only a failure of our own
// random source is reported.
func decryptPreMaster(rand io.Reader, d crypto.Decrypter, ciphertext []byte, offered uint16) ([]byte, error) {
	preMaster := make([]byte, 48)
	if _, err := io.ReadFull(rand, preMaster); err != nil {
		return nil, errors.New("ssl: random source failed")
	}
	var opts crypto.DecrypterOpts
	if _, soft := d.(*rsa.PrivateKey); soft {
		// crypto/rsa then substitutes a random key in constant time itself.
		opts = &rsa.PKCS1v15DecryptOptions{SessionKeyLen: 48}
	}
	plain, err := d.Decrypt(rand, ciphertext, opts)
	if errors.Is(err, token.ErrUnavailable) {
		// The token is gone: no ciphertext can cause that, so failing now
		// (instead of at Finished) tells an attacker nothing.
		return nil, fmt.Errorf("ssl: private key unavailable: %w", err)
	}
	good := 0
	if err == nil && len(plain) == 48 {
		good = subtle.ConstantTimeByteEq(plain[0], byte(offered>>8)) &
			subtle.ConstantTimeByteEq(plain[1], byte(offered))
	} else {
		plain = make([]byte, 48)
	}
	subtle.ConstantTimeCopy(good, preMaster, plain)
	return preMaster, nil
}

func (rsaKeyAgreement) processServerKeyExchange(c *Conn, _ *clientHelloMsg, _ *serverHelloMsg, _ *x509.Certificate, _ *serverKeyExchangeMsg) error {
	return c.sendAlert(alertUnexpectedMessage, errors.New("unexpected ServerKeyExchange for an RSA suite"))
}

func (rsaKeyAgreement) generateClientKeyExchange(c *Conn, ch *clientHelloMsg, cert *x509.Certificate) ([]byte, *clientKeyExchangeMsg, error) {
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, nil, c.sendAlert(alertUnsupportedCertificate, errors.New("server certificate has no RSA key for an RSA suite"))
	}
	preMaster := make([]byte, 48)
	preMaster[0], preMaster[1] = byte(ch.vers>>8), byte(ch.vers)
	if _, err := io.ReadFull(c.config.rand(), preMaster[2:]); err != nil {
		return nil, nil, err
	}
	ct, err := rsa.EncryptPKCS1v15(c.config.rand(), pub, preMaster)
	if err != nil {
		return nil, nil, c.sendAlert(alertHandshakeFailure, err)
	}
	// SSL 3.0 sends the RSA ciphertext bare, without TLS's length prefix.
	return preMaster, &clientKeyExchangeMsg{ciphertext: ct}, nil
}
