package ssl

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"slices"
)

// serverHandshakeState drives one server handshake (§7.5): full or
// abbreviated (resumed).
type serverHandshakeState struct {
	c            *Conn
	ctx          context.Context
	clientHello  *clientHelloMsg
	hello        *serverHelloMsg
	suite        *cipherSuite
	cert         *Certificate
	ka           keyAgreement
	transcript   finishedHash
	masterSecret []byte
	session      *SessionState // being resumed, or nil
	requestCert  bool
	// certs are the chains the suite may be served with: Config.Certificates
	// or the one GetCertificate returned.
	certs []Certificate
}

func (c *Conn) serverHandshake(ctx context.Context) error {
	hs := serverHandshakeState{c: c, ctx: ctx, transcript: newFinishedHash()}
	ch, err := readHandshakeMsg[clientHelloMsg](c, &hs.transcript, typeClientHello, "ClientHello")
	if err != nil {
		return err
	}
	hs.clientHello = ch
	if err := hs.processClientHello(); err != nil {
		return err
	}
	resumed := hs.checkForResumption()
	// Known now, for VerifyConnection; and a full renegotiation after a
	// resumed handshake is not resumed.
	c.cipherSuite, c.didResume = hs.suite.id, resumed
	if resumed {
		err = hs.doResumeHandshake()
	} else {
		err = hs.doFullHandshake()
	}
	if err != nil {
		return err
	}
	// The server speaks first in a resumed handshake, the client in a full
	// one. A full handshake's session is cached between the client's
	// Finished and ours: a client holds the session once our Finished
	// arrives, and may reconnect at once, before this goroutine would run
	// again after the write.
	if resumed {
		err = c.exchangeFinished(&hs.transcript, hs.masterSecret)
	} else if err = c.readFinished(&hs.transcript, hs.masterSecret); err == nil {
		hs.saveSession()
		err = c.sendFinished(&hs.transcript, hs.masterSecret)
	}
	if err != nil {
		return err
	}
	c.handshakeComplete.Store(true)
	return nil
}

func (hs *serverHandshakeState) processClientHello() error {
	c, ch := hs.c, hs.clientHello
	if ch.vers < VersionSSL30 {
		// A client offering less than 3.0 cannot speak to us; any higher offer gets 3.0.
		return c.sendAlert(alertHandshakeFailure, fmt.Errorf("client offered version %#04x; this server speaks SSL 3.0 only", ch.vers))
	}
	c.offeredVersion = ch.vers
	if err := hs.checkRenegotiationInfo(); err != nil {
		return err
	}
	// RFC 7507: TLS_FALLBACK_SCSV asks the server to refuse if it supports
	// a higher version than the client offers. SSL 3.0 is the highest this
	// server speaks, so a fallback to it is never a downgrade here: the
	// signal is accepted and ignored.
	if bytes.IndexByte(ch.compressionMethods, 0) < 0 {
		return c.sendAlert(alertHandshakeFailure, errors.New("client offered no null compression method"))
	}
	if err := hs.applyClientHelloHooks(); err != nil {
		return err
	}
	suite, cert, err := hs.chooseSuite()
	if err != nil {
		return c.sendAlert(alertHandshakeFailure, err)
	}
	hs.suite, hs.cert = suite, cert
	hs.hello = &serverHelloMsg{vers: VersionSSL30, cipherSuite: suite.id, compressionMethod: 0}
	hs.hello.random = make([]byte, 32)
	if err := fillRandom(c.config, hs.hello.random); err != nil {
		return c.sendAlert(alertHandshakeFailure, err)
	}
	return nil
}

// checkRenegotiationInfo applies RFC 5746 on the server: learn in the first
// handshake whether the client binds renegotiations (the SCSV or an empty
// renegotiation_info), and in a renegotiation insist on the binding to the
// previous client Finished.
func (hs *serverHandshakeState) checkRenegotiationInfo() error {
	c, ch := hs.c, hs.clientHello
	scsv := containsSuite(ch.cipherSuites, TLS_EMPTY_RENEGOTIATION_INFO_SCSV)
	// Trailing bytes that are not an extensions block are ignored, as SSL
	// 3.0's forward-compatibility rule says.
	exts, _ := parseExtensions(ch.extensions)
	ri, present, ok := renegotiationInfo(exts)
	if !ok {
		return c.sendAlert(alertHandshakeFailure, errors.New("malformed renegotiation_info extension"))
	}
	if c.handshakes > 0 && c.secureRenegotiation && scsv {
		return c.sendAlert(alertHandshakeFailure, errors.New("SCSV in a secure renegotiation"))
	}
	return c.verifyRenegotiationInfo(ri, present, scsv || present, c.clientFinished)
}

