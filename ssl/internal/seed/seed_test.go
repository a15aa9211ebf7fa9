package seed

import (
	"bytes"
	"crypto/cipher"
	"encoding/hex"
	"errors"
	"math/bits"
	"math/rand/v2"
	"os/exec"
	"strings"
	"sync"
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

// rfcVectors are all four of RFC 4269 Appendix B.
var rfcVectors = []vector{
	{"RFC 4269 B.1", "00000000000000000000000000000000",
		"000102030405060708090a0b0c0d0e0f", "5ebac6e0054e166819aff1cc6d346cdb"},
	{"RFC 4269 B.2", "000102030405060708090a0b0c0d0e0f",
		"00000000000000000000000000000000", "c11f22f20140505084483597e4370f43"},
	{"RFC 4269 B.3", "4706480851e61be85d74bfb3fd956185",
		"83a2f8a288641fb9a4e9a5cc2f131c7d", "ee54d13ebcae706d226bc3142cd40d4a"},
	{"RFC 4269 B.4", "28dbc3bc49ffd87dcfa509b11d422be7",
		"b41e6be2eba84a148e2eed84593c5ec7", "9b9b7bfcd1813cb95d0b3618f40f5122"},
}

// moreVectors were each produced by `openssl enc -seed-ecb -nopad`
// (OpenSSL 3.0, legacy provider) when this file was written, so that they
// are checked even where openssl lacks SEED.
var moreVectors = []vector{
	{"zero key, zero block", "00000000000000000000000000000000",
		"00000000000000000000000000000000", "90699de47893701e7511196be312af92"},
	{"all-ones key, zero block", "ffffffffffffffffffffffffffffffff",
		"00000000000000000000000000000000", "5a54cf44c50290c4cbf71b1083fd12e1"},
	{"all-ones key, all-ones block", "ffffffffffffffffffffffffffffffff",
		"ffffffffffffffffffffffffffffffff", "bcb9e68bc5296b2b8e42fb4cf7a2b3ca"},
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

// gRef is G as §2.2 first states it: four S-box outputs, masked and mixed
// byte by byte. The SS tables must compute the same function.
func gRef(x uint32) uint32 {
	m0, m1, m2, m3 := byte(0xfc), byte(0xf3), byte(0xcf), byte(0x3f)
	y0, y1, y2, y3 := s1[byte(x)], s2[byte(x>>8)], s1[byte(x>>16)], s2[byte(x>>24)]
	z0 := y0&m0 ^ y1&m1 ^ y2&m2 ^ y3&m3
	z1 := y0&m1 ^ y1&m2 ^ y2&m3 ^ y3&m0
	z2 := y0&m2 ^ y1&m3 ^ y2&m0 ^ y3&m1
	z3 := y0&m3 ^ y1&m0 ^ y2&m1 ^ y3&m2
	return uint32(z3)<<24 | uint32(z2)<<16 | uint32(z1)<<8 | uint32(z0)
}

func TestGTables(t *testing.T) {
	// The first entry of each of the RFC's SS0..SS3.
	for i, want := range []uint32{0x2989a1a8, 0x38380830, 0xa1a82989, 0x08303838} {
		if ss[i][0] != want {
			t.Errorf("SS%d[0] = %#08x, want %#08x", i, ss[i][0], want)
		}
	}
	rng := rand.New(rand.NewPCG(4269, 1))
	for i := 0; i < 20000; i++ {
		x := rng.Uint32()
		if got, want := g(x), gRef(x); got != want {
			t.Fatalf("g(%#08x) = %#08x, want %#08x", x, got, want)
		}
	}
	for name, box := range map[string]*[256]byte{"S1": &s1, "S2": &s2} {
		seen := [256]bool{}
		for _, v := range box {
			if seen[v] {
				t.Fatalf("%s has %#x twice", name, v)
			}
			seen[v] = true
		}
	}
}

// TestKeyConstants checks the rotation that expandKey uses against the KC
// table printed in §2.3.
func TestKeyConstants(t *testing.T) {
	kc := []uint32{
		0x9e3779b9, 0x3c6ef373, 0x78dde6e6, 0xf1bbcdcc, 0xe3779b99, 0xc6ef3733, 0x8dde6e67, 0x1bbcdccf,
		0x3779b99e, 0x6ef3733c, 0xdde6e678, 0xbbcdccf1, 0x779b99e3, 0xef3733c6, 0xde6e678d, 0xbcdccf1b,
	}
	for i, want := range kc {
		if got := bits.RotateLeft32(0x9E3779B9, i); got != want {
			t.Errorf("KC%d = %#08x, want %#08x", i+1, got, want)
		}
	}
}

func TestNewCipherKeySize(t *testing.T) {
	for _, n := range []int{0, 1, 8, 15, 17, 24, 32} {
		c, err := NewCipher(make([]byte, n))
		var kse KeySizeError
		if c != nil || !errors.As(err, &kse) || int(kse) != n {
			t.Errorf("NewCipher(len %d) = %v, %v; want KeySizeError(%d)", n, c, err, n)
		}
	}
	c, err := NewCipher(make([]byte, KeySize))
	if err != nil || c.BlockSize() != BlockSize {
		t.Fatalf("NewCipher(16 bytes) = %v, %v", c, err)
	}
}

func TestShortBuffersPanic(t *testing.T) {
	c, err := NewCipher(make([]byte, KeySize))
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
	key := make([]byte, KeySize)
	c, err := NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, BlockSize)
	if a := testing.AllocsPerRun(100, func() { c.Encrypt(buf, buf); c.Decrypt(buf, buf) }); a != 0 {
		t.Errorf("%v allocations per Encrypt+Decrypt, want 0", a)
	}
	if a := testing.AllocsPerRun(100, func() { _, _ = NewCipher(key) }); a > 1 {
		t.Errorf("NewCipher made %v allocations, want at most 1", a)
	}
}

// TestRoundTripRandom is Decrypt(Encrypt(x)) == x through CBC, as SSL
// uses the cipher, over random keys (deterministic seed).
func TestRoundTripRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(4269, 2))
	for i := 0; i < 1500; i++ {
		c, err := NewCipher(randBytes(rng, KeySize))
		if err != nil {
			t.Fatal(err)
		}
		pt, iv := randBytes(rng, BlockSize*(1+rng.IntN(4))), randBytes(rng, BlockSize)
		ct := make([]byte, len(pt))
		cipher.NewCBCEncrypter(c, iv).CryptBlocks(ct, pt)
		back := make([]byte, len(ct))
		cipher.NewCBCDecrypter(c, iv).CryptBlocks(back, ct)
		if !bytes.Equal(back, pt) {
			t.Fatalf("round trip failed: pt %x got %x", pt, back)
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

var (
	opensslOnce sync.Once
	opensslPre  []string // provider flags that make SEED available
	opensslErr  string   // why SEED is unavailable, if it is
)

// opensslSEED finds out once whether `openssl enc -seed-ecb` works, and
// with which flags: OpenSSL 3 has SEED only in its legacy provider.
func opensslSEED(t *testing.T) []string {
	t.Helper()
	opensslOnce.Do(func() {
		if _, err := exec.LookPath("openssl"); err != nil {
			opensslErr = "openssl not installed"
			return
		}
		for _, pre := range [][]string{nil, {"-provider", "legacy", "-provider", "default"}} {
			args := append([]string{"enc", "-seed-ecb", "-nopad", "-K", strings.Repeat("00", 16)}, pre...)
			cmd := exec.Command("openssl", args...)
			cmd.Stdin = bytes.NewReader(make([]byte, BlockSize))
			if out, err := cmd.Output(); err == nil && len(out) == BlockSize {
				opensslPre = pre
				return
			}
		}
		opensslErr = "openssl has no SEED, even with the legacy provider"
	})
	if opensslErr != "" {
		t.Skip(opensslErr)
	}
	return opensslPre
}

// openssl runs `openssl enc -<name> -nopad` over in; the IV is passed only
// for CBC.
func openssl(t *testing.T, name string, decrypt bool, key, iv, in []byte) []byte {
	t.Helper()
	args := []string{"enc", "-" + name, "-nopad", "-K", hex.EncodeToString(key)}
	args = append(args, opensslSEED(t)...)
	if iv != nil {
		args = append(args, "-iv", hex.EncodeToString(iv))
	}
	if decrypt {
		args = append(args, "-d")
	}
	cmd := exec.Command("openssl", args...)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// TestAgainstOpenSSL cross-checks random keys and messages, ECB and CBC,
// both directions, with the openssl binary.
func TestAgainstOpenSSL(t *testing.T) {
	rng := rand.New(rand.NewPCG(4269, 3))
	for i := 0; i < 12; i++ {
		key := randBytes(rng, KeySize)
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

		if got := openssl(t, "seed-ecb", false, key, nil, msg); !bytes.Equal(got, ecb) {
			t.Errorf("seed-ecb key %x: openssl %x, we %x", key, got, ecb)
		}
		oct := openssl(t, "seed-cbc", false, key, iv, msg)
		if !bytes.Equal(oct, cbc) {
			t.Errorf("seed-cbc key %x: openssl %x, we %x", key, oct, cbc)
		}
		// Decryption of the peer's ciphertext, as a record layer does.
		back := make([]byte, len(oct))
		cipher.NewCBCDecrypter(c, iv).CryptBlocks(back, oct)
		if !bytes.Equal(back, msg) {
			t.Errorf("seed-cbc key %x: decrypting openssl's ciphertext gave %x, want %x", key, back, msg)
		}
		if got := openssl(t, "seed-cbc", true, key, iv, cbc); !bytes.Equal(got, msg) {
			t.Errorf("seed-cbc key %x: openssl decrypted ours to %x, want %x", key, got, msg)
		}
	}
}

// FuzzSEED checks that NewCipher accepts exactly 16-byte keys without
// panicking, that Decrypt(Encrypt(x)) == x, and that in-place operation
// gives the same result as separate buffers.
func FuzzSEED(f *testing.F) {
	for _, v := range rfcVectors {
		f.Add(mustHex(f, v.key), mustHex(f, v.plaintext))
	}
	f.Fuzz(func(t *testing.T, key, block []byte) {
		c, err := NewCipher(key)
		if (err == nil) != (len(key) == KeySize) {
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
