package ssl

import (
	"crypto"
	"crypto/cipher"
	"crypto/dsa"
	"crypto/ecdsa"
	"crypto/md5"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/subtle"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/tokenssl/tokenssl/ssl/internal/dsax509"
	"github.com/tokenssl/tokenssl/ssl/internal/ssl3mac"
)

// keyMaterial is the partition of the key_block for one cipher spec
// (§8.2.2), after export expansion.
type keyMaterial struct {
	clientMAC, serverMAC []byte
	clientKey, serverKey []byte
	clientIV, serverIV   []byte
}

// deriveKeys partitions the key_block and applies the export rules.
func deriveKeys(s *cipherSuite, master, clientRandom, serverRandom []byte) keyMaterial {
	macLen := s.macSize()
	keyLen := s.cipher.keyMaterial
	ivLen := s.cipher.ivSize
	n := 2*macLen + 2*keyLen + 2*ivLen
	kb := keyBlock(master, clientRandom, serverRandom, n)
	var km keyMaterial
	km.clientMAC, kb = kb[:macLen], kb[macLen:]
	km.serverMAC, kb = kb[:macLen], kb[macLen:]
	km.clientKey, kb = kb[:keyLen], kb[keyLen:]
	km.serverKey, kb = kb[:keyLen], kb[keyLen:]
	km.clientIV, kb = kb[:ivLen], kb[ivLen:]
	km.serverIV = kb[:ivLen]
	if s.exportCipher() {
		exp := s.cipher.expandedKey
		km.clientKey = exportKey(km.clientKey, clientRandom, serverRandom, exp)
		km.serverKey = exportKey(km.serverKey, serverRandom, clientRandom, exp)
		if ivLen > 0 {
			km.clientIV = exportIV(clientRandom, serverRandom, ivLen)
			km.serverIV = exportIV(serverRandom, clientRandom, ivLen)
		}
	}
	return km
}

// newRecordCipher builds one direction's cipher state.
func newRecordCipher(s *cipherSuite, key, iv []byte, forRead bool) (any, error) {
	bc := s.cipher
	switch {
	case bc.stream != nil:
		return bc.stream(key)
	case bc.block != nil:
		b, err := bc.block(key)
		if err != nil {
			return nil, err
		}
		if forRead {
			return cipher.NewCBCDecrypter(b, iv), nil
		}
		return cipher.NewCBCEncrypter(b, iv), nil
	case bc == cipherNull:
		return nil, nil
	}
	return nil, fmt.Errorf("ssl: cipher %s has no software implementation", bc.name)
}

// prepareKeys installs the pending read and write states of c from the
// master secret; ChangeCipherSpec activates them.
// ka, when given, is the key agreement of a full handshake: for a suite
// whose bulk cipher runs on a token (FORTEZZA_CBC) it supplies the record
// ciphers (recordCipherProvider).
func prepareKeys(c *Conn, s *cipherSuite, master, clientRandom, serverRandom []byte, ka ...keyAgreement) error {
	km := deriveKeys(s, master, clientRandom, serverRandom)
	var macHash crypto.Hash = s.mac
	clientMAC, err := ssl3mac.New(macHash, km.clientMAC)
	if err != nil {
		return err
	}
	serverMAC, err := ssl3mac.New(macHash, km.serverMAC)
	if err != nil {
		return err
	}
	var clientCipher, serverCipher any
	if rp, ok := recordCipherProviderOf(s, ka); ok {
		write, read, err := rp.recordCiphers(c, c.isClient)
		if err != nil {
			return err
		}
		clientCipher, serverCipher = read, write
		if c.isClient {
			clientCipher, serverCipher = write, read
			c.in.prepareFortezzaPrefix(false) // drop the server's first 8 bytes
		} else {
			c.out.prepareFortezzaPrefix(true) // prefix our first record (D.5.1)
		}
	} else {
		if clientCipher, err = newRecordCipher(s, km.clientKey, km.clientIV, !c.isClient); err != nil {
			return err
		}
		if serverCipher, err = newRecordCipher(s, km.serverKey, km.serverIV, c.isClient); err != nil {
			return err
		}
	}
	if c.isClient {
		c.out.prepareCipherSpec(clientCipher, clientMAC)
		c.in.prepareCipherSpec(serverCipher, serverMAC)
	} else {
		c.out.prepareCipherSpec(serverCipher, serverMAC)
		c.in.prepareCipherSpec(clientCipher, clientMAC)
	}
	return nil
}