// applyClientHelloHooks reads the client's server_name and runs
// GetConfigForClient and GetCertificate, which see the ClientHello before
// the server chooses a suite.
func (hs *serverHandshakeState) applyClientHelloHooks() error {
	c, ch := hs.c, hs.clientHello
	exts, _ := parseExtensions(ch.extensions) // not a block: no extensions (SSL 3.0 forward compatibility)
	name, ok := parseServerName(exts)
	if !ok {
		return c.sendAlert(alertIllegalParameter, errors.New("malformed server_name extension"))
	}
	c.serverName = name
	info := &ClientHelloInfo{CipherSuites: ch.cipherSuites, ServerName: name, Conn: c.conn, ctx: hs.ctx, config: c.config}
	for v := ch.vers; v >= VersionSSL30 && len(info.SupportedVersions) < 8; v-- {
		info.SupportedVersions = append(info.SupportedVersions, v)
	}
	for typ := range exts {
		info.Extensions = append(info.Extensions, typ)
	}
	slices.Sort(info.Extensions)
	if f := c.config.GetConfigForClient; f != nil {
		config, err := f(info)
		if err != nil {
			return c.sendAlert(alertHandshakeFailure, fmt.Errorf("GetConfigForClient: %w", err))
		}
		if config != nil {
			c.config = config
			info.config = config
		}
	}
	hs.certs = c.config.Certificates
	if f := c.config.GetCertificate; f != nil && (len(hs.certs) == 0 || name != "") {
		cert, err := f(info)
		if err != nil {
			return c.sendAlert(alertHandshakeFailure, fmt.Errorf("GetCertificate: %w", err))
		}
		if cert != nil {
			hs.certs = []Certificate{*cert}
		}
	}
	return nil
}

// fillRandom writes a Random structure (§7.6.1.2): gmt_unix_time then 28
// random bytes.
func fillRandom(config *Config, b []byte) error {
	t := uint32(config.time().Unix())
	b[0], b[1], b[2], b[3] = byte(t>>24), byte(t>>16), byte(t>>8), byte(t)
	if _, err := io.ReadFull(config.rand(), b[4:]); err != nil {
		return errors.New("random source failed")
	}
	return nil
}

// chooseSuite picks the first mutually supported suite, by server
// preference unless PreferClientCipherSuites, that our certificates can
// serve.
func (hs *serverHandshakeState) chooseSuite() (*cipherSuite, *Certificate, error) {
	c := hs.c
	ours := c.config.cipherSuites()
	theirs := hs.clientHello.cipherSuites
	pref, other := ours, theirs
	if c.config.PreferClientCipherSuites {
		pref, other = theirs, ours
	}
	for _, id := range pref {
		if !containsSuite(other, id) {
			continue
		}
		s := suiteByID(id)
		if s == nil || !s.implemented() {
			continue
		}
		ka := s.ka(s)
		if !ka.clientHelloFits(hs.clientHello) {
			continue
		}
		if s.anonymous() {
			return s, nil, nil
		}
		for i := range hs.certs {
			cert := &hs.certs[i]
			if ka.certificateFits(cert) {
				return s, cert, nil
			}
		}
	}
	return nil, nil, errors.New("no cipher suite in common with the client (or no certificate for it)")
}

// writeServerHello starts the server's flight (buffered until it ends)
// with the ServerHello, whose extensions are renegotiation_info when the
// client binds renegotiations (RFC 5746), and in a full handshake the
// exchange's own (ka; nil when resuming, where RFC 4492 §4 has the ECC
// extensions ignored).
func (hs *serverHandshakeState) writeServerHello(ka keyAgreement) error {
	c := hs.c
	var exts []extension
	if c.secureRenegotiation {
		exts = append(exts, renegotiationInfoExtension(append(append([]byte(nil), c.clientFinished...), c.serverFinished...)))
	}
	if ka != nil {
		exts = append(exts, ka.serverHelloExtensions(hs.clientHello)...)
	}
	ext, err := marshalExtensions(exts)
	if err != nil {
		return c.sendAlert(alertHandshakeFailure, err)
	}
	hs.hello.extensions = ext
	c.out.Lock()
	c.buffering = true
	c.out.Unlock()
	return c.writeHandshake(hs.hello, &hs.transcript)
}

func containsSuite(list []uint16, id uint16) bool {
	for _, x := range list {
		if x == id {
			return true
		}
	}
	return false
}

