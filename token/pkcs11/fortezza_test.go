package pkcs11_test

import (
	"bytes"
	"errors"
	"testing"

	p11 "github.com/miekg/pkcs11"

	"github.com/tokenssl/tokenssl/kea"
	"github.com/tokenssl/tokenssl/softhsm/softhsmtest"
	"github.com/tokenssl/tokenssl/token"
	"github.com/tokenssl/tokenssl/token/pkcs11"
)

// TestFortezzaCardReachesModule drives every Fortezza mechanism of the
// PKCS#11 card against SoftHSM, which lacks them: each call must come back
// from the module as CKR_MECHANISM_INVALID — proof that the cgo layer
// (CK_KEA_DERIVE_PARAMS, the read-back IV) and miekg's calls reach it with
// valid sessions and handles.
func TestFortezzaCardReachesModule(t *testing.T) {
	tok := softhsmtest.NewToken(t)
	params := kea.DefaultParams()
	x, err := kea.GenerateKey(nil, params)
	if err != nil {
		t.Fatal(err)
	}
	// SoftHSM cannot hold CKK_KEA; a DH key in the KEA group stands in.
	if _, err := tok.ImportDH("kea", []byte{1}, &token.DHKey{Pub: token.DHPublicKey{DHParams: token.DHParams{P: params.P, G: params.G, Q: params.Q}, Y: x.Y}, X: x.X}); err != nil {
		t.Fatal(err)
	}
	b := open(t, tok, nil)

	if ok, err := pkcs11.HasFortezzaMechanisms(b); err != nil || ok {
		t.Fatalf("HasFortezzaMechanisms = %v, %v; SoftHSM has none", ok, err)
	}
	spec := pkcs11.FortezzaCardSpec{KEA: pkcs11.KeySpec{Label: "kea"}, Params: params}
	if _, err := pkcs11.OpenFortezzaCard(b, spec); !errors.Is(err, pkcs11.ErrUnsupported) {
		t.Fatalf("OpenFortezzaCard on SoftHSM: %v, want ErrUnsupported", err)
	}
	spec.SkipMechanismCheck = true
	card, err := pkcs11.OpenFortezzaCard(b, spec)
	if err != nil {
		t.Fatal(err)
	}
	if card.KEAPublicKey().Y.Cmp(x.Y) != 0 {
		t.Fatal("KEA public value not read from the token")
	}
	invalid := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, p11.Error(p11.CKR_MECHANISM_INVALID)) {
			t.Errorf("%s: %v, want CKR_MECHANISM_INVALID from the module", what, err)
		}
	}
	peer, _ := kea.GenerateKey(nil, params)
	_, _, err = card.DeriveTEKAsSender(peer.Y, kea.EmailModeR())
	invalid("KEA derive (sender)", err)
	rs, _ := card.ResponderRandom()
	if !bytes.Equal(rs.R(), kea.EmailModeR()) {
		t.Error("responder random is not the e-mail-mode constant")
	}
	_, err = card.DeriveTEKAsRecipient(rs, peer.Y, make([]byte, 128))
	invalid("KEA derive (recipient)", err)
	_, err = card.GenerateMEK()
	invalid("CKM_SKIPJACK_KEY_GEN", err)

	// A generic secret stands in for a SKIPJACK key so the CBC64 and wrap
	// calls reach the mechanism check with a valid key handle.
	var secret p11.ObjectHandle
	if err := b.WithSession(t.Context(), func(c *p11.Ctx, sh p11.SessionHandle) error {
		secret, err = c.CreateObject(sh, []*p11.Attribute{
			p11.NewAttribute(p11.CKA_CLASS, p11.CKO_SECRET_KEY), p11.NewAttribute(p11.CKA_KEY_TYPE, p11.CKK_GENERIC_SECRET),
			p11.NewAttribute(p11.CKA_TOKEN, false), p11.NewAttribute(p11.CKA_VALUE, make([]byte, 10)),
			p11.NewAttribute(p11.CKA_ENCRYPT, true), p11.NewAttribute(p11.CKA_DECRYPT, true), p11.NewAttribute(p11.CKA_WRAP, true),
		})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	key := pkcs11.FortezzaTestKey(card, secret)
	_, _, err = card.NewEncrypter(key)
	invalid("CKM_SKIPJACK_CBC64 encrypt init", err)
	_, err = card.NewDecrypter(key, make([]byte, 24))
	invalid("CKM_SKIPJACK_CBC64 decrypt init", err)
	_, _, err = card.Encrypt(key, make([]byte, 48))
	invalid("CKM_SKIPJACK_CBC64 encrypt", err)
	_, err = card.Decrypt(key, make([]byte, 24), make([]byte, 48))
	invalid("CKM_SKIPJACK_CBC64 decrypt", err)
	_, err = card.WrapKey(key, key)
	invalid("CKM_SKIPJACK_WRAP", err)
	_, err = card.UnwrapKey(key, make([]byte, 12))
	invalid("CKM_SKIPJACK_WRAP unwrap", err)
	if err := key.Destroy(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := card.NewEncrypter(key); !errors.Is(err, token.ErrFortezzaHandle) {
		t.Errorf("destroyed key: %v", err)
	}
}