// verifyFinished compares a received Finished in constant time.
func verifyFinished(want []byte, got *finishedMsg) bool {
	return len(got.verifyData) == len(want) && subtle.ConstantTimeCompare(want, got.verifyData) == 1
}

// signHandshake signs the SSL 3.0 way: RSA over the 36-byte MD5‖SHA-1 value
// with no DigestInfo; DSA over the 20-byte SHA-1 value, DER Dss-Sig-Value.
func signHandshake(key crypto.Signer, rand interface{ Read([]byte) (int, error) }, md5sha1 []byte) ([]byte, error) {
	switch key.Public().(type) {
	case *rsa.PublicKey:
		return key.Sign(rand, md5sha1, crypto.MD5SHA1)
	case *dsa.PublicKey, *ecdsa.PublicKey:
		return key.Sign(rand, md5sha1[16:], crypto.SHA1)
	}
	return nil, errors.New("ssl: unsupported signing key type")
}

// verifyHandshakeSignature checks a signature made by signHandshake. DSA
// signatures are accepted both as DER (OpenSSL) and as raw 40-byte r‖s
// (NSS, Fortezza).
func verifyHandshakeSignature(pub crypto.PublicKey, md5sha1, sig []byte) error {
	switch pk := pub.(type) {
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(pk, crypto.MD5SHA1, md5sha1, sig)
	case *dsa.PublicKey:
		r, s, err := parseDSASignature(sig)
		if err != nil {
			return err
		}
		if !dsa.Verify(pk, md5sha1[16:], r, s) {
			return errors.New("ssl: DSA signature does not verify")
		}
		return nil
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(pk, md5sha1[16:], sig) {
			return errors.New("ssl: ECDSA signature does not verify")
		}
		return nil
	}
	return errors.New("ssl: unsupported public key type for signatures")
}

// parseDSASignature decodes a DER Dss-Sig-Value or a raw 40-byte r‖s.
func parseDSASignature(sig []byte) (r, s *big.Int, err error) {
	if r, s, err := dsax509.ParseDSSSigValue(sig); err == nil {
		return r, s, nil
	}
	if len(sig) == 40 {
		return new(big.Int).SetBytes(sig[:20]), new(big.Int).SetBytes(sig[20:]), nil
	}
	return nil, nil, errors.New("ssl: malformed DSA signature")
}

// serverParamsDigest is the value a ServerKeyExchange signature covers
// (§7.6.3): MD5 then SHA of ClientHello.random + ServerHello.random +
// ServerParams. RSA signs all 36 bytes, DSA the SHA part.
func serverParamsDigest(clientRandom, serverRandom, params []byte) []byte {
	out := make([]byte, 0, md5.Size+sha1.Size)
	h := md5.New()
	h.Write(clientRandom)
	h.Write(serverRandom)
	h.Write(params)
	out = h.Sum(out)
	h = sha1.New()
	h.Write(clientRandom)
	h.Write(serverRandom)
	h.Write(params)
	return h.Sum(out)
}

// signServerParams returns a signed ServerKeyExchange body: params, then
// their Signature (signHandshake) as an opaque <0..2^16-1> vector.
func signServerParams(c *Conn, key crypto.Signer, clientRandom, serverRandom, params []byte) ([]byte, error) {
	sig, err := signHandshake(key, c.config.rand(), serverParamsDigest(clientRandom, serverRandom, params))
	if err != nil {
		return nil, fmt.Errorf("ssl: signing ServerKeyExchange: %w", err)
	}
	var b cryptobyte.Builder
	b.AddBytes(params)
	addVec16(&b, "ServerKeyExchange.signature", sig, 0, maxUint16Vec)
	return b.Bytes()
}

// certificateAlert maps a chain verification failure to the SSL 3.0 alert
// that names it best.
func certificateAlert(err error) alert {
	var inv x509.CertificateInvalidError
	if errors.As(err, &inv) && inv.Reason == x509.Expired {
		return alertCertificateExpired
	}
	var uk x509.UnknownAuthorityError
	if errors.As(err, &uk) {
		return alertCertificateUnknown
	}
	return alertBadCertificate
}

// parseChain parses a received certificate list.
func parseChain(raw [][]byte) ([]*x509.Certificate, error) {
	if err := checkChainLimits(raw); err != nil {
		return nil, err
	}
	certs := make([]*x509.Certificate, len(raw))
	for i, der := range raw {
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("certificate %d does not parse: %w", i, err)
		}
		certs[i] = cert
	}
	return certs, nil
}

