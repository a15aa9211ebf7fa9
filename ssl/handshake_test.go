package ssl

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"testing"
	"time"
)

func TestHandshakeEverySuite(t *testing.T) {
	sizes := []int{1, 100, maxPlaintext, maxPlaintext + 1, 100000}
	for _, id := range ImplementedCipherSuites() {
		// FORTEZZA_KEA needs cards: fortezza_test.go.
		if suiteByID(id).anonymous() || suiteByID(id).auth == authFortezza {
			continue
		}
		t.Run(CipherSuiteName(id), func(t *testing.T) {
			cc, sc := clientConfig(t), serverConfig(t)
			cc.CipherSuites = []uint16{id}
			client, server := mustHandshake(t, cc, sc)
			for _, st := range []ConnectionState{client.ConnectionState(), server.ConnectionState()} {
				if st.CipherSuite != id || st.Version != VersionSSL30 || st.DidResume || !st.HandshakeComplete {
					t.Fatalf("state %+v", st)
				}
			}
			// DSA-signed chains carry their CA (see legacyPKI).
			if len(client.ConnectionState().PeerCertificates) == 0 || len(client.ConnectionState().VerifiedChains) == 0 {
				t.Fatal("client did not record a verified server chain")
			}
			for _, n := range sizes {
				data := make([]byte, n)
				rand.Read(data)
				echoCheck(t, client, server, data)
			}
		})
	}
}

func TestServerPreferenceAndClientPreference(t *testing.T) {
	tests := []struct {
		name         string
		server       []uint16
		client       []uint16
		preferClient bool
		want         uint16
	}{
		{"server order", []uint16{SSL_RSA_WITH_3DES_EDE_CBC_SHA, SSL_RSA_WITH_RC4_128_SHA}, []uint16{SSL_RSA_WITH_RC4_128_SHA, SSL_RSA_WITH_3DES_EDE_CBC_SHA}, false, SSL_RSA_WITH_3DES_EDE_CBC_SHA},
		{"client order", []uint16{SSL_RSA_WITH_3DES_EDE_CBC_SHA, SSL_RSA_WITH_RC4_128_SHA}, []uint16{SSL_RSA_WITH_RC4_128_SHA, SSL_RSA_WITH_3DES_EDE_CBC_SHA}, true, SSL_RSA_WITH_RC4_128_SHA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc, sc := clientConfig(t), serverConfig(t)
			cc.CipherSuites, sc.CipherSuites, sc.PreferClientCipherSuites = tt.client, tt.server, tt.preferClient
			client, _ := mustHandshake(t, cc, sc)
			if got := client.ConnectionState().CipherSuite; got != tt.want {
				t.Fatalf("negotiated %s, want %s", CipherSuiteName(got), CipherSuiteName(tt.want))
			}
		})
	}
}

func TestDefaultsExcludeWeakSuites(t *testing.T) {
	for _, id := range DefaultCipherSuites() {
		s := suiteByID(id)
		if s.cipher == cipherNull || s.exportKex() || s.exportCipher() || s.anonymous() || s.cipher == cipherDES {
			t.Errorf("default list contains weak suite %s", s.name)
		}
	}
	// A NULL suite is only negotiated when configured on both sides.
	cc, sc := clientConfig(t), serverConfig(t)
	cc.CipherSuites = []uint16{SSL_RSA_WITH_NULL_SHA}
	sc.CipherSuites = nil
	_, _, cerr, serr := handshakePair(t, cc, sc)
	if cerr == nil || serr == nil {
		t.Fatal("NULL suite negotiated without explicit server configuration")
	}
	assertAlert(t, serr, alertHandshakeFailure, true)
}

func TestResumption(t *testing.T) {
	sc := serverConfig(t)
	cc := clientConfig(t)
	cc.ClientSessionCache = NewLRUClientSessionCache(8)
	c1, s1 := mustHandshake(t, cc, sc)
	first := c1.ConnectionState()
	echoCheck(t, c1, s1, []byte("first"))
	c1.Close()

	// Resumption keys the client cache by address; the second connection
	// has another remote port, so look the entry up by its server name
	// part and move it to the new key.
	c2, s2, cerr, serr := handshakePairResuming(t, cc, sc, c1)
	if cerr != nil || serr != nil {
		t.Fatal(cerr, serr)
	}
	second := c2.ConnectionState()
	if !second.DidResume || !s2.ConnectionState().DidResume {
		t.Fatal("second handshake did not resume")
	}
	if !bytes.Equal(first.SessionID, second.SessionID) || first.CipherSuite != second.CipherSuite {
		t.Fatal("resumed a different session")
	}
	if len(second.PeerCertificates) == 0 {
		t.Fatal("resumed session lost the peer certificates")
	}
	echoCheck(t, c2, s2, []byte("second"))
}

// handshakePairResuming connects again with the cached session of prev.
func handshakePairResuming(t *testing.T, cc, sc *Config, prev *Conn) (*Conn, *Conn, error, error) {
	t.Helper()
	s, ok := cc.ClientSessionCache.Get(prev.clientCacheKey)
	if !ok {
		t.Fatal("client did not cache the session")
	}
	cache := &fixedClientCache{s: s}
	cc2 := cc.Clone()
	cc2.ClientSessionCache = cache
	return handshakePair(t, cc2, sc)
}

// fixedClientCache offers one session for any key; Put records deletions.
type fixedClientCache struct {
	s       *SessionState
	deleted bool
}

func (f *fixedClientCache) Get(string) (*SessionState, bool) { return f.s, f.s != nil }
func (f *fixedClientCache) Put(_ string, s *SessionState) {
	if s == nil {
		f.deleted = true
		f.s = nil
		return
	}
	f.s = s
}

