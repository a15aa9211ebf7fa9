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
//
// A cipher-suite row names its exchange by constructor (cipherSuite.ka);
// the handshake drivers know exchanges only through this interface. An
// exchange never touches the connection: it reads the Config, and a
// failure it wants reported with a particular alert is an alertErr
// (withAlert); the driver sends the alert.
type keyAgreement interface {
	// traits are the exchange's static needs.
	traits() kexTraits
	// certificateFits reports whether cert can serve the exchange on the
	// server (suite selection).
	certificateFits(cert *Certificate) bool
	// clientHelloFits reports whether the client's hello lets the exchange
	// run (suite selection; ECDHE needs a common curve, as crypto/tls's
	// ecdheOK).
	clientHelloFits(ch *clientHelloMsg) bool
	// clientHelloExtensions are what a client offering the exchange adds
	// to its ClientHello; serverHelloExtensions what the server's hello
	// answers with in a full handshake (RFC 4492 §5.1-5.2 for ECDHE).
	clientHelloExtensions() []extension
	serverHelloExtensions(ch *clientHelloMsg) []extension

	// Server side. generateServerKeyExchange returns nil when the
	// exchange sends none. clientLeaf is the client's certificate, if it
	// sent one.
	generateServerKeyExchange(config *Config, cert *Certificate, ch *clientHelloMsg, sh *serverHelloMsg) (*serverKeyExchangeMsg, error)
	processClientKeyExchange(config *Config, cert *Certificate, ch *clientHelloMsg, clientLeaf *x509.Certificate, ckx *clientKeyExchangeMsg) ([]byte, error)

	// Client side. serverLeaf is nil for an anonymous exchange;
	// processServerKeyExchange runs only if the server sent one.
	processServerKeyExchange(config *Config, ch *clientHelloMsg, sh *serverHelloMsg, serverLeaf *x509.Certificate, skx *serverKeyExchangeMsg) error
	// clientAuthDHGroup returns the group a fixed-DH client certificate
	// must be in (known once the server's Certificate and
	// ServerKeyExchange have been processed), or nil when the exchange
	// takes none.
	clientAuthDHGroup(serverLeaf *x509.Certificate) *token.DHParams
	// generateClientKeyExchange returns the pre-master secret and the
	// message; clientCert is the certificate the client sent, or nil.
	generateClientKeyExchange(config *Config, ch *clientHelloMsg, serverLeaf *x509.Certificate, clientCert *Certificate) (preMaster []byte, ckx *clientKeyExchangeMsg, err error)

	// recordCiphers returns this side's record ciphers when the suite's
	// bulk cipher runs on a token (bulkCipher.onToken: FORTEZZA_CBC, whose
	// keys the exchange made on the card) instead of from the key_block.
	recordCiphers(isClient bool) (write, read any, err error)
	// release frees whatever the exchange holds on a token; the driver
	// calls it when the handshake ends, successfully or not.
	release()
}

// kexTraits is what the drivers ask of an exchange before running it.
type kexTraits struct {
	// clientCertTypes are the certificate_types a server's
	// CertificateRequest lists (§7.6.4).
	clientCertTypes []byte
	// fixedDHClientAuth: a fixed-DH client certificate in the server's
	// group authenticates through the implicit public value (§7.6.7.3),
	// without CertificateVerify (§7.6.8).
	fixedDHClientAuth bool
	// checksClientKey: the exchange itself proves possession of a client
	// certificate key that cannot sign (Fortezza: a KEA certificate).
	checksClientKey bool
}

// signingClientCerts are the CertificateRequest types of an exchange in
// which a client authenticates only by CertificateVerify.
var signingClientCerts = []byte{certTypeRSASign, certTypeDSSSign}

// kexDefaults gives an exchange the answers of one that keeps nothing on a
// token, takes no fixed-DH client certificate and needs nothing of the
// hellos beyond SSL 3.0's fields.
type kexDefaults struct{}

func (kexDefaults) clientHelloFits(*clientHelloMsg) bool { return true }

func (kexDefaults) clientHelloExtensions() []extension { return nil }

func (kexDefaults) serverHelloExtensions(*clientHelloMsg) []extension { return nil }

