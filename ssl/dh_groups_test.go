package ssl

import (
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"testing"
)

func TestParseDHParametersPEM(t *testing.T) {
	// enc writes PKCS #3 DHParameter, with privateValueLength if given.
	enc := func(p, g *big.Int, privateValueLength ...int) []byte {
		der, err := asn1.Marshal(struct{ P, G *big.Int }{p, g})
		if len(privateValueLength) > 0 {
			der, err = asn1.Marshal(struct {
				P, G *big.Int
				L    int
			}{p, g, privateValueLength[0]})
		}
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "DH PARAMETERS", Bytes: der})
	}
	g14 := RFC3526Group14()
	tests := []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"group 14", enc(g14.P, g14.G), true},
		{"with privateValueLength", enc(g14.P, g14.G, 256), true},
		{"512-bit group refused", enc(ExportDHGroup512().P, big.NewInt(2)), false},
		{"even prime", enc(new(big.Int).Lsh(big.NewInt(1), 2048), big.NewInt(2)), false},
		{"generator 1", enc(g14.P, big.NewInt(1)), false},
		{"no block", []byte("nothing"), false},
		{"garbage", pem.EncodeToMemory(&pem.Block{Type: "DH PARAMETERS", Bytes: []byte{1, 2, 3}}), false},
	}
	for _, tt := range tests {
		got, err := ParseDHParametersPEM(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err %v", tt.name, err)
		}
		if tt.ok && (got.P.Cmp(g14.P) != 0 || got.G.Cmp(g14.G) != 0) {
			t.Errorf("%s: wrong group", tt.name)
		}
	}
}
