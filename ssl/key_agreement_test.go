package ssl

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/tokenssl/tokenssl/internal/legacytest"
	"github.com/tokenssl/tokenssl/token"
	"github.com/tokenssl/tokenssl/token/tokentest"
)

// Tests of the RSA_EXPORT, DH, DHE and DH_anon key exchanges over real
// loopback sockets. Certificates: testPKI (helpers_test.go) and legacyPKI
// (key_agreement_pki_test.go); man-in-the-middle rewrites: runHostile
// (hostile_test.go).

// nonFortezzaSuites are 0x0001..0x001B, every suite but NULL_NULL and
// FORTEZZA_KEA.
func nonFortezzaSuites() []uint16 {
	var ids []uint16
	for id := SSL_RSA_WITH_NULL_MD5; id <= SSL_DH_anon_WITH_3DES_EDE_CBC_SHA; id++ {
		ids = append(ids, id)
	}
	for _, s := range cipherSuiteTable[31:] { // the later RFCs' suites
		ids = append(ids, s.id)
	}
	return ids
}

func TestEverySuiteHandshakesAndResumes(t *testing.T) {
	l := legacyCerts(t)
	data := make([]byte, 3*maxPlaintext+17)
	rand.Read(data)
	for _, id := range nonFortezzaSuites() {
		s := suiteByID(id)
		t.Run(s.name, func(t *testing.T) {
			if !s.implemented() {
				t.Fatal("suite not implemented")
			}
			cc, sc := clientConfig(t), serverConfig(t)
			cc.CipherSuites, sc.CipherSuites = []uint16{id}, []uint16{id}
			cc.ClientSessionCache = NewLRUClientSessionCache(4)
			c1, s1 := mustHandshake(t, cc, sc)
			first := c1.ConnectionState()
			for _, st := range []ConnectionState{first, s1.ConnectionState()} {
				if st.CipherSuite != id || st.DidResume || !st.HandshakeComplete {
					t.Fatalf("state %+v", st)
				}
			}
			if s.anonymous() {
				if len(first.PeerCertificates) != 0 {
					t.Fatal("anonymous server sent a certificate")
				}
			} else if len(first.VerifiedChains) == 0 {
				t.Fatal("server chain not verified")
			} else if s.auth == authDSS {
				// Verified through the x509legacy.VerifyChain fallback, up to the DSA CA.
				chain := first.VerifiedChains[0]
				if chain[0].SignatureAlgorithm != x509.DSAWithSHA1 || !chain[len(chain)-1].Equal(l.dsaCA) {
					t.Fatalf("DSS chain %v .. %v", chain[0].SignatureAlgorithm, chain[len(chain)-1].Subject)
				}
			}
			echoCheck(t, c1, s1, data)
			c1.Close()

			c2, s2, cerr, serr := handshakePairResuming(t, cc, sc, c1)
			if cerr != nil || serr != nil {
				t.Fatalf("resumption: client: %v; server: %v", cerr, serr)
			}
			if !c2.ConnectionState().DidResume || !s2.ConnectionState().DidResume ||
				c2.ConnectionState().CipherSuite != id || !bytes.Equal(c2.ConnectionState().SessionID, first.SessionID) {
				t.Fatal("second handshake did not resume the session")
			}
			echoCheck(t, c2, s2, data[:1000])
		})
	}
}

// hostileAlert runs one man-in-the-middle row and checks that the side
// receiving the rewritten message sent the alert want (its own error, not
// the wire: the proxy may not have read the alert yet when both
// handshakes have returned).
func hostileAlert(t *testing.T, row hostileRow, want alert) {
	t.Helper()
	_, cerr, serr := runHostile(t, &row)
	recv := serr
	if row.dir == toClient {
		recv = cerr
	}
	assertAlert(t, recv, want, true)
}

func suiteConfig(ids ...uint16) func(cc, sc *Config) {
	return func(cc, sc *Config) { cc.CipherSuites, sc.CipherSuites = ids, ids }
}

// intBytes encodes x for a ServerDHParams vector (at least one byte).
func intBytes(x *big.Int) []byte {
	if x.Sign() == 0 {
		return []byte{0}
	}
	return x.Bytes()
}

// rewriteAnonParams rewrites a DH_anon ServerKeyExchange with f.
func rewriteAnonParams(t *testing.T, f func(p, g, ys *big.Int) (*big.Int, *big.Int, *big.Int)) func([]byte) []chunk {
	return func(msg []byte) []chunk {
		p, g, ys, _, _, ok := parseDHServerKeyExchange(msg[4:], false)
		if !ok {
			t.Error("test: unparsable DH_anon ServerKeyExchange")
			return []chunk{{recordTypeHandshake, msg}}
		}
		p, g, ys = f(p, g, ys)
		body, err := marshalServerDHParams(intBytes(p), intBytes(g), intBytes(ys))
		if err != nil {
			t.Error(err)
		}
		n := len(body)
		return []chunk{{recordTypeHandshake, append([]byte{typeServerKeyExchange, byte(n >> 16), byte(n >> 8), byte(n)}, body...)}}
	}
}

