package ssl

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"errors"
	"reflect"
	"testing"

	"golang.org/x/crypto/cryptobyte"
)

var ecdheSuites = []uint16{TLS_ECDHE_RSA_WITH_RC4_128_SHA, TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA,
	TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA}

// ecExt builds one extension for the tables below.
func ecExt(typ uint16, data ...byte) extension { return extension{typ, data} }

// TestECDHEClientHelloEligibility: which ClientHello extensions let the
// server pick ECDHE, and on which curve (crypto/tls's ecdheOK).
func TestECDHEClientHelloEligibility(t *testing.T) {
	curves := func(ids ...uint16) extension {
		b := []byte{byte(2 * len(ids) >> 8), byte(2 * len(ids))}
		for _, id := range ids {
			b = append(b, byte(id>>8), byte(id))
		}
		return extension{extensionSupportedCurves, b}
	}
	tests := []struct {
		name  string
		exts  []extension
		raw   []byte // instead of exts: a block that is not an extensions block
		curve uint16
	}{
		{"no extensions", nil, nil, 0},
		{"renegotiation_info only", []extension{renegotiationInfoExtension(nil)}, nil, 0},
		{"P-256 and uncompressed", []extension{curves(23), ecExt(11, 1, 0)}, nil, curveP256},
		{"P-384 only", []extension{curves(24), ecExt(11, 1, 0)}, nil, curveP384},
		{"client prefers P-384: ours wins", []extension{curves(24, 23), ecExt(11, 1, 0)}, nil, curveP256},
		{"curves without point formats: uncompressed implied", []extension{curves(25, 23)}, nil, curveP256},
		{"point formats without curves", []extension{ecExt(11, 1, 0)}, nil, 0},
		{"no common curve (P-521, x25519)", []extension{curves(25, 29), ecExt(11, 1, 0)}, nil, 0},
		{"compressed points only", []extension{curves(23), ecExt(11, 2, 1, 2)}, nil, 0},
		{"uncompressed among others", []extension{curves(23), ecExt(11, 3, 1, 2, 0)}, nil, curveP256},
		{"curves list odd length", []extension{ecExt(10, 0, 3, 0, 23, 0), ecExt(11, 1, 0)}, nil, 0},
		{"curves list empty", []extension{ecExt(10, 0, 0), ecExt(11, 1, 0)}, nil, 0},
		{"curves trailing byte", []extension{ecExt(10, 0, 2, 0, 23, 9), ecExt(11, 1, 0)}, nil, 0},
		{"point formats empty", []extension{curves(23), ecExt(11, 0)}, nil, 0},
		{"point formats short", []extension{curves(23), ecExt(11, 2, 0)}, nil, 0},
		{"not an extensions block", nil, []byte{0, 9, 0, 10}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := tt.raw
			if raw == nil {
				var err error
				if raw, err = marshalExtensions(tt.exts); err != nil {
					t.Fatal(err)
				}
			}
			m := &clientHelloMsg{vers: VersionSSL30, random: make([]byte, 32), cipherSuites: ecdheSuites, compressionMethods: []uint8{0}, extensions: raw}
			data, err := m.marshal()
			if err != nil {
				t.Fatal(err)
			}
			var ch clientHelloMsg
			if !ch.unmarshal(data) {
				t.Fatal("ClientHello refused")
			}
			if got := ecdheCurveFor(&ch); got != tt.curve {
				t.Fatalf("curve %d, want %d (curves %v, points %v)", got, tt.curve, ch.ecCurves, ch.ecPointFormats)
			}
			for _, id := range ecdheSuites {
				s := suiteByID(id)
				if s.ka(s).clientHelloFits(&ch) != (tt.curve != 0) {
					t.Fatalf("%s: clientHelloFits disagrees", s.name)
				}
			}
			for _, id := range []uint16{TLS_RSA_WITH_AES_128_CBC_SHA, TLS_DHE_RSA_WITH_AES_256_CBC_SHA, TLS_DH_anon_WITH_AES_128_CBC_SHA} {
				if s := suiteByID(id); !s.ka(s).clientHelloFits(&ch) {
					t.Fatalf("%s refused a hello it does not depend on", s.name)
				}
			}
		})
	}
}

