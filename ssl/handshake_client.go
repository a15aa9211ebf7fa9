package ssl

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"

	"github.com/tokenssl/tokenssl/token"
)

// clientHandshakeState drives one client handshake.
type clientHandshakeState struct {
	c            *Conn
	ctx          context.Context
	hello        *clientHelloMsg
	serverHello  *serverHelloMsg
	suite        *cipherSuite
	transcript   finishedHash
	masterSecret []byte
	session      *SessionState // offered for resumption, or nil
}

func (c *Conn) clientHandshake(ctx context.Context) error {
	if c.config == nil {
		return errors.New("ssl: nil Config")
	}
	if c.config.ServerName == "" && !c.config.InsecureSkipVerify {
		return errors.New("ssl: either ServerName or InsecureSkipVerify must be set in the Config")
	}
	hs := clientHandshakeState{c: c, ctx: ctx, transcript: newFinishedHash()}
	if err := hs.makeClientHello(); err != nil {
		return err
	}
	if err := hs.sendClientHello(); err != nil {
		return err
	}
	sh, err := readHandshakeMsg[serverHelloMsg](c, &hs.transcript, typeServerHello, "ServerHello")
	if err != nil {
		return err
	}
	hs.serverHello = sh
	resumed, err := hs.processServerHello()
	if err != nil {
		return err
	}
	// Known now, for VerifyConnection; and a full renegotiation after a
	// resumed handshake is not resumed.
	c.cipherSuite, c.didResume = hs.suite.id, resumed
	if resumed {
		if err := c.logMasterSecret(hs.hello.random, hs.masterSecret); err != nil {
			return err
		}
		if err := prepareKeys(c, hs.suite, hs.masterSecret, hs.hello.random, sh.random); err != nil {
			return c.sendAlert(alertHandshakeFailure, err)
		}
		if err := c.readFinished(&hs.transcript, hs.masterSecret); err != nil {
			return err
		}
		if err := c.verifyConnection(); err != nil {
			return err
		}
		if err := c.sendFinished(&hs.transcript, hs.masterSecret); err != nil {
			return err
		}
		c.session = hs.session
	} else {
		if err := hs.doFullHandshake(); err != nil {
			return err
		}
		if err := c.exchangeFinished(&hs.transcript, hs.masterSecret); err != nil {
			return err
		}
		hs.saveSession()
	}
	c.handshakeComplete.Store(true)
	return nil
}

func (hs *clientHandshakeState) makeClientHello() error {
	c := hs.c
	hello := &clientHelloMsg{
		vers:               VersionSSL30,
		random:             make([]byte, 32),
		compressionMethods: []uint8{0},
	}
	if err := fillRandom(c.config, hello.random); err != nil {
		return err
	}
	for _, id := range c.config.cipherSuites() {
		if s := suiteByID(id); s != nil && s.implemented() {
			hello.cipherSuites = append(hello.cipherSuites, id)
		}
	}
	if len(hello.cipherSuites) == 0 {
		return errors.New("ssl: no implemented cipher suite is enabled")
	}
	// RFC 5746: signal secure renegotiation in the first handshake with the
	// SCSV (extensions being optional in SSL 3.0) and bind every later one
	// to the previous client Finished.
	var exts []extension
	if c.handshakes == 0 {
		hello.cipherSuites = append(hello.cipherSuites, TLS_EMPTY_RENEGOTIATION_INFO_SCSV)
	} else if c.secureRenegotiation {
		exts = append(exts, renegotiationInfoExtension(c.clientFinished))
	}
	if host := hostnameForSNI(c.config.ServerName); host != "" && c.config.SendServerName {
		e, err := serverNameExtension(host)
		if err != nil {
			return err
		}
		exts = append(exts, e)
	}
	// The exchanges' own extensions (ECDHE's curves and point formats),
	// once each, only when a suite that needs them is offered.
	for _, id := range hello.cipherSuites {
		if s := suiteByID(id); s != nil && s.ka != nil {
			for _, e := range s.ka(s).clientHelloExtensions() {
				if !slices.ContainsFunc(exts, func(x extension) bool { return x.typ == e.typ }) {
					exts = append(exts, e)
				}
			}
		}
	}
	ext, err := marshalExtensions(exts)
	if err != nil {
		return err
	}
	hello.extensions = ext
	if parsed, ok := parseExtensions(ext); ok {
		hello.ecCurves, hello.ecPointFormats = parseECExtensions(parsed)
	}
	if c.config.SendFallbackSCSV {
		hello.cipherSuites = append(hello.cipherSuites, TLS_FALLBACK_SCSV)
	}
	c.serverName = c.config.ServerName
	if cache := c.config.ClientSessionCache; cache != nil {
		c.clientCacheKey = clientSessionCacheKey(c)
		if s, ok := cache.Get(c.clientCacheKey); ok && s != nil && containsSuite(hello.cipherSuites, s.CipherSuite) &&
			c.config.time().Sub(s.Created) <= c.config.sessionLifetime() && suiteByID(s.CipherSuite).resumable() {
			hs.session = s
			hello.sessionID = s.SessionID
		}
	}
	hs.hello = hello
	return nil
}

