package ssl

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/crypto/cryptobyte"
)

// ---- helpers ------------------------------------------------------------

// hmFrame wraps body in a handshake header of type typ with a correct
// uint24 length.
func hmFrame(typ uint8, body []byte) []byte {
	n := len(body)
	return append([]byte{typ, byte(n >> 16), byte(n >> 8), byte(n)}, body...)
}

// hmBuild returns the bytes written by f, or panics.
func hmBuild(f func(b *cryptobyte.Builder)) []byte {
	var b cryptobyte.Builder
	f(&b)
	return b.BytesOrPanic()
}

func hmFill(n int, c byte) []byte { return bytes.Repeat([]byte{c}, n) }

var hmAllTypes = []uint8{
	typeHelloRequest, typeClientHello, typeServerHello, typeCertificate,
	typeServerKeyExchange, typeCertificateRequest, typeServerHelloDone,
	typeCertificateVerify, typeClientKeyExchange, typeFinished,
}

// hmNormalize returns a copy of the message struct with raw cleared and
// every empty slice made nil, so that a built message and its parse compare
// equal with reflect.DeepEqual.
func hmNormalize(m handshakeMessage) any {
	v := reflect.ValueOf(m).Elem()
	out := reflect.New(v.Type()).Elem()
	out.Set(v)
	for i := 0; i < out.NumField(); i++ {
		f := out.Field(i)
		if out.Type().Field(i).Name == "raw" {
			f = reflect.NewAt(f.Type(), f.Addr().UnsafePointer()).Elem()
			f.Set(reflect.Zero(f.Type()))
			continue
		}
		f = reflect.NewAt(f.Type(), f.Addr().UnsafePointer()).Elem()
		if f.Kind() != reflect.Slice {
			continue
		}
		if f.Len() == 0 {
			f.Set(reflect.Zero(f.Type()))
			continue
		}
		if f.Type().Elem().Kind() == reflect.Slice { // [][]byte
			c := reflect.MakeSlice(f.Type(), f.Len(), f.Len())
			for j := 0; j < f.Len(); j++ {
				if f.Index(j).Len() > 0 {
					c.Index(j).Set(f.Index(j))
				}
			}
			f.Set(c)
		}
	}
	return out.Interface()
}

// hmFixtures are valid messages of every type, used by the tests and as
// fuzz seeds (testdata/fuzz/Fuzz*/ holds their encodings too).
func hmFixtures() []handshakeMessage {
	rnd := hmFill(32, 0x42)
	return []handshakeMessage{
		&helloRequestMsg{},
		&clientHelloMsg{vers: 0x0300, random: rnd, cipherSuites: []uint16{0x0004}, compressionMethods: []uint8{0}},
		&clientHelloMsg{vers: 0x0300, random: rnd, sessionID: hmFill(32, 7),
			cipherSuites: []uint16{0x000a, 0x0005, 0x0004, 0x0013, 0x0016, 0x00ff}, compressionMethods: []uint8{1, 0},
			extensions: []byte{0x00, 0x05, 0xff, 0x01, 0x00, 0x01, 0x00}},
		// ECDHE's supported_curves (P-256, P-384) and ec_point_formats
		// (uncompressed), parsed beside the raw block.
		&clientHelloMsg{vers: 0x0300, random: rnd, cipherSuites: []uint16{0xc013, 0x002f}, compressionMethods: []uint8{0},
			extensions: []byte{0x00, 0x0e, 0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x17, 0x00, 0x18, 0x00, 0x0b, 0x00, 0x02, 0x01, 0x00},
			ecCurves:   []uint16{23, 24}, ecPointFormats: []uint8{0}},
		&serverHelloMsg{vers: 0x0300, random: rnd, sessionID: hmFill(32, 9), cipherSuite: 0x000a},
		&serverHelloMsg{vers: 0x0300, random: rnd, cipherSuite: 0x0004, compressionMethod: 0},
		&certificateMsg{certificates: [][]byte{hmFill(300, 0x30), hmFill(1, 0x31)}},
		&certificateMsg{},
		&serverKeyExchangeMsg{key: hmBuild(func(b *cryptobyte.Builder) {
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(hmFill(64, 0xc1)) })
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte{2}) })
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(hmFill(64, 0xc3)) })
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(hmFill(36, 0x5e)) })
		})},
		&certificateRequestMsg{certificateTypes: []byte{1, 2}, certificateAuthorities: [][]byte{hmFill(20, 0x30), {0x30}}},
		&certificateRequestMsg{certificateTypes: []byte{1}},
		&serverHelloDoneMsg{},
		&certificateVerifyMsg{signature: hmFill(64, 0x5a)},
		&certificateVerifyMsg{},
		&clientKeyExchangeMsg{ciphertext: hmFill(64, 0xee)},
		&clientKeyExchangeMsg{},
		&finishedMsg{verifyData: hmFill(36, 0xf1)},
	}
}