// TestServerDHParamsValidation runs the client's checks (checkServerDHParams)
// over a table, then end to end on DH_anon suites, whose unsigned
// ServerKeyExchange a man in the middle can rewrite.
func TestServerDHParamsValidation(t *testing.T) {
	g14, g2, e512 := RFC3526Group14(), RFC2409Group2(), ExportDHGroup512()
	_, y14, _ := generateDHKey(rand.Reader, g14)
	_, y512, _ := generateDHKey(rand.Reader, e512)
	one := big.NewInt(1)
	pm1 := new(big.Int).Sub(g14.P, one)
	tests := []struct {
		name      string
		p, g, ys  *big.Int
		export    bool
		minBits   int
		wantAlert alert // 0: accepted
	}{
		{"group 14", g14.P, g14.G, y14, false, 1024, 0},
		{"Y = 0", g14.P, g14.G, big.NewInt(0), false, 1024, alertIllegalParameter},
		{"Y = 1", g14.P, g14.G, one, false, 1024, alertIllegalParameter},
		{"Y = p-1", g14.P, g14.G, pm1, false, 1024, alertIllegalParameter},
		{"Y = p", g14.P, g14.G, g14.P, false, 1024, alertIllegalParameter},
		{"Y = p+1", g14.P, g14.G, new(big.Int).Add(g14.P, one), false, 1024, alertIllegalParameter},
		{"g = 0", g14.P, big.NewInt(0), y14, false, 1024, alertIllegalParameter},
		{"g = 1", g14.P, one, y14, false, 1024, alertIllegalParameter},
		{"g = p-1", g14.P, pm1, y14, false, 1024, alertIllegalParameter},
		{"p even", new(big.Int).Add(g14.P, one), g14.G, y14, false, 1024, alertIllegalParameter},
		{"p = 3", big.NewInt(3), big.NewInt(2), big.NewInt(2), false, 1, alertIllegalParameter},
		{"512-bit group, non-export", e512.P, e512.G, y512, false, 1024, alertHandshakeFailure},
		{"512-bit group, MinDHBits 512", e512.P, e512.G, y512, false, 512, 0},
		{"2048-bit group, MinDHBits 3072", g14.P, g14.G, y14, false, 3072, alertHandshakeFailure},
		{"512-bit group, export", e512.P, e512.G, y512, true, 1024, 0},
		{"1024-bit group, export", g2.P, g2.G, big.NewInt(5), true, 1024, alertHandshakeFailure},
		{"2048-bit group, export", g14.P, g14.G, y14, true, 1024, alertHandshakeFailure},
		{"384-bit group, export", new(big.Int).SetBit(new(big.Int).Rsh(e512.P, 128), 0, 1), big.NewInt(2), big.NewInt(5), true, 1024, alertHandshakeFailure},
		{"oversized group", new(big.Int).Add(new(big.Int).Lsh(one, 8200), one), big.NewInt(2), big.NewInt(5), false, 1024, alertHandshakeFailure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := checkServerDHParams(tt.p, tt.g, tt.ys, tt.export, tt.minBits)
			if tt.wantAlert == 0 {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			if err == nil || a != tt.wantAlert {
				t.Fatalf("got %v (%v), want %v", a, err, tt.wantAlert)
			}
		})
	}

	anon, anonExport := SSL_DH_anon_WITH_3DES_EDE_CBC_SHA, SSL_DH_anon_EXPORT_WITH_DES40_CBC_SHA
	setY := func(y func(p *big.Int) *big.Int) func(p, g, ys *big.Int) (*big.Int, *big.Int, *big.Int) {
		return func(p, g, _ *big.Int) (*big.Int, *big.Int, *big.Int) { return p, g, y(p) }
	}
	rows := []struct {
		name    string
		suite   uint16
		rewrite func(p, g, ys *big.Int) (*big.Int, *big.Int, *big.Int)
		config  func(cc, sc *Config)
		want    alert
	}{
		{"Y = 0", anon, setY(func(*big.Int) *big.Int { return big.NewInt(0) }), nil, alertIllegalParameter},
		{"Y = 1", anon, setY(func(*big.Int) *big.Int { return big.NewInt(1) }), nil, alertIllegalParameter},
		{"Y = p-1", anon, setY(func(p *big.Int) *big.Int { return new(big.Int).Sub(p, one) }), nil, alertIllegalParameter},
		{"Y = p", anon, setY(func(p *big.Int) *big.Int { return p }), nil, alertIllegalParameter},
		{"export suite, 1024-bit group", anonExport, func(_, _, _ *big.Int) (*big.Int, *big.Int, *big.Int) {
			return g2.P, g2.G, big.NewInt(4)
		}, nil, alertHandshakeFailure},
		{"small group from the server", anon, nil, func(cc, sc *Config) { sc.DHParameters = ExportDHGroup512() }, alertHandshakeFailure},
		{"client MinDHBits above the server group", anon, nil, func(cc, sc *Config) { cc.MinDHBits = 4096 }, alertHandshakeFailure},
	}
	for _, r := range rows {
		t.Run("wire/"+r.name, func(t *testing.T) {
			row := hostileRow{dir: toClient, target: int(typeServerKeyExchange), act: func(m []byte) []chunk { return []chunk{{recordTypeHandshake, m}} }}
			if r.rewrite != nil {
				row.act = rewriteAnonParams(t, r.rewrite)
			}
			row.config = func(cc, sc *Config) {
				suiteConfig(r.suite)(cc, sc)
				if r.config != nil {
					r.config(cc, sc)
				}
			}
			hostileAlert(t, row, r.want)
		})
	}

	t.Run("server refuses a long export group", func(t *testing.T) {
		cc, sc := clientConfig(t), serverConfig(t)
		suiteConfig(anonExport)(cc, sc)
		sc.ExportDHParameters = RFC2409Group2()
		_, _, _, serr := handshakePair(t, cc, sc)
		assertAlert(t, serr, alertHandshakeFailure, true)
	})
	t.Run("server MinDHBits does not apply to its own group", func(t *testing.T) {
		cc, sc := clientConfig(t), serverConfig(t)
		suiteConfig(anon)(cc, sc)
		cc.MinDHBits, sc.DHParameters = 2048, RFC2409Group2()
		_, _, cerr, _ := handshakePair(t, cc, sc)
		assertAlert(t, cerr, alertHandshakeFailure, true)
	})
}

