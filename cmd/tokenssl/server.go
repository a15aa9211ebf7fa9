package main

import (
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/tokenssl/tokenssl/ssl"
)

func runServer(args []string) error {
	fs := flag.NewFlagSet("server", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:4433", "address to listen on")
	var keys keyFlags
	keys.register(fs)
	clientCA := fs.String("client-ca", "", "PEM file of CAs that client certificates must chain to (sent in CertificateRequest)")
	verifyClient := fs.String("verify-client", "none", "client authentication: none, request or require")
	dhParams := fs.String("dh-params", "", "PEM DH PARAMETERS for DHE and DH_anon suites (default: RFC 3526 group 14, 2048 bits)")
	fz := addFortezzaFlags(fs)
	ciphers := fs.String("ciphers", "", "comma-separated suite names (Appendix C) or hex codes; default: the secure defaults")
	cacheSize := fs.Int("cache-size", ssl.DefaultSessionCacheSize, "session cache entries (0 disables resumption)")
	timeout := fs.Duration("handshake-timeout", 30*time.Second, "handshake deadline per connection")
	sessCache := fs.String("session-cache", "", "share sessions with a fleet: redis://HOST:PORT/DB[?prefix=P] (default: in memory, -cache-size)")
	sessKey := fs.String("session-key", "", "AES key sealing shared sessions: a key file (hex) or a pkcs11: URI of a secret key")
	sessKeyOld := fs.String("session-key-old", "", "the previous -session-key during a rotation (opens, never seals)")
	fs.Parse(args)

	config := &ssl.Config{HandshakeTimeout: *timeout}
	if keys.set() || !fz.enabled() {
		cert, closeKey, err := keys.load()
		if err != nil {
			return fmt.Errorf("server: %w", err)
		}
		defer closeKey()
		config.Certificates = append(config.Certificates, cert)
	}
	var fzRoots *x509.CertPool
	if fz.enabled() {
		cert, roots, closeCard, err := fz.certificate(true)
		if err != nil {
			return fmt.Errorf("server: Fortezza card: %w", err)
		}
		defer closeCard()
		config.Certificates = append(config.Certificates, cert)
		fzRoots = roots
	}
	if *dhParams != "" {
		data, err := os.ReadFile(*dhParams)
		if err != nil {
			return err
		}
		if config.DHParameters, err = ssl.ParseDHParametersPEM(data); err != nil {
			return fmt.Errorf("server: -dh-params: %w", err)
		}
	}
	var err error
	if config.ClientAuth, err = parseVerifyClient(*verifyClient, *clientCA != ""); err != nil {
		return err
	}
	if *clientCA != "" {
		if config.ClientCAs, err = loadPool(*clientCA); err != nil {
			return err
		}
	} else if fzRoots != nil && config.ClientAuth != ssl.NoClientCert {
		config.ClientCAs = fzRoots // the card's CA vouches for Fortezza clients
	}
	if *ciphers != "" {
		if config.CipherSuites, err = ssl.ParseCipherSuites(*ciphers); err != nil {
			return err
		}
	}
	shared, closeCache, err := sessionCache(*sessCache, *sessKey, *sessKeyOld, keys.tokenConfig, log.New(os.Stderr, "", 0))
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	defer closeCache()
	if shared != nil {
		config.SessionCache = shared
	} else if *cacheSize <= 0 {
		config.DisableSessionCache = true
	} else {
		config.SessionCache = ssl.NewLRUSessionCache(*cacheSize, 0)
	}
	ln, err := ssl.Listen("tcp", *listen, config)
	if err != nil {
		return err
	}
	return serve(ln, log.New(os.Stderr, "", 0))
}

// serve accepts until SIGINT/SIGTERM; every connection echoes. A failing
// connection never stops the server.
func serve(ln net.Listener, logger *log.Logger) error {
	logger.Printf("listening on %s", ln.Addr())
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	var wg sync.WaitGroup
	var conns sync.Map
	go func() {
		<-stop
		ln.Close()
		conns.Range(func(k, _ any) bool { k.(net.Conn).Close(); return true })
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				wg.Wait()
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		conns.Store(c, nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conns.Delete(c)
			defer c.Close()
			sc := c.(*ssl.Conn)
			if err := sc.Handshake(); err != nil {
				logger.Print(failureLine(err))
				return
			}
			logger.Print(handshakeLine(sc.ConnectionState()))
			if _, err := io.Copy(sc, sc); err != nil && !errors.Is(err, net.ErrClosed) {
				logger.Printf("connection from %s: %v", c.RemoteAddr(), err)
			}
		}()
	}
}

// parseVerifyClient maps -verify-client to a policy; with -client-ca a
// given certificate is verified against it.
func parseVerifyClient(v string, haveCAs bool) (ssl.ClientAuthType, error) {
	switch v {
	case "none":
		return ssl.NoClientCert, nil
	case "request":
		if haveCAs {
			return ssl.VerifyClientCertIfGiven, nil
		}
		return ssl.RequestClientCert, nil
	case "require":
		if !haveCAs {
			return 0, errors.New("server: -verify-client require needs -client-ca")
		}
		return ssl.RequireAndVerifyClientCert, nil
	}
	return 0, fmt.Errorf("server: -verify-client must be none, request or require, not %q", v)
}
