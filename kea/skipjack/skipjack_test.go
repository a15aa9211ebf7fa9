package skipjack

import (
	"bytes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"testing"

	"github.com/tokenssl/tokenssl/internal/ciphertest"
)

var unhex = ciphertest.Hex

// nistVectors are in NIST byte order (docs/fortezza.md §1.5): the official vector
// from the NIST specification and the Catacomb vectors.
var nistVectors = []ciphertest.Vector{
	{Name: "official", Key: "00998877665544332211", Plaintext: "33221100ddccbbaa", Ciphertext: "2587cae27a12d300"},
	{Name: "catacomb-1", Key: "e7496e99e4628b7f9ffb", Plaintext: "99ccfe2b90fd550b", Ciphertext: "60a73d387b517fca"},
	{Name: "catacomb-2", Key: "e7496e99e4628b7f9ffb", Plaintext: "60a73d387b517fca", Ciphertext: "24c90cb05d668b27"},
	{Name: "catacomb-3", Key: "e5caf4dcc70e55f1dd90", Plaintext: "b71cb0d009af2765", Ciphertext: "64f4877ae68a8a62"},
	{Name: "catacomb-4", Key: "e5caf4dcc70e55f1dd90", Plaintext: "64f4877ae68a8a62", Ciphertext: "fee778a838a601cd"},
	{Name: "catacomb-5", Key: "cde4bef260d7bcda1635", Plaintext: "47d348b7551195e7", Ciphertext: "f17b3070144aebea"},
}

// fortezzaVectors are in the Fortezza card convention (docs/fortezza.md §1.6):
// the official vector with every byte string reversed, and the NIST KEA
// annex values, which only this convention reproduces.
var fortezzaVectors = []ciphertest.Vector{
	{Name: "official-reversed", Key: "11223344556677889900", Plaintext: "aabbccdd00112233", Ciphertext: "00d3127ae2ca8725"},
	{Name: "kea-annex-1-U", Key: "e7496e99e4628b7f9ffb", Plaintext: "99ccfe2b90fd550b", Ciphertext: "2f30214d9d11d556"},
	{Name: "kea-annex-1-TEK", Key: "e7496e99e4628b7f9ffb", Plaintext: "2f30214d9d11d556", Ciphertext: "740839dee833add4"},
	{Name: "kea-annex-2-U", Key: "e5caf4dcc70e55f1dd90", Plaintext: "b71cb0d009af2765", Ciphertext: "8e277d549b08b459"},
	{Name: "kea-annex-2-TEK", Key: "e5caf4dcc70e55f1dd90", Plaintext: "8e277d549b08b459", Ciphertext: "97fd1c6bd86bc439"},
}

// reversedVectors derives Fortezza-convention vectors from the NIST ones
// by E_FORTEZZA(rev k, rev b) = rev E_NIST(k, b).
func reversedVectors(t *testing.T) []ciphertest.Vector {
	var out []ciphertest.Vector
	rev := func(s string) string {
		b := unhex(t, s)
		slices.Reverse(b)
		return hex.EncodeToString(b)
	}
	for _, v := range nistVectors {
		out = append(out, ciphertest.Vector{Name: v.Name + "-reversed", Key: rev(v.Key), Plaintext: rev(v.Plaintext), Ciphertext: rev(v.Ciphertext)})
	}
	return out
}

// Both conventions through the cipher.Block kit.
func TestNISTVectors(t *testing.T) {
	ciphertest.TestBlock(t, NewCipher, []int{KeySize}, nistVectors)
}

func TestFortezzaVectors(t *testing.T) {
	ciphertest.TestBlock(t, NewFortezzaCipher, []int{KeySize}, append(slices.Clone(fortezzaVectors), reversedVectors(t)...))
}

// The KEA annex values must NOT come out of NIST-order SKIPJACK: that is the
// whole point of the Fortezza convention (docs/fortezza.md §1.6).
func TestAnnexNeedsFortezzaConvention(t *testing.T) {
	c, _ := NewCipher(unhex(t, "e7496e99e4628b7f9ffb"))
	got := make([]byte, BlockSize)
	c.Encrypt(got, unhex(t, "99ccfe2b90fd550b"))
	if hex.EncodeToString(got) == "2f30214d9d11d556" {
		t.Fatal("NIST-order SKIPJACK reproduced the annex value; conventions mixed up")
	}
}