func hmMustMarshal(t testing.TB, m handshakeMessage) []byte {
	t.Helper()
	b, err := m.marshal()
	if err != nil {
		t.Fatalf("%T.marshal: %v", m, err)
	}
	return b
}

// ---- round trips --------------------------------------------------------

func hmRandBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// hmRandLen returns a random vector length in [floor, ceiling], biased
// towards the bounds.
func hmRandLen(r *rand.Rand, floor, ceiling int) int {
	switch r.IntN(4) {
	case 0:
		return floor
	case 1:
		return ceiling
	}
	return floor + r.IntN(ceiling-floor+1)
}

func hmRandMessage(r *rand.Rand, typ uint8) handshakeMessage {
	switch typ {
	case typeHelloRequest:
		return &helloRequestMsg{}
	case typeClientHello:
		m := &clientHelloMsg{vers: uint16(r.Uint32()), random: hmRandBytes(r, 32),
			sessionID:          hmRandBytes(r, hmRandLen(r, 0, 32)),
			compressionMethods: hmRandBytes(r, hmRandLen(r, 1, 255))}
		n := hmRandLen(r, 1, 200)
		if r.IntN(20) == 0 {
			n = maxUint16Vec / 2 // the most suites that fit
		}
		for range n {
			m.cipherSuites = append(m.cipherSuites, uint16(r.Uint32()))
		}
		if r.IntN(2) == 0 {
			m.extensions = hmRandBytes(r, hmRandLen(r, 1, 300))
		}
		return m
	case typeServerHello:
		return &serverHelloMsg{vers: uint16(r.Uint32()), random: hmRandBytes(r, 32),
			sessionID: hmRandBytes(r, hmRandLen(r, 0, 32)), cipherSuite: uint16(r.Uint32()), compressionMethod: uint8(r.Uint32())}
	case typeCertificate:
		m := &certificateMsg{}
		for range r.IntN(5) {
			m.certificates = append(m.certificates, hmRandBytes(r, hmRandLen(r, 1, 3000)))
		}
		return m
	case typeServerKeyExchange:
		return &serverKeyExchangeMsg{key: hmRandBytes(r, hmRandLen(r, 1, 1000))}
	case typeCertificateRequest:
		m := &certificateRequestMsg{certificateTypes: hmRandBytes(r, hmRandLen(r, 1, 255))}
		for range r.IntN(5) {
			m.certificateAuthorities = append(m.certificateAuthorities, hmRandBytes(r, hmRandLen(r, 1, 300)))
		}
		return m
	case typeServerHelloDone:
		return &serverHelloDoneMsg{}
	case typeCertificateVerify:
		return &certificateVerifyMsg{signature: hmRandBytes(r, hmRandLen(r, 0, 600))}
	case typeClientKeyExchange:
		return &clientKeyExchangeMsg{ciphertext: hmRandBytes(r, hmRandLen(r, 0, 600))}
	case typeFinished:
		return &finishedMsg{verifyData: hmRandBytes(r, 36)}
	}
	panic("unknown type")
}

func TestHandshakeRoundTripRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, typ := range hmAllTypes {
		t.Run(handshakeTypeNameForTest(typ), func(t *testing.T) {
			for i := 0; i < 200; i++ {
				m := hmRandMessage(r, typ)
				data := hmMustMarshal(t, m)
				if data[0] != typ {
					t.Fatalf("type byte %d, want %d", data[0], typ)
				}
				if n := int(data[1])<<16 | int(data[2])<<8 | int(data[3]); n != len(data)-4 {
					t.Fatalf("length field %d, body %d", n, len(data)-4)
				}
				got := newHandshakeMessage(typ)
				if !got.unmarshal(data) {
					t.Fatalf("unmarshal(marshal(%+v)) failed", m)
				}
				if !reflect.DeepEqual(hmNormalize(got), hmNormalize(m)) {
					t.Fatalf("round trip mismatch:\n got %+v\nwant %+v", hmNormalize(got), hmNormalize(m))
				}
				if raw := reflect.ValueOf(got).Elem().FieldByName("raw"); raw.IsValid() && !bytes.Equal(raw.Bytes(), data) {
					t.Fatal("raw does not hold the parsed message")
				}
				again := hmMustMarshal(t, got)
				if !bytes.Equal(again, data) {
					t.Fatal("marshal(unmarshal(x)) != x")
				}
				d, ok := unmarshalHandshake(typ, data)
				if !ok || reflect.TypeOf(d) != reflect.TypeOf(m) || !reflect.DeepEqual(hmNormalize(d), hmNormalize(m)) {
					t.Fatalf("unmarshalHandshake = %T, %v", d, ok)
				}
			}
		})
	}
}