// sendClientHello writes the hello, in SSL 2.0-compatible form when so
// configured for a first handshake that offers no session (E.1).
func (hs *clientHandshakeState) sendClientHello() error {
	c := hs.c
	if c.config.SendSSL2Hello && c.handshakes == 0 && len(hs.hello.sessionID) == 0 {
		record, body, err := marshalSSL2ClientHello(hs.hello)
		if err != nil {
			return err
		}
		hs.transcript.Write(body)
		return c.writeRaw(record)
	}
	return c.writeHandshake(hs.hello, &hs.transcript)
}

// clientSessionCacheKey keys sessions by server address and name, so that a
// session verified for one name is never resumed for another.
func clientSessionCacheKey(c *Conn) string {
	addr := ""
	if ra := c.conn.RemoteAddr(); ra != nil {
		addr = ra.String()
	}
	return c.config.ServerName + "|" + addr
}

// processServerHello checks the ServerHello and reports whether the server
// resumed our session.
func (hs *clientHandshakeState) processServerHello() (bool, error) {
	c, sh := hs.c, hs.serverHello
	if sh.vers != VersionSSL30 {
		return false, c.sendAlert(alertHandshakeFailure, fmt.Errorf("server chose version %#04x; only SSL 3.0 is supported", sh.vers))
	}
	if sh.compressionMethod != 0 {
		return false, c.sendAlert(alertIllegalParameter, fmt.Errorf("server chose compression method %d, which was not offered", sh.compressionMethod))
	}
	hs.suite = suiteByID(sh.cipherSuite)
	if !containsSuite(hs.hello.cipherSuites, sh.cipherSuite) || hs.suite == nil || !hs.suite.implemented() {
		return false, c.sendAlert(alertIllegalParameter, fmt.Errorf("server chose cipher suite %s, which was not offered", CipherSuiteName(sh.cipherSuite)))
	}
	if err := hs.checkRenegotiationInfo(); err != nil {
		return false, err
	}
	if hs.session == nil || len(sh.sessionID) == 0 || !bytes.Equal(sh.sessionID, hs.session.SessionID) {
		if hs.session != nil && c.config.ClientSessionCache != nil {
			// The server declined; the old session is of no further use.
			c.config.ClientSessionCache.Put(c.clientCacheKey, nil)
		}
		hs.session = nil
		return false, nil
	}
	if sh.cipherSuite != hs.session.CipherSuite {
		return false, c.sendAlert(illegalResumptionAlert, errors.New("server resumed a session with a different cipher suite"))
	}
	hs.masterSecret = hs.session.MasterSecret
	c.peerCertificates = hs.session.PeerCertificates
	c.verifiedChains = hs.session.VerifiedChains
	return true, nil
}

const illegalResumptionAlert = alertIllegalParameter

// checkRenegotiationInfo applies RFC 5746 to the ServerHello: only
// renegotiation_info (and ec_point_formats, if offered) may come back, empty in the first handshake (the
// server supports the binding) and equal to both previous verify_data in a
// renegotiation.
func (hs *clientHandshakeState) checkRenegotiationInfo() error {
	c := hs.c
	exts, ok := parseExtensions(hs.serverHello.extensions)
	if !ok {
		return c.sendAlert(alertIllegalParameter, errors.New("malformed ServerHello extensions"))
	}
	for typ := range exts {
		// ec_point_formats answers ours (RFC 4492 §5.2), if we sent it.
		if typ == extensionECPointFormats && hs.hello.ecPointFormats != nil {
			if _, points := parseECExtensions(exts); len(points) == 0 {
				return c.sendAlert(alertIllegalParameter, errors.New("malformed ec_point_formats extension in ServerHello"))
			}
			continue
		}
		if typ != extensionRenegotiationInfo {
			return c.sendAlert(alertHandshakeFailure, fmt.Errorf("server sent extension %#04x that was not offered", typ))
		}
	}
	ri, present, ok := renegotiationInfo(exts)
	if !ok {
		return c.sendAlert(alertHandshakeFailure, errors.New("malformed renegotiation_info extension"))
	}
	want := append(append([]byte(nil), c.clientFinished...), c.serverFinished...)
	return c.verifyRenegotiationInfo(ri, present, present, want)
}