// TestClientOffersECExtensionsOnlyWithECDHE: our ClientHello carries the
// two extensions exactly when an ECDHE suite is offered.
func TestClientOffersECExtensionsOnlyWithECDHE(t *testing.T) {
	for _, tt := range []struct {
		suites []uint16
		want   bool
	}{
		{[]uint16{TLS_RSA_WITH_AES_128_CBC_SHA, SSL_RSA_WITH_3DES_EDE_CBC_SHA}, false},
		{[]uint16{TLS_RSA_WITH_AES_128_CBC_SHA, TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA}, true},
		{nil, true}, // the defaults include ECDHE
	} {
		cc := clientConfig(t)
		cc.CipherSuites = tt.suites
		hs := clientHandshakeState{c: &Conn{config: cc, isClient: true}}
		if err := hs.makeClientHello(); err != nil {
			t.Fatal(err)
		}
		exts, ok := parseExtensions(hs.hello.extensions)
		_, curves := exts[extensionSupportedCurves]
		_, points := exts[extensionECPointFormats]
		if !ok || curves != tt.want || points != tt.want || (len(exts) != 0) != tt.want {
			t.Fatalf("suites %04x: extensions %x", tt.suites, hs.hello.extensions)
		}
		if tt.want && (!reflect.DeepEqual(hs.hello.ecCurves, ecdheCurves) || !bytes.Equal(hs.hello.ecPointFormats, []byte{0})) {
			t.Fatalf("parsed %v %v", hs.hello.ecCurves, hs.hello.ecPointFormats)
		}
	}
}

// TestECDHEHandshake: every ECDHE suite, with client authentication and
// resumption; the ServerHello of the full handshake echoes ec_point_formats
// (RFC 4492 §5.2).
func TestECDHEHandshake(t *testing.T) {
	for _, id := range ecdheSuites {
		t.Run(CipherSuiteName(id), func(t *testing.T) {
			setup := func(cc, sc *Config) {
				cc.CipherSuites, sc.CipherSuites = []uint16{id}, []uint16{id}
				cc.Certificates = []Certificate{testCerts(t).client}
				sc.ClientAuth, sc.ClientCAs = RequireAndVerifyClientCert, testCerts(t).roots
			}
			cc, sc := clientConfig(t), serverConfig(t)
			setup(cc, sc)
			cc.ClientSessionCache = NewLRUClientSessionCache(2)
			var helloExts [][]byte
			row := hostileRow{dir: toClient, target: int(typeServerHello), act: func(msg []byte) []chunk {
				var sh serverHelloMsg
				sh.unmarshal(msg)
				helloExts = append(helloExts, sh.extensions)
				return []chunk{{recordTypeHandshake, msg}}
			}, config: setup}
			if _, cerr, serr := runHostile(t, &row); cerr != nil || serr != nil {
				t.Fatalf("client %v, server %v", cerr, serr)
			}
			exts, _ := parseExtensions(helloExts[0])
			if !bytes.Equal(exts[extensionECPointFormats], []byte{1, 0}) || len(exts) != 2 { // and renegotiation_info
				t.Fatalf("ServerHello extensions %x", helloExts[0])
			}
			c1, s1 := mustHandshake(t, cc, sc)
			if st := s1.ConnectionState(); st.CipherSuite != id || len(st.PeerCertificates) == 0 {
				t.Fatalf("state %+v", st)
			}
			echoCheck(t, c1, s1, []byte("ecdhe"))
			c1.Close()
			c2, s2, cerr, serr := handshakePairResuming(t, cc, sc, c1)
			if cerr != nil || serr != nil || !c2.ConnectionState().DidResume {
				t.Fatalf("resumption: client %v, server %v", cerr, serr)
			}
			echoCheck(t, c2, s2, []byte("resumed"))
		})
	}
}

// namedAlert returns the alert an exchange's error names (withAlert).
func namedAlert(err error) (alert, bool) {
	var ae *alertErr
	if errors.As(err, &ae) {
		return ae.alert, true
	}
	return 0, false
}

// rewriteHelloExtensions replaces the ClientHello's extensions block.
func rewriteHelloExtensions(raw []byte) func([]byte) []chunk {
	return func(msg []byte) []chunk {
		var ch clientHelloMsg
		if !ch.unmarshal(msg) {
			panic("test: bad ClientHello")
		}
		ch.extensions = raw
		out, err := ch.marshal()
		if err != nil {
			panic(err)
		}
		return []chunk{{recordTypeHandshake, out}}
	}
}