// TestServerKeyExchangeTampered: a signed ServerKeyExchange altered in
// transit fails its signature check (handshake_failure, SSL 3.0 having no
// decrypt_error); one missing is noticed too.
func TestServerKeyExchangeTampered(t *testing.T) {
	flipParam := func(msg []byte) []chunk {
		out := bytes.Clone(msg)
		out[4+2+5] ^= 0x01 // a byte of dh_p / rsa_modulus
		return []chunk{{recordTypeHandshake, out}}
	}
	for _, id := range []uint16{SSL_DHE_RSA_WITH_3DES_EDE_CBC_SHA, SSL_DHE_DSS_WITH_3DES_EDE_CBC_SHA,
		SSL_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA, SSL_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA,
		SSL_RSA_EXPORT_WITH_RC4_40_MD5} {
		name := CipherSuiteName(id)
		t.Run(name+"/signature", func(t *testing.T) {
			hostileAlert(t, hostileRow{dir: toClient, target: int(typeServerKeyExchange), act: flipLastByte, config: suiteConfig(id)}, alertHandshakeFailure)
		})
		t.Run(name+"/params", func(t *testing.T) {
			hostileAlert(t, hostileRow{dir: toClient, target: int(typeServerKeyExchange), act: flipParam, config: suiteConfig(id)}, alertHandshakeFailure)
		})
	}
	t.Run("DHE without ServerKeyExchange", func(t *testing.T) {
		hostileAlert(t, hostileRow{dir: toClient, target: int(typeServerKeyExchange), act: dropMsg,
			config: suiteConfig(SSL_DHE_RSA_WITH_3DES_EDE_CBC_SHA)}, alertUnexpectedMessage)
	})
	t.Run("RSA_EXPORT with a long key and no temporary key", func(t *testing.T) {
		hostileAlert(t, hostileRow{dir: toClient, target: int(typeServerKeyExchange), act: dropMsg,
			config: suiteConfig(SSL_RSA_EXPORT_WITH_DES40_CBC_SHA)}, alertHandshakeFailure)
	})
	t.Run("signature trailing bytes", func(t *testing.T) {
		extend := func(msg []byte) []chunk { return extendMsg(msg) }
		hostileAlert(t, hostileRow{dir: toClient, target: int(typeServerKeyExchange), act: extend,
			config: suiteConfig(SSL_DHE_RSA_WITH_3DES_EDE_CBC_SHA)}, alertIllegalParameter)
	})
}

// TestDSASignatureEncodings: a DHE_DSS signature verifies as DER (what we
// send) and as the raw 40-byte r‖s of NSS and Fortezza.
func TestDSASignatureEncodings(t *testing.T) {
	l := legacyCerts(t)
	key := l.dsaServer.PrivateKey.(*token.DSAKey)
	digest := serverParamsDigest(bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32), []byte("params"))
	der, err := signHandshake(key, rand.Reader, digest)
	if err != nil {
		t.Fatal(err)
	}
	r, s, err := parseDSASignature(der, &key.PublicKey)
	if err != nil || der[0] != 0x30 {
		t.Fatalf("signHandshake did not produce DER: %x", der)
	}
	raw := append(r.FillBytes(make([]byte, 20)), s.FillBytes(make([]byte, 20))...)
	for name, sig := range map[string][]byte{"DER": der, "raw r‖s": raw} {
		if err := verifyHandshakeSignature(&key.PublicKey, digest, sig); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	raw[39] ^= 1
	if verifyHandshakeSignature(&key.PublicKey, digest, raw) == nil {
		t.Error("altered raw signature verified")
	}
}