// checkForResumption looks the offered session ID up (§7.6.1.3): resumable
// only if cached, unexpired, and its suite is still acceptable and offered.
func (hs *serverHandshakeState) checkForResumption() bool {
	c := hs.c
	cache := c.config.serverSessionCache()
	if cache == nil || len(hs.clientHello.sessionID) == 0 {
		return false
	}
	s, ok := cache.Get(string(hs.clientHello.sessionID))
	if !ok || s == nil {
		return false
	}
	if c.config.time().Sub(s.Created) > c.config.sessionLifetime() {
		cache.Delete(string(s.SessionID))
		return false
	}
	suite := suiteByID(s.CipherSuite)
	if suite == nil || !suite.implemented() || !containsSuite(hs.clientHello.cipherSuites, s.CipherSuite) ||
		!containsSuite(c.config.cipherSuites(), s.CipherSuite) {
		return false
	}
	needCert := c.config.ClientAuth == RequireAnyClientCert || c.config.ClientAuth == RequireAndVerifyClientCert
	if needCert && len(s.PeerCertificates) == 0 {
		return false
	}
	if c.handshakes > 0 && len(c.peerCertificates) > 0 &&
		(len(s.PeerCertificates) == 0 || !bytes.Equal(s.PeerCertificates[0].Raw, c.peerCertificates[0].Raw)) {
		// Resuming another identity's session in a renegotiation would
		// swap the client's identity: run a full handshake instead.
		return false
	}
	hs.session = s
	hs.suite = suite
	hs.hello.cipherSuite = suite.id
	return true
}

func (hs *serverHandshakeState) doResumeHandshake() error {
	c := hs.c
	hs.hello.sessionID = hs.session.SessionID
	hs.masterSecret = hs.session.MasterSecret
	c.session = hs.session
	c.peerCertificates = hs.session.PeerCertificates
	c.verifiedChains = hs.session.VerifiedChains
	if err := hs.writeServerHello(nil); err != nil {
		return err
	}
	if err := c.logMasterSecret(hs.clientHello.random, hs.masterSecret); err != nil {
		return err
	}
	if err := c.verifyConnection(); err != nil {
		return err
	}
	return prepareKeys(c, hs.suite, hs.masterSecret, hs.clientHello.random, hs.hello.random)
}

func (hs *serverHandshakeState) doFullHandshake() error {
	c := hs.c
	if cache := c.config.serverSessionCache(); cache != nil {
		hs.hello.sessionID = make([]byte, 32)
		if _, err := io.ReadFull(c.config.rand(), hs.hello.sessionID); err != nil {
			return c.sendAlert(alertHandshakeFailure, err)
		}
	}
	hs.ka = hs.suite.ka(hs.suite) // chooseSuite took only implemented suites
	defer hs.ka.release()
	if err := hs.writeServerHello(hs.ka); err != nil {
		return err
	}
	if hs.cert != nil {
		if err := c.writeHandshake(&certificateMsg{certificates: hs.cert.Certificate}, &hs.transcript); err != nil {
			return err
		}
	}
	skx, err := hs.ka.generateServerKeyExchange(c.config, hs.cert, hs.clientHello, hs.hello)
	if err != nil {
		return c.sendAlertFor(err, alertHandshakeFailure)
	}
	if skx != nil {
		if err := c.writeHandshake(skx, &hs.transcript); err != nil {
			return err
		}
	}
	// §7.6.4: an anonymous server must not request a client certificate.
	hs.requestCert = c.config.ClientAuth != NoClientCert && !hs.suite.anonymous()
	if hs.requestCert {
		req := &certificateRequestMsg{certificateTypes: hs.ka.traits().clientCertTypes}
		if c.config.ClientCAs != nil {
			//lint:ignore SA1019 Subjects of a pool built from certificates are the DNs we need.
			req.certificateAuthorities = c.config.ClientCAs.Subjects() //nolint:staticcheck
		}
		if err := c.writeHandshake(req, &hs.transcript); err != nil {
			return err
		}
	}
	if err := c.writeHandshake(&serverHelloDoneMsg{}, &hs.transcript); err != nil {
		return err
	}
	if err := c.flushLocked(); err != nil {
		return err
	}

	var pub crypto.PublicKey
	var clientLeaf *x509.Certificate
	want := []uint8{typeClientKeyExchange}
	if hs.requestCert {
		want = []uint8{typeCertificate, typeClientKeyExchange}
	}
	msg, err := c.readHandshake(&hs.transcript, want...)
	if err != nil {
		return err
	}
	if hs.requestCert {
		if certMsg, ok := msg.(*certificateMsg); ok {
			if err := hs.processClientCertificate(certMsg.certificates); err != nil {
				return err
			}
			if len(c.peerCertificates) > 0 {
				clientLeaf = c.peerCertificates[0]
				pub = clientLeaf.PublicKey
			}
			if msg, err = c.readHandshake(&hs.transcript, typeClientKeyExchange); err != nil {
				return err
			}
		} else {
			// No Certificate message: the client must have sent a
			// no_certificate warning (§7.6.6); readRecord noted it.
			if err := hs.processClientCertificate(nil); err != nil {
				return err
			}
		}
	}
	ckx, ok := msg.(*clientKeyExchangeMsg)
	if !ok {
		return c.unexpectedMessage("ClientKeyExchange", msg)
	}
	preMaster, err := hs.ka.processClientKeyExchange(c.config, hs.cert, hs.clientHello, clientLeaf, ckx)
	if err != nil {
		return c.sendAlertFor(err, alertIllegalParameter)
	}
	hs.masterSecret = masterFromPreMaster(preMaster, hs.clientHello.random, hs.hello.random)
	if err := c.logMasterSecret(hs.clientHello.random, hs.masterSecret); err != nil {
		return err
	}

	if pub != nil {
		// CertificateVerify covers every message before it (§7.6.8).
		sum := hs.transcript.clone().certificateVerifySum(hs.masterSecret)
		cv, err := readHandshakeMsg[certificateVerifyMsg](c, &hs.transcript, typeCertificateVerify, "CertificateVerify")
		if err != nil {
			return err
		}
		if err := verifyHandshakeSignature(pub, sum, cv.signature); err != nil {
			return c.sendAlert(alertHandshakeFailure, fmt.Errorf("client CertificateVerify: %w", err))
		}
	}
	if err := c.verifyConnection(); err != nil {
		return err
	}
	return prepareKeys(c, hs.suite, hs.masterSecret, hs.clientHello.random, hs.hello.random, hs.ka)
}

