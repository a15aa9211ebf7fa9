package main

import (
	"crypto/x509"
	"errors"
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
	fs := commandFlagSet("server")
	listen := fs.String("listen", "127.0.0.1:4433", "address to listen on")
	var keys keyFlags
	keys.register(fs, serverSide)
	clientCA := fs.String("client-ca", "", "PEM file of CAs that client certificates must chain to (sent in CertificateRequest)")
	verifyClient := fs.String("verify-client", "none", "client authentication: none, request or require")
	dhParams := fs.String("dh-params", "", "PEM DH PARAMETERS for DHE and DH_anon suites (default: RFC 3526 group 14, 2048 bits)")
	fz := addFortezzaFlags(fs, serverSide)
	fz.finalTry = &keys.pinFinalTry
	ciphers := fs.String("ciphers", "", "comma-separated suite names (Appendix C, or OpenSSL: DES-CBC3-SHA) or hex codes; default: the secure defaults")
	cacheSize := fs.Int("cache-size", ssl.DefaultSessionCacheSize, "session cache entries (0 disables resumption)")
	timeout := fs.Duration("handshake-timeout", 30*time.Second, "handshake deadline per connection")
	sessCache := fs.String("session-cache", "", "share sessions with a fleet: redis://HOST:PORT/DB[?prefix=P] (default: in memory, -cache-size)")
	sessKey := fs.String("session-key", "", "AES key sealing shared sessions: a key file (hex) or a pkcs11: URI of a secret key")
	sessKeyOld := fs.String("session-key-old", "", "the previous -session-key during a rotation (opens, never seals)")
	fs.Parse(args)

	var closers []func()
	logger := log.New(os.Stderr, "", 0)
	config := &ssl.Config{HandshakeTimeout: *timeout}
	var err error
	if *ciphers != "" {
		if config.CipherSuites, err = parseCiphers(*ciphers); err != nil {
			return err
		}
	}
	closeStore, err := fz.openStore()
	if err != nil {
		return fmt.Errorf("server: -fortezza-store: %w", err)
	}
	defer closeStore()
	// The CA stored on a Fortezza card vouches for Fortezza clients; it has
	// to be known before the verify policy is chosen.
	var cardRoots *x509.CertPool
	add := func(what string, load func(bool) (*loadedKey, error)) error {
		lk, err := load(true)
		if err != nil {
			return fmt.Errorf("server: %s%w", what, err)
		}
		closers = append(closers, lk.close)
		config.Certificates = append(config.Certificates, lk.cert)
		if lk.card != "" {
			setEmailMode(lk.cert.PrivateKey, fz.email)
			logger.Printf("Fortezza card=%s", lk.card)
			if lk.roots != nil {
				cardRoots = lk.roots
			}
		}
		return nil
	}
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	// Without any key the server can still run anonymous suites, when
	// those are all it is asked for.
	if keys.set() || (!fz.enabled() && !anonymousOnly(config.CipherSuites)) {
		if err := add("", keys.load); err != nil {
			return err
		}
	}
	if fz.enabled() {
		if err := add("Fortezza card: ", fz.load); err != nil {
			return err
		}
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
	if config.ClientAuth, err = parseVerifyClient(*verifyClient, *clientCA != "" || cardRoots != nil); err != nil {
		return err
	}
	if *clientCA != "" {
		if config.ClientCAs, err = loadPool(*clientCA); err != nil {
			return err
		}
	} else if cardRoots != nil && config.ClientAuth != ssl.NoClientCert {
		config.ClientCAs = cardRoots
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
	if err := checkServable(config, *ciphers != ""); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	ln, err := ssl.Listen("tcp", *listen, config)
	if err != nil {
		return err
	}
	return serve(ln, logger)
}

// anonymousOnly reports whether suites is a non-empty list of anonymous
// suites only: a server for them needs no certificate.
func anonymousOnly(suites []uint16) bool {
	anon := map[uint16]bool{}
	for _, s := range ssl.CipherSuites() {
		anon[s.ID] = s.Anonymous
	}
	for _, id := range suites {
		if !anon[id] {
			return false
		}
	}
	return len(suites) > 0
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
