package ssl

import (
	"bytes"
	"crypto/dsa"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/tokenssl/tokenssl/internal/recordproxy"
	"github.com/tokenssl/tokenssl/kea"
	"github.com/tokenssl/tokenssl/kea/skipjack"
	"github.com/tokenssl/tokenssl/token"
	"github.com/tokenssl/tokenssl/x509legacy"
)

// fortezzaPKI is a DSA CA with a server and a client software card.
type fortezzaPKI struct {
	caDER          []byte
	roots          *x509.CertPool
	server, client *token.SoftwareFortezzaCard
	serverCert     Certificate // KEA certificate + CA
	clientCert     Certificate // DSS certificate + CA
}

var (
	fortezzaPKIOnce sync.Once
	fortezzaPKIVal  *fortezzaPKI
	fortezzaPKIErr  error
)

func newFortezzaCard(params *kea.Params, ca *x509legacy.Certificate, caKey *dsa.PrivateKey, cn string) (*token.SoftwareFortezzaCard, []byte, []byte, error) {
	k, err := kea.GenerateKey(nil, params)
	if err != nil {
		return nil, nil, nil, err
	}
	dss := &dsa.PrivateKey{PublicKey: dsa.PublicKey{Parameters: dsa.Parameters{P: params.P, Q: params.Q, G: params.G}}}
	if err := dsa.GenerateKey(dss, rand.Reader); err != nil {
		return nil, nil, nil, err
	}
	tmpl := &x509legacy.Template{Subject: pkix.Name{CommonName: cn}}
	keaDER, err := x509legacy.CreateKEACertificate(nil, tmpl, params.DSAParameters(), k.Y, ca, caKey)
	if err != nil {
		return nil, nil, nil, err
	}
	dssDER, err := x509legacy.CreateDSACertificate(nil, tmpl, &dss.PublicKey, ca, caKey)
	if err != nil {
		return nil, nil, nil, err
	}
	return &token.SoftwareFortezzaCard{KEA: k, DSS: dss, KEACert: keaDER}, keaDER, dssDER, nil
}

func testFortezzaPKI(t testing.TB) *fortezzaPKI {
	t.Helper()
	fortezzaPKIOnce.Do(func() {
		p := &fortezzaPKI{}
		params := kea.DefaultParams()
		caKey := &dsa.PrivateKey{PublicKey: dsa.PublicKey{Parameters: dsa.Parameters{P: params.P, Q: params.Q, G: params.G}}}
		if fortezzaPKIErr = dsa.GenerateKey(caKey, rand.Reader); fortezzaPKIErr != nil {
			return
		}
		p.caDER, fortezzaPKIErr = x509legacy.CreateCACertificate(nil, &x509legacy.Template{Subject: pkix.Name{CommonName: "Fortezza test CA"}}, caKey)
		if fortezzaPKIErr != nil {
			return
		}
		ca, err := x509legacy.ParseCertificate(p.caDER)
		if err != nil {
			fortezzaPKIErr = err
			return
		}
		caX, err := x509.ParseCertificate(p.caDER)
		if err != nil {
			fortezzaPKIErr = err
			return
		}
		p.roots = x509.NewCertPool()
		p.roots.AddCert(caX)
		var sKEA, cDSS []byte
		if p.server, sKEA, _, fortezzaPKIErr = newFortezzaCard(params, ca, caKey, "fortezza.test"); fortezzaPKIErr != nil {
			return
		}
		if p.client, _, cDSS, fortezzaPKIErr = newFortezzaCard(params, ca, caKey, "fortezza client"); fortezzaPKIErr != nil {
			return
		}
		p.serverCert = Certificate{Certificate: [][]byte{sKEA, p.caDER}, PrivateKey: p.server}
		p.clientCert = Certificate{Certificate: [][]byte{cDSS, p.caDER}, PrivateKey: p.client}
		fortezzaPKIVal = p
	})
	if fortezzaPKIErr != nil {
		t.Fatal(fortezzaPKIErr)
	}
	return fortezzaPKIVal
}