// handshakeTypeNameForTest names types for subtests by the Go type of the
// message (the fixtures and hmRandMessage check that mapping on their own).
func handshakeTypeNameForTest(typ uint8) string {
	return reflect.TypeOf(newHandshakeMessage(typ)).Elem().Name()
}

func TestHandshakeKnownEncodings(t *testing.T) {
	for _, tc := range []struct {
		msg  handshakeMessage
		want string
	}{
		{&helloRequestMsg{}, "00000000"},
		{&serverHelloDoneMsg{}, "0e000000"},
		{&clientHelloMsg{vers: 0x0300, random: hmFill(32, 0xaa), sessionID: []byte{1, 2}, cipherSuites: []uint16{0x000a, 0x0005}, compressionMethods: []uint8{0}},
			"0100002d" + "0300" + strings.Repeat("aa", 32) + "020102" + "0004000a0005" + "0100"},
		{&serverHelloMsg{vers: 0x0300, random: hmFill(32, 0xbb), cipherSuite: 0x0004, compressionMethod: 0},
			"02000026" + "0300" + strings.Repeat("bb", 32) + "00" + "0004" + "00"},
		{&certificateMsg{certificates: [][]byte{{0xc0, 0xc1}, {0xc2}}}, "0b00000c" + "000009" + "000002c0c1" + "000001c2"},
		{&certificateMsg{}, "0b000003000000"},
		{&certificateRequestMsg{certificateTypes: []byte{1, 2}, certificateAuthorities: [][]byte{{0xd0}}}, "0d000008" + "020102" + "0003" + "0001d0"},
		{&certificateRequestMsg{certificateTypes: []byte{1}}, "0d000004" + "0101" + "0000"},
		{&serverKeyExchangeMsg{key: []byte{0, 1, 9}}, "0c000003000109"},
		{&clientKeyExchangeMsg{ciphertext: []byte{0xe1, 0xe2}}, "10000002e1e2"},
		{&certificateVerifyMsg{signature: []byte{0x5a}}, "0f000003" + "00015a"},
		{&finishedMsg{verifyData: hmFill(36, 0x11)}, "14000024" + strings.Repeat("11", 36)},
	} {
		got := hmMustMarshal(t, tc.msg)
		if hexStr := hmHex(got); hexStr != tc.want {
			t.Errorf("%T.marshal = %s\nwant            %s", tc.msg, hexStr, tc.want)
		}
	}
}

func hmHex(b []byte) string {
	const digits = "0123456789abcdef"
	var sb strings.Builder
	for _, c := range b {
		sb.WriteByte(digits[c>>4])
		sb.WriteByte(digits[c&15])
	}
	return sb.String()
}

// ---- bounds -------------------------------------------------------------

// hmCH builds a ClientHello body from its parts, so each bound can be
// broken alone.
func hmCH(sessionID, suites, comp, ext []byte) []byte {
	return hmBuild(func(b *cryptobyte.Builder) {
		b.AddUint16(0x0300)
		b.AddBytes(hmFill(32, 0x42))
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(sessionID) })
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(suites) })
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(comp) })
		b.AddBytes(ext)
	})
}

func hmSH(sessionID []byte, tail []byte) []byte {
	return hmBuild(func(b *cryptobyte.Builder) {
		b.AddUint16(0x0300)
		b.AddBytes(hmFill(32, 0x43))
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(sessionID) })
		b.AddUint16(0x0004)
		b.AddUint8(0)
		b.AddBytes(tail)
	})
}

// hmU24, hmU16, hmU8 prefix v with its length.
func hmU24(v []byte) []byte {
	return append([]byte{byte(len(v) >> 16), byte(len(v) >> 8), byte(len(v))}, v...)
}
func hmU16(v []byte) []byte { return append([]byte{byte(len(v) >> 8), byte(len(v))}, v...) }
func hmU8(v []byte) []byte  { return append([]byte{byte(len(v))}, v...) }

