package ssl

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenssl/tokenssl/internal/openssltest"
)

// Known answers for the 16-byte block ciphers in the record layer: a record
// sealed with fixed keys, IV and sequence number equals one built here by
// hand — the SSL 3.0 MAC of §7.2.3.1 written out with crypto/sha1, SSL 3.0
// padding of §7.2.3.2, then CBC by crypto/aes or, for Camellia and SEED, by
// the openssl binary (skipped where it lacks the cipher) — and the reading
// side opens it.

// handSSL3MACSHA1 is §7.2.3.1 with SHA-1: hash(secret + pad_2 +
// hash(secret + pad_1 + seq_num + type + length + content)).
func handSSL3MACSHA1(secret []byte, seq uint64, typ byte, content []byte) []byte {
	inner := sha1.New()
	inner.Write(secret)
	inner.Write(bytes.Repeat([]byte{0x36}, 40))
	binary.Write(inner, binary.BigEndian, seq)
	inner.Write([]byte{typ, byte(len(content) >> 8), byte(len(content))})
	inner.Write(content)
	outer := sha1.New()
	outer.Write(secret)
	outer.Write(bytes.Repeat([]byte{0x5c}, 40))
	outer.Write(inner.Sum(nil))
	return outer.Sum(nil)
}

// handCBC encrypts plaintext (a multiple of 16 bytes) with the named
// cipher: crypto/aes for AES, `openssl enc` for the others.
func handCBC(t *testing.T, bc *bulkCipher, key, iv, plaintext []byte) []byte {
	t.Helper()
	if bc == cipherAES128 || bc == cipherAES256 {
		b, err := aes.NewCipher(key)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]byte, len(plaintext))
		cipher.NewCBCEncrypter(b, iv).CryptBlocks(out, plaintext)
		return out
	}
	o := openssltest.Find(t)
	var name []string
	switch bc {
	case cipherCamellia128:
		name = []string{"-camellia-128-cbc"}
	case cipherCamellia256:
		name = []string{"-camellia-256-cbc"}
	case cipherSEED:
		// OpenSSL 3 keeps SEED in the legacy provider.
		name = []string{"-seed-cbc", "-provider", "legacy", "-provider", "default"}
	}
	in := filepath.Join(t.TempDir(), "in")
	if err := os.WriteFile(in, plaintext, 0o600); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"enc", "-e", "-nopad", "-in", in, "-K", hex.EncodeToString(key), "-iv", hex.EncodeToString(iv)}, name...)
	out, stderr, err := o.Output("", args...)
	if err != nil {
		if s := string(stderr); strings.Contains(s, "nsupported") || strings.Contains(s, "nknown") || strings.Contains(s, "not found") {
			t.Skipf("openssl lacks %s: %s", bc.name, s)
		}
		t.Fatalf("openssl %v: %v %s", args, err, stderr)
	}
	return out
}

func TestRecordKnownAnswers16ByteBlocks(t *testing.T) {
	suites := []uint16{TLS_RSA_WITH_AES_128_CBC_SHA, TLS_RSA_WITH_AES_256_CBC_SHA,
		TLS_RSA_WITH_CAMELLIA_128_CBC_SHA, TLS_RSA_WITH_CAMELLIA_256_CBC_SHA, TLS_RSA_WITH_SEED_CBC_SHA}
	// Content lengths around the block boundary: with the 20-byte MAC and
	// the length byte, 11 leaves no padding, 12 the most (15 bytes).
	lengths := []int{0, 1, 11, 12, 27, 100, maxPlaintext}
	for _, id := range suites {
		s := suiteByID(id)
		t.Run(s.name, func(t *testing.T) {
			key := bytes.Repeat([]byte{0xa5}, s.cipher.keyMaterial)
			iv := []byte("0123456789abcdef")
			macKey := bytes.Repeat([]byte{0x3c}, 20)
			const seq = 0x0102030405060708
			w, r := suiteHalf(t, s, key, iv, macKey, false), suiteHalf(t, s, key, iv, macKey, true)
			w.seq, r.seq = seq, seq

			// The expected stream: every record's MAC, padding and length
			// byte, chained through one CBC run as §7.2.3.2 chains them.
			var plain []byte
			var records [][]byte
			for i, n := range lengths {
				data := bytes.Repeat([]byte{byte(i + 1)}, n)
				rec, err := w.encrypt([]byte{23, 3, 0, 0, 0}, recordTypeApplicationData, data, rand.Reader)
				if err != nil {
					t.Fatal(err)
				}
				records = append(records, rec[recordHeaderLen:])
				p := append(data, handSSL3MACSHA1(macKey, seq+uint64(i), 23, data)...)
				pad := 15 - len(p)%16
				p = append(p, bytes.Repeat([]byte{byte(pad)}, pad+1)...)
				if len(rec)-recordHeaderLen != len(p) || int(binary.BigEndian.Uint16(rec[3:5])) != len(p) {
					t.Fatalf("record of %d bytes: length %d, want %d", n, len(rec)-recordHeaderLen, len(p))
				}
				plain = append(plain, p...)
			}
			want := handCBC(t, s.cipher, key, iv, plain)
			if got := bytes.Join(records, nil); !bytes.Equal(got, want) {
				t.Fatalf("sealed records differ from the independent computation\n got %x\nwant %x", got[:64], want[:64])
			}
			for i, rec := range records {
				got, err := r.decrypt(recordTypeApplicationData, bytes.Clone(rec))
				if err != nil || !bytes.Equal(got, bytes.Repeat([]byte{byte(i + 1)}, lengths[i])) {
					t.Fatalf("record %d does not open: %v", i, err)
				}
			}
		})
	}
}

// TestPaddingBound16: SSL 3.0 padding is shorter than the block (§7.2.3.2):
// with a 16-byte block a padding_length of 15 opens, 16 (a whole extra
// block) is bad_record_mac.
func TestPaddingBound16(t *testing.T) {
	s := suiteByID(TLS_RSA_WITH_AES_128_CBC_SHA)
	key, iv, macKey := bytes.Repeat([]byte{1}, 16), bytes.Repeat([]byte{2}, 16), bytes.Repeat([]byte{3}, 20)
	for _, tt := range []struct {
		padLen int
		ok     bool
	}{{0, true}, {15, true}, {16, false}, {31, false}} {
		data := make([]byte, 11+16-(tt.padLen%16)) // data+MAC+padding+1 fills whole blocks
		if tt.padLen%16 == 0 {
			data = make([]byte, 11)
		}
		p := append(bytes.Clone(data), handSSL3MACSHA1(macKey, 0, 23, data)...)
		p = append(p, bytes.Repeat([]byte{byte(tt.padLen)}, tt.padLen+1)...)
		if len(p)%16 != 0 {
			t.Fatalf("test: %d bytes", len(p))
		}
		rec := handCBC(t, s.cipher, key, iv, p)
		r := suiteHalf(t, s, key, iv, macKey, true)
		got, err := r.decrypt(recordTypeApplicationData, rec)
		if tt.ok != (err == nil) || (tt.ok && !bytes.Equal(got, data)) {
			t.Fatalf("padding_length %d: %v", tt.padLen, err)
		}
		if !tt.ok && err != alertBadRecordMAC {
			t.Fatalf("padding_length %d: %v, want bad_record_mac", tt.padLen, err)
		}
	}
}