func fortezzaConfigs(t testing.TB, suite uint16, clientAuth bool) (cc, sc *Config) {
	p := testFortezzaPKI(t)
	sc = &Config{Certificates: []Certificate{p.serverCert}, CipherSuites: []uint16{suite}}
	cc = &Config{Certificates: []Certificate{p.clientCert}, RootCAs: p.roots, ServerName: "fortezza.test", CipherSuites: []uint16{suite}}
	if clientAuth {
		sc.ClientAuth = RequireAndVerifyClientCert
		sc.ClientCAs = p.roots
	}
	return cc, sc
}

var fortezzaSuites = []uint16{SSL_FORTEZZA_KEA_WITH_NULL_SHA, SSL_FORTEZZA_KEA_WITH_FORTEZZA_CBC_SHA, SSL_FORTEZZA_KEA_WITH_RC4_128_SHA}

func TestFortezzaSuitesImplemented(t *testing.T) {
	for _, id := range fortezzaSuites {
		if !suiteByID(id).implemented() {
			t.Errorf("%s not implemented", CipherSuiteName(id))
		}
	}
}

func TestFortezzaHandshakeSoftwareCards(t *testing.T) {
	p := testFortezzaPKI(t)
	data := bytes.Repeat([]byte("fortezza "), 4000) // several records
	for _, id := range fortezzaSuites {
		for _, email := range []bool{false, true} {
			for _, auth := range []bool{false, true} {
				name := CipherSuiteName(id)
				if email {
					name += "/email"
				} else {
					name += "/full"
				}
				if auth {
					name += "/clientauth"
				}
				t.Run(name, func(t *testing.T) {
					p.server.EmailMode = email
					defer func() { p.server.EmailMode = false }()
					cc, sc := fortezzaConfigs(t, id, auth)
					client, server := mustHandshake(t, cc, sc)
					if st := client.ConnectionState(); st.CipherSuite != id {
						t.Fatalf("negotiated %s", CipherSuiteName(st.CipherSuite))
					}
					if auth && len(server.ConnectionState().PeerCertificates) == 0 {
						t.Fatal("server saw no client certificate")
					}
					echoCheck(t, client, server, data)
					if n := p.server.LiveObjects() + p.client.LiveObjects(); n != 0 {
						t.Fatalf("%d card objects left after the handshake", n)
					}
				})
			}
		}
	}
}

func TestFortezzaCBCNotResumed(t *testing.T) {
	// One listener for every connection: the client's session cache is
	// keyed by the server's address.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, id := range fortezzaSuites {
		cc, sc := fortezzaConfigs(t, id, false)
		cc.ClientSessionCache = NewLRUClientSessionCache(4)
		for i := 0; i < 2; i++ {
			craw, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			sraw, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(20 * time.Second)
			craw.SetDeadline(deadline)
			sraw.SetDeadline(deadline)
			client, server := Client(craw, cc), Server(sraw, sc)
			if cerr, serr := handshakeBoth(client, server); cerr != nil || serr != nil {
				t.Fatalf("%s: handshake %d: client %v, server %v", CipherSuiteName(id), i, cerr, serr)
			}
			echoCheck(t, client, server, []byte("hello"))
			st := client.ConnectionState()
			if want := i == 1 && id != SSL_FORTEZZA_KEA_WITH_FORTEZZA_CBC_SHA; st.DidResume != want {
				t.Errorf("%s: handshake %d: DidResume = %v, want %v", CipherSuiteName(id), i, st.DidResume, want)
			}
			server.Close()
			client.Close()
		}
	}
}

func TestFortezzaKeysRoundTrip(t *testing.T) {
	fk := &fortezzaKeys{
		yc: bytes.Repeat([]byte{1}, 128), rc: bytes.Repeat([]byte{2}, 128), ySignature: make([]byte, 40),
		wrappedClientKey: make([]byte, 12), wrappedServerKey: make([]byte, 12),
		clientIV: make([]byte, 24), serverIV: make([]byte, 24), masterIV: make([]byte, 24),
		encryptedPreMaster: make([]byte, 48),
	}
	b, err := fk.marshal()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 1+128+312 {
		t.Fatalf("FortezzaKeys is %d bytes, want %d", len(b), 1+128+312)
	}
	got, ok := parseFortezzaKeys(b)
	if !ok || !bytes.Equal(got.yc, fk.yc) || !bytes.Equal(got.rc, fk.rc) {
		t.Fatal("round trip failed")
	}
	for _, bad := range [][]byte{b[:len(b)-1], append(bytes.Clone(b), 0), {129}, nil} {
		if _, ok := parseFortezzaKeys(bad); ok {
			t.Errorf("accepted %d bytes", len(bad))
		}
	}
	fk.yc = make([]byte, 129)
	if _, err := fk.marshal(); err == nil {
		t.Error("marshalled a 129-byte y_c")
	}
}

