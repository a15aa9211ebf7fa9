package ssl

import (
	"bytes"
	"reflect"
	"testing"
)

// One fuzz target per handshake message type. The property: unmarshal never
// panics, and when it accepts x, marshal succeeds, reproduces x exactly
// (the encodings are canonical), re-parses to an equal struct, and the
// dispatcher unmarshalHandshake agrees.
//
// Seeds: the valid fixtures (hmFixtures) plus testdata/fuzz/<Name>/, which
// holds the same encodings, boundary cases and inputs found by fuzzing, so
// that plain `go test` replays them all. To fuzz one target:
//
//	go test -run '^$' -fuzz '^FuzzClientHello$' -fuzztime 15s ./ssl

// hmFuzzMessage is the shared body of the message fuzz targets.
func hmFuzzMessage[T any, PT interface {
	*T
	handshakeMessage
}](f *testing.F, typ uint8) {
	for _, fix := range hmFixtures() {
		if data, err := fix.marshal(); err == nil && data[0] == typ {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m := PT(new(T))
		if !m.unmarshal(data) {
			if d, ok := unmarshalHandshake(typ, data); ok || d != nil {
				t.Fatal("unmarshalHandshake accepted what unmarshal rejected")
			}
			return
		}
		if data[0] != typ {
			t.Fatalf("accepted msg_type %d as %d", data[0], typ)
		}
		out, err := m.marshal()
		if err != nil {
			t.Fatalf("marshal of an accepted message failed: %v", err)
		}
		if !bytes.Equal(out, data) {
			t.Fatalf("marshal(unmarshal(x)) != x\n  x = %x\nout = %x", data, out)
		}
		m2 := PT(new(T))
		if !m2.unmarshal(out) {
			t.Fatal("re-parse of marshal output failed")
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("re-parse differs:\n%+v\n%+v", m, m2)
		}
		d, ok := unmarshalHandshake(typ, data)
		if !ok || !reflect.DeepEqual(d, handshakeMessage(m)) {
			t.Fatalf("unmarshalHandshake = %+v, %v; want %+v", d, ok, m)
		}
	})
}

func FuzzHelloRequest(f *testing.F) {
	hmFuzzMessage[helloRequestMsg](f, typeHelloRequest)
}

func FuzzClientHello(f *testing.F) {
	hmFuzzMessage[clientHelloMsg](f, typeClientHello)
}

func FuzzServerHello(f *testing.F) {
	hmFuzzMessage[serverHelloMsg](f, typeServerHello)
}

func FuzzCertificate(f *testing.F) {
	hmFuzzMessage[certificateMsg](f, typeCertificate)
}

func FuzzServerKeyExchange(f *testing.F) {
	hmFuzzMessage[serverKeyExchangeMsg](f, typeServerKeyExchange)
}

func FuzzCertificateRequest(f *testing.F) {
	hmFuzzMessage[certificateRequestMsg](f, typeCertificateRequest)
}

func FuzzServerHelloDone(f *testing.F) {
	hmFuzzMessage[serverHelloDoneMsg](f, typeServerHelloDone)
}

func FuzzCertificateVerify(f *testing.F) {
	hmFuzzMessage[certificateVerifyMsg](f, typeCertificateVerify)
}

func FuzzClientKeyExchange(f *testing.F) {
	hmFuzzMessage[clientKeyExchangeMsg](f, typeClientKeyExchange)
}

func FuzzFinished(f *testing.F) {
	hmFuzzMessage[finishedMsg](f, typeFinished)
}

// FuzzServerDHParams and FuzzServerRSAParams: parse never panics; an
// accepted prefix re-marshals to exactly the bytes it consumed, and rest is
// what follows.
func FuzzServerDHParams(f *testing.F) {
	f.Add([]byte{0, 1, 0x17, 0, 1, 2, 0, 1, 5})
	f.Add([]byte{0, 1, 0x17, 0, 1, 2, 0, 1, 5, 0, 2, 0xaa, 0xbb})
	f.Fuzz(func(t *testing.T, body []byte) {
		if p, g, ys, rest, ok := parseServerDHParams(body); ok {
			params, err := marshalServerDHParams(p, g, ys)
			hmCheckParamsPrefix(t, body, params, rest, err)
		}
	})
}

func FuzzServerRSAParams(f *testing.F) {
	f.Add([]byte{0, 2, 0xc3, 0x01, 0, 3, 1, 0, 1})
	f.Add([]byte{0, 2, 0xc3, 0x01, 0, 3, 1, 0, 1, 0, 1, 0xcc})
	f.Fuzz(func(t *testing.T, body []byte) {
		if mod, exp, rest, ok := parseServerRSAParams(body); ok {
			params, err := marshalServerRSAParams(mod, exp)
			hmCheckParamsPrefix(t, body, params, rest, err)
		}
	})
}

// hmCheckParamsPrefix is the check of the ServerParams fuzz targets: params,
// what marshal made of the fields parsed from body (err its error), followed
// by rest, what the parse left, must be body again.
func hmCheckParamsPrefix(t *testing.T, body, params, rest []byte, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("marshal of accepted params failed: %v", err)
	}
	if !bytes.Equal(append(params, rest...), body) {
		t.Fatalf("params+rest != body")
	}
}