func TestSessionUnknownToServerFallsBackToFullHandshake(t *testing.T) {
	sc := serverConfig(t)
	cc := clientConfig(t)
	bogus := &SessionState{SessionID: bytes.Repeat([]byte{7}, 32), CipherSuite: SSL_RSA_WITH_RC4_128_SHA, MasterSecret: make([]byte, 48), Created: time.Now()}
	cache := &fixedClientCache{s: bogus}
	cc.ClientSessionCache = cache
	c, _ := mustHandshake(t, cc, sc)
	if c.ConnectionState().DidResume {
		t.Fatal("resumed an unknown session")
	}
	if cache.s == nil || bytes.Equal(cache.s.SessionID, bogus.SessionID) {
		t.Fatal("client did not replace the declined session")
	}
}

func TestFatalAlertInvalidatesSession(t *testing.T) {
	sc := serverConfig(t)
	cache := NewLRUSessionCache(16, time.Hour)
	sc.SessionCache = cache
	cc := clientConfig(t)
	cc.ClientSessionCache = NewLRUClientSessionCache(8)
	c, s := mustHandshake(t, cc, sc)
	id := c.ConnectionState().SessionID
	if _, ok := cache.Get(string(id)); !ok {
		t.Fatal("completed session not cached")
	}
	// The server sends a fatal alert mid-session.
	s.sendAlert(alertIllegalParameter, errors.New("test"))
	buf := make([]byte, 1)
	_, err := c.Read(buf)
	assertAlert(t, err, alertIllegalParameter, false)
	if _, ok := cache.Get(string(id)); ok {
		t.Fatal("server kept a session after sending a fatal alert")
	}
	if _, ok := cc.ClientSessionCache.Get(c.clientCacheKey); ok {
		t.Fatal("client kept a session after receiving a fatal alert")
	}
}

func TestTruncationIsAnErrorAndUnresumable(t *testing.T) {
	sc := serverConfig(t)
	cc := clientConfig(t)
	cc.ClientSessionCache = NewLRUClientSessionCache(8)
	c, s := mustHandshake(t, cc, sc)
	if _, ok := cc.ClientSessionCache.Get(c.clientCacheKey); !ok {
		t.Fatal("session not cached")
	}
	s.conn.Close() // no close_notify
	_, err := c.Read(make([]byte, 1))
	if !errors.Is(err, ErrTruncated) {
		t.Fatalf("read after truncation: %v, want ErrTruncated", err)
	}
	if _, ok := cc.ClientSessionCache.Get(c.clientCacheKey); ok {
		t.Fatal("truncated session still resumable")
	}
}

func TestCloseNotifyAnswered(t *testing.T) {
	c, s := mustHandshake(t, clientConfig(t), serverConfig(t))
	var sawReply bool
	c.alertHookForTest = func(a alert, sent bool) {
		if a == alertCloseNotify && !sent {
			sawReply = true
		}
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.Read(make([]byte, 1))
		done <- err
	}()
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != io.EOF {
		t.Fatalf("server read after close_notify: %v, want io.EOF", err)
	}
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("client read after the answer: %v, want io.EOF", err)
	}
	if !sawReply {
		t.Fatal("server did not answer close_notify")
	}
}

func TestCertificateVerificationFailures(t *testing.T) {
	p := testCerts(t)
	tests := []struct {
		name   string
		mutate func(cc, sc *Config)
		want   alert
	}{
		{"unknown CA", func(cc, sc *Config) { cc.RootCAs = p.otherRoots }, alertCertificateUnknown},
		{"wrong host", func(cc, sc *Config) { cc.ServerName = "example.org" }, alertBadCertificate},
		{"expired", func(cc, sc *Config) { sc.Certificates = []Certificate{p.expired} }, alertCertificateExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc, sc := clientConfig(t), serverConfig(t)
			tt.mutate(cc, sc)
			_, _, cerr, serr := handshakePair(t, cc, sc)
			assertAlert(t, cerr, tt.want, true)
			assertAlert(t, serr, tt.want, false)
		})
	}
	// InsecureSkipVerify accepts what verification refused.
	cc, sc := clientConfig(t), serverConfig(t)
	cc.RootCAs, cc.InsecureSkipVerify = p.otherRoots, true
	mustHandshake(t, cc, sc)
}

func TestClientAuthentication(t *testing.T) {
	p := testCerts(t)
	tests := []struct {
		name       string
		policy     ClientAuthType
		clientCert bool
		wantErr    bool
	}{
		{"request, none given", RequestClientCert, false, false},
		{"request, given", RequestClientCert, true, false},
		{"require, none given", RequireAndVerifyClientCert, false, true},
		{"require, given", RequireAndVerifyClientCert, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc, sc := clientConfig(t), serverConfig(t)
			sc.ClientAuth, sc.ClientCAs = tt.policy, p.roots
			if tt.clientCert {
				cc.Certificates = []Certificate{p.client}
			}
			_, s, cerr, serr := handshakePair(t, cc, sc)
			if tt.wantErr {
				assertAlert(t, serr, alertHandshakeFailure, true)
				return
			}
			if cerr != nil || serr != nil {
				t.Fatal(cerr, serr)
			}
			got := len(s.ConnectionState().PeerCertificates) > 0
			if got != tt.clientCert {
				t.Fatalf("server saw client certificate: %v, want %v", got, tt.clientCert)
			}
		})
	}
}

// assertAlert checks that err is an AlertError for a, sent or received.
func assertAlert(t testing.TB, err error, a alert, sent bool) {
	t.Helper()
	var ae *AlertError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an alert error (want %v)", err, a)
	}
	if alert(ae.Alert) != a || ae.Sent != sent {
		t.Fatalf("got alert %v sent=%v, want %v sent=%v (%v)", alert(ae.Alert), ae.Sent, a, sent, err)
	}
}
