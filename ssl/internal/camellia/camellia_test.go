package camellia

import (
	"bytes"
	"crypto/cipher"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// vector is one known answer: Encrypt(key, plaintext) = ciphertext.
type vector struct {
	name, key, plaintext, ciphertext string
}

// rfcVectors are all of RFC 3713 Appendix A.
var rfcVectors = []vector{
	{"RFC 3713 A 128-bit key", "0123456789abcdeffedcba9876543210",
		"0123456789abcdeffedcba9876543210", "67673138549669730857065648eabe43"},
	{"RFC 3713 A 192-bit key", "0123456789abcdeffedcba98765432100011223344556677",
		"0123456789abcdeffedcba9876543210", "b4993401b3e996f84ee5cee7d79b09b9"},
	{"RFC 3713 A 256-bit key", "0123456789abcdeffedcba987654321000112233445566778899aabbccddeeff",
		"0123456789abcdeffedcba9876543210", "9acc237dff16d76c20ef7c919e3a7509"},
}

// moreVectors were each produced by `openssl enc -camellia-N-ecb -nopad`
// (OpenSSL 3.0) when this file was written, so that they are checked even
// where openssl is absent; the key-bit-0 rows are also NESSIE's set 1
// vector 0 for each key size.
var moreVectors = []vector{
	{"128 key bit 0 (NESSIE set 1 vector 0)", "80000000000000000000000000000000",
		"00000000000000000000000000000000", "6c227f749319a3aa7da235a9bba05a2c"},
	{"128 zero key", "00000000000000000000000000000000",
		"00000000000000000000000000000000", "3d028025b156327c17f762c1f2cbca71"},
	{"128 all-ones key", "ffffffffffffffffffffffffffffffff",
		"00000000000000000000000000000000", "1b3f5478ec46cca924d0a8f4e4fe63f5"},
	{"192 key bit 0 (NESSIE set 1 vector 0)", "800000000000000000000000000000000000000000000000",
		"00000000000000000000000000000000", "1b6220d365c2176c1d41a5826520fca1"},
	{"256 key bit 0 (NESSIE set 1 vector 0)", "8000000000000000000000000000000000000000000000000000000000000000",
		"00000000000000000000000000000000", "2136fabda091dfb5171b94b8efbb5d08"},
	{"256 zero key", "0000000000000000000000000000000000000000000000000000000000000000",
		"00000000000000000000000000000000", "396154111adefc500cf6e5c99038bc17"},
}

func checkVector(t *testing.T, v vector) {
	t.Helper()
	key, pt, ct := mustHex(t, v.key), mustHex(t, v.plaintext), mustHex(t, v.ciphertext)
	c, err := NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, BlockSize)
	c.Encrypt(got, pt)
	if !bytes.Equal(got, ct) {
		t.Errorf("Encrypt(%x) = %x, want %x", pt, got, ct)
	}
	c.Decrypt(got, ct)
	if !bytes.Equal(got, pt) {
		t.Errorf("Decrypt(%x) = %x, want %x", ct, got, pt)
	}
	buf := bytes.Clone(pt)
	if c.Encrypt(buf, buf); !bytes.Equal(buf, ct) {
		t.Errorf("in-place Encrypt = %x, want %x", buf, ct)
	}
	if c.Decrypt(buf, buf); !bytes.Equal(buf, pt) {
		t.Errorf("in-place Decrypt = %x, want %x", buf, pt)
	}
}

func TestKnownAnswers(t *testing.T) {
	for _, set := range [][]vector{rfcVectors, moreVectors} {
		for _, v := range set {
			t.Run(v.name, func(t *testing.T) { checkVector(t, v) })
		}
	}
}

