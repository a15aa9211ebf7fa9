package pkcs11_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/tokenssl/tokenssl/softhsm/softhsmtest"
	"github.com/tokenssl/tokenssl/token"
	"github.com/tokenssl/tokenssl/token/pkcs11"
)

// TestAESKeySealer: CKM_AES_GCM on a SoftHSM secret key seals and opens,
// interoperates with the software Sealer under the same key value (a key
// file and a token key of the fleet are one key), and refuses altered data
// and other associated data as token.ErrNotOpened.
func TestAESKeySealer(t *testing.T) {
	tok := softhsmtest.NewToken(t)
	value := bytes.Repeat([]byte{0x3c}, 32)
	ref, err := tok.ImportAESKey("session-key", []byte{0x51}, value)
	b, hw := findMadeWith(t, tok, nil, ref, err, (*pkcs11.Backend).FindSealer)
	sw, _ := token.NewAESGCMSealer(value)
	other, _ := token.NewAESGCMSealer(bytes.Repeat([]byte{0x3d}, 32))
	pt, ad := bytes.Repeat([]byte{0x4d}, 150), []byte("session id")
	for name, pair := range map[string][2]token.Sealer{"token→token": {hw, hw}, "token→software": {hw, sw}, "software→token": {sw, hw}} {
		sealed, err := pair[0].Seal(pt, ad)
		if err != nil {
			t.Fatalf("%s: seal: %v", name, err)
		}
		if bytes.Contains(sealed, pt[:16]) {
			t.Fatalf("%s: plaintext visible", name)
		}
		got, err := pair[1].Open(sealed, ad)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("%s: open: %v", name, err)
		}
		if _, err := pair[1].Open(sealed, []byte("session ie")); !errors.Is(err, token.ErrNotOpened) {
			t.Fatalf("%s: other AD: %v, want ErrNotOpened", name, err)
		}
		flipped := bytes.Clone(sealed)
		flipped[20] ^= 1
		if _, err := pair[1].Open(flipped, ad); !errors.Is(err, token.ErrNotOpened) {
			t.Fatalf("%s: altered: %v, want ErrNotOpened", name, err)
		}
	}
	sealed, _ := other.Seal(pt, ad)
	if _, err := hw.Open(sealed, ad); !errors.Is(err, token.ErrNotOpened) {
		t.Fatalf("other key: %v, want ErrNotOpened", err)
	}
	if _, err := hw.Open(sealed[:10], ad); !errors.Is(err, token.ErrNotOpened) {
		t.Fatalf("short: %v, want ErrNotOpened", err)
	}
	// An RSA key is not a sealing key.
	rsaRef, err := tok.ImportRSA("rsa", []byte{0x52}, softwareRSA(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.FindSealer(pkcs11.KeySpec{Label: rsaRef.Label}); err == nil {
		t.Fatal("found an RSA key as a sealing key")
	}
}
