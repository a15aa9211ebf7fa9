package ssl

import (
	"crypto"
	crand "crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/big"
	"sync"
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/tokenssl/tokenssl/internal/ctexp"
)

// rsaExportKeyAgreement is RSA_EXPORT (Appendix C: "RSA = 512 bits"). With
// a server RSA key of at most 512 bits it is plain RSA key exchange under
// the certificate key. With a longer key the server sends a temporary
// 512-bit RSA key in ServerKeyExchange (ServerRSAParams), signed by the
// certificate key through crypto.Signer over MD5‖SHA-1 of
// ClientHello.random + ServerHello.random + ServerRSAParams (§7.6.3), and
// the client encrypts the pre-master secret under the temporary key. The
// temporary key is shared by every handshake of a Config and replaced
// after exportRSAKeyLifetime or exportRSAKeyMaxUses (Appendix D.1: "it is
// acceptable to use the same temporary key for multiple transactions, it
// must be signed each time it is used").
//
// crypto/rsa refuses keys under 1024 bits since Go 1.24, so keys of 512
// bits go through smallRSAKey and encryptPKCS1v15 below.
type rsaExportKeyAgreement struct {
	kexDefaults
	// Server: the temporary key this handshake sent (nil: none sent).
	tempKey *smallRSAKey
	// Client: the temporary key received (nil: none received).
	serverTemp *rsa.PublicKey
}

func newRSAExportKeyAgreement(*cipherSuite) keyAgreement { return &rsaExportKeyAgreement{} }

const (
	exportRSABits = 512
	// exportRSAKeyLifetime and exportRSAKeyMaxUses bound the life of a
	// temporary key: hourly, more often than Appendix D.1's "daily or
	// every 500 transactions".
	exportRSAKeyLifetime = time.Hour
	exportRSAKeyMaxUses  = 500
)

func (*rsaExportKeyAgreement) traits() kexTraits {
	return kexTraits{clientCertTypes: signingClientCerts}
}

// certificateFits: an RSA certificate whose key decrypts when it is at
// most 512 bits (plain RSA) and signs when it is longer (it signs the
// temporary key).
func (*rsaExportKeyAgreement) certificateFits(cert *Certificate) bool {
	leaf, err := cert.leaf()
	if err != nil {
		return false
	}
	pub, ok := leaf.PublicKey.(*rsa.PublicKey)
	if !ok {
		return false
	}
	if pub.N.BitLen() <= exportRSABits {
		_, ok = cert.PrivateKey.(crypto.Decrypter)
	} else {
		_, ok = cert.PrivateKey.(crypto.Signer)
	}
	return ok
}

func (ka *rsaExportKeyAgreement) generateServerKeyExchange(config *Config, cert *Certificate, ch *clientHelloMsg, sh *serverHelloMsg) (*serverKeyExchangeMsg, error) {
	leaf, err := cert.leaf()
	if err != nil {
		return nil, err
	}
	pub, ok := leaf.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("ssl: RSA_EXPORT needs an RSA certificate")
	}
	if pub.N.BitLen() <= exportRSABits {
		return nil, nil
	}
	signer, ok := cert.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, errors.New("ssl: certificate key cannot sign the temporary RSA key")
	}
	key, err := config.exportRSA.get(config)
	if err != nil {
		return nil, err
	}
	params, err := marshalServerRSAParams(key.pub.N.Bytes(), big.NewInt(int64(key.pub.E)).Bytes())
	if err != nil {
		return nil, err
	}
	body, err := signServerParams(config.rand(), signer, ch.random, sh.random, params)
	if err != nil {
		return nil, err
	}
	ka.tempKey = key
	return &serverKeyExchangeMsg{key: body}, nil
}

func (ka *rsaExportKeyAgreement) processClientKeyExchange(config *Config, cert *Certificate, ch *clientHelloMsg, _ *x509.Certificate, ckx *clientKeyExchangeMsg) ([]byte, error) {
	var d crypto.Decrypter = ka.tempKey
	if ka.tempKey == nil {
		var ok bool
		if d, ok = cert.PrivateKey.(crypto.Decrypter); !ok {
			return nil, withAlert(alertHandshakeFailure, errors.New("certificate key cannot decrypt"))
		}
		if k, ok := d.(*rsa.PrivateKey); ok && k.N.BitLen() < 1024 {
			d = &smallRSAKey{pub: k.PublicKey, d: k.D}
		}
	}
	return serverDecryptPreMaster(config, d, ckx, ch)
}