// TestFTables checks that the folded tables compute the RFC's F: the
// S-function applied byte by byte, then the P-function as written in §2.4.1.
func TestFTables(t *testing.T) {
	rng := rand.New(rand.NewPCG(3713, 1))
	for i := 0; i < 10000; i++ {
		x, k := rng.Uint64(), rng.Uint64()
		var in, s [8]byte
		for j := range in {
			in[j] = byte((x ^ k) >> (56 - 8*j))
			s[j] = sbox(j, in[j])
		}
		if got, want := f(x, k), pFunction(s); got != want {
			t.Fatalf("f(%#x, %#x) = %#x, want %#x", x, k, got, want)
		}
	}
	seen := [256]bool{}
	for _, v := range sbox1 {
		if seen[v] {
			t.Fatalf("SBOX1 has %#x twice", v)
		}
		seen[v] = true
	}
}

// TestFLInverse checks FL^-1(FL(x, k), k) = x, which decryption relies on.
func TestFLInverse(t *testing.T) {
	rng := rand.New(rand.NewPCG(3713, 2))
	for i := 0; i < 10000; i++ {
		x, k := rng.Uint64(), rng.Uint64()
		if got := flInv(fl(x, k), k); got != x {
			t.Fatalf("flInv(fl(%#x, %#x)) = %#x", x, k, got)
		}
	}
}

func TestNewCipherKeySize(t *testing.T) {
	for _, n := range []int{0, 1, 8, 15, 17, 23, 25, 31, 33, 64} {
		c, err := NewCipher(make([]byte, n))
		var kse KeySizeError
		if c != nil || !errors.As(err, &kse) || int(kse) != n {
			t.Errorf("NewCipher(len %d) = %v, %v; want KeySizeError(%d)", n, c, err, n)
		}
	}
	for _, n := range []int{16, 24, 32} {
		c, err := NewCipher(make([]byte, n))
		if err != nil || c.BlockSize() != BlockSize {
			t.Errorf("NewCipher(len %d) = %v, %v", n, c, err)
		}
	}
}

func TestShortBuffersPanic(t *testing.T) {
	c, err := NewCipher(make([]byte, 16))
	if err != nil {
		t.Fatal(err)
	}
	short, full := make([]byte, BlockSize-1), make([]byte, BlockSize)
	for _, tc := range []struct {
		name     string
		f        func(dst, src []byte)
		dst, src []byte
	}{
		{"Encrypt short src", c.Encrypt, full, short},
		{"Encrypt short dst", c.Encrypt, short, full},
		{"Decrypt short src", c.Decrypt, full, short},
		{"Decrypt short dst", c.Decrypt, short, full},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			tc.f(tc.dst, tc.src)
		})
	}
}

func TestNoAllocs(t *testing.T) {
	for _, n := range []int{16, 24, 32} {
		c, err := NewCipher(make([]byte, n))
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, BlockSize)
		if a := testing.AllocsPerRun(100, func() { c.Encrypt(buf, buf); c.Decrypt(buf, buf) }); a != 0 {
			t.Errorf("%d-byte key: %v allocations per Encrypt+Decrypt, want 0", n, a)
		}
		key := make([]byte, n)
		if a := testing.AllocsPerRun(100, func() { _, _ = NewCipher(key) }); a > 1 {
			t.Errorf("%d-byte key: NewCipher made %v allocations, want at most 1", n, a)
		}
	}
}