// TestDSAServerChains: DHE_DSS and DH_DSS chains are verified by the x509legacy
// fallback of verifyChain, with the usual alerts when they do not verify.
func TestDSAServerChains(t *testing.T) {
	p, l := testCerts(t), legacyCerts(t)
	for _, id := range []uint16{SSL_DHE_DSS_WITH_3DES_EDE_CBC_SHA, SSL_DH_DSS_WITH_3DES_EDE_CBC_SHA} {
		t.Run(CipherSuiteName(id), func(t *testing.T) {
			tests := []struct {
				name   string
				mutate func(cc, sc *Config)
				want   alert // 0: success
			}{
				{"verified", nil, 0},
				{"DSA CA not trusted", func(cc, sc *Config) { cc.RootCAs = p.roots }, alertCertificateUnknown},
				{"wrong host", func(cc, sc *Config) { cc.ServerName = "example.org" }, alertBadCertificate},
				{"CA not sent (a CertPool cannot be searched)", func(cc, sc *Config) {
					for i := range sc.Certificates {
						c := sc.Certificates[i]
						c.Certificate = c.Certificate[:1]
						sc.Certificates[i] = c
					}
				}, alertCertificateUnknown},
				{"expired", func(cc, sc *Config) {
					cc.Time = func() time.Time { return time.Now().Add(72 * time.Hour) }
				}, alertCertificateExpired},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					cc, sc := clientConfig(t), serverConfig(t)
					suiteConfig(id)(cc, sc)
					sc.Certificates = append([]Certificate(nil), l.dsaServer, l.dhDSS)
					if tt.mutate != nil {
						tt.mutate(cc, sc)
					}
					c, _, cerr, serr := handshakePair(t, cc, sc)
					if tt.want == 0 {
						if cerr != nil || serr != nil {
							t.Fatal(cerr, serr)
						}
						chain := c.ConnectionState().VerifiedChains[0]
						if len(chain) != 2 || !chain[1].Equal(l.dsaCA) {
							t.Fatalf("chain of %d ending at %v", len(chain), chain[len(chain)-1].Subject)
						}
						return
					}
					assertAlert(t, cerr, tt.want, true)
				})
			}
		})
	}
}

// TestFixedDHServerCertificateChecks: the client's checks on a fixed-DH
// server certificate.
func TestFixedDHServerCertificateChecks(t *testing.T) {
	p, l := testCerts(t), legacyCerts(t)
	dhRSA := SSL_DH_RSA_WITH_3DES_EDE_CBC_SHA
	t.Run("512-bit group on a non-export suite", func(t *testing.T) {
		cc, sc := clientConfig(t), serverConfig(t)
		suiteConfig(dhRSA)(cc, sc)
		sc.Certificates = []Certificate{l.dhRSAExport}
		_, _, cerr, _ := handshakePair(t, cc, sc)
		assertAlert(t, cerr, alertHandshakeFailure, true)
	})
	tests := []struct {
		name  string
		suite uint16
		leaf  *x509.Certificate
		want  alert
	}{
		{"DH_RSA, RSA-signed", dhRSA, l.dhRSA.Leaf, 0},
		{"DH_DSS, DSA-signed", SSL_DH_DSS_WITH_DES_CBC_SHA, l.dhDSS.Leaf, 0},
		{"DH_DSS, RSA-signed", SSL_DH_DSS_WITH_DES_CBC_SHA, l.dhRSA.Leaf, alertUnsupportedCertificate},
		{"DH_RSA, DSA-signed", dhRSA, l.dhDSS.Leaf, alertUnsupportedCertificate},
		{"DH_RSA, RSA key", dhRSA, p.server.Leaf, alertUnsupportedCertificate},
		{"DH_RSA_EXPORT, 1024-bit group", SSL_DH_RSA_EXPORT_WITH_DES40_CBC_SHA, l.dhRSA.Leaf, alertHandshakeFailure},
		{"DH_RSA_EXPORT, 512-bit group", SSL_DH_RSA_EXPORT_WITH_DES40_CBC_SHA, l.dhRSAExport.Leaf, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, a, err := serverFixedDHKey(tt.leaf, suiteByID(tt.suite), defaultMinDHBits)
			if tt.want == 0 && err != nil || tt.want != 0 && (err == nil || a != tt.want) {
				t.Fatalf("got %v (%v), want %v", a, err, tt.want)
			}
		})
	}
	// The server does not offer a certificate that does not fit.
	for _, tt := range tests {
		cert := &Certificate{Certificate: [][]byte{tt.leaf.Raw}, Leaf: tt.leaf, PrivateKey: l.dhRSA.PrivateKey}
		fits := certificateFits(suiteByID(tt.suite), cert)
		if fits && tt.want == alertUnsupportedCertificate {
			t.Errorf("%s: certificateFits accepted it", tt.name)
		}
	}
}