func hmCat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestHandshakeUnmarshalBounds(t *testing.T) {
	suite1 := []byte{0, 4}
	null := []byte{0}
	for _, tc := range []struct {
		name string
		typ  uint8
		data []byte
		ok   bool
	}{
		// Framing.
		{"empty input", typeFinished, nil, false},
		{"header only 3 bytes", typeHelloRequest, []byte{0, 0, 0}, false},
		{"wrong msg_type", typeServerHelloDone, hmFrame(typeHelloRequest, nil), false},
		{"length longer than data", typeClientKeyExchange, []byte{16, 0, 0, 3, 1, 2}, false},
		{"length shorter than data", typeClientKeyExchange, []byte{16, 0, 0, 1, 1, 2}, false},
		{"body at maxHandshakeSize", typeClientKeyExchange, hmFrame(typeClientKeyExchange, make([]byte, maxHandshakeSize)), true},
		{"body over maxHandshakeSize", typeClientKeyExchange, hmFrame(typeClientKeyExchange, make([]byte, maxHandshakeSize+1)), false},
		{"certificate over maxHandshakeSize", typeCertificate, hmFrame(typeCertificate, hmU24(hmU24(make([]byte, maxHandshakeSize-3)))), false},

		// HelloRequest, ServerHelloDone: empty bodies.
		{"HelloRequest", typeHelloRequest, hmFrame(typeHelloRequest, nil), true},
		{"HelloRequest with body", typeHelloRequest, hmFrame(typeHelloRequest, []byte{0}), false},
		{"ServerHelloDone", typeServerHelloDone, hmFrame(typeServerHelloDone, nil), true},
		{"ServerHelloDone with body", typeServerHelloDone, hmFrame(typeServerHelloDone, []byte{0}), false},

		// ClientHello.
		{"ClientHello minimal", typeClientHello, hmFrame(typeClientHello, hmCH(nil, suite1, null, nil)), true},
		{"ClientHello session id 32", typeClientHello, hmFrame(typeClientHello, hmCH(hmFill(32, 1), suite1, null, nil)), true},
		{"ClientHello session id 33", typeClientHello, hmFrame(typeClientHello, hmCH(hmFill(33, 1), suite1, null, nil)), false},
		{"ClientHello zero suites", typeClientHello, hmFrame(typeClientHello, hmCH(nil, nil, null, nil)), false},
		{"ClientHello one suite byte", typeClientHello, hmFrame(typeClientHello, hmCH(nil, []byte{4}, null, nil)), false},
		{"ClientHello odd suite bytes", typeClientHello, hmFrame(typeClientHello, hmCH(nil, []byte{0, 4, 0}, null, nil)), false},
		{"ClientHello max suites", typeClientHello, hmFrame(typeClientHello, hmCH(nil, hmFill(65534, 0), null, nil)), true},
		{"ClientHello no compression methods", typeClientHello, hmFrame(typeClientHello, hmCH(nil, suite1, nil, nil)), false},
		{"ClientHello 255 compression methods", typeClientHello, hmFrame(typeClientHello, hmCH(nil, suite1, hmFill(255, 0), nil)), true},
		{"ClientHello with extensions", typeClientHello, hmFrame(typeClientHello, hmCH(nil, suite1, null, []byte{0, 0})), true},
		{"ClientHello one trailing byte kept", typeClientHello, hmFrame(typeClientHello, hmCH(nil, suite1, null, []byte{0xff})), true},
		{"ClientHello short random", typeClientHello, hmFrame(typeClientHello, hmCat([]byte{3, 0}, hmFill(31, 1))), false},
		{"ClientHello version only", typeClientHello, hmFrame(typeClientHello, []byte{3, 0}), false},

		// ServerHello.
		{"ServerHello", typeServerHello, hmFrame(typeServerHello, hmSH(nil, nil)), true},
		{"ServerHello session id 32", typeServerHello, hmFrame(typeServerHello, hmSH(hmFill(32, 2), nil)), true},
		{"ServerHello session id 33", typeServerHello, hmFrame(typeServerHello, hmSH(hmFill(33, 2), nil)), false},
		{"ServerHello trailing byte", typeServerHello, hmFrame(typeServerHello, hmSH(nil, []byte{0})), false},
		// RFC 5746: a well-formed extensions block may follow (renegotiation_info).
		{"ServerHello empty extensions block", typeServerHello, hmFrame(typeServerHello, hmSH(nil, []byte{0, 0})), true},
		{"ServerHello renegotiation_info", typeServerHello, hmFrame(typeServerHello, hmSH(nil, []byte{0, 5, 0xff, 0x01, 0, 1, 0})), true},
		{"ServerHello extensions block short", typeServerHello, hmFrame(typeServerHello, hmSH(nil, []byte{0, 5, 0xff, 0x01})), false},
		{"ServerHello extension data overruns", typeServerHello, hmFrame(typeServerHello, hmSH(nil, []byte{0, 4, 0xff, 0x01, 0, 9})), false},
		{"ServerHello duplicate extension", typeServerHello, hmFrame(typeServerHello, hmSH(nil, []byte{0, 8, 0xff, 0x01, 0, 0, 0xff, 0x01, 0, 0})), false},

		// Certificate.
		{"Certificate empty list", typeCertificate, hmFrame(typeCertificate, hmU24(nil)), true},
		{"Certificate one cert", typeCertificate, hmFrame(typeCertificate, hmU24(hmU24([]byte{0x30}))), true},
		{"Certificate empty cert", typeCertificate, hmFrame(typeCertificate, hmU24(hmU24(nil))), false},
		{"Certificate good then empty cert", typeCertificate, hmFrame(typeCertificate, hmU24(hmCat(hmU24([]byte{0x30}), hmU24(nil)))), false},
		{"Certificate cert overruns list", typeCertificate, hmFrame(typeCertificate, hmCat([]byte{0, 0, 4}, []byte{0, 0, 2, 0x30})), false},
		{"Certificate list shorter than body", typeCertificate, hmFrame(typeCertificate, hmCat(hmU24(hmU24([]byte{0x30})), []byte{0})), false},
		{"Certificate no list length", typeCertificate, hmFrame(typeCertificate, nil), false},
		{"Certificate partial cert length", typeCertificate, hmFrame(typeCertificate, hmU24([]byte{0, 0})), false},

		// ServerKeyExchange.
		{"ServerKeyExchange empty", typeServerKeyExchange, hmFrame(typeServerKeyExchange, nil), false},
		{"ServerKeyExchange one byte", typeServerKeyExchange, hmFrame(typeServerKeyExchange, []byte{1}), true},

		// CertificateRequest.
		{"CertificateRequest", typeCertificateRequest, hmFrame(typeCertificateRequest, hmCat(hmU8([]byte{1}), hmU16(hmU16([]byte{0x30})))), true},
		{"CertificateRequest empty CA list", typeCertificateRequest, hmFrame(typeCertificateRequest, hmCat(hmU8([]byte{1}), hmU16(nil))), true},
		{"CertificateRequest no types", typeCertificateRequest, hmFrame(typeCertificateRequest, hmCat(hmU8(nil), hmU16(nil))), false},
		{"CertificateRequest 255 types", typeCertificateRequest, hmFrame(typeCertificateRequest, hmCat(hmU8(hmFill(255, 1)), hmU16(nil))), true},
		{"CertificateRequest CA list of 1 byte", typeCertificateRequest, hmFrame(typeCertificateRequest, hmCat(hmU8([]byte{1}), hmU16([]byte{0}))), false},
		{"CertificateRequest CA list of 2 bytes", typeCertificateRequest, hmFrame(typeCertificateRequest, hmCat(hmU8([]byte{1}), hmU16([]byte{0, 0}))), false},
		{"CertificateRequest empty DN", typeCertificateRequest, hmFrame(typeCertificateRequest, hmCat(hmU8([]byte{1}), hmU16(hmCat(hmU16([]byte{0x30}), hmU16(nil))))), false},
		{"CertificateRequest DN overruns list", typeCertificateRequest, hmFrame(typeCertificateRequest, hmCat(hmU8([]byte{1}), []byte{0, 3, 0, 2, 0x30})), false},
		{"CertificateRequest missing CA list", typeCertificateRequest, hmFrame(typeCertificateRequest, hmU8([]byte{1})), false},
		{"CertificateRequest trailing byte", typeCertificateRequest, hmFrame(typeCertificateRequest, hmCat(hmU8([]byte{1}), hmU16(nil), []byte{0})), false},

		// ClientKeyExchange.
		{"ClientKeyExchange empty (implicit DH Yc)", typeClientKeyExchange, hmFrame(typeClientKeyExchange, nil), true},
		{"ClientKeyExchange bare RSA ciphertext", typeClientKeyExchange, hmFrame(typeClientKeyExchange, hmFill(64, 9)), true},

		// CertificateVerify.
		{"CertificateVerify", typeCertificateVerify, hmFrame(typeCertificateVerify, hmU16(hmFill(40, 1))), true},
		{"CertificateVerify empty signature", typeCertificateVerify, hmFrame(typeCertificateVerify, hmU16(nil)), true},
		{"CertificateVerify 65535-byte signature", typeCertificateVerify, hmFrame(typeCertificateVerify, hmU16(hmFill(65535, 1))), true},
		{"CertificateVerify no length", typeCertificateVerify, hmFrame(typeCertificateVerify, nil), false},
		{"CertificateVerify one length byte", typeCertificateVerify, hmFrame(typeCertificateVerify, []byte{0}), false},
		{"CertificateVerify short signature", typeCertificateVerify, hmFrame(typeCertificateVerify, []byte{0, 2, 1}), false},
		{"CertificateVerify trailing byte", typeCertificateVerify, hmFrame(typeCertificateVerify, hmCat(hmU16([]byte{1}), []byte{0})), false},

		// Finished.
		{"Finished", typeFinished, hmFrame(typeFinished, hmFill(36, 1)), true},
		{"Finished 35 bytes", typeFinished, hmFrame(typeFinished, hmFill(35, 1)), false},
		{"Finished 37 bytes", typeFinished, hmFrame(typeFinished, hmFill(37, 1)), false},
		{"Finished TLS-sized 12 bytes", typeFinished, hmFrame(typeFinished, hmFill(12, 1)), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newHandshakeMessage(tc.typ)
			if got := m.unmarshal(tc.data); got != tc.ok {
				t.Fatalf("unmarshal = %v, want %v", got, tc.ok)
			}
			if _, got := unmarshalHandshake(tc.typ, tc.data); got != tc.ok {
				t.Fatalf("unmarshalHandshake = %v, want %v", got, tc.ok)
			}
			if tc.ok {
				again := hmMustMarshal(t, m)
				if !bytes.Equal(again, tc.data) {
					t.Fatalf("re-marshal differs:\n got %x\nwant %x", again, tc.data)
				}
			}
		})
	}
}

