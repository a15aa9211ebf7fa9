package main

// Refusal of a configuration that cannot work, at start and in one line,
// rather than a server that starts and then fails every handshake.

import (
	"crypto"
	"crypto/dsa"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"slices"
	"strings"

	"github.com/tokenssl/tokenssl/ssl"
	"github.com/tokenssl/tokenssl/token"
	"github.com/tokenssl/tokenssl/x509legacy"
)

// checkPair reports a certificate whose public key is not the public half
// of the private key beside it (a key file, or a key on a token: the
// token's public key, as the key reports it). what names the pair for the
// operator. A Fortezza card is checked by one KEA exchange against its
// certificate (ssl.CheckKeyPair).
func checkPair(cert *ssl.Certificate, what string) error {
	if len(cert.Certificate) == 0 {
		return fmt.Errorf("%s: no certificate", what)
	}
	if _, card := cert.PrivateKey.(token.FortezzaCard); card {
		// The engine's check runs one KEA exchange with the card against
		// its certificate's public value.
		if err := ssl.CheckKeyPair(cert); err != nil {
			return fmt.Errorf("%s do not match: %s", what, strings.TrimPrefix(err.Error(), "ssl: "))
		}
		return nil
	}
	leaf := cert.Leaf
	if leaf == nil {
		var err error
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return fmt.Errorf("%s: the certificate does not parse: %v", what, err)
		}
	}
	certPub, keyPub := leaf.PublicKey, publicOf(cert.PrivateKey)
	if dh, ok := cert.PrivateKey.(token.DHAgreer); ok {
		// crypto/x509 does not read DH keys: x509legacy does.
		cp, err := x509legacy.DHPublicKeyFromCertificate(leaf)
		own := dh.DHPublic()
		if err != nil || own == nil || own.Y == nil || cp.Y == nil || own.Y.Cmp(cp.Y) != 0 || own.P.Cmp(cp.P) != 0 {
			return fmt.Errorf("%s do not match: the certificate is not for this DH key", what)
		}
		return nil
	}
	if keyPub == nil {
		return fmt.Errorf("%s: the private key can neither sign nor decrypt: not a key type SSL 3.0 uses", what)
	}
	if !samePublicKey(certPub, keyPub) {
		if ck, kk := keyKind(certPub), keyKind(keyPub); ck != kk {
			return fmt.Errorf("%s do not match: the certificate's key is %s, the private key %s", what, ck, kk)
		}
		return fmt.Errorf("%s do not match: the certificate is for another %s key", what, keyKind(certPub))
	}
	// The same public key can still hide a different private key (a token
	// that copied Y from the certificate): the engine's check makes one
	// test operation where comparing public keys proves nothing.
	if err := ssl.CheckKeyPair(cert); err != nil {
		return fmt.Errorf("%s do not match: %s", what, strings.TrimPrefix(err.Error(), "ssl: "))
	}
	return nil
}

// publicOf is the public half of a private key, or nil.
func publicOf(k token.Key) crypto.PublicKey {
	switch k := k.(type) {
	case crypto.Signer:
		return k.Public()
	case crypto.Decrypter:
		return k.Public()
	}
	return nil
}

func samePublicKey(a, b crypto.PublicKey) bool {
	switch a := a.(type) {
	case *rsa.PublicKey:
		b, ok := b.(*rsa.PublicKey)
		return ok && a.N.Cmp(b.N) == 0 && a.E == b.E
	case *dsa.PublicKey:
		b, ok := b.(*dsa.PublicKey)
		return ok && a.Y.Cmp(b.Y) == 0 && a.P.Cmp(b.P) == 0 && a.Q.Cmp(b.Q) == 0 && a.G.Cmp(b.G) == 0
	case interface{ Equal(crypto.PublicKey) bool }:
		return a.Equal(b)
	}
	return false
}

// keyKind names a public key's algorithm as an operator would.
func keyKind(pub crypto.PublicKey) string {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA-%d", p.N.BitLen())
	case *dsa.PublicKey:
		return fmt.Sprintf("DSA-%d", p.P.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA " + p.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	case nil:
		return "DH or unknown"
	}
	return "unsupported"
}

// credentials describes what the configured certificates hold.
func credentials(certs []ssl.Certificate) string {
	if len(certs) == 0 {
		return "without a certificate"
	}
	var kinds []string
	for i := range certs {
		c := &certs[i]
		switch k := c.PrivateKey.(type) {
		case token.FortezzaCard:
			kinds = append(kinds, "a Fortezza card")
			continue
		case token.DHAgreer:
			kinds = append(kinds, "a DH certificate")
			continue
		default:
			if pub := publicOf(k); pub != nil {
				kinds = append(kinds, "an "+keyKind(pub)+" certificate")
				continue
			}
		}
		kinds = append(kinds, "a certificate")
	}
	s := "with " + strings.Join(kinds, " and ")
	// "an RSA", "a DSA", "an ECDSA": fix the article for D.
	return strings.ReplaceAll(s, "an DSA", "a DSA")
}

// checkServable refuses a server configuration whose credentials can serve
// none of its cipher suites (config.CipherSuites, or the defaults). The
// engine decides (ssl.Config.ServableSuites asks each suite's exchange, as
// suite selection does); this only words the refusal for the operator.
// explicit says whether the suites came from -ciphers.
func checkServable(config *ssl.Config, explicit bool) error {
	if len(config.ServableSuites()) > 0 {
		return nil
	}
	suites := config.CipherSuites
	if len(suites) == 0 {
		suites = ssl.DefaultCipherSuites()
	}
	if !explicit {
		return fmt.Errorf("none of the default cipher suites can be served %s: choose suites with -ciphers (tokenssl suites lists them)", credentials(config.Certificates))
	}
	var names []string
	for _, s := range suites {
		n := ssl.CipherSuiteName(s)
		if !implemented(s) {
			n += " (never negotiated by this build)"
		}
		names = append(names, n)
	}
	return fmt.Errorf("-ciphers: no suite can be served %s: %s", credentials(config.Certificates), strings.Join(names, ", "))
}

// parseCiphers reads -ciphers: Appendix C names, OpenSSL names, hex codes.
func parseCiphers(list string) ([]uint16, error) {
	ids, err := ssl.ParseCipherSuites(list)
	if err != nil {
		return nil, fmt.Errorf("-ciphers: %w (tokenssl suites lists the names)", err)
	}
	return ids, nil
}

func implemented(id uint16) bool {
	return slices.Contains(ssl.ImplementedCipherSuites(), id)
}