// TestECDHERefusedWithoutExtensions: a client that offers only ECDHE
// suites but whose hello lacks the extensions (or a common curve) gets
// handshake_failure; offering AES as well, it gets AES.
func TestECDHERefusedWithoutExtensions(t *testing.T) {
	noCommon, _ := marshalExtensions([]extension{ecExt(10, 0, 2, 0, 25), ecExt(11, 1, 0)})
	compressed, _ := marshalExtensions([]extension{ecExt(10, 0, 2, 0, 23), ecExt(11, 1, 1)})
	for _, tt := range []struct {
		name string
		raw  []byte
	}{{"no extensions", nil}, {"no common curve", noCommon}, {"compressed points only", compressed}} {
		t.Run(tt.name, func(t *testing.T) {
			hostileAlert(t, hostileRow{dir: toServer, target: int(typeClientHello), act: rewriteHelloExtensions(tt.raw),
				config: suiteConfig(TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA)}, alertHandshakeFailure)
		})
	}
	// Unmodified (the server then sees no ECDHE offer at all): the server
	// picks the next suite, whatever its order.
	cc, sc := clientConfig(t), serverConfig(t)
	cc.CipherSuites = []uint16{TLS_RSA_WITH_AES_128_CBC_SHA}
	sc.CipherSuites = []uint16{TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, TLS_RSA_WITH_AES_128_CBC_SHA}
	c, _, cerr, serr := handshakePair(t, cc, sc)
	if cerr != nil || serr != nil || c.ConnectionState().CipherSuite != TLS_RSA_WITH_AES_128_CBC_SHA {
		t.Fatalf("client %v, server %v", cerr, serr)
	}
}

// TestECDHEServerKeyExchangeChecks runs the client's half on signed
// ServerKeyExchange bodies: only a named, offered curve with an
// uncompressed point on it is taken.
func TestECDHEServerKeyExchangeChecks(t *testing.T) {
	p := testCerts(t)
	leaf, err := p.server.leaf()
	if err != nil {
		t.Fatal(err)
	}
	cr, sr := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	k256, _ := ecdh.P256().GenerateKey(rand.Reader)
	k521, _ := ecdh.P521().GenerateKey(rand.Reader)
	good := k256.PublicKey().Bytes()
	compressed := append([]byte{2 + good[64]&1}, good[1:33]...)
	offCurve := bytes.Clone(good)
	offCurve[64] ^= 1
	signed := func(params []byte) []byte {
		body, err := signServerParams(rand.Reader, p.serverKey, cr, sr, params)
		if err != nil {
			t.Fatal(err)
		}
		return body
	}
	named := func(curve uint16, point []byte) []byte {
		b, err := marshalServerECDHParams(curve, point)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	explicit := append([]byte{1}, named(23, good)[1:]...) // explicit_prime curve type
	tests := []struct {
		name string
		body []byte
		want alert // 0: accepted
	}{
		{"P-256", signed(named(23, good)), 0},
		{"P-521 not offered", signed(named(25, k521.PublicKey().Bytes())), alertIllegalParameter},
		{"compressed point", signed(named(23, compressed)), alertIllegalParameter},
		{"point off the curve", signed(named(23, offCurve)), alertIllegalParameter},
		{"P-256 point for P-384", signed(named(24, good)), alertIllegalParameter},
		{"point at infinity", signed(named(23, []byte{0})), alertIllegalParameter},
		{"explicit curve", signed(explicit), alertIllegalParameter},
		{"bad signature", append(named(23, good), 0, 2, 1, 2), alertHandshakeFailure},
		{"signature trailing byte", append(signed(named(23, good)), 0), alertIllegalParameter},
		{"truncated", named(23, good)[:10], alertIllegalParameter},
	}
	s := suiteByID(TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ka := s.ka(s)
			err := ka.processServerKeyExchange(clientConfig(t), &clientHelloMsg{random: cr}, &serverHelloMsg{random: sr}, leaf, &serverKeyExchangeMsg{key: tt.body})
			if tt.want == 0 {
				if err != nil {
					t.Fatal(err)
				}
				pre, ckx, err := ka.generateClientKeyExchange(clientConfig(t), nil, leaf, nil)
				if err != nil || len(pre) != 32 {
					t.Fatalf("%v (%d-byte pre-master)", err, len(pre))
				}
				// The server's side of the same exchange agrees.
				pt, ok := parseClientECDHPublic(ckx.ciphertext)
				pub, err := ecdh.P256().NewPublicKey(pt)
				if !ok || err != nil {
					t.Fatal("client sent no uncompressed point")
				}
				if shared, _ := k256.ECDH(pub); !bytes.Equal(shared, pre) {
					t.Fatal("pre-master secrets differ")
				}
				return
			}
			if a, ok := namedAlert(err); !ok || a != tt.want {
				t.Fatalf("err %v, want alert %v", err, tt.want)
			}
		})
	}
	t.Run("no ServerKeyExchange", func(t *testing.T) {
		_, _, err := s.ka(s).generateClientKeyExchange(clientConfig(t), nil, leaf, nil)
		if a, ok := namedAlert(err); !ok || a != alertUnexpectedMessage {
			t.Fatalf("err %v", err)
		}
	})
}

