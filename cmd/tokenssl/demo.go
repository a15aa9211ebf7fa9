package main

import (
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

	"github.com/tokenssl/tokenssl/ssl"
)

// runDemo starts a server on loopback with a throw-away key and runs a
// client over every implemented suite, then a resumed handshake.
func runDemo(args []string) error {
	fs := flag.NewFlagSet("demo", flag.ExitOnError)
	fs.Parse(args)

	cert, roots, err := demoCertificate()
	if err != nil {
		return err
	}
	suites := demoSuites()
	serverConfig := &ssl.Config{Certificates: []ssl.Certificate{cert}, CipherSuites: suites, HandshakeTimeout: 30 * time.Second}
	ln, err := ssl.Listen("tcp", "127.0.0.1:0", serverConfig)
	if err != nil {
		return err
	}
	defer ln.Close()
	go demoServe(ln, log.New(os.Stdout, "server: ", 0))

	fmt.Printf("demo: server key %s in memory (software token), listening on %s\n", "RSA-2048", ln.Addr())
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
	fmt.Printf("demo: %d suites negotiated, session resumed: ok\n", len(suites))
	return nil
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

// demoCertificate makes a throw-away CA and a localhost server certificate.
func demoCertificate() (ssl.Certificate, *x509.CertPool, error) {
	caKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return ssl.Certificate{}, nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tokenssl demo CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return ssl.Certificate{}, nil, err
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return ssl.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return ssl.Certificate{}, nil, err
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	return ssl.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, roots, nil
}
