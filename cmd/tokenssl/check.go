package main

// Refusal of a configuration that cannot work, at start and in one line,
// rather than a server that starts and then fails every handshake.

import (
	"bytes"
	"crypto"
	"crypto/dsa"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

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
// none of its cipher suites (config.CipherSuites, or the defaults). It
// asks the engine itself: a ClientHello offering exactly those suites goes
// to a server with this configuration over an in-memory pipe, and the
// configuration is servable if a ServerHello comes back (the engine's own
// suite and certificate choice, so this check cannot drift from it).
// explicit says whether the suites came from -ciphers.
func checkServable(config *ssl.Config, explicit bool) error {
	suites := config.CipherSuites
	if len(suites) == 0 {
		suites = ssl.DefaultCipherSuites()
	}
	if _, ok, err := probeServer(config, suites); err != nil || ok {
		return err
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
	for _, s := range ssl.CipherSuites() {
		if s.ID == id {
			return s.Implemented
		}
	}
	return false
}

// probeServer offers suites to a server with config and returns the suite
// of its ServerHello; ok is false when it answers with an alert.
func probeServer(config *ssl.Config, suites []uint16) (id uint16, ok bool, err error) {
	probe := config.Clone()
	probe.SessionCache, probe.DisableSessionCache = nil, true
	probe.ClientAuth = ssl.NoClientCert
	probe.HandshakeTimeout = 30 * time.Second
	cli, srv := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		ssl.Server(srv, probe).Handshake() // fails once cli closes: expected
		srv.Close()
	}()
	defer func() {
		cli.Close()
		<-done
	}()
	cli.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := cli.Write(clientHello(suites)); err != nil {
		return 0, false, fmt.Errorf("checking the configuration: %v", err)
	}
	var hdr [5]byte
	if _, err := io.ReadFull(cli, hdr[:]); err != nil {
		return 0, false, fmt.Errorf("checking the configuration: %v", err)
	}
	body := make([]byte, binary.BigEndian.Uint16(hdr[3:]))
	if _, err := io.ReadFull(cli, body); err != nil {
		return 0, false, fmt.Errorf("checking the configuration: %v", err)
	}
	switch {
	case hdr[0] == 21: // alert
		return 0, false, nil
	case hdr[0] == 22 && len(body) >= 4+2+32+1 && body[0] == 2: // server_hello
		sidLen := int(body[4+2+32])
		off := 4 + 2 + 32 + 1 + sidLen
		if len(body) < off+2 {
			break
		}
		return binary.BigEndian.Uint16(body[off:]), true, nil
	}
	return 0, false, errors.New("checking the configuration: the server's first record is neither a ServerHello nor an alert")
}

// clientHello is an SSL 3.0 ClientHello record offering suites and the
// renegotiation SCSV, no compression, no extensions.
func clientHello(suites []uint16) []byte {
	var b bytes.Buffer
	b.Write([]byte{3, 0})
	rnd := make([]byte, 32)
	rand.Read(rnd)
	b.Write(rnd)
	b.WriteByte(0) // no session id
	all := append(append([]uint16{}, suites...), ssl.TLS_EMPTY_RENEGOTIATION_INFO_SCSV)
	binary.Write(&b, binary.BigEndian, uint16(2*len(all)))
	for _, s := range all {
		binary.Write(&b, binary.BigEndian, s)
	}
	b.Write([]byte{1, 0}) // compression: null
	body := b.Bytes()
	msg := append([]byte{1, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}, body...)
	rec := append([]byte{22, 3, 0, byte(len(msg) >> 8), byte(len(msg))}, msg...)
	return rec
}