// ckxOffsets are the byte offsets of the FortezzaKeys fields after y_c.
const (
	offRC       = 0
	offYSig     = offRC + 128
	offWrappedC = offYSig + 40
	offWrappedS = offWrappedC + 12
	offClientIV = offWrappedS + 12
	offServerIV = offClientIV + 24
	offMasterIV = offServerIV + 24
	offEPMS     = offMasterIV + 24
)

// mutateCKX runs a handshake through a proxy that rewrites the client's
// ClientKeyExchange body with mutate, and returns the server's error.
func mutateCKX(t *testing.T, cc, sc *Config, mutate func(body []byte) []byte) error {
	t.Helper()
	craw, sraw, _ := recordproxy.Pipe(t, recordproxy.RewriteMessage(recordproxy.ToServer, typeClientKeyExchange, mutate))
	client, server := Client(craw, cc), Server(sraw, sc)
	errc := make(chan error, 1)
	go func() { errc <- client.Handshake(); craw.Close() }()
	serr := server.Handshake()
	sraw.Close()
	<-errc
	return serr
}

func alertOf(err error) (alert, bool) {
	var ae *AlertError
	if errors.As(err, &ae) && ae.Sent {
		return alert(ae.Alert), true
	}
	return 0, false
}

func TestFortezzaKeysRejected(t *testing.T) {
	p := testFortezzaPKI(t)
	params := kea.DefaultParams()
	pm1 := new(big.Int).Sub(params.P, big.NewInt(1))
	notInGroup := big.NewInt(2) // 2^q mod p != 1 for this group (checked below)
	if new(big.Int).Exp(notInGroup, params.Q, params.P).Cmp(big.NewInt(1)) == 0 {
		t.Fatal("2 is in the subgroup")
	}
	setValue := func(dst []byte, v *big.Int) { v.FillBytes(dst) }
	ycLen := func(b []byte) int { return int(b[0]) }
	fixed := func(b []byte) []byte { return b[1+ycLen(b):] }
	flip := func(off int) func([]byte) []byte {
		return func(b []byte) []byte { fixed(b)[off] ^= 0x01; return b }
	}

	cases := []struct {
		name   string
		suite  uint16
		auth   bool
		mutate func([]byte) []byte
		want   alert
	}{
		{"truncated", SSL_FORTEZZA_KEA_WITH_NULL_SHA, false, func(b []byte) []byte { return b[:len(b)-1] }, alertIllegalParameter},
		{"trailing byte", SSL_FORTEZZA_KEA_WITH_NULL_SHA, false, func(b []byte) []byte { return append(b, 0) }, alertIllegalParameter},
		{"y_c length 129", SSL_FORTEZZA_KEA_WITH_NULL_SHA, false, func(b []byte) []byte {
			return append([]byte{129}, append(append(bytes.Clone(b[1:1+ycLen(b)]), 0), fixed(b)...)...)
		}, alertIllegalParameter},
		{"y_c length overruns", SSL_FORTEZZA_KEA_WITH_NULL_SHA, false, func(b []byte) []byte { b[0] = 0xff; return b }, alertIllegalParameter},
		{"empty y_c without certificate", SSL_FORTEZZA_KEA_WITH_NULL_SHA, false, func(b []byte) []byte { return append([]byte{0}, fixed(b)...) }, alertIllegalParameter},
		{"empty y_c with DSS certificate", SSL_FORTEZZA_KEA_WITH_NULL_SHA, true, func(b []byte) []byte { return append([]byte{0}, fixed(b)...) }, alertIllegalParameter},
		{"y_c = 1", SSL_FORTEZZA_KEA_WITH_NULL_SHA, false, func(b []byte) []byte { setValue(b[1:1+ycLen(b)], big.NewInt(1)); return b }, alertIllegalParameter},
		{"y_c = p-1", SSL_FORTEZZA_KEA_WITH_NULL_SHA, false, func(b []byte) []byte { setValue(b[1:1+ycLen(b)], pm1); return b }, alertIllegalParameter},
		{"y_c not in subgroup", SSL_FORTEZZA_KEA_WITH_NULL_SHA, false, func(b []byte) []byte { setValue(b[1:1+ycLen(b)], notInGroup); return b }, alertIllegalParameter},
		{"r_c = 0", SSL_FORTEZZA_KEA_WITH_NULL_SHA, false, func(b []byte) []byte { clear(fixed(b)[offRC:offYSig]); return b }, alertIllegalParameter},
		{"r_c = 1", SSL_FORTEZZA_KEA_WITH_NULL_SHA, false, func(b []byte) []byte { setValue(fixed(b)[offRC:offYSig], big.NewInt(1)); return b }, alertIllegalParameter},
		{"r_c = p", SSL_FORTEZZA_KEA_WITH_NULL_SHA, false, func(b []byte) []byte { setValue(fixed(b)[offRC:offYSig], params.P); return b }, alertIllegalParameter},
		{"r_c not in subgroup", SSL_FORTEZZA_KEA_WITH_NULL_SHA, false, func(b []byte) []byte { setValue(fixed(b)[offRC:offYSig], notInGroup); return b }, alertIllegalParameter},
		{"y_signature tampered", SSL_FORTEZZA_KEA_WITH_NULL_SHA, true, flip(offYSig + 5), alertIllegalParameter},
		{"y_signature zero", SSL_FORTEZZA_KEA_WITH_NULL_SHA, true, func(b []byte) []byte { clear(fixed(b)[offYSig:offWrappedC]); return b }, alertIllegalParameter},
		{"y_c swapped under a signature", SSL_FORTEZZA_KEA_WITH_NULL_SHA, true, func(b []byte) []byte { b[1+20] ^= 0x80; return b }, alertIllegalParameter},
		{"wrapped client key checksum", SSL_FORTEZZA_KEA_WITH_FORTEZZA_CBC_SHA, false, flip(offWrappedC + 11), alertIllegalParameter},
		{"wrapped server key checksum", SSL_FORTEZZA_KEA_WITH_FORTEZZA_CBC_SHA, false, flip(offWrappedS + 10), alertIllegalParameter},
		// The rest is caught cryptographically: a wrong PMS or client IV
		// breaks the MAC of the client's Finished record; the server's IV
		// only ever decrypts the discarded prefix, so a change to it is
		// caught by the Finished hash over the handshake messages.
		{"client_write_iv", SSL_FORTEZZA_KEA_WITH_FORTEZZA_CBC_SHA, false, flip(offClientIV + 20), alertBadRecordMAC},
		{"server_write_iv", SSL_FORTEZZA_KEA_WITH_FORTEZZA_CBC_SHA, false, flip(offServerIV + 20), alertHandshakeFailure},
		{"master_secret_iv", SSL_FORTEZZA_KEA_WITH_FORTEZZA_CBC_SHA, false, flip(offMasterIV + 20), alertBadRecordMAC},
		{"encrypted_pre_master_secret", SSL_FORTEZZA_KEA_WITH_FORTEZZA_CBC_SHA, false, flip(offEPMS + 47), alertBadRecordMAC},
		{"encrypted_pre_master_secret RC4", SSL_FORTEZZA_KEA_WITH_RC4_128_SHA, false, flip(offEPMS), alertBadRecordMAC},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cc, sc := fortezzaConfigs(t, tc.suite, tc.auth)
			if tc.auth {
				sc.ClientAuth = RequestClientCert
			}
			serr := mutateCKX(t, cc, sc, tc.mutate)
			a, ok := alertOf(serr)
			if !ok || a != tc.want {
				t.Fatalf("server error %v, want alert %v", serr, tc.want)
			}
			// Give the client goroutine time to finish its release.
			deadline := time.Now().Add(2 * time.Second)
			for p.server.LiveObjects()+p.client.LiveObjects() != 0 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if n := p.server.LiveObjects() + p.client.LiveObjects(); n != 0 {
				t.Fatalf("%d card objects leaked", n)
			}
		})
	}
}