func (hs *clientHandshakeState) doFullHandshake() error {
	c := hs.c
	ka := hs.suite.ka(hs.suite) // processServerHello took only implemented suites
	defer ka.release()
	// What may follow the server's Certificate (or, anonymous, its
	// ServerHello); each message narrows the choice.
	afterCert := []uint8{typeServerKeyExchange, typeCertificateRequest, typeServerHelloDone}
	first := afterCert
	if !hs.suite.anonymous() {
		first = []uint8{typeCertificate}
	}
	msg, err := c.readHandshake(&hs.transcript, first...)
	if err != nil {
		return err
	}
	var leaf *x509.Certificate
	if !hs.suite.anonymous() {
		certMsg, ok := msg.(*certificateMsg)
		if !ok {
			return c.unexpectedMessage("Certificate", msg)
		}
		if err := hs.verifyServerCertificate(certMsg.certificates); err != nil {
			return err
		}
		leaf = c.peerCertificates[0]
		if msg, err = c.readHandshake(&hs.transcript, afterCert...); err != nil {
			return err
		}
	}
	if skx, ok := msg.(*serverKeyExchangeMsg); ok {
		if err := ka.processServerKeyExchange(c.config, hs.hello, hs.serverHello, leaf, skx); err != nil {
			return c.sendAlertFor(err, alertHandshakeFailure)
		}
		if msg, err = c.readHandshake(&hs.transcript, afterCert[1:]...); err != nil {
			return err
		}
	}
	var certReq *certificateRequestMsg
	if cr, ok := msg.(*certificateRequestMsg); ok {
		if hs.suite.anonymous() {
			// §7.6.4: a fatal handshake_failure for an anonymous server to
			// request client identification.
			return c.sendAlert(alertHandshakeFailure, errors.New("anonymous server requested a client certificate"))
		}
		certReq = cr
		if msg, err = c.readHandshake(&hs.transcript, typeServerHelloDone); err != nil {
			return err
		}
	}
	if _, ok := msg.(*serverHelloDoneMsg); !ok {
		return c.unexpectedMessage("ServerHelloDone", msg)
	}

	c.out.Lock()
	c.buffering = true
	c.out.Unlock()
	var clientCert *Certificate
	if certReq != nil {
		if clientCert, err = hs.clientCertificate(certReq, ka.clientAuthDHGroup(leaf)); err != nil {
			return err
		}
		if clientCert == nil {
			// §7.6.6: a client without a suitable certificate sends the
			// no_certificate warning instead of a Certificate message.
			if err := c.sendAlert(alertNoCertificate, nil); err != nil {
				return err
			}
			c.out.Lock()
			c.buffering = true
			c.out.Unlock()
		} else if err := c.writeHandshake(&certificateMsg{certificates: clientCert.Certificate}, &hs.transcript); err != nil {
			return err
		}
	}
	preMaster, ckx, err := ka.generateClientKeyExchange(c.config, hs.hello, leaf, clientCert)
	if err != nil {
		return c.sendAlertFor(err, alertHandshakeFailure)
	}
	if err := c.writeHandshake(ckx, &hs.transcript); err != nil {
		return err
	}
	hs.masterSecret = masterFromPreMaster(preMaster, hs.hello.random, hs.serverHello.random)
	if err := c.logMasterSecret(hs.hello.random, hs.masterSecret); err != nil {
		return err
	}
	// A fixed-DH client certificate authenticates through the implicit
	// public value (§7.6.7.3) and sends no CertificateVerify (§7.6.8).
	fixedDH := ka.traits().fixedDHClientAuth && fixedDHClientKey(clientCert) != nil
	if clientCert != nil && !fixedDH {
		signer, ok := handshakeSigner(clientCert.PrivateKey)
		if !ok {
			return c.sendAlert(alertHandshakeFailure, errors.New("client certificate key cannot sign"))
		}
		sum := hs.transcript.clone().certificateVerifySum(hs.masterSecret)
		sig, err := signHandshake(signer, c.config.rand(), sum)
		if err != nil {
			return c.sendAlert(alertHandshakeFailure, fmt.Errorf("signing CertificateVerify: %w", err))
		}
		if err := c.writeHandshake(&certificateVerifyMsg{signature: sig}, &hs.transcript); err != nil {
			return err
		}
	}
	if err := prepareKeys(c, hs.suite, hs.masterSecret, hs.hello.random, hs.serverHello.random, ka); err != nil {
		return c.sendAlert(alertHandshakeFailure, err)
	}
	return nil
}

