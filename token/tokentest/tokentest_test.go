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

// The kit's malformed ciphertexts: why "short" cannot be ct[1:] (crypto/rsa
// decrypts it whenever ct starts with a zero byte, as CI once drew), and
// that NotBlockType2 gives the asked size and is refused.
func TestMalformedCiphertexts(t *testing.T) {
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	var pre, ct []byte
	for tries := 0; len(ct) == 0 || ct[0] != 0; tries++ {
		if tries == 1<<14 {
			t.Fatal("no ciphertext with a leading zero byte drawn")
		}
		pre, ct = tokentest.PreMasterSecret(t, &k.PublicKey)
	}
	if got, err := k.Decrypt(rand.Reader, ct[1:], nil); err != nil || string(got) != string(pre) {
		t.Fatalf("crypto/rsa on ct[1:] with ct[0] = 0: %x, %v; the kit's comment is stale", got, err)
	}
	for _, size := range []int{k.Size(), k.Size() - 1} {
		c := tokentest.NotBlockType2(t, &k.PublicKey, size)
		if len(c) != size {
			t.Errorf("NotBlockType2(%d): %d bytes", size, len(c))
		}
		if _, err := k.Decrypt(rand.Reader, c, nil); err == nil {
			t.Errorf("NotBlockType2(%d) decrypted", size)
		}
	}
}
