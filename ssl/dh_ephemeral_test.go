package ssl

import (
	"math/big"
	"testing"

	"github.com/tokenssl/tokenssl/token"
)

// Against an ephemeral server key the client's value is range-checked
// only (docs/ssl3.md, "Peer keys"); against a static key it must also be
// in the order-q subgroup. 2 is outside the X9.42 group's subgroup, and a
// non-residue for group 14.
func TestEphemeralServerDHPublicRangeOnly(t *testing.T) {
	x942 := x942Group()
	g14 := RFC3526Group14()
	sub := func(p *big.Int, d int64) *big.Int { return new(big.Int).Sub(p, big.NewInt(d)) }
	for _, tt := range []struct {
		name              string
		group             *token.DHParams
		y                 *big.Int
		ephemeral, static bool // accepted
	}{
		{"X9.42/1", x942, big.NewInt(1), false, false},
		{"X9.42/p-1", x942, sub(x942.P, 1), false, false},
		{"X9.42/p", x942, x942.P, false, false},
		{"X9.42/2 outside the subgroup", x942, big.NewInt(2), true, false},
		{"X9.42/g in the subgroup", x942, x942.G, true, true},
		{"group14/0", g14, big.NewInt(0), false, false},
		{"group14/p-1", g14, sub(g14.P, 1), false, false},
		{"group14/4 a residue", g14, big.NewInt(4), true, true},
		{"group14/p-2 a non-residue", g14, sub(g14.P, 2), true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := checkEphemeralServerDHPublic(tt.y, tt.group)
			if (err == nil) != tt.ephemeral {
				t.Errorf("ephemeral: %v, want accepted=%v", err, tt.ephemeral)
			}
			_, err = checkStaticDHPublic(tt.y, tt.group)
			if (err == nil) != tt.static {
				t.Errorf("static: %v, want accepted=%v", err, tt.static)
			}
		})
	}
}
