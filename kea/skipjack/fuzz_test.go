package skipjack

import (
	"bytes"
	"crypto/cipher"
	"errors"
	"testing"

	"github.com/tokenssl/tokenssl/internal/ciphertest"
)

// FuzzSkipjack checks that decryption inverts encryption in both byte
// conventions, that the two conventions are related by byte reversal, and
// that WrapKey/UnwrapKey round-trip.
func FuzzSkipjack(f *testing.F) {
	f.Add([]byte("0123456789" + "abcdefgh" + "kek4567890"))
	f.Add(make([]byte, 2*KeySize+BlockSize))
	f.Add(bytes.Repeat([]byte{0xff}, 2*KeySize+BlockSize))
	f.Fuzz(func(t *testing.T, data []byte) {
		// One input split into key ‖ block ‖ kek, so that mutations keep
		// producing usable inputs; extra bytes are ignored.
		if len(data) < 2*KeySize+BlockSize {
			return
		}
		key, block, kek := data[:KeySize], data[KeySize:KeySize+BlockSize], data[KeySize+BlockSize:2*KeySize+BlockSize]
		n, err := NewCipher(key)
		if err != nil {
			t.Fatal(err)
		}
		fc, err := NewFortezzaCipher(key)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []cipher.Block{n, fc} {
			ciphertest.RoundTrip(t, c, block)
		}
		got := make([]byte, BlockSize)
		fc.Encrypt(got, block)
		if want := byDefinition(t, key, block); !bytes.Equal(got, want) {
			t.Fatalf("E_FORTEZZA = %x, rev(E_NIST(rev k, rev b)) = %x", got, want)
		}

		w, err := WrapKey(kek, key)
		if err != nil {
			t.Fatal(err)
		}
		k, err := UnwrapKey(kek, w)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(k, key) {
			t.Fatalf("UnwrapKey(WrapKey(%x)) = %x", key, k)
		}
	})
}

// FuzzUnwrapKey feeds arbitrary wrapped keys: UnwrapKey must never panic,
// and whatever it accepts must re-wrap to exactly the same bytes.
func FuzzUnwrapKey(f *testing.F) {
	for _, v := range wrapVectors {
		f.Add(unhex(f, v.kek), unhex(f, v.wrapped))
	}
	f.Add([]byte{}, []byte{})
	f.Add(make([]byte, KeySize), make([]byte, WrappedKeySize))
	f.Fuzz(func(t *testing.T, kek, wrapped []byte) {
		k, err := UnwrapKey(kek, wrapped)
		if err != nil {
			if k != nil {
				t.Fatalf("UnwrapKey returned key %x with error %v", k, err)
			}
			if len(kek) == KeySize && len(wrapped) == WrappedKeySize && !errors.Is(err, ErrChecksum) {
				t.Fatalf("well-sized input: err = %v, want ErrChecksum", err)
			}
			return
		}
		w, err := WrapKey(kek, k)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(w, wrapped) {
			t.Fatalf("WrapKey(UnwrapKey(%x)) = %x", wrapped, w)
		}
	})
}

// FuzzCBCIV: CBCIV never panics and returns iv[16:24] for 24-byte input.
func FuzzCBCIV(f *testing.F) {
	f.Add([]byte(LEAFSuppressed + "12345678"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, iv []byte) {
		got, err := CBCIV(iv)
		if (err == nil) != (len(iv) == IVSize) {
			t.Fatalf("CBCIV(len %d) err = %v", len(iv), err)
		}
		if err == nil && !bytes.Equal(got, iv[16:]) {
			t.Fatalf("CBCIV = %x", got)
		}
	})
}