// TestECDHEClientKeyExchangeChecks: the server takes exactly one
// uncompressed point on its curve.
func TestECDHEClientKeyExchangeChecks(t *testing.T) {
	p := testCerts(t)
	s := suiteByID(TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA)
	ka := s.ka(s)
	ch := &clientHelloMsg{random: make([]byte, 32), ecCurves: []uint16{23}}
	if _, err := ka.generateServerKeyExchange(serverConfig(t), &p.server, ch, &serverHelloMsg{random: make([]byte, 32)}); err != nil {
		t.Fatal(err)
	}
	k, _ := ecdh.P256().GenerateKey(rand.Reader)
	k384, _ := ecdh.P384().GenerateKey(rand.Reader)
	vec := func(b []byte) []byte { return append([]byte{byte(len(b))}, b...) }
	good := k.PublicKey().Bytes()
	for _, tt := range []struct {
		name string
		body []byte
		ok   bool
	}{
		{"good", vec(good), true},
		{"empty", nil, false},
		{"empty point", vec(nil), false},
		{"trailing byte", append(vec(good), 0), false},
		{"short vector", vec(good)[:40], false},
		{"compressed", vec(append([]byte{2 + good[64]&1}, good[1:33]...)), false},
		{"P-384 point", vec(k384.PublicKey().Bytes()), false},
	} {
		pre, err := ka.processClientKeyExchange(serverConfig(t), &p.server, ch, nil, &clientKeyExchangeMsg{ciphertext: tt.body})
		if tt.ok != (err == nil) {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if a, isAlert := namedAlert(err); err != nil && (!isAlert || a != alertIllegalParameter) {
			t.Fatalf("%s: %v, want illegal_parameter", tt.name, err)
		}
		if tt.ok && len(pre) != 32 {
			t.Fatalf("%s: pre-master %d bytes", tt.name, len(pre))
		}
	}
}

// FuzzECDHEServerKeyExchange: the parser never panics, and what it accepts
// re-encodes to the same bytes.
func FuzzECDHEServerKeyExchange(f *testing.F) {
	k, _ := ecdh.P256().GenerateKey(rand.Reader)
	params, _ := marshalServerECDHParams(23, k.PublicKey().Bytes())
	f.Add(append(params, 0, 2, 1, 2))
	f.Add(params)
	f.Add([]byte{3, 0, 23, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, body []byte) {
		curve, point, params, sig, ok := parseECDHEServerKeyExchange(body)
		if !ok {
			return
		}
		again, err := marshalServerECDHParams(curve, point)
		if err != nil || !bytes.Equal(again, params) {
			t.Fatalf("params %x re-encode as %x (%v)", params, again, err)
		}
		var b cryptobyte.Builder
		b.AddBytes(params)
		addVec16(&b, "sig", sig, 0, maxUint16Vec)
		if out, _ := b.Bytes(); !bytes.Equal(out, body) {
			t.Fatal("body does not re-encode")
		}
	})
}

// FuzzClientECDHPublic: ClientECDiffieHellmanPublic parsing.
func FuzzClientECDHPublic(f *testing.F) {
	f.Add([]byte{1, 4})
	f.Add([]byte{})
	f.Add([]byte{2, 4})
	f.Fuzz(func(t *testing.T, body []byte) {
		point, ok := parseClientECDHPublic(body)
		if ok && (len(point) == 0 || !bytes.Equal(append([]byte{byte(len(point))}, point...), body)) {
			t.Fatalf("accepted %x as %x", body, point)
		}
	})
}

// FuzzECExtensions: the ClientHello extension reader never panics and
// yields only well-formed lists.
func FuzzECExtensions(f *testing.F) {
	raw, _ := marshalExtensions(ecdheClientExtensions())
	f.Add(raw)
	f.Add([]byte{0, 8, 0, 10, 0, 4, 0, 2, 0, 23, 0, 11})
	f.Fuzz(func(t *testing.T, raw []byte) {
		exts, ok := parseExtensions(raw)
		if !ok {
			return
		}
		curves, points := parseECExtensions(exts)
		if curves != nil && len(curves) == 0 {
			t.Fatal("empty curve list accepted")
		}
		if _, present := exts[extensionECPointFormats]; present != (points != nil) {
			t.Fatal("point formats presence lost")
		}
	})
}
