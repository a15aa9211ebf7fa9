package pkcs11_test

import (
	"crypto"
	"os"
	"strings"
	"testing"

	"github.com/tokenssl/tokenssl/kea"
	"github.com/tokenssl/tokenssl/softhsm/softhsmtest"
	"github.com/tokenssl/tokenssl/token"
	"github.com/tokenssl/tokenssl/token/pkcs11"
	"github.com/tokenssl/tokenssl/token/tokentest"
)

// The token boundary's contracts (token/tokentest) on keys held by SoftHSM
// and reached through this backend, as the engine reaches them.
func TestConformanceSoftHSMKeys(t *testing.T) {
	_, rk, _, _ := rsaOnToken(t, nil)
	t.Run("RSA signer", func(t *testing.T) { tokentest.TestSigner(t, rk) })
	t.Run("RSA decrypter", func(t *testing.T) { tokentest.TestDecrypter(t, rk) })

	tok := softhsmtest.NewToken(t)
	dref, err := tok.GenerateDSA("dsa", nil, dsaParameters(t))
	if err != nil {
		t.Fatal(err)
	}
	kp := kea.DefaultParams()
	x942, err := tok.GenerateDH("dh-x942", nil, token.DHParams{P: kp.P, G: kp.G, Q: kp.Q})
	if err != nil {
		t.Fatal(err)
	}
	modp, err := tok.GenerateDH("dh-modp", nil, oakley2(t))
	if err != nil {
		t.Fatal(err)
	}
	b := open(t, tok, nil)
	find := func(ref interface{ Spec() pkcs11.KeySpec }) token.Key {
		t.Helper()
		k, err := b.FindKey(ref.Spec())
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	t.Run("DSA signer", func(t *testing.T) { tokentest.TestSigner(t, find(dref).(crypto.Signer)) })
	t.Run("DH agreer (X9.42 group)", func(t *testing.T) { tokentest.TestDHAgreer(t, token.AsDHAgreer(find(x942))) })
	t.Run("DH agreer (MODP group)", func(t *testing.T) { tokentest.TestDHAgreer(t, token.AsDHAgreer(find(modp))) })
}

// The PKCS#11 Fortezza card needs a module that lists CKM_KEA_KEY_DERIVE and
// CKM_SKIPJACK_*: SoftHSM has neither, and no such hardware is here. With
// one, name it and its two cards' tokens in the environment.
func TestConformancePKCS11FortezzaCard(t *testing.T) {
	module := os.Getenv("TOKENSSL_FORTEZZA_MODULE")
	if module == "" {
		t.Skip("no PKCS#11 module with CKM_KEA_KEY_DERIVE and CKM_SKIPJACK_* (SoftHSM has neither): set TOKENSSL_FORTEZZA_MODULE, " +
			"TOKENSSL_FORTEZZA_TOKENS=label1,label2 and TOKENSSL_FORTEZZA_PIN_FILE to run the card contract on real cards")
	}
	labels := strings.Split(os.Getenv("TOKENSSL_FORTEZZA_TOKENS"), ",")
	if len(labels) != 2 {
		t.Fatal("TOKENSSL_FORTEZZA_TOKENS must name two card tokens")
	}
	var cards [2]token.FortezzaCard
	for i, label := range labels {
		k, err := pkcs11.OpenKey(pkcs11.KeyRequest{Config: pkcs11.Config{ModulePath: module, TokenLabel: label},
			PIN: pkcs11.PINSpec{File: os.Getenv("TOKENSSL_FORTEZZA_PIN_FILE")}, Fortezza: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { k.Close() })
		if k.Card != pkcs11.CardPKCS11 {
			t.Fatalf("token %q: card=%s, want pkcs11", label, k.Card)
		}
		cards[i] = k.Key.(token.FortezzaCard)
	}
	tokentest.TestFortezzaCard(t, cards[0], cards[1])
}
