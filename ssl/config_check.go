package ssl

import (
	"bytes"
	"crypto"
	"crypto/dsa"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"

	"github.com/tokenssl/tokenssl/kea"
	"github.com/tokenssl/tokenssl/token"
	"github.com/tokenssl/tokenssl/x509legacy"
)

// Checks an operator's tool runs before it serves: does each certificate's
// private key belong to it, and can the certificates serve any of the
// enabled suites. A server that starts without them fails every handshake
// with handshake_failure and says why only to the peer.

// CheckKeyPair returns nil if cert's private key is the one its leaf
// certificate carries, or an error saying how they differ. Where the key
// reports its public half (crypto.Signer, crypto.Decrypter, token.DHAgreer)
// that is compared with the certificate's; where that half may have been
// copied from a certificate on the token (DSA keys) or is not reported, the
// key makes one test operation: a signature, a decryption, a DH agreement,
// or for a Fortezza card a KEA exchange with a throw-away peer. Keys on a
// token are therefore used (and a PIN may be needed) once.
func CheckKeyPair(cert *Certificate) error {
	if cert == nil || len(cert.Certificate) == 0 {
		return errors.New("ssl: the certificate chain is empty")
	}
	if cert.PrivateKey == nil {
		return errors.New("ssl: the certificate has no private key")
	}
	if card := token.AsFortezzaCard(cert.PrivateKey); card != nil {
		return checkFortezzaPair(cert, card)
	}
	leaf, err := cert.leaf()
	if err != nil {
		return fmt.Errorf("ssl: the certificate cannot be parsed: %w", err)
	}
	if agreer := token.AsDHAgreer(cert.PrivateKey); agreer != nil && leaf.PublicKeyAlgorithm == x509.UnknownPublicKeyAlgorithm {
		return checkDHPair(leaf, agreer)
	}
	var pub crypto.PublicKey
	signer := token.AsSigner(cert.PrivateKey)
	decrypter := token.AsDecrypter(cert.PrivateKey)
	switch {
	case signer != nil:
		pub = signer.Public()
	case decrypter != nil:
		pub = decrypter.Public()
	default:
		return fmt.Errorf("ssl: the private key (%T) can neither sign, decrypt nor agree on a key", cert.PrivateKey)
	}
	if pub != nil {
		if err := samePublicKey(pub, leaf.PublicKey); err != nil {
			return err
		}
	}
	switch {
	case signer != nil && (pub == nil || isDSA(pub)):
		// A token's DSA private object need not hold Y: backends fill it
		// from a certificate, which then proves nothing.
		return testSignature(signer, leaf.PublicKey)
	case signer == nil && pub == nil:
		return testDecryption(decrypter, leaf.PublicKey)
	}
	return nil
}

func isDSA(pub crypto.PublicKey) bool {
	_, ok := pub.(*dsa.PublicKey)
	return ok
}

// samePublicKey compares the key's public half with the certificate's.
func samePublicKey(keyPub, certPub crypto.PublicKey) error {
	mismatch := fmt.Errorf("ssl: the private key does not match the certificate: the key is %s, the certificate's %s", describePublicKey(keyPub), describePublicKey(certPub))
	switch k := keyPub.(type) {
	case *dsa.PublicKey:
		c, ok := certPub.(*dsa.PublicKey)
		if !ok || k.Y == nil || k.P == nil || c.Y.Cmp(k.Y) != 0 || c.P.Cmp(k.P) != 0 || c.Q.Cmp(k.Q) != 0 || c.G.Cmp(k.G) != 0 {
			return mismatch
		}
		return nil
	case interface{ Equal(crypto.PublicKey) bool }:
		if !k.Equal(certPub) {
			return mismatch
		}
		return nil
	}
	return fmt.Errorf("ssl: the private key's public half is of a type (%T) this package does not use", keyPub)
}

