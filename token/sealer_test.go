package token

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAESGCMSealer(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	s, err := NewAESGCMSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewAESGCMSealer(bytes.Repeat([]byte{8}, 32))
	pt, ad := []byte("master secret"), []byte("session id")
	sealed, err := s.Seal(pt, ad)
	if err != nil {
		t.Fatal(err)
	}
	if len(sealed) != GCMNonceSize+len(pt)+GCMTagSize || bytes.Contains(sealed, pt) {
		t.Fatalf("sealed form of %d bytes (or plaintext visible)", len(sealed))
	}
	again, _ := s.Seal(pt, ad)
	if bytes.Equal(again[:GCMNonceSize], sealed[:GCMNonceSize]) {
		t.Fatal("nonce reused")
	}
	if got, err := s.Open(sealed, ad); err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("Open: %q, %v", got, err)
	}
	flipped := bytes.Clone(sealed)
	flipped[len(flipped)-1] ^= 1
	for name, tc := range map[string]struct {
		s      Sealer
		sealed []byte
		ad     []byte
	}{
		"other key":  {other, sealed, ad},
		"other AD":   {s, sealed, []byte("session ie")},
		"flipped":    {s, flipped, ad},
		"short":      {s, sealed[:GCMNonceSize+GCMTagSize-1], ad},
		"empty":      {s, nil, ad},
		"truncated":  {s, sealed[:len(sealed)-1], ad},
		"nonce only": {s, sealed[:GCMNonceSize], ad},
	} {
		if _, err := tc.s.Open(tc.sealed, tc.ad); !errors.Is(err, ErrNotOpened) {
			t.Errorf("%s: Open gave %v, want ErrNotOpened", name, err)
		}
	}
	if _, err := NewAESGCMSealer(make([]byte, 20)); err == nil {
		t.Error("accepted a 20-byte key")
	}
}

func TestLoadSealerKeyFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	hexKey := strings.Repeat("ab", 32)
	raw := string(bytes.Repeat([]byte{0xab}, 32))
	a, err := LoadSealerKeyFile(write("hex", hexKey+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadSealerKeyFile(write("raw", raw))
	if err != nil {
		t.Fatal(err)
	}
	sealed, _ := a.Seal([]byte("x"), nil)
	if _, err := b.Open(sealed, nil); err != nil {
		t.Fatal("hex and raw forms of one key differ")
	}
	secret := "s3cr3t-not-a-key-value"
	_, err = LoadSealerKeyFile(write("bad", secret))
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Fatalf("bad key file: %v", err)
	}
	if _, err := LoadSealerKeyFile(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("missing file accepted")
	}
}
