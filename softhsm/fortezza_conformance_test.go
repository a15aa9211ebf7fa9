package softhsm_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/tokenssl/tokenssl/softhsm"
	"github.com/tokenssl/tokenssl/softhsm/softhsmtest"
	"github.com/tokenssl/tokenssl/token"
	"github.com/tokenssl/tokenssl/token/pkcs11"
	"github.com/tokenssl/tokenssl/token/tokentest"
)

func fortezzaPair(t *testing.T) *softhsm.FortezzaPair {
	t.Helper()
	p, err := softhsm.ProvisionFortezzaPair(softhsmtest.Env(t), softhsm.FortezzaPairOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// The card contract (token/tokentest) on the emulator: against a second
// emulated card in full and e-mail mode, and against the software card, so
// the emulator and the software card put the same bytes on the wire.
func TestConformanceEmulatedFortezzaCard(t *testing.T) {
	p := fortezzaPair(t)
	t.Run("emulator with emulator", func(t *testing.T) { tokentest.TestFortezzaCard(t, p.Server, p.Client) })
	p.Server.SetEmailMode(true)
	t.Run("emulator with emulator, e-mail mode", func(t *testing.T) { tokentest.TestFortezzaCard(t, p.Server, p.Client) })
	p.Server.SetEmailMode(false)

	soft := tokentest.SoftwareFortezzaCard(t, p.Params)
	t.Run("emulator with software card", func(t *testing.T) { tokentest.TestFortezzaCard(t, p.Server, soft) })
	t.Run("software card with emulator", func(t *testing.T) { tokentest.TestFortezzaCard(t, soft, p.Client) })
	for _, c := range []*softhsm.FortezzaCard{p.Server, p.Client} {
		if n := c.LiveObjects(); n != 0 {
			t.Errorf("%d emulated keys left", n)
		}
	}
}

// pkcs11.OpenFortezza and pkcs11.OpenKey on an emulated card: SoftHSM lacks
// the Fortezza mechanisms, so the emulator serves it, and says so; without
// an emulator the card is refused; a card's KEA key named like any key
// opens the card with its certificates.
func TestOpenFortezzaChoosesEmulator(t *testing.T) {
	p := fortezzaPair(t)
	b, err := p.ServerToken.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	card, kind, err := pkcs11.OpenFortezza(b, pkcs11.FortezzaCardSpec{KEA: pkcs11.KeySpec{Label: pkcs11.FortezzaKEALabel}}, softhsm.EmulateFortezza)
	if err != nil || kind != pkcs11.CardEmulator {
		t.Fatalf("OpenFortezza: %v, card=%s; want the emulator", err, kind)
	}
	if card.KEAPublicKey().Y.Cmp(p.Server.KEAPublicKey().Y) != 0 {
		t.Fatal("OpenFortezza opened another KEA key")
	}
	if _, _, err := pkcs11.OpenFortezza(b, pkcs11.FortezzaCardSpec{}, nil); !errors.Is(err, pkcs11.ErrUnsupported) {
		t.Fatalf("no emulator: %v, want ErrUnsupported", err)
	}

	cfg := p.ServerToken.Config()
	for name, req := range map[string]pkcs11.KeyRequest{
		"by flag":  {Config: cfg, Fortezza: true, Emulator: softhsm.EmulateFortezza},
		"by label": {Config: cfg, Key: pkcs11.KeySpec{Label: pkcs11.FortezzaKEALabel}, Emulator: softhsm.EmulateFortezza},
	} {
		k, err := pkcs11.OpenKey(req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if k.Card != pkcs11.CardEmulator || token.AsFortezzaCard(k.Key) == nil {
			t.Errorf("%s: card=%s key %T", name, k.Card, k.Key)
		}
		if !bytes.Equal(k.Certificate, p.ServerChain[0]) || !bytes.Equal(k.CACertificate, p.CA.DER) || k.DSSCertificate == nil {
			t.Errorf("%s: the card's certificates are not returned", name)
		}
		if err := k.Close(); err != nil {
			t.Errorf("%s: close: %v", name, err)
		}
	}
	// The DSS key on the same token is an ordinary DSA key.
	k, err := pkcs11.OpenKey(pkcs11.KeyRequest{Config: cfg, Key: pkcs11.KeySpec{Label: pkcs11.FortezzaDSSLabel}, Emulator: softhsm.EmulateFortezza})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if _, ok := k.Key.(*pkcs11.DSAKey); !ok || k.Card != "" || k.Certificate == nil {
		t.Fatalf("DSS key: %T card=%q", k.Key, k.Card)
	}
}