// testSignature signs a random digest and verifies it with the
// certificate's key.
func testSignature(signer crypto.Signer, certPub crypto.PublicKey) error {
	sum := make([]byte, 36) // an MD5 ‖ SHA-1 handshake hash
	if _, err := io.ReadFull(rand.Reader, sum); err != nil {
		return err
	}
	sig, err := signHandshake(signer, rand.Reader, sum)
	if err != nil {
		return fmt.Errorf("ssl: test signature with the private key failed: %w", err)
	}
	if verifyHandshakeSignature(certPub, sum, sig) != nil {
		return errors.New("ssl: the private key does not match the certificate: its test signature does not verify with the certificate's key")
	}
	return nil
}

// testDecryption encrypts a random pre-master-sized secret to the
// certificate's RSA key and has the private key decrypt it.
func testDecryption(d crypto.Decrypter, certPub crypto.PublicKey) error {
	pub, ok := certPub.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("ssl: the private key can only decrypt, but the certificate's is %s", describePublicKey(certPub))
	}
	secret := make([]byte, 48)
	if _, err := io.ReadFull(rand.Reader, secret); err != nil {
		return err
	}
	ct, err := rsa.EncryptPKCS1v15(rand.Reader, pub, secret)
	if err != nil {
		return err
	}
	got, err := d.Decrypt(rand.Reader, ct, nil)
	if err != nil || !bytes.Equal(got, secret) {
		return errors.New("ssl: the private key does not match the certificate: it cannot decrypt what is encrypted to the certificate's key")
	}
	return nil
}

// checkDHPair compares a fixed-DH certificate's public value with the
// key's and runs one agreement: the key's x must give peer^x equal to
// Y^e for a throw-away peer g^e.
func checkDHPair(leaf *x509.Certificate, agreer token.DHAgreer) error {
	certDH, err := x509legacy.DHPublicKeyFromCertificate(leaf)
	if err != nil {
		return fmt.Errorf("ssl: the key is a DH key, but the certificate's cannot be read as one: %w", err)
	}
	want := &token.DHParams{P: certDH.P, G: certDH.G}
	if own := agreer.DHPublic(); own == nil || own.Y == nil || own.Y.Cmp(certDH.Y) != 0 || !sameDHGroup(&own.DHParams, want) {
		return errors.New("ssl: the private key does not match the certificate: a different DH public value or group")
	}
	e, err := rand.Int(rand.Reader, new(big.Int).Sub(certDH.P, big.NewInt(3)))
	if err != nil {
		return err
	}
	e.Add(e, big.NewInt(2))
	peer := new(big.Int).Exp(certDH.G, e, certDH.P)
	got, err := agreer.Agree(peer)
	if err != nil {
		return fmt.Errorf("ssl: test DH agreement with the private key failed: %w", err)
	}
	if new(big.Int).SetBytes(got).Cmp(new(big.Int).Exp(certDH.Y, e, certDH.P)) != 0 {
		return errors.New("ssl: the private key does not match the certificate: its test DH agreement gives a different secret")
	}
	return nil
}

