package legacytest

import (
	"crypto/dsa"
	"math/big"
	"testing"
)

func TestParameters(t *testing.T) {
	for _, tc := range []struct {
		name         string
		p            dsa.Parameters
		pBits, qBits int
	}{
		{"1024/160", DSA1024, 1024, 160},
		{"2048/224", DSA2048Q224, 2048, 224},
		{"2048/256", DSA2048Q256, 2048, 256},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.p.P.BitLen() != tc.pBits || tc.p.Q.BitLen() != tc.qBits {
				t.Fatalf("sizes %d/%d", tc.p.P.BitLen(), tc.p.Q.BitLen())
			}
			if !tc.p.P.ProbablyPrime(20) || !tc.p.Q.ProbablyPrime(20) {
				t.Fatal("P or Q not prime")
			}
			pm1 := new(big.Int).Sub(tc.p.P, big.NewInt(1))
			if new(big.Int).Mod(pm1, tc.p.Q).Sign() != 0 {
				t.Fatal("Q does not divide P-1")
			}
			if new(big.Int).Exp(tc.p.G, tc.p.Q, tc.p.P).Cmp(big.NewInt(1)) != 0 || tc.p.G.Cmp(big.NewInt(1)) <= 0 {
				t.Fatal("G does not generate the order-Q subgroup")
			}
		})
	}
}