func TestClientHelloExtensionsKeptRaw(t *testing.T) {
	ext := []byte{0x00, 0x05, 0xff, 0x01, 0x00, 0x01, 0x00}
	var m clientHelloMsg
	if !m.unmarshal(hmFrame(typeClientHello, hmCH(nil, []byte{0, 4}, []byte{0}, ext))) {
		t.Fatal("unmarshal failed")
	}
	if !bytes.Equal(m.extensions, ext) {
		t.Fatalf("extensions = %x, want %x", m.extensions, ext)
	}
	if !m.unmarshal(hmFrame(typeClientHello, hmCH(nil, []byte{0, 4}, []byte{0}, nil))) || m.extensions != nil {
		t.Fatalf("extensions = %x, want nil", m.extensions)
	}
	if len(m.cipherSuites) != 1 || m.cipherSuites[0] != 4 || len(m.compressionMethods) != 1 {
		t.Fatalf("parsed %+v", m)
	}
}

// TestHandshakeTruncationAndTrailing cuts every fixture at every byte, both
// leaving the header as it was and reframing the shortened body with a
// consistent length, and appends a byte both ways.
func TestHandshakeTruncationAndTrailing(t *testing.T) {
	for _, fix := range hmFixtures() {
		data := hmMustMarshal(t, fix)
		typ := data[0]
		body := data[4:]
		// Bodies for which a shorter or longer body can be valid in its
		// own right: opaque bodies, and ClientHello's raw extensions.
		opaque := typ == typeServerKeyExchange || typ == typeClientKeyExchange
		ch, _ := fix.(*clientHelloMsg)
		for i := 0; i < len(data); i++ {
			if newHandshakeMessage(typ).unmarshal(data[:i]) {
				t.Errorf("%T: accepted message truncated to %d of %d bytes", fix, i, len(data))
			}
		}
		for i := 0; i < len(body); i++ {
			validPrefix := false
			switch {
			case typ == typeClientKeyExchange:
				validPrefix = true // any body, even an empty one
			case typ == typeServerKeyExchange:
				validPrefix = i > 0
			case ch != nil && len(ch.extensions) > 0:
				validPrefix = i >= len(body)-len(ch.extensions)
			}
			if got := newHandshakeMessage(typ).unmarshal(hmFrame(typ, body[:i])); got != validPrefix {
				t.Errorf("%T: reframed body truncated to %d of %d: unmarshal = %v, want %v", fix, i, len(body), got, validPrefix)
			}
		}
		if newHandshakeMessage(typ).unmarshal(append(append([]byte(nil), data...), 0)) {
			t.Errorf("%T: accepted a byte after the message", fix)
		}
		trailingOK := opaque || ch != nil
		if got := newHandshakeMessage(typ).unmarshal(hmFrame(typ, append(append([]byte(nil), body...), 0))); got != trailingOK {
			t.Errorf("%T: body with a trailing byte: unmarshal = %v, want %v", fix, got, trailingOK)
		}
	}
}