// TestClientAuthenticationKinds: RSA, DSA and fixed-DH client certificates.
// A fixed-DH certificate in the server's group is answered with an empty
// (implicit) ClientKeyExchange and no CertificateVerify (§7.6.7.3, §7.6.8).
func TestClientAuthenticationKinds(t *testing.T) {
	p, l := testCerts(t), legacyCerts(t)
	dheRSA, dhRSA := SSL_DHE_RSA_WITH_3DES_EDE_CBC_SHA, SSL_DH_RSA_WITH_3DES_EDE_CBC_SHA
	group2 := func(cc, sc *Config) { sc.DHParameters = RFC2409Group2() }
	tests := []struct {
		name     string
		cert     Certificate
		suite    uint16
		config   func(cc, sc *Config)
		implicit bool
	}{
		{"RSA on DHE_RSA", p.client, dheRSA, nil, false},
		{"RSA on RSA", p.client, SSL_RSA_WITH_RC4_128_SHA, nil, false},
		{"DSA on DHE_RSA", l.dsaClient, dheRSA, nil, false},
		{"DSA on DH_DSS", l.dsaClient, SSL_DH_DSS_WITH_3DES_EDE_CBC_SHA, nil, false},
		{"DSA on RSA_EXPORT", l.dsaClient, SSL_RSA_EXPORT_WITH_RC2_CBC_40_MD5, nil, false},
		{"rsa_fixed_dh on DH_RSA", l.dhClientRSA, dhRSA, nil, true},
		{"dss_fixed_dh on DH_RSA", l.dhClientDSS, dhRSA, nil, true},
		{"rsa_fixed_dh on DHE_RSA in group 2", l.dhClientRSA, dheRSA, group2, true},
		{"dss_fixed_dh on DHE_DSS in group 2", l.dhClientDSS, SSL_DHE_DSS_WITH_3DES_EDE_CBC_SHA, group2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			configure := func(cc, sc *Config) {
				suiteConfig(tt.suite)(cc, sc)
				sc.ClientAuth, sc.ClientCAs = RequireAndVerifyClientCert, l.roots
				// A fixed-DH certificate in another group first: the
				// client must pass over it.
				cc.Certificates = []Certificate{tt.cert}
				if tt.cert.Leaf != p.client.Leaf {
					cc.Certificates = []Certificate{l.dhRSAExport, tt.cert}
				}
				if tt.config != nil {
					tt.config(cc, sc)
				}
			}
			cc, sc := clientConfig(t), serverConfig(t)
			configure(cc, sc)
			_, s := mustHandshake(t, cc, sc)
			st := s.ConnectionState()
			if len(st.PeerCertificates) == 0 || !st.PeerCertificates[0].Equal(tt.cert.Leaf) || len(st.VerifiedChains) == 0 {
				t.Fatal("server did not verify the client certificate")
			}
			// The ClientKeyExchange on the wire: empty iff implicit.
			var ckxLen = -1
			row := hostileRow{dir: toServer, target: int(typeClientKeyExchange), config: configure, wantOK: true,
				act: func(m []byte) []chunk { ckxLen = len(m) - 4; return []chunk{{recordTypeHandshake, m}} }}
			if _, cerr, serr := runHostile(t, &row); cerr != nil || serr != nil {
				t.Fatalf("through the proxy: client %v; server %v", cerr, serr)
			}
			if (ckxLen == 0) != tt.implicit {
				t.Fatalf("ClientKeyExchange body of %d bytes; implicit %v", ckxLen, tt.implicit)
			}
		})
	}

	t.Run("fixed-DH certificate in another group is not sent", func(t *testing.T) {
		cc, sc := clientConfig(t), serverConfig(t)
		suiteConfig(dheRSA)(cc, sc) // server group 14; the certificate is in group 2
		sc.ClientAuth, sc.ClientCAs = RequireAndVerifyClientCert, l.roots
		cc.Certificates = []Certificate{l.dhClientRSA}
		_, _, _, serr := handshakePair(t, cc, sc)
		assertAlert(t, serr, alertHandshakeFailure, true)
	})

	t.Run("DSA-signed certificate without the clientAuth usage", func(t *testing.T) {
		// The usage is checked on the x509legacy.VerifyChain path too (checkExtKeyUsage).
		cc, sc := clientConfig(t), serverConfig(t)
		suiteConfig(dheRSA)(cc, sc)
		sc.ClientAuth, sc.ClientCAs = RequireAndVerifyClientCert, l.roots
		cc.Certificates = []Certificate{l.dsaServer}
		_, _, _, serr := handshakePair(t, cc, sc)
		assertAlert(t, serr, alertBadCertificate, true)
	})

	// A client that breaks the implicit/explicit rule.
	authDH := func(cert Certificate) func(cc, sc *Config) {
		return func(cc, sc *Config) {
			suiteConfig(dhRSA)(cc, sc)
			sc.ClientAuth, sc.ClientCAs = RequireAndVerifyClientCert, l.roots
			cc.Certificates = []Certificate{cert}
		}
	}
	explicitYc := func([]byte) []chunk {
		return []chunk{{recordTypeHandshake, []byte{typeClientKeyExchange, 0, 0, 3, 0, 1, 2}}}
	}
	emptyCKX := func([]byte) []chunk {
		return []chunk{{recordTypeHandshake, []byte{typeClientKeyExchange, 0, 0, 0}}}
	}
	t.Run("explicit public value with a fixed-DH certificate", func(t *testing.T) {
		hostileAlert(t, hostileRow{dir: toServer, target: int(typeClientKeyExchange), act: explicitYc, config: authDH(l.dhClientRSA)}, alertIllegalParameter)
	})
	t.Run("implicit public value without a fixed-DH certificate", func(t *testing.T) {
		hostileAlert(t, hostileRow{dir: toServer, target: int(typeClientKeyExchange), act: emptyCKX, config: authDH(p.client)}, alertIllegalParameter)
	})
	t.Run("client public value out of range", func(t *testing.T) {
		one := func([]byte) []chunk {
			return []chunk{{recordTypeHandshake, []byte{typeClientKeyExchange, 0, 0, 3, 0, 1, 1}}}
		}
		hostileAlert(t, hostileRow{dir: toServer, target: int(typeClientKeyExchange), act: one, config: suiteConfig(dheRSA)}, alertIllegalParameter)
	})
	t.Run("client public value outside the q-order subgroup", func(t *testing.T) {
		// DH_DSS's certificate is in the 1024/160 X9.42 group; 2 is not in
		// its order-q subgroup (checked here).
		if new(big.Int).Exp(big.NewInt(2), legacytest.DSA1024.Q, legacytest.DSA1024.P).Cmp(big.NewInt(1)) == 0 {
			t.Fatal("2 is in the subgroup")
		}
		two := func([]byte) []chunk {
			return []chunk{{recordTypeHandshake, []byte{typeClientKeyExchange, 0, 0, 3, 0, 1, 2}}}
		}
		hostileAlert(t, hostileRow{dir: toServer, target: int(typeClientKeyExchange), act: two, config: suiteConfig(SSL_DH_DSS_WITH_3DES_EDE_CBC_SHA)}, alertIllegalParameter)
	})
	t.Run("server refuses a fixed-DH certificate on an RSA suite", func(t *testing.T) {
		leaf := l.dhClientRSA.Leaf
		if err := checkClientCertificateKey(suiteByID(SSL_RSA_WITH_RC4_128_SHA), leaf); err == nil {
			t.Fatal("accepted")
		}
		for _, id := range []uint16{dhRSA, dheRSA} {
			if err := checkClientCertificateKey(suiteByID(id), leaf); err != nil {
				t.Fatal(err)
			}
		}
		if err := checkClientCertificateKey(suiteByID(dheRSA), p.client.Leaf); err != nil {
			t.Fatal(err)
		}
	})
}

