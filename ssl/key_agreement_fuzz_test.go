package ssl

import (
	"bytes"
	"math/big"
	"testing"

	"golang.org/x/crypto/cryptobyte"
)

// Fuzz targets for the key-exchange parsers and the checks the client
// applies after them. Seeds: testdata/fuzz/<Name>/ holds real messages made
// by our server for each exchange (DHE_RSA, DHE_DSS with DER and raw r‖s
// signatures, DHE export, DH_anon, RSA_EXPORT) and malformed variants. To
// fuzz one target:
//
//	go test -run '^$' -fuzz '^FuzzDHEServerKeyExchange$' -fuzztime 60s ./ssl

// fuzzDHServerKeyExchange is the body of the two DH targets: the parse never
// panics; an accepted body is ServerDHParams (params) followed by the
// signature vector (signed) or nothing; the numbers re-parse from params;
// and whatever checkServerDHParams accepts is in range.
func fuzzDHServerKeyExchange(t *testing.T, body []byte, signed bool) {
	p, g, ys, params, sig, ok := parseDHServerKeyExchange(body, signed)
	if !ok {
		return
	}
	var b cryptobyte.Builder
	b.AddBytes(params)
	if signed {
		addVec16(&b, "sig", sig, 0, maxUint16Vec)
	}
	if out, err := b.Bytes(); err != nil || !bytes.Equal(out, body) {
		t.Fatalf("params+signature != body (%v)", err)
	}
	pb, gb, yb, rest, ok := parseServerDHParams(params)
	if !ok || len(rest) != 0 || new(big.Int).SetBytes(pb).Cmp(p) != 0 ||
		new(big.Int).SetBytes(gb).Cmp(g) != 0 || new(big.Int).SetBytes(yb).Cmp(ys) != 0 {
		t.Fatal("params do not re-parse to the same values")
	}
	one := big.NewInt(1)
	for _, export := range []bool{false, true} {
		if _, err := checkServerDHParams(p, g, ys, export, defaultMinDHBits); err != nil {
			continue
		}
		pm1 := new(big.Int).Sub(p, one)
		bits := p.BitLen()
		if p.Bit(0) == 0 || g.Cmp(one) <= 0 || g.Cmp(pm1) >= 0 || ys.Cmp(one) <= 0 || ys.Cmp(pm1) >= 0 ||
			export && (bits > exportDHBits || bits < exportDHBits) || !export && bits < defaultMinDHBits {
			t.Fatalf("accepted out-of-policy params (export %v): %d-bit p", export, bits)
		}
	}
}

func FuzzDHEServerKeyExchange(f *testing.F) {
	f.Add([]byte{0, 1, 0x17, 0, 1, 2, 0, 1, 5, 0, 2, 0xaa, 0xbb})
	f.Fuzz(func(t *testing.T, body []byte) { fuzzDHServerKeyExchange(t, body, true) })
}

func FuzzDHAnonServerKeyExchange(f *testing.F) {
	f.Add([]byte{0, 1, 0x17, 0, 1, 2, 0, 1, 5})
	f.Fuzz(func(t *testing.T, body []byte) { fuzzDHServerKeyExchange(t, body, false) })
}

func FuzzRSAExportServerKeyExchange(f *testing.F) {
	f.Add([]byte{0, 2, 0xc3, 0x01, 0, 3, 1, 0, 1, 0, 1, 0xcc})
	f.Fuzz(func(t *testing.T, body []byte) {
		n, e, params, sig, ok := parseRSAExportServerKeyExchange(body)
		if !ok {
			return
		}
		var b cryptobyte.Builder
		b.AddBytes(params)
		addVec16(&b, "sig", sig, 0, maxUint16Vec)
		if out, err := b.Bytes(); err != nil || !bytes.Equal(out, body) {
			t.Fatalf("params+signature != body (%v)", err)
		}
		pub, _, err := checkExportRSAKey(n, e)
		if err != nil {
			return
		}
		if pub.N.BitLen() > exportRSABits || pub.N.Bit(0) == 0 || pub.E < 3 || pub.E%2 == 0 || int64(pub.E) != e.Int64() {
			t.Fatalf("accepted bad temporary key: %d bits, e=%d", pub.N.BitLen(), pub.E)
		}
	})
}

// FuzzClientDHPublic: ClientDiffieHellmanPublic is empty (implicit) or
// exactly one dh_Yc<1..2^16-1>.
func FuzzClientDHPublic(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 1, 2})
	f.Add([]byte{0, 0})
	f.Fuzz(func(t *testing.T, body []byte) {
		yc, implicit, ok := parseClientDHPublic(body)
		if !ok {
			return
		}
		if implicit != (len(body) == 0) {
			t.Fatal("implicit does not mean empty")
		}
		if !implicit && (len(yc) == 0 || !bytes.Equal(append([]byte{byte(len(yc) >> 8), byte(len(yc))}, yc...), body)) {
			t.Fatal("explicit value is not the whole body")
		}
	})
}
