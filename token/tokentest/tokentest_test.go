package tokentest_test

import (
	"crypto/dsa"
	"crypto/rand"
	"crypto/rsa"
	"math/big"
	"testing"

	"github.com/tokenssl/tokenssl/kea"
	"github.com/tokenssl/tokenssl/token"
	"github.com/tokenssl/tokenssl/token/tokentest"
)

// The software token: keys in memory, and the software Fortezza card.
func TestSoftwareKeys(t *testing.T) {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("RSA signer", func(t *testing.T) { tokentest.TestSigner(t, rk) })
	t.Run("RSA decrypter", func(t *testing.T) { tokentest.TestDecrypter(t, rk) })
	t.Run("DSA signer", func(t *testing.T) { tokentest.TestSigner(t, softDSA(t)) })
	kp := kea.DefaultParams()
	t.Run("DH agreer (X9.42 group)", func(t *testing.T) {
		tokentest.TestDHAgreer(t, softDH(t, &token.DHParams{P: kp.P, G: kp.G, Q: kp.Q}))
	})
}

func TestSoftwareFortezzaCard(t *testing.T) {
	params := kea.DefaultParams()
	a, b := tokentest.SoftwareFortezzaCard(t, params), tokentest.SoftwareFortezzaCard(t, params)
	t.Run("full mode", func(t *testing.T) { tokentest.TestFortezzaCard(t, a, b) })
	a.EmailMode = true
	t.Run("e-mail mode", func(t *testing.T) { tokentest.TestFortezzaCard(t, a, b) })
	if n := a.LiveObjects() + b.LiveObjects(); n != 0 {
		t.Errorf("%d keys left on the cards", n)
	}
}

func softDSA(t *testing.T) *token.DSAKey {
	kp := kea.DefaultParams()
	k := &dsa.PrivateKey{PublicKey: dsa.PublicKey{Parameters: dsa.Parameters{P: kp.P, Q: kp.Q, G: kp.G}}}
	if err := dsa.GenerateKey(k, rand.Reader); err != nil {
		t.Fatal(err)
	}
	return &token.DSAKey{PrivateKey: k}
}

func softDH(t *testing.T, g *token.DHParams) *token.DHKey {
	x, err := rand.Int(rand.Reader, new(big.Int).Sub(g.Q, big.NewInt(2)))
	if err != nil {
		t.Fatal(err)
	}
	x.Add(x, big.NewInt(2))
	return &token.DHKey{Pub: token.DHPublicKey{DHParams: *g, Y: new(big.Int).Exp(g.G, x, g.P)}, X: x}
}