func TestHandshakeMarshalRejectsOutOfBounds(t *testing.T) {
	rnd := hmFill(32, 1)
	ch := func(f func(m *clientHelloMsg)) *clientHelloMsg {
		m := &clientHelloMsg{vers: 0x0300, random: rnd, cipherSuites: []uint16{4}, compressionMethods: []uint8{0}}
		f(m)
		return m
	}
	for _, tc := range []struct {
		name string
		msg  handshakeMessage
	}{
		{"ClientHello random 31", ch(func(m *clientHelloMsg) { m.random = rnd[:31] })},
		{"ClientHello random nil", ch(func(m *clientHelloMsg) { m.random = nil })},
		{"ClientHello session id 33", ch(func(m *clientHelloMsg) { m.sessionID = hmFill(33, 1) })},
		{"ClientHello zero suites", ch(func(m *clientHelloMsg) { m.cipherSuites = nil })},
		{"ClientHello 32768 suites", ch(func(m *clientHelloMsg) { m.cipherSuites = make([]uint16, 32768) })},
		{"ClientHello no compression", ch(func(m *clientHelloMsg) { m.compressionMethods = nil })},
		{"ClientHello 256 compression methods", ch(func(m *clientHelloMsg) { m.compressionMethods = make([]uint8, 256) })},
		{"ClientHello over maxHandshakeSize", ch(func(m *clientHelloMsg) { m.extensions = make([]byte, maxHandshakeSize) })},
		{"ServerHello random 33", &serverHelloMsg{random: hmFill(33, 1)}},
		{"ServerHello session id 33", &serverHelloMsg{random: rnd, sessionID: hmFill(33, 1)}},
		{"Certificate empty cert", &certificateMsg{certificates: [][]byte{{1}, {}}}},
		{"Certificate over maxHandshakeSize", &certificateMsg{certificates: [][]byte{make([]byte, maxHandshakeSize)}}},
		{"ServerKeyExchange empty", &serverKeyExchangeMsg{}},
		{"CertificateRequest no types", &certificateRequestMsg{}},
		{"CertificateRequest 256 types", &certificateRequestMsg{certificateTypes: make([]byte, 256)}},
		{"CertificateRequest empty DN", &certificateRequestMsg{certificateTypes: []byte{1}, certificateAuthorities: [][]byte{nil}}},
		{"CertificateRequest CA list over 2^16-1", &certificateRequestMsg{certificateTypes: []byte{1}, certificateAuthorities: [][]byte{make([]byte, 40000), make([]byte, 40000)}}},
		{"CertificateVerify 65536-byte signature", &certificateVerifyMsg{signature: make([]byte, 65536)}},
		{"ClientKeyExchange over maxHandshakeSize", &clientKeyExchangeMsg{ciphertext: make([]byte, maxHandshakeSize+1)}},
		{"Finished 35 bytes", &finishedMsg{verifyData: make([]byte, 35)}},
		{"Finished nil", &finishedMsg{}},
	} {
		if b, err := tc.msg.marshal(); err == nil {
			t.Errorf("%s: marshal succeeded (%d bytes), want error", tc.name, len(b))
		}
	}
}