// checkFortezzaPair checks a card against its KEA certificate: the public
// value it reports, then a KEA exchange as the server runs it, the card as
// recipient of a throw-away software sender who wraps a key to the
// certificate's Y. The card can unwrap it only with the matching x.
func checkFortezzaPair(cert *Certificate, card token.FortezzaCard) error {
	kc, err := x509legacy.ParseKEACertificate(cert.Certificate[0])
	if err != nil {
		return fmt.Errorf("ssl: the key is a Fortezza card, but the certificate is not a KEA certificate: %w", err)
	}
	own := card.KEAPublicKey()
	if own == nil || own.Y == nil || own.Y.Cmp(kc.Y) != 0 {
		return errors.New("ssl: the Fortezza card does not match the certificate: a different KEA public value")
	}
	peerKey, err := kea.GenerateKey(rand.Reader, &own.Params)
	if err != nil {
		return err
	}
	peer := &token.SoftwareFortezzaCard{KEA: peerKey}
	rs, err := card.ResponderRandom()
	if err != nil {
		return fmt.Errorf("ssl: test KEA exchange on the Fortezza card failed: %w", err)
	}
	defer rs.Destroy()
	peerTEK, rc, err := peer.DeriveTEKAsSender(kc.Y, rs.R())
	if err != nil {
		return err
	}
	defer peerTEK.Destroy()
	mek, err := peer.GenerateMEK()
	if err != nil {
		return err
	}
	defer mek.Destroy()
	wrapped, err := peer.WrapKey(peerTEK, mek)
	if err != nil {
		return err
	}
	tek, err := card.DeriveTEKAsRecipient(rs, peerKey.Y, rc)
	if err != nil {
		return fmt.Errorf("ssl: test KEA exchange on the Fortezza card failed: %w", err)
	}
	defer tek.Destroy()
	got, err := card.UnwrapKey(tek, wrapped)
	if err != nil {
		if errors.Is(err, token.ErrFortezzaChecksum) {
			return errors.New("ssl: the Fortezza card does not match the certificate: its test KEA exchange gives a different key")
		}
		return fmt.Errorf("ssl: test KEA exchange on the Fortezza card failed: %w", err)
	}
	got.Destroy()
	return nil
}

// describePublicKey names a key as an operator reads it: "an RSA key
// (2048 bits)".
func describePublicKey(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("an RSA key (%d bits)", k.N.BitLen())
	case *dsa.PublicKey:
		return fmt.Sprintf("a DSA key (%d bits)", k.P.BitLen())
	case *ecdsa.PublicKey:
		return fmt.Sprintf("an ECDSA key (%s)", k.Curve.Params().Name)
	case ed25519.PublicKey:
		return "an Ed25519 key"
	case *token.DHPublicKey:
		return fmt.Sprintf("a DH key (%d bits)", k.P.BitLen())
	case nil:
		return "no key"
	}
	return fmt.Sprintf("a key of type %T", pub)
}

// describeCertificateKey names the key a certificate carries, DH and KEA
// ones included.
func describeCertificateKey(cert *Certificate) string {
	if len(cert.Certificate) > 0 {
		if _, err := x509legacy.ParseKEACertificate(cert.Certificate[0]); err == nil {
			return "a Fortezza KEA key"
		}
	}
	leaf, err := cert.leaf()
	if err != nil {
		return "a key that cannot be parsed"
	}
	if leaf.PublicKeyAlgorithm == x509.UnknownPublicKeyAlgorithm {
		if dh, err := x509legacy.DHPublicKeyFromCertificate(leaf); err == nil {
			return fmt.Sprintf("a DH key (%d bits)", dh.P.BitLen())
		}
	}
	d := describePublicKey(leaf.PublicKey)
	switch leaf.PublicKey.(type) {
	case *ecdsa.PublicKey, ed25519.PublicKey:
		d += ", which no SSL 3.0 cipher suite uses"
	}
	return d
}

// ServableSuites returns the enabled cipher suites (CipherSuites, or the
// defaults), in order, that a server with this Config can negotiate: the
// implemented ones that are anonymous or fit one of Certificates. With
// GetCertificate set the certificates are chosen per client, so every
// implemented suite is returned.
func (c *Config) ServableSuites() []uint16 {
	var out []uint16
	for _, id := range c.cipherSuites() {
		s := suiteByID(id)
		if s == nil || !s.implemented() {
			continue
		}
		if s.anonymous() || c.GetCertificate != nil || c.GetConfigForClient != nil || c.fitsSomeCertificate(s) {
			out = append(out, id)
		}
	}
	return out
}

func (c *Config) fitsSomeCertificate(s *cipherSuite) bool {
	ka := s.ka(s)
	defer ka.release()
	for i := range c.Certificates {
		if ka.certificateFits(&c.Certificates[i]) {
			return true
		}
	}
	return false
}