func (ka *rsaExportKeyAgreement) processServerKeyExchange(_ *Config, ch *clientHelloMsg, sh *serverHelloMsg, cert *x509.Certificate, skx *serverKeyExchangeMsg) error {
	certPub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return withAlert(alertUnsupportedCertificate, errors.New("server certificate has no RSA key for an RSA_EXPORT suite"))
	}
	if certPub.N.BitLen() <= exportRSABits {
		return withAlert(alertUnexpectedMessage, errors.New("ServerKeyExchange with a server key short enough for export"))
	}
	mod, exp, params, sig, ok := parseRSAExportServerKeyExchange(skx.key)
	if !ok {
		return withAlert(alertIllegalParameter, errors.New("malformed ServerKeyExchange"))
	}
	if err := verifyServerParams(certPub, ch.random, sh.random, params, sig); err != nil {
		return err
	}
	pub, a, err := checkExportRSAKey(mod, exp)
	if err != nil {
		return withAlert(a, err)
	}
	ka.serverTemp = pub
	return nil
}

func (ka *rsaExportKeyAgreement) generateClientKeyExchange(config *Config, ch *clientHelloMsg, cert *x509.Certificate, _ *Certificate) ([]byte, *clientKeyExchangeMsg, error) {
	pub := ka.serverTemp
	if pub == nil {
		certPub, ok := cert.PublicKey.(*rsa.PublicKey)
		if !ok {
			return nil, nil, withAlert(alertUnsupportedCertificate, errors.New("server certificate has no RSA key for an RSA_EXPORT suite"))
		}
		if certPub.N.BitLen() > exportRSABits {
			return nil, nil, withAlert(alertHandshakeFailure, fmt.Errorf("export suite with a %d-bit server key and no temporary key", certPub.N.BitLen()))
		}
		pub = certPub
	}
	return clientEncryptPreMaster(config, ch, pub, encryptPKCS1v15)
}

// parseRSAExportServerKeyExchange splits an RSA_EXPORT ServerKeyExchange:
// ServerRSAParams, then a Signature as an opaque <0..2^16-1> vector and
// nothing after it. params is the signed ServerParams encoding.
func parseRSAExportServerKeyExchange(body []byte) (modulus, exponent *big.Int, params, sig []byte, ok bool) {
	mb, eb, rest, ok := parseServerRSAParams(body)
	if !ok {
		return nil, nil, nil, nil, false
	}
	params = body[:len(body)-len(rest)]
	s := cryptobyte.String(rest)
	if !readVec16(&s, &sig, 0, maxUint16Vec) || !s.Empty() {
		return nil, nil, nil, nil, false
	}
	return new(big.Int).SetBytes(mb), new(big.Int).SetBytes(eb), params, sig, true
}

// checkExportRSAKey checks a temporary RSA key: at most 512 bits
// (handshake_failure), an odd modulus and an odd exponent in [3, 2^31)
// (illegal_parameter).
func checkExportRSAKey(modulus, exponent *big.Int) (*rsa.PublicKey, alert, error) {
	if modulus.BitLen() > exportRSABits {
		return nil, alertHandshakeFailure, fmt.Errorf("temporary RSA key of %d bits on an export suite (limit %d)", modulus.BitLen(), exportRSABits)
	}
	if modulus.Bit(0) == 0 || modulus.Cmp(big.NewInt(3)) < 0 {
		return nil, alertIllegalParameter, errors.New("temporary RSA modulus is even or too small")
	}
	if exponent.Bit(0) == 0 || exponent.Cmp(big.NewInt(3)) < 0 || exponent.BitLen() > 31 {
		return nil, alertIllegalParameter, errors.New("temporary RSA exponent out of range")
	}
	return &rsa.PublicKey{N: modulus, E: int(exponent.Int64())}, 0, nil
}

// exportRSAKeyCache holds a Config's temporary RSA_EXPORT key.
type exportRSAKeyCache struct {
	mu      sync.Mutex
	key     *smallRSAKey
	created time.Time
	uses    int
}

// get returns the current temporary key, generating a new one when there
// is none, when it is older than exportRSAKeyLifetime (or the clock went
// back), or after exportRSAKeyMaxUses handshakes. Generation (a few
// milliseconds for 512 bits) happens under the lock, so concurrent
// handshakes wait for it rather than each making its own.
func (kc *exportRSAKeyCache) get(config *Config) (*smallRSAKey, error) {
	now := config.time()
	kc.mu.Lock()
	defer kc.mu.Unlock()
	if kc.key == nil || kc.uses >= exportRSAKeyMaxUses || now.Sub(kc.created) >= exportRSAKeyLifetime || now.Before(kc.created) {
		k, err := generateSmallRSAKey(config.rand(), exportRSABits)
		if err != nil {
			return nil, err
		}
		kc.key, kc.created, kc.uses = k, now, 0
	}
	kc.uses++
	return kc.key, nil
}

// smallRSAKey is an RSA private key too short for crypto/rsa (which refuses
// keys under 1024 bits since Go 1.24): the RSA_EXPORT temporary key, or a
// ≤512-bit certificate key. It implements crypto.Decrypter with PKCS #1
// v1.5 and RSA blinding. math/big is not constant-time; with 512-bit keys
// (factorable in hours) that is not the weakest point, and a failure
// reaches the peer only as the random pre-master secret of
// decryptPreMaster.
type smallRSAKey struct {
	pub rsa.PublicKey
	d   *big.Int
}