func TestUnmarshalHandshakeDispatch(t *testing.T) {
	for _, fix := range hmFixtures() {
		data := hmMustMarshal(t, fix)
		m, ok := unmarshalHandshake(data[0], data)
		if !ok {
			t.Fatalf("%T: unmarshalHandshake failed", fix)
		}
		if reflect.TypeOf(m) != reflect.TypeOf(fix) {
			t.Fatalf("got %T, want %T", m, fix)
		}
		for _, other := range hmAllTypes {
			if other != data[0] {
				if _, ok := unmarshalHandshake(other, data); ok {
					t.Errorf("%T accepted as type %d", fix, other)
				}
			}
		}
	}
	for typ := 0; typ < 256; typ++ {
		known := false
		for _, k := range hmAllTypes {
			known = known || uint8(typ) == k
		}
		if known {
			continue
		}
		if m, ok := unmarshalHandshake(uint8(typ), hmFrame(uint8(typ), nil)); ok || m != nil {
			t.Errorf("unknown type %d accepted", typ)
		}
	}
}

// ---- key exchange parameters --------------------------------------------

func TestServerDHParams(t *testing.T) {
	p, g, ys, sig := hmFill(128, 0xd1), []byte{2}, hmFill(128, 0xd3), hmU16(hmFill(36, 0x51))
	params, err := marshalServerDHParams(p, g, ys)
	if err != nil {
		t.Fatal(err)
	}
	if want := hmCat(hmU16(p), hmU16(g), hmU16(ys)); !bytes.Equal(params, want) {
		t.Fatalf("marshalServerDHParams = %x, want %x", params, want)
	}
	body := hmCat(params, sig)
	gp, gg, gys, rest, ok := parseServerDHParams(body)
	if !ok || !bytes.Equal(gp, p) || !bytes.Equal(gg, g) || !bytes.Equal(gys, ys) || !bytes.Equal(rest, sig) {
		t.Fatalf("parseServerDHParams = %x %x %x %x %v", gp, gg, gys, rest, ok)
	}
	if signed := body[:len(body)-len(rest)]; !bytes.Equal(signed, params) {
		t.Fatal("ServerParams span is wrong")
	}
	if _, _, _, rest, ok := parseServerDHParams(params); !ok || len(rest) != 0 {
		t.Fatal("anonymous DH params (no signature) rejected")
	}
	for _, bad := range [][]byte{
		nil,
		hmCat(hmU16(nil), hmU16(g), hmU16(ys)),
		hmCat(hmU16(p), hmU16(nil), hmU16(ys)),
		hmCat(hmU16(p), hmU16(g), hmU16(nil)),
		hmCat(hmU16(p), hmU16(g)),
		params[:len(params)-1],
	} {
		if _, _, _, _, ok := parseServerDHParams(bad); ok {
			t.Errorf("parseServerDHParams accepted %x", bad)
		}
	}
	for _, args := range [][3][]byte{{nil, g, ys}, {p, nil, ys}, {p, g, nil}, {make([]byte, 65536), g, ys}} {
		if _, err := marshalServerDHParams(args[0], args[1], args[2]); err == nil {
			t.Errorf("marshalServerDHParams accepted lengths %d/%d/%d", len(args[0]), len(args[1]), len(args[2]))
		}
	}
	if _, err := marshalServerDHParams(make([]byte, 65535), g, ys); err != nil {
		t.Errorf("65535-byte dh_p rejected: %v", err)
	}
}