func (kexDefaults) clientAuthDHGroup(*x509.Certificate) *token.DHParams { return nil }

func (kexDefaults) recordCiphers(bool) (write, read any, err error) {
	return nil, nil, errors.New("ssl: this key exchange keeps no record keys on a token")
}

func (kexDefaults) release() {}

// rsaKeyAgreement: the client encrypts a 48-byte pre-master secret under the
// server certificate's RSA key (§7.6.7.1).
type rsaKeyAgreement struct{ kexDefaults }

func newRSAKeyAgreement(*cipherSuite) keyAgreement { return rsaKeyAgreement{} }

func (rsaKeyAgreement) traits() kexTraits { return kexTraits{clientCertTypes: signingClientCerts} }

func (rsaKeyAgreement) certificateFits(cert *Certificate) bool {
	_, isDecrypter := cert.PrivateKey.(crypto.Decrypter)
	leaf, err := cert.leaf()
	if err != nil || !isDecrypter {
		return false
	}
	_, isRSA := leaf.PublicKey.(*rsa.PublicKey)
	return isRSA
}

func (rsaKeyAgreement) generateServerKeyExchange(*Config, *Certificate, *clientHelloMsg, *serverHelloMsg) (*serverKeyExchangeMsg, error) {
	return nil, nil
}

func (rsaKeyAgreement) processClientKeyExchange(config *Config, cert *Certificate, ch *clientHelloMsg, _ *x509.Certificate, ckx *clientKeyExchangeMsg) ([]byte, error) {
	d, ok := cert.PrivateKey.(crypto.Decrypter)
	if !ok {
		return nil, errors.New("ssl: certificate key cannot decrypt")
	}
	return serverDecryptPreMaster(config, d, ckx, ch)
}

// serverDecryptPreMaster is the server's half of the RSA exchanges.
func serverDecryptPreMaster(config *Config, d crypto.Decrypter, ckx *clientKeyExchangeMsg, ch *clientHelloMsg) ([]byte, error) {
	preMaster, err := decryptPreMaster(config.rand(), d, ckx.ciphertext, ch.vers)
	if err != nil {
		// Our failure (token gone, no randomness), not the peer's.
		return nil, withAlert(alertHandshakeFailure, err)
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

func (rsaKeyAgreement) processServerKeyExchange(*Config, *clientHelloMsg, *serverHelloMsg, *x509.Certificate, *serverKeyExchangeMsg) error {
	return withAlert(alertUnexpectedMessage, errors.New("unexpected ServerKeyExchange for an RSA suite"))
}

func (rsaKeyAgreement) generateClientKeyExchange(config *Config, ch *clientHelloMsg, serverLeaf *x509.Certificate, _ *Certificate) ([]byte, *clientKeyExchangeMsg, error) {
	pub, ok := serverLeaf.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, nil, withAlert(alertUnsupportedCertificate, errors.New("server certificate has no RSA key for an RSA suite"))
	}
	return clientEncryptPreMaster(config, ch, pub, rsa.EncryptPKCS1v15)
}

// clientEncryptPreMaster is the client's half of the RSA exchanges: a
// pre-master secret with the offered version, encrypted under pub and sent
// bare (SSL 3.0 has no length prefix, unlike TLS).
func clientEncryptPreMaster(config *Config, ch *clientHelloMsg, pub *rsa.PublicKey,
	encrypt func(io.Reader, *rsa.PublicKey, []byte) ([]byte, error)) ([]byte, *clientKeyExchangeMsg, error) {
	if err := checkPeerPublicKey(pub); err != nil {
		return nil, nil, err
	}
	preMaster := make([]byte, 48)
	preMaster[0], preMaster[1] = byte(ch.vers>>8), byte(ch.vers)
	if _, err := io.ReadFull(config.rand(), preMaster[2:]); err != nil {
		return nil, nil, err
	}
	ct, err := encrypt(config.rand(), pub, preMaster)
	if err != nil {
		return nil, nil, withAlert(alertHandshakeFailure, err)
	}
	return preMaster, &clientKeyExchangeMsg{ciphertext: ct}, nil
}
