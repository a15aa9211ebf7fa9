package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/tokenssl/tokenssl/ssl"
)

func runServer(args []string) error {
	fs := commandFlagSet("server")
	listen := fs.String("listen", "127.0.0.1:4433", "address to listen on")
	var creds credentialFlags
	creds.register(fs, serverSide)
	clientCA := fs.String("client-ca", "", "PEM file of CAs that client certificates must chain to (sent in CertificateRequest)")
	verifyClient := fs.String("verify-client", "none", "client authentication: none, request or require")
	dhParams := fs.String("dh-params", "", "PEM DH PARAMETERS for DHE and DH_anon suites (default: RFC 3526 group 14, 2048 bits)")
	var cfgFlags configFlags
	cfgFlags.register(fs)
	cacheSize := fs.Int("cache-size", ssl.DefaultSessionCacheSize, "session cache entries (0 disables resumption)")
	timeout := fs.Duration("handshake-timeout", ssl.DefaultHandshakeTimeout, "handshake deadline per connection")
	sessCache := fs.String("session-cache", "", "share sessions with a fleet: redis://HOST:PORT/DB[?prefix=P] (default: in memory, -cache-size)")
	sessKey := fs.String("session-key", "", "AES key sealing shared sessions: a key file (hex) or a pkcs11: URI of a secret key")
	sessKeyOld := fs.String("session-key-old", "", "the previous -session-key during a rotation (opens, never seals)")
	fwd := fs.String("forward", "", "forward the plaintext to the TCP backend HOST:PORT (default: echo)")
	www := fs.Bool("www", false, "answer HTTP requests with a page describing the connection (as openssl s_server -www)")
	var svcFlags serviceFlags
	svcFlags.register(fs)
	fs.Parse(args)

	svc, err := svcFlags.newService("server")
	if err != nil {
		return err
	}
	logger, m := svc.log, svc.m
	if *fwd != "" && *www {
		return errors.New("server: -forward and -www exclude each other")
	}
	config := &ssl.Config{HandshakeTimeout: *timeout}
	closeKeyLog, err := cfgFlags.apply(config)
	if err != nil {
		return err
	}
	defer closeKeyLog()
	var tokens []servedToken
	// The CA stored on a Fortezza card vouches for Fortezza clients; it has
	// to be known before the verify policy is chosen. Without any key the
	// server can still run anonymous suites, when those are all it is asked
	// for.
	withKey := creds.keys.set() || (!creds.card.enabled() && !anonymousOnly(config.CipherSuites))
	cardRoots, closeCreds, err := creds.open(serverSide, withKey, func(lk *loadedKey) {
		if lk.backend != nil {
			tokens = append(tokens, servedToken{tokenID{lk.backend.Label(), lk.backend.Slot()}, lk.card != ""})
			m.watchPool(lk.backend)
			lk.cert.PrivateKey = m.instrument(lk.cert.PrivateKey, lk.backend.Label())
		}
		config.Certificates = append(config.Certificates, lk.cert)
		if lk.card != "" {
			setEmailMode(lk.cert.PrivateKey, creds.card.email)
			logger.Info("Fortezza card="+string(lk.card), "card", string(lk.card))
		}
	})
	if err != nil {
		return err
	}
	defer closeCreds()
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
	shared, closeCache, err := sessionCache(*sessCache, *sessKey, *sessKeyOld, creds.keys.tokenConfig, slog.NewLogLogger(logger.Handler(), slog.LevelWarn))
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
	if err := checkServable(config, cfgFlags.ciphers != ""); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	m.watchCache(config.SessionCache)
	ln, err := ssl.Listen("tcp", *listen, config)
	if err != nil {
		return err
	}
	h := &serverHandler{forward: *fwd, www: *www, tokens: tokens, m: m}
	svc.handle = h.handle
	return svc.serve(ln)
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

// servedToken is a token whose key the server serves; card marks a
// Fortezza card, which serves the Fortezza suites.
type servedToken struct {
	id   tokenID
	card bool
}

// serverHandler serves one accepted SSL connection: echo, -forward or
// -www.
type serverHandler struct {
	forward string
	www     bool
	tokens  []servedToken
	m       *metrics
}

func (h *serverHandler) handle(c net.Conn, lc *liveConn) {
	sc := c.(*ssl.Conn)
	rec := lc.rec
	rec.backend = h.forward
	st, err := rec.handshake(sc, h.m)
	rec.token = h.tokenFor(st)
	if err != nil {
		return
	}
	cc := &countConn{Conn: sc, rec: rec, touch: lc.touch}
	switch {
	case h.forward != "":
		err = forward(cc, h.forward, lc)
	case h.www:
		err = serveWWW(cc, st)
	default:
		_, err = io.Copy(cc, cc)
	}
	rec.fail(err)
}

// tokenFor names the token whose key served st: the card for a Fortezza
// suite, else the other token key (if any).
func (h *serverHandler) tokenFor(st ssl.ConnectionState) *tokenID {
	fortezza := strings.Contains(ssl.CipherSuiteName(st.CipherSuite), "FORTEZZA")
	for _, t := range h.tokens {
		if t.card == fortezza || len(h.tokens) == 1 {
			return &t.id
		}
	}
	return nil
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