// CheckServerConfig returns nil if a server with config can negotiate at
// least one suite, else an error that says, in an operator's words, why
// each enabled suite cannot be served ("the DHE_DSS suites
// (SSL_DHE_DSS_WITH_3DES_EDE_CBC_SHA) need a DSA certificate whose key can
// sign, but the certificate has an RSA key (2048 bits)"). It does not use
// the keys; CheckKeyPair does.
func CheckServerConfig(config *Config) error {
	if config == nil {
		return errors.New("ssl: no configuration")
	}
	if len(config.ServableSuites()) > 0 {
		return nil
	}
	suites := config.cipherSuites()
	if len(suites) == 0 {
		return errors.New("ssl: no cipher suite is enabled")
	}
	// One clause per key exchange (the suites of one share the reason)
	// and per suite that no certificate could help, in the order listed.
	have := describeCertificates(config.Certificates)
	var order []string
	byKex := map[string][]string{}
	first := map[string]*cipherSuite{}
	var other []string
	for _, id := range suites {
		s := suiteByID(id)
		switch {
		case id == SSL_NULL_WITH_NULL_NULL:
			other = append(other, CipherSuiteName(id)+" is the state before the first handshake, not a suite a handshake can agree on")
		case s == nil:
			other = append(other, CipherSuiteName(id)+" is not an SSL 3.0 cipher suite")
		case !s.implemented():
			other = append(other, s.name+" is not implemented")
		default:
			kex := suiteKeyExchange(s)
			if _, ok := byKex[kex]; !ok {
				order = append(order, kex)
				first[kex] = s
			}
			byKex[kex] = append(byKex[kex], s.name)
		}
	}
	var parts []string
	for _, kex := range order {
		parts = append(parts, fmt.Sprintf("the %s suites (%s) need %s, but %s", kex, shortList(byKex[kex]), suiteNeeds(first[kex], kex), have))
	}
	parts = append(parts, other...)
	return errors.New("ssl: none of the enabled cipher suites can be served: " + strings.Join(parts, "; "))
}

// describeCertificates names what the configured certificates offer.
func describeCertificates(certs []Certificate) string {
	switch len(certs) {
	case 0:
		return "no certificate is configured"
	case 1:
		if certs[0].PrivateKey == nil {
			return "the certificate has no private key"
		}
		return "the certificate has " + describeCertificateKey(&certs[0])
	}
	var keys []string
	for i := range certs {
		keys = append(keys, describeCertificateKey(&certs[i]))
	}
	return "the certificates have " + strings.Join(keys, " and ")
}

// suiteKeyExchange is the key exchange part of a suite's name:
// "DHE_DSS_EXPORT" of SSL_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA.
func suiteKeyExchange(s *cipherSuite) string {
	kex, _, _ := strings.Cut(strings.TrimPrefix(s.name, "SSL_"), "_WITH_")
	return kex
}

// suiteNeeds says what certificate a suite's key exchange takes.
func suiteNeeds(s *cipherSuite, kex string) string {
	base := strings.TrimSuffix(kex, "_EXPORT")
	switch base {
	case "RSA":
		if s.exportKex() {
			return "an RSA certificate whose key can decrypt (up to 512 bits) or sign"
		}
		return "an RSA certificate whose key can decrypt"
	case "DHE_RSA":
		return "an RSA certificate whose key can sign"
	case "DHE_DSS":
		return "a DSA certificate whose key can sign"
	case "DH_RSA":
		return "a DH certificate signed with RSA, with its DH key"
	case "DH_DSS":
		return "a DH certificate signed with DSA, with its DH key"
	case "FORTEZZA_KEA":
		return "a Fortezza card with its KEA certificate"
	}
	return "a certificate for " + base
}

// shortList joins names, eliding after three.
func shortList(names []string) string {
	if len(names) > 3 {
		return fmt.Sprintf("%s and %d more", strings.Join(names[:3], ", "), len(names)-3)
	}
	return strings.Join(names, ", ")
}