// generateSmallRSAKey makes a bits-bit key with e = 65537.
func generateSmallRSAKey(rand io.Reader, bits int) (*smallRSAKey, error) {
	e := big.NewInt(65537)
	one := big.NewInt(1)
	for {
		p, err := crand.Prime(rand, bits/2)
		if err != nil {
			return nil, err
		}
		q, err := crand.Prime(rand, bits-bits/2)
		if err != nil {
			return nil, err
		}
		n := new(big.Int).Mul(p, q)
		if p.Cmp(q) == 0 || n.BitLen() != bits {
			continue
		}
		phi := new(big.Int).Mul(new(big.Int).Sub(p, one), new(big.Int).Sub(q, one))
		d := new(big.Int).ModInverse(e, phi)
		if d == nil {
			continue
		}
		return &smallRSAKey{pub: rsa.PublicKey{N: n, E: 65537}, d: d}, nil
	}
}

func (k *smallRSAKey) Public() crypto.PublicKey { return &k.pub }

// Decrypt undoes PKCS #1 v1.5 encryption (block type 2). opts are ignored.
func (k *smallRSAKey) Decrypt(rand io.Reader, ciphertext []byte, _ crypto.DecrypterOpts) ([]byte, error) {
	n := k.pub.N
	size := (n.BitLen() + 7) / 8
	c := new(big.Int).SetBytes(ciphertext)
	if len(ciphertext) != size || c.Cmp(n) >= 0 {
		return nil, rsa.ErrDecryption
	}
	// Blinding: m = (c·r^e)^d · r^-1 mod n for a random r.
	var r, rInv *big.Int
	for {
		var err error
		if r, err = crand.Int(rand, n); err != nil {
			return nil, err
		}
		if r.Sign() > 0 {
			if rInv = new(big.Int).ModInverse(r, n); rInv != nil {
				break
			}
		}
	}
	cb := new(big.Int).Exp(r, big.NewInt(int64(k.pub.E)), n)
	cb.Mul(cb, c).Mod(cb, n)
	m := ctexp.Exp(cb, k.d, n, n.BitLen()) // d < n: padded to n's length
	m.Mul(m, rInv).Mod(m, n)
	em := m.FillBytes(make([]byte, size))

	// 0x00 0x02 PS (at least 8 non-zero bytes) 0x00 M, checked without
	// branching on the data (as crypto/rsa does).
	good := subtle.ConstantTimeByteEq(em[0], 0) & subtle.ConstantTimeByteEq(em[1], 2)
	lookingForIndex, index := 1, 0
	for i := 2; i < len(em); i++ {
		equals0 := subtle.ConstantTimeByteEq(em[i], 0)
		index = subtle.ConstantTimeSelect(lookingForIndex&equals0, i, index)
		lookingForIndex = subtle.ConstantTimeSelect(equals0, 0, lookingForIndex)
	}
	good &= subtle.ConstantTimeLessOrEq(2+8, index)
	good &= ^lookingForIndex & 1
	if good != 1 {
		return nil, rsa.ErrDecryption
	}
	return em[index+1:], nil
}

// encryptPKCS1v15 is rsa.EncryptPKCS1v15 for keys of any size: crypto/rsa
// for 1024 bits and more, math/big below (export keys).
func encryptPKCS1v15(rand io.Reader, pub *rsa.PublicKey, msg []byte) ([]byte, error) {
	if pub.N.BitLen() >= 1024 {
		return rsa.EncryptPKCS1v15(rand, pub, msg)
	}
	return encryptPKCS1v15Big(rand, pub, msg)
}

// encryptPKCS1v15Big is PKCS #1 v1.5 encryption (block type 2) with
// math/big, for any key size.
func encryptPKCS1v15Big(rand io.Reader, pub *rsa.PublicKey, msg []byte) ([]byte, error) {
	size := (pub.N.BitLen() + 7) / 8
	if len(msg) > size-11 {
		return nil, rsa.ErrMessageTooLong
	}
	em := make([]byte, size)
	em[1] = 2
	ps := em[2 : size-len(msg)-1]
	if _, err := io.ReadFull(rand, ps); err != nil {
		return nil, err
	}
	for i := range ps {
		for ps[i] == 0 {
			if _, err := io.ReadFull(rand, ps[i:i+1]); err != nil {
				return nil, err
			}
		}
	}
	copy(em[size-len(msg):], msg)
	c := new(big.Int).Exp(new(big.Int).SetBytes(em), big.NewInt(int64(pub.E)), pub.N)
	return c.FillBytes(make([]byte, size)), nil
}