// TestRSAExportTemporaryKey: the temporary key is shared by the handshakes
// of a Config, and replaced after an hour, after exportRSAKeyMaxUses
// handshakes, or when the clock goes back.
func TestRSAExportTemporaryKey(t *testing.T) {
	base := time.Now()
	now := base
	cc, sc := clientConfig(t), serverConfig(t)
	suiteConfig(SSL_RSA_EXPORT_WITH_RC4_40_MD5)(cc, sc)
	sc.Time = func() time.Time { return now }
	current := func() *smallRSAKey {
		sc.exportRSA.mu.Lock()
		defer sc.exportRSA.mu.Unlock()
		return sc.exportRSA.key
	}
	handshake := func() *smallRSAKey {
		t.Helper()
		c, s := mustHandshake(t, cc, sc)
		echoCheck(t, c, s, []byte("export"))
		return current()
	}
	k1 := handshake()
	if k1 == nil || k1.pub.N.BitLen() != 512 {
		t.Fatal("no 512-bit temporary key")
	}
	now = base.Add(30 * time.Minute)
	if k := handshake(); k != k1 {
		t.Fatal("temporary key replaced within the hour")
	}
	now = base.Add(exportRSAKeyLifetime + time.Second)
	k2 := handshake()
	if k2 == k1 || k2.pub.N.Cmp(k1.pub.N) == 0 {
		t.Fatal("temporary key not replaced after an hour")
	}
	now = now.Add(-time.Minute) // the clock goes back
	k3 := handshake()
	if k3 == k2 {
		t.Fatal("temporary key kept across a clock step back")
	}
	sc.exportRSA.mu.Lock()
	sc.exportRSA.uses = exportRSAKeyMaxUses - 1
	sc.exportRSA.mu.Unlock()
	if k := handshake(); k != k3 {
		t.Fatal("replaced before the use limit")
	}
	if k := handshake(); k == k3 {
		t.Fatal("not replaced at the use limit")
	}
	// Another Config has its own key.
	other := serverConfig(t)
	suiteConfig(SSL_RSA_EXPORT_WITH_RC4_40_MD5)(cc, other)
	mustHandshake(t, cc, other)
	if other.exportRSA.key == nil || other.exportRSA.key == current() {
		t.Fatal("Configs share a temporary key")
	}
}