func TestServerRSAParams(t *testing.T) {
	mod, exp, sig := hmFill(64, 0xa1), []byte{1, 0, 1}, hmU16(hmFill(64, 0x52))
	params, err := marshalServerRSAParams(mod, exp)
	if err != nil {
		t.Fatal(err)
	}
	if want := hmCat(hmU16(mod), hmU16(exp)); !bytes.Equal(params, want) {
		t.Fatalf("marshalServerRSAParams = %x, want %x", params, want)
	}
	body := hmCat(params, sig)
	gm, ge, rest, ok := parseServerRSAParams(body)
	if !ok || !bytes.Equal(gm, mod) || !bytes.Equal(ge, exp) || !bytes.Equal(rest, sig) {
		t.Fatalf("parseServerRSAParams = %x %x %x %v", gm, ge, rest, ok)
	}
	for _, bad := range [][]byte{
		nil,
		hmCat(hmU16(nil), hmU16(exp)),
		hmCat(hmU16(mod), hmU16(nil)),
		hmU16(mod),
		params[:len(params)-1],
	} {
		if _, _, _, ok := parseServerRSAParams(bad); ok {
			t.Errorf("parseServerRSAParams accepted %x", bad)
		}
	}
	for _, args := range [][2][]byte{{nil, exp}, {mod, nil}, {mod, make([]byte, 65536)}} {
		if _, err := marshalServerRSAParams(args[0], args[1]); err == nil {
			t.Errorf("marshalServerRSAParams accepted lengths %d/%d", len(args[0]), len(args[1]))
		}
	}
}
