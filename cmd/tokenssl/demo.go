package main

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"os"
	"time"

	"github.com/tokenssl/tokenssl/softhsm"
	"github.com/tokenssl/tokenssl/ssl"
)

// runDemo provisions a throw-away SoftHSM token, generates the server's
// RSA key on it (sensitive, never extractable), starts a server whose every
// private-key operation runs on the token, and runs a client over every
// implemented suite, then a resumed handshake.
func runDemo(args []string) error {
	fs := flag.NewFlagSet("demo", flag.ExitOnError)
	software := fs.Bool("software-key", false, "keep the server key in memory instead of on a SoftHSM token")
	fs.Parse(args)

	caCert, caKey, roots, err := demoCA()
	if err != nil {
		return err
	}
	var cert ssl.Certificate
	where := "in memory (software token)"
	if *software {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return err
		}
		if cert, err = demoLeaf(caCert, caKey, key, key.Public()); err != nil {
			return err
		}
	} else {
		var cleanup func()
		cert, cleanup, err = demoTokenCertificate(caCert, caKey)
		if err != nil {
			return fmt.Errorf("demo: %w (run 'make deps' to install SoftHSM2, or use -software-key)", err)
		}
		defer cleanup()
		where = "on a throw-away SoftHSM token (CKA_SENSITIVE, not extractable)"
	}
	suites := demoSuites()
	serverConfig := &ssl.Config{Certificates: []ssl.Certificate{cert}, CipherSuites: suites, HandshakeTimeout: 30 * time.Second}
	ln, err := ssl.Listen("tcp", "127.0.0.1:0", serverConfig)
	if err != nil {
		return err
	}
	defer ln.Close()
	go demoServe(ln, log.New(os.Stdout, "server: ", 0))

	fmt.Printf("demo: server RSA-2048 key %s; listening on %s\n", where, ln.Addr())
	failed := 0
	payload := []byte("tokenssl demo: hello over SSL 3.0\n")
	for _, id := range suites {
		config := &ssl.Config{RootCAs: roots, ServerName: "localhost", CipherSuites: []uint16{id}}
		if err := demoExchange(ln.Addr().String(), config, payload, "client: "); err != nil {
			fmt.Printf("client: %s FAILED: %v\n", ssl.CipherSuiteName(id), err)
			failed++
		}
	}
	// Resumption: a full handshake, then one offering its session.
	cache := ssl.NewLRUClientSessionCache(4)
	config := &ssl.Config{RootCAs: roots, ServerName: "localhost", ClientSessionCache: cache}
	for i := 0; i < 2; i++ {
		if err := demoExchange(ln.Addr().String(), config, payload, "client (resumption): "); err != nil {
			fmt.Printf("client (resumption): FAILED: %v\n", err)
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("demo: %d handshakes failed", failed)
	}
	fmt.Printf("demo: %d suites negotiated with the key %s; session resumed\n", len(suites), where)
	return nil
}

// demoTokenCertificate provisions the token and returns the certificate
// with its token-held key.
func demoTokenCertificate(caCert *x509.Certificate, caKey *rsa.PrivateKey) (ssl.Certificate, func(), error) {
	env, err := softhsm.New("")
	if err != nil {
		return ssl.Certificate{}, nil, err
	}
	tok, err := env.InitToken("tokenssl-demo", softhsm.RandomPIN(16), softhsm.RandomPIN(8))
	if err != nil {
		env.Close()
		return ssl.Certificate{}, nil, err
	}
	ref, err := tok.GenerateRSA("server", nil, 2048)
	if err != nil {
		env.Close()
		return ssl.Certificate{}, nil, err
	}
	backend, err := tok.Open()
	if err != nil {
		env.Close()
		return ssl.Certificate{}, nil, err
	}
	cleanup := func() { backend.Close(); env.Close() }
	key, err := backend.FindKey(ref.Spec())
	if err != nil {
		cleanup()
		return ssl.Certificate{}, nil, err
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		cleanup()
		return ssl.Certificate{}, nil, fmt.Errorf("token key is not a signer")
	}
	cert, err := demoLeaf(caCert, caKey, key, signer.Public())
	if err != nil {
		cleanup()
		return ssl.Certificate{}, nil, err
	}
	if err := tok.ImportCertificate("server", ref.ID, cert.Certificate[0]); err != nil {
		cleanup()
		return ssl.Certificate{}, nil, err
	}
	return cert, cleanup, nil
}

// demoSuites is every implemented suite except the anonymous ones, which
// need no certificate and are shown separately once implemented.
func demoSuites() []uint16 {
	var out []uint16
	for _, s := range ssl.CipherSuites() {
		if s.Implemented && !s.Anonymous {
			out = append(out, s.ID)
		}
	}
	return out
}

func demoExchange(addr string, config *ssl.Config, payload []byte, prefix string) error {
	raw, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return err
	}
	c := ssl.Client(raw, config)
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write(payload); err != nil {
		return err
	}
	echo := make([]byte, len(payload))
	if _, err := io.ReadFull(c, echo); err != nil {
		return err
	}
	if string(echo) != string(payload) {
		return fmt.Errorf("echo mismatch")
	}
	fmt.Println(prefix + handshakeLine(c.ConnectionState()))
	return nil
}

func demoServe(ln net.Listener, logger *log.Logger) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			sc := c.(*ssl.Conn)
			if err := sc.Handshake(); err != nil {
				logger.Print(failureLine(err))
				return
			}
			logger.Print(handshakeLine(sc.ConnectionState()))
			io.Copy(sc, sc)
		}()
	}
}

// demoCA makes a throw-away CA.
func demoCA() (*x509.Certificate, *rsa.PrivateKey, *x509.CertPool, error) {
	caKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tokenssl demo CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, nil, nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, nil, nil, err
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	return ca, caKey, roots, nil
}

// demoLeaf issues a localhost server certificate for pub.
func demoLeaf(ca *x509.Certificate, caKey *rsa.PrivateKey, key crypto.PrivateKey, pub crypto.PublicKey) (ssl.Certificate, error) {
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, pub, caKey)
	if err != nil {
		return ssl.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return ssl.Certificate{}, err
	}
	return ssl.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}