func TestRSAExportLongTemporaryKeyRejected(t *testing.T) {
	long, err := generateSmallRSAKey(rand.Reader, 768)
	if err != nil {
		t.Fatal(err)
	}
	cc, sc := clientConfig(t), serverConfig(t)
	suiteConfig(SSL_RSA_EXPORT_WITH_DES40_CBC_SHA)(cc, sc)
	sc.exportRSA.key, sc.exportRSA.created = long, time.Now()
	_, _, cerr, _ := handshakePair(t, cc, sc)
	assertAlert(t, cerr, alertHandshakeFailure, true)
}

// TestRSAExportShortServerKey: a server key of at most 512 bits is used
// directly, without ServerKeyExchange.
func TestRSAExportShortServerKey(t *testing.T) {
	l := legacyCerts(t)
	for _, id := range []uint16{SSL_RSA_EXPORT_WITH_RC4_40_MD5, SSL_RSA_EXPORT_WITH_RC2_CBC_40_MD5, SSL_RSA_EXPORT_WITH_DES40_CBC_SHA} {
		t.Run(CipherSuiteName(id), func(t *testing.T) {
			configure := func(cc, sc *Config) {
				suiteConfig(id)(cc, sc)
				sc.Certificates = []Certificate{l.rsa512}
			}
			cc, sc := clientConfig(t), serverConfig(t)
			configure(cc, sc)
			c, s := mustHandshake(t, cc, sc)
			echoCheck(t, c, s, []byte("short key"))
			if sc.exportRSA.key != nil {
				t.Fatal("a temporary key was made for a 512-bit server key")
			}
			// A ServerKeyExchange there is unexpected.
			inject := replaceWith(recordTypeHandshake, []byte{typeServerKeyExchange, 0, 0, 6, 0, 1, 3, 0, 1, 3})
			hostileAlert(t, hostileRow{dir: toClient, target: int(typeServerHelloDone), act: inject, config: configure}, alertUnexpectedMessage)
		})
	}
	// Not a plain RSA suite: crypto/rsa refuses 512-bit keys.
	cc, sc := clientConfig(t), serverConfig(t)
	suiteConfig(SSL_RSA_WITH_RC4_128_SHA)(cc, sc)
	sc.Certificates = []Certificate{l.rsa512}
	if _, _, cerr, _ := handshakePair(t, cc, sc); cerr == nil {
		t.Fatal("512-bit key accepted on a non-export RSA suite")
	}
}

func TestSmallRSAInteroperatesWithCryptoRSA(t *testing.T) {
	// At 1024 bits both crypto/rsa and the math/big path work: each
	// decrypts what the other encrypts.
	k := mustKey(t, 1024)
	small := &smallRSAKey{pub: k.PublicKey, d: k.D}
	msg := []byte("forty-eight bytes of pre-master secret, or so..")
	ct, err := encryptPKCS1v15Big(rand.Reader, &k.PublicKey, msg)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := k.Decrypt(rand.Reader, ct, nil); err != nil || !bytes.Equal(pt, msg) {
		t.Fatalf("crypto/rsa: %q, %v", pt, err)
	}
	ct2, _ := encryptPKCS1v15(rand.Reader, &k.PublicKey, msg)
	if pt, err := small.Decrypt(rand.Reader, ct2, nil); err != nil || !bytes.Equal(pt, msg) {
		t.Fatalf("smallRSAKey: %q, %v", pt, err)
	}
	// Bad padding, wrong length, c >= n. The bad padding is built, not
	// drawn: a ciphertext with a flipped bit decrypts to a random block,
	// which is PKCS #1 conformant about once in 2^17.
	bad := tokentest.NotBlockType2(t, &k.PublicKey, len(ct2))
	for name, c := range map[string][]byte{"bad padding": bad, "short": ct2[1:], "c >= n": bytes.Repeat([]byte{0xff}, len(ct2))} {
		if _, err := small.Decrypt(rand.Reader, c, nil); err == nil {
			t.Errorf("%s ciphertext decrypted", name)
		}
	}
	// 512 bits through the same path, as the handshake uses it.
	k512, _ := generateSmallRSAKey(rand.Reader, 512)
	ct, err = encryptPKCS1v15(rand.Reader, &k512.pub, msg)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := k512.Decrypt(rand.Reader, ct, nil); err != nil || !bytes.Equal(pt, msg) {
		t.Fatalf("512-bit: %q, %v", pt, err)
	}
	if _, err := encryptPKCS1v15(rand.Reader, &k512.pub, make([]byte, 64-10)); err == nil {
		t.Fatal("message longer than k-11 encrypted")
	}
}

