package token_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenssl/tokenssl/token"
	"github.com/tokenssl/tokenssl/token/tokentest"
)

func TestAESGCMSealer(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	s, err := token.NewAESGCMSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := token.NewAESGCMSealer(bytes.Repeat([]byte{8}, 32))
	pt, ad := []byte("master secret"), []byte("session id")
	sealed, err := s.Seal(pt, ad)
	if err != nil {
		t.Fatal(err)
	}
	if len(sealed) != token.GCMNonceSize+len(pt)+token.GCMTagSize || bytes.Contains(sealed, pt) {
		t.Fatalf("sealed form of %d bytes (or plaintext visible)", len(sealed))
	}
	again, _ := s.Seal(pt, ad)
	if bytes.Equal(again[:token.GCMNonceSize], sealed[:token.GCMNonceSize]) {
		t.Fatal("nonce reused")
	}
	if got, err := s.Open(sealed, ad); err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("Open: %q, %v", got, err)
	}
	flipped := bytes.Clone(sealed)
	flipped[len(flipped)-1] ^= 1
	for name, tc := range map[string]struct {
		s      token.Sealer
		sealed []byte
		ad     []byte
	}{
		"other key":  {other, sealed, ad},
		"other AD":   {s, sealed, []byte("session ie")},
		"flipped":    {s, flipped, ad},
		"short":      {s, sealed[:token.GCMNonceSize+token.GCMTagSize-1], ad},
		"empty":      {s, nil, ad},
		"truncated":  {s, sealed[:len(sealed)-1], ad},
		"nonce only": {s, sealed[:token.GCMNonceSize], ad},
	} {
		if _, err := tc.s.Open(tc.sealed, tc.ad); !errors.Is(err, token.ErrNotOpened) {
			t.Errorf("%s: Open gave %v, want ErrNotOpened", name, err)
		}
	}
	if _, err := token.NewAESGCMSealer(make([]byte, 20)); err == nil {
		t.Error("accepted a 20-byte key")
	}
}

func TestLoadSealerKeyFile(t *testing.T) {
	dir := t.TempDir()
	hexKey := strings.Repeat("ab", 32)
	raw := string(bytes.Repeat([]byte{0xab}, 32))
	a, err := token.LoadSealerKeyFile(tokentest.SecretFile(t, dir, "hex", hexKey+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := token.LoadSealerKeyFile(tokentest.SecretFile(t, dir, "raw", raw))
	if err != nil {
		t.Fatal(err)
	}
	sealed, _ := a.Seal([]byte("x"), nil)
	if _, err := b.Open(sealed, nil); err != nil {
		t.Fatal("hex and raw forms of one key differ")
	}
	secret := "s3cr3t-not-a-key-value"
	_, err = token.LoadSealerKeyFile(tokentest.SecretFile(t, dir, "bad", secret))
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Fatalf("bad key file: %v", err)
	}
	if _, err := token.LoadSealerKeyFile(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("missing file accepted")
	}
}