// chooseClientCertificate returns the first configured chain whose key type
// the server asked for and, when the server named CAs, whose chain reaches
// one of them. dhGroup is the group a fixed-DH certificate must be in (nil:
// the exchange takes none).
func chooseClientCertificate(config *Config, req *certificateRequestMsg, dhGroup *token.DHParams) *Certificate {
	for i := range config.Certificates {
		cert := &config.Certificates[i]
		leaf, err := cert.leaf()
		if err != nil {
			continue
		}
		want := clientCertificateType(cert, leaf, dhGroup)
		if want == 0 || bytes.IndexByte(req.certificateTypes, want) < 0 {
			continue
		}
		if len(req.certificateAuthorities) == 0 {
			return cert
		}
		for j, der := range cert.Certificate {
			var issuer []byte
			if j == 0 {
				issuer = leaf.RawIssuer
			} else if x, err := x509.ParseCertificate(der); err == nil {
				issuer = x.RawIssuer
			}
			for _, ca := range req.certificateAuthorities {
				if bytes.Equal(ca, issuer) {
					return cert
				}
			}
		}
	}
	return nil
}

// clientCertificate is the chain to answer req with (nil: none), from
// Config.GetClientCertificate when set, else from Config.Certificates.
func (hs *clientHandshakeState) clientCertificate(req *certificateRequestMsg, dhGroup *token.DHParams) (*Certificate, error) {
	c := hs.c
	f := c.config.GetClientCertificate
	if f == nil {
		return chooseClientCertificate(c.config, req, dhGroup), nil
	}
	cert, err := f(&CertificateRequestInfo{
		AcceptableCAs: req.certificateAuthorities, CertificateTypes: req.certificateTypes,
		Version: VersionSSL30, ctx: hs.ctx, dhGroup: dhGroup,
	})
	if err != nil {
		return nil, c.sendAlert(alertHandshakeFailure, fmt.Errorf("GetClientCertificate: %w", err))
	}
	if cert == nil || len(cert.Certificate) == 0 {
		return nil, nil
	}
	return cert, nil
}

func (hs *clientHandshakeState) verifyServerCertificate(raw [][]byte) error {
	c := hs.c
	if len(raw) == 0 {
		return c.sendAlert(alertHandshakeFailure, errors.New("server sent an empty certificate chain"))
	}
	certs, err := parseChain(raw)
	if err != nil {
		return c.sendAlert(alertBadCertificate, err)
	}
	// A renegotiation must not swap the server's identity under the
	// application (the triple-handshake attack relies on that).
	if c.handshakes > 0 && len(c.peerCertificates) > 0 && !bytes.Equal(c.peerCertificates[0].Raw, certs[0].Raw) {
		return c.sendAlert(alertBadCertificate, errors.New("server certificate changed during renegotiation"))
	}
	if !c.config.InsecureSkipVerify {
		chains, err := verifyChain(certs, c.config.RootCAs, c.config.ServerName, c.config.time(), x509.ExtKeyUsageServerAuth)
		if err != nil {
			return c.sendAlert(certificateAlert(err), fmt.Errorf("server certificate: %w", err))
		}
		c.verifiedChains = chains
	}
	c.peerCertificates = certs
	if err := c.verifyPeerCertificate(raw, c.verifiedChains); err != nil {
		return err
	}
	return c.verifyConnection()
}

// saveSession stores the completed session for resumption.
func (hs *clientHandshakeState) saveSession() {
	c := hs.c
	s := c.newSession(hs.serverHello.sessionID, hs.suite, hs.masterSecret)
	if cache := c.config.ClientSessionCache; cache != nil && len(s.SessionID) > 0 && hs.suite.resumable() {
		cache.Put(c.clientCacheKey, s)
	}
}