func TestCheckExportRSAKey(t *testing.T) {
	k, _ := generateSmallRSAKey(rand.Reader, 512)
	n := k.pub.N
	tests := []struct {
		name string
		n, e *big.Int
		want alert
	}{
		{"ok", n, big.NewInt(65537), 0},
		{"e = 3", n, big.NewInt(3), 0},
		{"513 bits", new(big.Int).Lsh(n, 1).Add(new(big.Int).Lsh(n, 1), big.NewInt(1)), big.NewInt(65537), alertHandshakeFailure},
		{"even modulus", new(big.Int).Add(n, big.NewInt(1)), big.NewInt(65537), alertIllegalParameter},
		{"e = 1", n, big.NewInt(1), alertIllegalParameter},
		{"even e", n, big.NewInt(65536), alertIllegalParameter},
		{"huge e", n, new(big.Int).Lsh(big.NewInt(1), 40).Add(new(big.Int).Lsh(big.NewInt(1), 40), big.NewInt(1)), alertIllegalParameter},
	}
	for _, tt := range tests {
		pub, a, err := checkExportRSAKey(tt.n, tt.e)
		if tt.want == 0 {
			if err != nil || pub.E != int(tt.e.Int64()) {
				t.Errorf("%s: %v", tt.name, err)
			}
		} else if err == nil || a != tt.want {
			t.Errorf("%s: got %v (%v), want %v", tt.name, a, err, tt.want)
		}
	}
}

func TestBuiltinGroups(t *testing.T) {
	for _, tt := range []struct {
		name  string
		group *token.DHParams
		bits  int
	}{{"RFC 3526 group 14", RFC3526Group14(), 2048}, {"RFC 2409 group 2", RFC2409Group2(), 1024}, {"export 512", ExportDHGroup512(), 512}} {
		t.Run(tt.name, func(t *testing.T) {
			p, q := tt.group.P, tt.group.Q
			if p.BitLen() != tt.bits || tt.group.G.Int64() != 2 {
				t.Fatalf("%d bits, g = %v", p.BitLen(), tt.group.G)
			}
			if new(big.Int).Add(new(big.Int).Lsh(q, 1), big.NewInt(1)).Cmp(p) != 0 {
				t.Fatal("q != (p-1)/2")
			}
			if !p.ProbablyPrime(32) || !q.ProbablyPrime(32) {
				t.Fatal("not a safe prime")
			}
			if new(big.Int).Exp(tt.group.G, q, p).Cmp(big.NewInt(1)) != 0 {
				t.Fatal("g does not generate the order-q subgroup")
			}
			// Accessors return copies.
			tt.group.P.SetInt64(7)
		})
	}
	if RFC3526Group14().P.BitLen() != 2048 {
		t.Fatal("accessor returned shared state")
	}
}

func TestDHPrivateExponents(t *testing.T) {
	x942 := x942Group()
	for _, tt := range []struct {
		group   *token.DHParams
		maxBits int
	}{{RFC3526Group14(), 256}, {RFC2409Group2(), 256}, {ExportDHGroup512(), 160}, {x942, 160}} {
		// dhExp pads every exponent to this public length, no more.
		if got := new(big.Int).Sub(dhExponentLimit(tt.group), big.NewInt(1)).BitLen(); got != tt.maxBits {
			t.Errorf("%d-bit group: exponents padded to %d bits, want %d", tt.group.P.BitLen(), got, tt.maxBits)
		}
		for i := 0; i < 20; i++ {
			x, y, err := generateDHKey(rand.Reader, tt.group)
			if err != nil {
				t.Fatal(err)
			}
			if x.BitLen() > tt.maxBits || x.Cmp(big.NewInt(2)) < 0 || tt.group.Q != nil && x.Cmp(tt.group.Q) >= 0 {
				t.Fatalf("%d-bit group: exponent of %d bits", tt.group.P.BitLen(), x.BitLen())
			}
			if new(big.Int).Exp(tt.group.G, x, tt.group.P).Cmp(y) != 0 {
				t.Fatal("y != g^x")
			}
			if _, err := checkDHPublic(y, tt.group); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Exponent lengths by group size.
	for bits, want := range map[int]int{512: 160, 1024: 256, 2048: 256, 3072: 256, 4096: 384, 8192: 512} {
		if got := dhExponentBits(bits); got != want {
			t.Errorf("dhExponentBits(%d) = %d, want %d", bits, got, want)
		}
	}
}

func TestServerDHGroupConfig(t *testing.T) {
	var c Config
	if g, _ := c.serverDHGroup(false); g.P.Cmp(rfc3526Group14) != 0 {
		t.Fatal("default group is not RFC 3526 group 14")
	}
	if g, _ := c.serverDHGroup(true); g.P.Cmp(exportGroup512) != 0 {
		t.Fatal("default export group is not the built-in 512-bit group")
	}
	c.DHParameters = &token.DHParams{P: big.NewInt(24), G: big.NewInt(2)}
	if _, err := c.serverDHGroup(false); err == nil {
		t.Fatal("even prime accepted")
	}
	if c.minDHBits() != 1024 {
		t.Fatal("default MinDHBits")
	}
}

func ExampleRFC2409Group2() {
	// A server for peers that cannot use DH groups over 1024 bits.
	config := &Config{DHParameters: RFC2409Group2()}
	fmt.Println(config.DHParameters.P.BitLen())
	// Output: 1024
}