// TestRoundTripRandom is Decrypt(Encrypt(x)) == x through CBC, as SSL
// uses the cipher, over random keys of every size (deterministic seed).
func TestRoundTripRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(3713, 3))
	for i := 0; i < 1500; i++ {
		key := randBytes(rng, []int{16, 24, 32}[i%3])
		c, err := NewCipher(key)
		if err != nil {
			t.Fatal(err)
		}
		pt, iv := randBytes(rng, BlockSize*(1+rng.IntN(4))), randBytes(rng, BlockSize)
		ct := make([]byte, len(pt))
		cipher.NewCBCEncrypter(c, iv).CryptBlocks(ct, pt)
		back := make([]byte, len(ct))
		cipher.NewCBCDecrypter(c, iv).CryptBlocks(back, ct)
		if !bytes.Equal(back, pt) {
			t.Fatalf("round trip failed: key %x pt %x got %x", key, pt, back)
		}
	}
}

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// openssl runs `openssl enc -<name> -nopad` over in and returns its output;
// the IV is passed only for CBC. It skips the test if openssl is missing.
func openssl(t *testing.T, name string, decrypt bool, key, iv, in []byte) []byte {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	args := []string{"enc", "-" + name, "-nopad", "-K", hex.EncodeToString(key)}
	if iv != nil {
		args = append(args, "-iv", hex.EncodeToString(iv))
	}
	if decrypt {
		args = append(args, "-d")
	}
	cmd := exec.Command(path, args...)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if strings.Contains(stderr.String(), "nsupported") || strings.Contains(stderr.String(), "nknown cipher") {
			t.Skipf("openssl has no %s: %s", name, strings.TrimSpace(stderr.String()))
		}
		t.Fatalf("openssl %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// TestAgainstOpenSSL cross-checks random keys and messages, ECB and CBC,
// both directions, with the openssl binary.
func TestAgainstOpenSSL(t *testing.T) {
	rng := rand.New(rand.NewPCG(3713, 4))
	for _, bits := range []int{128, 192, 256} {
		for i := 0; i < 6; i++ {
			key := randBytes(rng, bits/8)
			c, err := NewCipher(key)
			if err != nil {
				t.Fatal(err)
			}
			msg := randBytes(rng, BlockSize*(1+rng.IntN(8)))
			iv := randBytes(rng, BlockSize)

			ecb := make([]byte, len(msg))
			for j := 0; j < len(msg); j += BlockSize {
				c.Encrypt(ecb[j:], msg[j:])
			}
			cbc := make([]byte, len(msg))
			cipher.NewCBCEncrypter(c, iv).CryptBlocks(cbc, msg)

			ecbName := "camellia-" + strconv.Itoa(bits) + "-ecb"
			cbcName := "camellia-" + strconv.Itoa(bits) + "-cbc"
			if got := openssl(t, ecbName, false, key, nil, msg); !bytes.Equal(got, ecb) {
				t.Errorf("%s key %x: openssl %x, we %x", ecbName, key, got, ecb)
			}
			if got := openssl(t, cbcName, false, key, iv, msg); !bytes.Equal(got, cbc) {
				t.Errorf("%s key %x: openssl %x, we %x", cbcName, key, got, cbc)
			}
			// Decryption of the peer's ciphertext, as a record layer does.
			oct := openssl(t, cbcName, false, key, iv, msg)
			back := make([]byte, len(oct))
			cipher.NewCBCDecrypter(c, iv).CryptBlocks(back, oct)
			if !bytes.Equal(back, msg) {
				t.Errorf("%s key %x: decrypting openssl's ciphertext gave %x, want %x", cbcName, key, back, msg)
			}
			if got := openssl(t, cbcName, true, key, iv, cbc); !bytes.Equal(got, msg) {
				t.Errorf("%s key %x: openssl decrypted ours to %x, want %x", cbcName, key, got, msg)
			}
		}
	}
}

// FuzzCamellia checks that NewCipher accepts exactly 16-, 24- and 32-byte
// keys without panicking, that Decrypt(Encrypt(x)) == x, and that in-place
// operation gives the same result as separate buffers.
func FuzzCamellia(f *testing.F) {
	for _, v := range rfcVectors {
		f.Add(mustHex(f, v.key), mustHex(f, v.plaintext))
	}
	f.Fuzz(func(t *testing.T, key, block []byte) {
		c, err := NewCipher(key)
		if valid := len(key) == 16 || len(key) == 24 || len(key) == 32; (err == nil) != valid {
			t.Fatalf("NewCipher(len %d): err = %v", len(key), err)
		}
		if err != nil {
			return
		}
		var pt, ct, back [BlockSize]byte
		copy(pt[:], block)
		c.Encrypt(ct[:], pt[:])
		c.Decrypt(back[:], ct[:])
		if back != pt {
			t.Fatalf("key %x: Decrypt(Encrypt(%x)) = %x", key, pt, back)
		}
		in := pt
		c.Encrypt(in[:], in[:])
		if in != ct {
			t.Fatalf("key %x: in-place Encrypt(%x) = %x, want %x", key, pt, in, ct)
		}
	})
}