func TestFortezzaServerKeyExchangeRejected(t *testing.T) {
	// r_s of the wrong size or outside the group makes the client send
	// illegal_parameter.
	p := testFortezzaPKI(t)
	for _, tc := range []struct {
		name string
		rs   []byte
	}{
		{"zero", make([]byte, 128)},
		{"p-1", new(big.Int).Sub(kea.DefaultParams().P, big.NewInt(1)).FillBytes(make([]byte, 128))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := &badRandomCard{SoftwareFortezzaCard: p.server, rs: tc.rs}
			cc, sc := fortezzaConfigs(t, SSL_FORTEZZA_KEA_WITH_NULL_SHA, false)
			sc.Certificates = []Certificate{{Certificate: p.serverCert.Certificate, PrivateKey: bad}}
			_, _, cerr, _ := handshakePair(t, cc, sc)
			if a, ok := alertOf(cerr); !ok || a != alertIllegalParameter {
				t.Fatalf("client error %v, want illegal_parameter", cerr)
			}
		})
	}
}

type badRandomCard struct {
	*token.SoftwareFortezzaCard
	rs []byte
}

type fixedRandom []byte

func (r fixedRandom) R() []byte      { return r }
func (r fixedRandom) Destroy() error { return nil }

func (c *badRandomCard) ResponderRandom() (token.FortezzaRandom, error) {
	return fixedRandom(c.rs), nil
}

