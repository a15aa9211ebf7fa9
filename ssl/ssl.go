// Package ssl implements SSL 3.0 (the November 1996 Netscape protocol,
// republished as RFC 6101) with an API shaped like crypto/tls. Private keys
// are reached only through crypto.Signer, crypto.Decrypter and the token
// package's interfaces, so they may live on a PKCS#11 token.
package ssl

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/tokenssl/tokenssl/token"
	"github.com/tokenssl/tokenssl/x509legacy"
)

// Server returns a server-side Conn over conn.
func Server(conn net.Conn, config *Config) *Conn {
	c := &Conn{conn: conn, config: config}
	c.handshakeFn = c.serverHandshake
	return c
}

// Client returns a client-side Conn over conn.
func Client(conn net.Conn, config *Config) *Conn {
	c := &Conn{conn: conn, config: config, isClient: true}
	c.handshakeFn = c.clientHandshake
	return c
}

type listener struct {
	net.Listener
	config *Config
}

// Accept returns the next connection as a server Conn (the handshake runs
// on first Read/Write or Handshake).
func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return Server(c, l.config), nil
}

// NewListener wraps inner so that Accept returns server Conns.
func NewListener(inner net.Listener, config *Config) net.Listener {
	return &listener{inner, config}
}

// Listen listens on the network address and wraps the listener.
func Listen(network, laddr string, config *Config) (net.Listener, error) {
	if config == nil || (len(config.Certificates) == 0 && config.GetCertificate == nil &&
		config.GetConfigForClient == nil && !anonymousOnly(config)) {
		return nil, errors.New("ssl: neither Certificates, GetCertificate, GetConfigForClient nor anonymous suites set in Config")
	}
	l, err := net.Listen(network, laddr)
	if err != nil {
		return nil, err
	}
	return NewListener(l, config), nil
}

func anonymousOnly(config *Config) bool {
	for _, id := range config.CipherSuites {
		if s := suiteByID(id); s != nil && s.anonymous() {
			return true
		}
	}
	return false
}

// Dialer dials SSL 3.0 connections.
type Dialer struct {
	NetDialer *net.Dialer
	Config    *Config
}

// DialContext connects and completes the handshake.
func (d *Dialer) DialContext(ctx context.Context, network, addr string) (*Conn, error) {
	nd := d.NetDialer
	if nd == nil {
		nd = &net.Dialer{Timeout: 30 * time.Second}
	}
	raw, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	config := d.Config
	if config == nil {
		config = &Config{}
	}
	if config.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		config = config.Clone()
		config.ServerName = host
	}
	c := Client(raw, config)
	if err := c.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, err
	}
	return c, nil
}

// Dial connects to addr and completes the handshake.
func Dial(network, addr string, config *Config) (*Conn, error) {
	return (&Dialer{Config: config}).DialContext(context.Background(), network, addr)
}

// DialWithDialer connects with dialer and completes the handshake, as
// crypto/tls's does: dialer.Timeout and dialer.Deadline bound the
// connection and the handshake together.
func DialWithDialer(dialer *net.Dialer, network, addr string, config *Config) (*Conn, error) {
	ctx := context.Background()
	if dialer.Timeout != 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, dialer.Timeout)
		defer cancel()
	}
	if !dialer.Deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dialer.Deadline)
		defer cancel()
	}
	return (&Dialer{NetDialer: dialer, Config: config}).DialContext(ctx, network, addr)
}

// Dial connects to addr and completes the handshake.
func (d *Dialer) Dial(network, addr string) (*Conn, error) {
	return d.DialContext(context.Background(), network, addr)
}

// LoadX509KeyPair reads a PEM certificate chain and a PEM private key file
// (in memory: the software token) and checks that the key is the
// certificate's (CheckKeyPair), as crypto/tls does.
func LoadX509KeyPair(certFile, keyFile string) (Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return Certificate{}, err
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return Certificate{}, err
	}
	cert, err := X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return Certificate{}, fmt.Errorf("%w (certificate %s, key %s)", err, certFile, keyFile)
	}
	return cert, nil
}

// X509KeyPair parses a PEM certificate chain and a PEM private key (every
// form token.ParsePrivateKeyPEM reads) and checks that the key is the
// certificate's (CheckKeyPair), as crypto/tls does.
func X509KeyPair(certPEMBlock, keyPEMBlock []byte) (Certificate, error) {
	chain := parseCertificateChainPEM(certPEMBlock)
	if len(chain) == 0 {
		return Certificate{}, errors.New("ssl: no CERTIFICATE block in the certificate input")
	}
	key, err := token.ParsePrivateKeyPEM(keyPEMBlock)
	if err != nil {
		return Certificate{}, fmt.Errorf("ssl: the private key: %w", err)
	}
	cert := Certificate{Certificate: chain, PrivateKey: key}
	if leaf, err := x509.ParseCertificate(chain[0]); err == nil {
		cert.Leaf = leaf
	} else if _, kerr := x509legacy.ParseKEACertificate(chain[0]); kerr != nil {
		return Certificate{}, fmt.Errorf("ssl: the certificate: %w", err)
	}
	if err := CheckKeyPair(&cert); err != nil {
		return Certificate{}, err
	}
	return cert, nil
}

// LoadCertificateChain reads every CERTIFICATE block of a PEM file.
func LoadCertificateChain(path string) ([][]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	chain := parseCertificateChainPEM(data)
	if len(chain) == 0 {
		return nil, fmt.Errorf("ssl: no CERTIFICATE block in %s", path)
	}
	return chain, nil
}

func parseCertificateChainPEM(data []byte) [][]byte {
	var chain [][]byte
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			chain = append(chain, b.Bytes)
		}
	}
	return chain
}