func TestFTable(t *testing.T) {
	sum := sha256.Sum256(ftable[:])
	if got, want := hex.EncodeToString(sum[:]), "3587a8b7cde06e199ec29100dfe96c61ae1999de95308b8abc49d38f12565624"; got != want {
		t.Errorf("SHA-256(F) = %s, want %s", got, want)
	}
	ciphertest.Permutation(t, "F", &ftable)
	if ftable[0x7a] != 0xd6 {
		t.Errorf("F(0x7a) = %#02x, want 0xd6", ftable[0x7a])
	}
}

func TestKeySize(t *testing.T) {
	bad := []int{0, 1, 8, 9, 11, 12, 16}
	ciphertest.RejectKeySizes(t, NewCipher, bad)
	ciphertest.RejectKeySizes(t, NewFortezzaCipher, bad)
	c, err := NewCipher(make([]byte, KeySize))
	if err != nil || c.BlockSize() != BlockSize {
		t.Fatalf("NewCipher: %v, block size %d", err, c.BlockSize())
	}
}

// The Fortezza cipher is defined by byte reversal around the NIST cipher;
// check the definition directly on many keys and blocks.
func TestFortezzaDefinition(t *testing.T) {
	key := make([]byte, KeySize)
	blk := make([]byte, BlockSize)
	for i := range 200 {
		for j := range key {
			key[j] = byte(i*31 + j*7)
		}
		for j := range blk {
			blk[j] = byte(i*17 + j*13)
		}
		f, _ := NewFortezzaCipher(key)
		got := make([]byte, BlockSize)
		f.Encrypt(got, blk)
		if want := byDefinition(t, key, blk); !bytes.Equal(got, want) {
			t.Fatalf("key %x block %x: E_FORTEZZA = %x, rev(E_NIST(rev,rev)) = %x", key, blk, got, want)
		}
	}
}

// byDefinition is E_FORTEZZA(key, blk) as the package documentation
// defines it, rev8(E_NIST(rev10(key), rev8(blk))): the NIST-order cipher
// and explicit byte reversal, independent of the Fortezza fast path.
func byDefinition(t testing.TB, key, blk []byte) []byte {
	t.Helper()
	n, err := NewCipher(reversed(key))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, BlockSize)
	n.Encrypt(out, reversed(blk))
	slices.Reverse(out)
	return out
}

func reversed(b []byte) []byte {
	r := slices.Clone(b)
	slices.Reverse(r)
	return r
}

// CBC64 on a card is plain CBC with the Fortezza-convention cipher and the
// IV bytes iv[16:24]; check that cipher.NewCBCEncrypter composes with it.
func TestCBC64(t *testing.T) {
	key := unhex(t, "11223344556677889900")
	iv24, err := NewIV(bytes.NewReader(unhex(t, "0102030405060708")))
	if err != nil {
		t.Fatal(err)
	}
	iv, err := CBCIV(iv24[:])
	if err != nil {
		t.Fatal(err)
	}
	c, _ := NewFortezzaCipher(key)
	pt := []byte("forty-eight byte pre-master secret for SSL 3.0!!")
	ct := make([]byte, len(pt))
	cipher.NewCBCEncrypter(c, iv).CryptBlocks(ct, pt)
	// First block by hand.
	var x [BlockSize]byte
	subtleXOR(x[:], pt[:8], iv)
	c.Encrypt(x[:], x[:])
	if !bytes.Equal(x[:], ct[:8]) {
		t.Fatalf("CBC first block %x, by hand %x", ct[:8], x)
	}
	back := make([]byte, len(ct))
	cipher.NewCBCDecrypter(c, iv).CryptBlocks(back, ct)
	if !bytes.Equal(back, pt) {
		t.Fatalf("CBC round trip = %q", back)
	}
}

func subtleXOR(dst, a, b []byte) {
	for i := range dst {
		dst[i] = a[i] ^ b[i]
	}
}

// BenchmarkBlock times one-block Encrypt and Decrypt in both byte
// conventions, in the same run.
func BenchmarkBlock(b *testing.B) {
	key := make([]byte, KeySize)
	ciphertest.BenchmarkCiphers(b, ciphertest.NewNamed(b, "NIST", NewCipher, key), ciphertest.NewNamed(b, "Fortezza", NewFortezzaCipher, key))
}

func BenchmarkNewFortezzaCipher(b *testing.B) {
	ciphertest.BenchmarkNewCipher(b, NewFortezzaCipher, make([]byte, KeySize))
}