// TestFortezzaWireCarriesSpecValues checks, from the bytes on the wire, that
// the client's records under FORTEZZA_CBC decrypt with the MEK unwrapped
// from wrapped_client_write_key under the TEK, from client_write_iv.
func TestFortezzaWireCarriesSpecValues(t *testing.T) {
	p := testFortezzaPKI(t)
	p.server.EmailMode = true // the server's w needs only x_s: computable here
	defer func() { p.server.EmailMode = false }()
	cc, sc := fortezzaConfigs(t, SSL_FORTEZZA_KEA_WITH_FORTEZZA_CBC_SHA, false)
	var mu sync.Mutex
	var ckx []byte
	err := mutateCKX(t, cc, sc, func(b []byte) []byte {
		mu.Lock()
		ckx = bytes.Clone(b)
		mu.Unlock()
		return b
	})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	fk, ok := parseFortezzaKeys(ckx)
	mu.Unlock()
	if !ok {
		t.Fatal("captured FortezzaKeys does not parse")
	}
	yc := new(big.Int).SetBytes(fk.yc)
	rc := new(big.Int).SetBytes(fk.rc)
	w, err := kea.ResponderSharedValue(p.server.KEA, nil, yc, rc)
	if err != nil {
		t.Fatal(err)
	}
	tek, err := kea.DeriveTEK(w)
	if err != nil {
		t.Fatal(err)
	}
	pms, err := token.NewSoftwareFortezzaCBC(tek, fk.masterIV, false)
	if err != nil {
		t.Fatal(err)
	}
	plain := make([]byte, 48)
	if err := pms.CryptBlocks(plain, fk.encryptedPreMaster); err != nil {
		t.Fatal(err)
	}
	if plain[0] != 3 || plain[1] != 0 {
		t.Errorf("pre-master secret starts %x, want 0300", plain[:2])
	}
	for _, wk := range [][]byte{fk.wrappedClientKey, fk.wrappedServerKey} {
		if _, err := skipjack.UnwrapKey(tek, wk); err != nil {
			t.Errorf("wrapped key does not unwrap under the TEK: %v", err)
		}
	}
	if string(fk.clientIV[:16]) != skipjack.LEAFSuppressed {
		t.Errorf("client_write_iv LEAF = %q", fk.clientIV[:16])
	}
}