// verifyChain verifies certs (leaf first) against roots for the given usage.
//
// crypto/x509 no longer verifies DSA signatures: when it fails on a chain
// that has one, verifyDSAChain retries with dsax509 and checkExtKeyUsage
// applies the usage. Limits of that path: the trust anchor must be among
// the presented certificates (a CertPool cannot be listed), so a peer with
// a DSA-signed certificate must send the CA; name constraints fail closed;
// policies and revocation are not checked (see package dsax509).
// certificateAlert maps the failures as for any chain: expired →
// certificate_expired, no anchor → certificate_unknown, anything else (a
// bad signature, the host name, the usage) → bad_certificate.
func verifyChain(certs []*x509.Certificate, roots *x509.CertPool, dnsName string, now time.Time, usage x509.ExtKeyUsage) ([][]*x509.Certificate, error) {
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	chains, err := certs[0].Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: inter, DNSName: dnsName, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{usage},
	})
	if err != nil && dsax509.HasDSASignature(certs...) {
		// crypto/x509 no longer verifies DSA signatures (Fortezza KEA and
		// DSS certificates, DSS CAs).
		if chains, err = verifyDSAChain(certs, roots, dnsName, now); err == nil {
			err = checkExtKeyUsage(chains, usage)
		}
		if err != nil {
			return nil, err
		}
	}
	return chains, err
}

// verifyDSAChain verifies a chain that crypto/x509 rejected because of DSA
// signatures (Fortezza KEA and DSS certificates are signed by a DSA CA):
// the trust anchors are the presented certificates that are in roots (a
// CertPool cannot be listed, so the server must send its CA), the chain is
// built and checked by dsax509, and dnsName, if given, must match the
// leaf's DNS names or, lacking those, its common name (1996 certificates
// have no subjectAltName).
func verifyDSAChain(certs []*x509.Certificate, roots *x509.CertPool, dnsName string, now time.Time) ([][]*x509.Certificate, error) {
	if roots == nil {
		return nil, errors.New("ssl: DSA-signed chain and no explicit root pool")
	}
	var anchors []*x509.Certificate
	for _, cand := range certs {
		if poolContains(roots, cand) {
			anchors = append(anchors, cand)
		}
	}
	if len(anchors) == 0 {
		return nil, x509.UnknownAuthorityError{Cert: certs[0]}
	}
	chains, err := dsax509.VerifyChain(certs[0], certs[1:], anchors, now)
	if err != nil {
		return nil, err
	}
	if dnsName != "" {
		leaf := certs[0]
		if len(leaf.DNSNames) > 0 || len(leaf.IPAddresses) > 0 {
			if err := leaf.VerifyHostname(dnsName); err != nil {
				return nil, err
			}
		} else if leaf.Subject.CommonName != dnsName {
			return nil, x509.HostnameError{Certificate: leaf, Host: dnsName}
		}
	}
	return chains, nil
}

// poolContains reports whether cert is in pool: adding a certificate a
// pool already holds leaves it unchanged.
func poolContains(pool *x509.CertPool, cert *x509.Certificate) bool {
	clone := pool.Clone()
	clone.AddCert(cert)
	return clone.Equal(pool)
}

// checkExtKeyUsage applies crypto/x509's extended key usage rule to chains
// built without it (verifyDSAChain): every certificate that lists extended
// key usages must list usage or anyExtendedKeyUsage (or, for server
// authentication, one of the old Server Gated Crypto usages). One chain
// passing is enough.
func checkExtKeyUsage(chains [][]*x509.Certificate, usage x509.ExtKeyUsage) error {
	for _, chain := range chains {
		ok := true
		for _, cert := range chain {
			if len(cert.ExtKeyUsage) == 0 && len(cert.UnknownExtKeyUsage) == 0 {
				continue
			}
			allowed := false
			for _, u := range cert.ExtKeyUsage {
				if u == usage || u == x509.ExtKeyUsageAny || usage == x509.ExtKeyUsageServerAuth &&
					(u == x509.ExtKeyUsageNetscapeServerGatedCrypto || u == x509.ExtKeyUsageMicrosoftServerGatedCrypto) {
					allowed = true
				}
			}
			ok = ok && allowed
		}
		if ok {
			return nil
		}
	}
	return x509.CertificateInvalidError{Cert: chains[0][0], Reason: x509.IncompatibleUsage}
}