// processClientCertificate applies the client-auth policy to the received
// chain (nil: the client sent no_certificate or an empty list).
func (hs *serverHandshakeState) processClientCertificate(raw [][]byte) error {
	c := hs.c
	policy := c.config.ClientAuth
	if len(raw) == 0 {
		if policy == RequireAnyClientCert || policy == RequireAndVerifyClientCert {
			return c.sendAlert(alertHandshakeFailure, errors.New("client sent no certificate but one is required"))
		}
		if c.handshakes > 0 && len(c.peerCertificates) > 0 {
			// Dropping the certificate would leave the old identity in
			// place without this handshake proving it.
			return c.sendAlert(alertHandshakeFailure, errors.New("client dropped its certificate during renegotiation"))
		}
		return c.verifyPeerCertificate(nil, nil)
	}
	certs, err := parseChain(raw)
	if err != nil {
		return c.sendAlert(alertBadCertificate, err)
	}
	// A renegotiation must not swap the client's identity under the
	// application (as the client checks the server's: the triple-handshake
	// attack relies on such a swap); a client that had none may add one.
	if c.handshakes > 0 && len(c.peerCertificates) > 0 && !bytes.Equal(c.peerCertificates[0].Raw, certs[0].Raw) {
		return c.sendAlert(alertBadCertificate, errors.New("client certificate changed during renegotiation"))
	}
	if err := checkClientCertificateKey(hs.suite, certs[0]); err != nil {
		return c.sendAlert(alertUnsupportedCertificate, err)
	}
	if policy == VerifyClientCertIfGiven || policy == RequireAndVerifyClientCert {
		chains, err := verifyChain(certs, c.config.ClientCAs, "", c.config.time(), x509.ExtKeyUsageClientAuth)
		if err != nil {
			return c.sendAlert(certificateAlert(err), fmt.Errorf("client certificate: %w", err))
		}
		c.verifiedChains = chains
	}
	c.peerCertificates = certs
	return c.verifyPeerCertificate(raw, c.verifiedChains)
}

// saveSession makes the session resumable, now that the handshake is done.
func (hs *serverHandshakeState) saveSession() {
	c := hs.c
	s := c.newSession(hs.hello.sessionID, hs.suite, hs.masterSecret)
	if cache := c.config.serverSessionCache(); cache != nil && len(s.SessionID) > 0 && hs.suite.resumable() {
		cache.Put(string(s.SessionID), s)
	}
}
