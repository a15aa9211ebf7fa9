package idea

import (
	"math/rand/v2"
	"testing"

	"github.com/tokenssl/tokenssl/internal/ciphertest"
)

var mustHex = ciphertest.Hex

// knownAnswers are vectors confirmed by at least two independent published
// transcriptions. Sources:
//
//   - [LM] Lai & Massey's worked example (EUROCRYPT '90 proposal, Lai's
//     thesis): key 0001 0002 ... 0008, plaintext 0000 0001 0002 0003.
//   - [ideaval] the classic, widely reused eleven-vector set that starts
//     with the LM example (Crypto++ ships it as TestData/ideaval.dat), as
//     transcribed identically by Perl Crypt::IDEA's tests, Cryptix's
//     TestIDEA and at least three other independent test suites.
//   - [NESSIE] the NESSIE verified test vectors,
//     Idea-128-64.verified.test-vectors (set/vector numbers as in that
//     file), as transcribed by python-pgp's aidea tests (labelled with set
//     and vector), the Ruby crypt gem's idea_spec.rb, a C# Cryptography
//     unit test, Springburg.Cryptography's IdeaTest, CLAASP's IDEA tests and
//     two C++ test-vector headers; each vector below appears in at least two.
//
// Every vector is checked in both directions, so the NESSIE decryption sets
// (5..8) are the same statement as encryption: D(ciphertext) = plaintext.
var knownAnswers = []ciphertest.Vector{
	{Name: "LM example", Key: "00010002000300040005000600070008", Plaintext: "0000000100020003", Ciphertext: "11fbed2b01986de5"},

	{Name: "ideaval 2", Key: "00010002000300040005000600070008", Plaintext: "0102030405060708", Ciphertext: "540e5fea18c2f8b1"},
	{Name: "ideaval 3", Key: "00010002000300040005000600070008", Plaintext: "0019324b647d96af", Ciphertext: "9f0a0ab6e10ced78"},
	{Name: "ideaval 4", Key: "00010002000300040005000600070008", Plaintext: "f5202d5b9c671b08", Ciphertext: "cf18fd7355e2c5c5"},
	{Name: "ideaval 5", Key: "00010002000300040005000600070008", Plaintext: "fae6d2beaa96826e", Ciphertext: "85df52005608193d"},
	{Name: "ideaval 6", Key: "00010002000300040005000600070008", Plaintext: "0a141e28323c4650", Ciphertext: "2f7de750212fb734"},
	{Name: "ideaval 7", Key: "00010002000300040005000600070008", Plaintext: "050a0f14191e2328", Ciphertext: "7b7314925de59c09"},
	{Name: "ideaval 8", Key: "0005000a000f00140019001e00230028", Plaintext: "0102030405060708", Ciphertext: "3ec04780beff6e20"},
	{Name: "ideaval 9", Key: "3a984e2000195db32ee501c8c47cea60", Plaintext: "0102030405060708", Ciphertext: "97bcd8200780da86"},
	{Name: "ideaval 10", Key: "006400c8012c019001f4025802bc0320", Plaintext: "05320a6414c819fa", Ciphertext: "65be87e7a2538aed"},
	{Name: "ideaval 11", Key: "9d4075c103bc322afb03e7be6ab30006", Plaintext: "0808080808080808", Ciphertext: "f5db1ac45e5ef9f9"},

	{Name: "NESSIE set 1 vector 0", Key: "80000000000000000000000000000000", Plaintext: "0000000000000000", Ciphertext: "b1f5f7f87901370f"},
	{Name: "NESSIE set 1 vector 1", Key: "40000000000000000000000000000000", Plaintext: "0000000000000000", Ciphertext: "b3927dffb6358626"},
	{Name: "NESSIE set 1 vector 2", Key: "20000000000000000000000000000000", Plaintext: "0000000000000000", Ciphertext: "e987e0029fb99785"},
	{Name: "NESSIE set 1 vector 3", Key: "10000000000000000000000000000000", Plaintext: "0000000000000000", Ciphertext: "754a03ce08db7daa"},
	{Name: "NESSIE set 1 vector 4", Key: "08000000000000000000000000000000", Plaintext: "0000000000000000", Ciphertext: "f015f9fb0cfc7e1c"},
	{Name: "NESSIE set 1 vector 5", Key: "04000000000000000000000000000000", Plaintext: "0000000000000000", Ciphertext: "69c9fe6007b8fcdf"},
	{Name: "NESSIE set 1 vector 6", Key: "02000000000000000000000000000000", Plaintext: "0000000000000000", Ciphertext: "8da7bc0e63b40dd0"},
	{Name: "NESSIE set 1 vector 7", Key: "01000000000000000000000000000000", Plaintext: "0000000000000000", Ciphertext: "2c49bf7de28c666b"},
	{Name: "NESSIE set 1 vector 8", Key: "00800000000000000000000000000000", Plaintext: "0000000000000000", Ciphertext: "9a4717e8f935712b"},
	{Name: "NESSIE set 2 vector 0", Key: "00000000000000000000000000000000", Plaintext: "8000000000000000", Ciphertext: "8001000180008000"},
	{Name: "NESSIE set 2 vector 1", Key: "00000000000000000000000000000000", Plaintext: "4000000000000000", Ciphertext: "c00180014000c000"},
	{Name: "NESSIE set 3 vector 0", Key: "00000000000000000000000000000000", Plaintext: "0000000000000000", Ciphertext: "0001000100000000"},
	{Name: "NESSIE set 3 vector 1", Key: "01010101010101010101010101010101", Plaintext: "0101010101010101", Ciphertext: "e3f8aff7a3795615"},
	{Name: "NESSIE set 4 vector 0", Key: "000102030405060708090a0b0c0d0e0f", Plaintext: "0011223344556677", Ciphertext: "f526ab9a62c0d258"},
	{Name: "NESSIE set 4 vector 1", Key: "2bd6459f82c5b300952c49104881ff48", Plaintext: "ea024714ad5c4d84", Ciphertext: "c8fb51d3516627a8"},
	{Name: "NESSIE set 5 vector 0", Key: "80000000000000000000000000000000", Plaintext: "78071ee87f0130e8", Ciphertext: "0000000000000000"},
	{Name: "NESSIE set 8 vector 0", Key: "000102030405060708090a0b0c0d0e0f", Plaintext: "db2d4a92aa68273f", Ciphertext: "0011223344556677"},
	{Name: "NESSIE set 8 vector 1", Key: "2bd6459f82c5b300952c49104881ff48", Plaintext: "f129a6601ef62a47", Ciphertext: "ea024714ad5c4d84"},
}

// moreVectors are further vectors, believed to come from the NESSIE file,
// each found in only one transcription (named per vector). They are kept
// because an implementation that passes knownAnswers and also reproduces
// these confirms the transcription.
var moreVectors = []ciphertest.Vector{
	{Name: "NESSIE set 5 vector 1 (python-pgp)", Key: "40000000000000000000000000000000", Plaintext: "98aa167965b52792", Ciphertext: "0000000000000000"},
	{Name: "key bit 16 set (ruby crypt)", Key: "00008000000000000000000000000000", Plaintext: "0000000000000000", Ciphertext: "95a96731978c1b9a"},
	{Name: "key bit 32 set (ruby crypt)", Key: "00000000800000000000000000000000", Plaintext: "0000000000000000", Ciphertext: "398bd9a59e9f5ddb"},
	{Name: "key bit 48 set (ruby crypt)", Key: "00000000000080000000000000000000", Plaintext: "0000000000000000", Ciphertext: "ac1d8708af0a37ee"},
	{Name: "key bit 64 set (ruby crypt)", Key: "00000000000000008000000000000000", Plaintext: "0000000000000000", Ciphertext: "fae3fa7b8db08800"},
	{Name: "key bit 80 set (ruby crypt)", Key: "00000000000000000000800000000000", Plaintext: "0000000000000000", Ciphertext: "b5803f82c0633f01"},
	{Name: "key bit 95 set (ruby crypt)", Key: "00000000000000000000000100000000", Plaintext: "0000000000000000", Ciphertext: "fcc40014010d617c"},
	{Name: "key bit 112 set (ruby crypt)", Key: "00000000000000000000000000008000", Plaintext: "0000000000000000", Ciphertext: "be67ac7da294ca7c"},
	{Name: "zero key, plaintext bit 8 set (ruby crypt)", Key: "00000000000000000000000000000000", Plaintext: "0080000000000000", Ciphertext: "9181e3014c80c980"},
	{Name: "zero key, plaintext bit 30 set (ruby crypt)", Key: "00000000000000000000000000000000", Plaintext: "0000000200000000", Ciphertext: "ff49003bff26ffaa"},
	{Name: "zero key, plaintext bit 31 set (CLAASP)", Key: "00000000000000000000000000000000", Plaintext: "0000000100000000", Ciphertext: "0001000000010001"},
	{Name: "zero key, plaintext bit 63 set (CLAASP)", Key: "00000000000000000000000000000000", Plaintext: "0000000000000001", Ciphertext: "0013fff500120009"},
	{Name: "key = plaintext = 0x02 bytes (CLAASP)", Key: "02020202020202020202020202020202", Plaintext: "0202020202020202", Ciphertext: "93d8c66f869189b9"},
	{Name: "key = plaintext = 0x0f bytes (CLAASP)", Key: "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f", Plaintext: "0f0f0f0f0f0f0f0f", Ciphertext: "c0b13df73b24f9b3"},
	{Name: "key = plaintext = 0x77 bytes (ruby crypt)", Key: "77777777777777777777777777777777", Plaintext: "7777777777777777", Ciphertext: "d2e486d93304b9b6"},
	{Name: "key = plaintext = 0xf6 bytes (C# unit test)", Key: "f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6", Plaintext: "f6f6f6f6f6f6f6f6", Ciphertext: "4738c2be9cdd7a95"},
	{Name: "key = plaintext = 0xf7 bytes (ruby crypt)", Key: "f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7", Plaintext: "f7f7f7f7f7f7f7f7", Ciphertext: "8e13c368f53e55af"},
	{Name: "key = plaintext = 0xff bytes (CLAASP)", Key: "ffffffffffffffffffffffffffffffff", Plaintext: "ffffffffffffffff", Ciphertext: "cd1ab2c1211041fb"},
	{Name: "key = ciphertext = 0x11 bytes (ruby crypt)", Key: "11111111111111111111111111111111", Plaintext: "3a1d3b4db127c8b7", Ciphertext: "1111111111111111"},
	{Name: "key = ciphertext = 0x52 bytes (ruby crypt)", Key: "52525252525252525252525252525252", Plaintext: "b255918917d30db6", Ciphertext: "5252525252525252"},
	{Name: "key = ciphertext = 0x9e bytes (C# unit test)", Key: "9e9e9e9e9e9e9e9e9e9e9e9e9e9e9e9e", Plaintext: "c5cc7e174c80ed46", Ciphertext: "9e9e9e9e9e9e9e9e"},
	{Name: "key = ciphertext = 0xab bytes (ruby crypt)", Key: "abababababababababababababababab", Plaintext: "5a4c4870f25a207f", Ciphertext: "abababababababab"},
	{Name: "key = ciphertext = 0xff bytes (C# unit test)", Key: "ffffffffffffffffffffffffffffffff", Plaintext: "28886d814399e782", Ciphertext: "ffffffffffffffff"},
	{Name: "random key (C# unit test)", Key: "bad123649fff2903645acffe19038134", Plaintext: "f29166203adb7263", Ciphertext: "e84cc601bf8b2c8f"},
}

// TestKnownAnswers runs the cipher.Block kit with the confirmed vectors.
func TestKnownAnswers(t *testing.T) {
	ciphertest.TestBlock(t, NewCipher, []int{KeySize}, knownAnswers)
}

func TestMoreVectors(t *testing.T) {
	ciphertest.TestVectors(t, NewCipher, moreVectors)
}

// TestLaiSubkeys checks the encryption key schedule for the Lai-Massey
// example key 0001 0002 ... 0008 (subkeys as tabulated in Lai's thesis; the
// ninth and tenth follow from the 25-bit rotation: 0x0400, 0x0600).
func TestLaiSubkeys(t *testing.T) {
	var ek [numSubkeys]uint16
	expandKey(mustHex(t, "00010002000300040005000600070008"), &ek)
	tests := []struct {
		from int
		want []uint16
	}{
		{0, []uint16{1, 2, 3, 4, 5, 6, 7, 8, 0x0400, 0x0600}},
		{47, []uint16{0xe001, 0x0080, 0x00c0, 0x0100, 0x0140}},
	}
	for _, tc := range tests {
		got := ek[tc.from : tc.from+len(tc.want)]
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("Z[%d] = %#04x, want %#04x", tc.from+i, got[i], tc.want[i])
			}
		}
	}
}

// refMul is the textbook definition of IDEA multiplication.
func refMul(a, b uint16) uint16 {
	x, y := uint64(a), uint64(b)
	if x == 0 {
		x = 1 << 16
	}
	if y == 0 {
		y = 1 << 16
	}
	return uint16(x * y % 0x10001) // 0x10000 truncates to 0
}

func TestMul(t *testing.T) {
	edge := []uint16{0, 1, 2, 0x7fff, 0x8000, 0x8001, 0xfffe, 0xffff, 0x100, 0x101}
	tests := []struct {
		a, b, want uint16
	}{
		{0, 0, 1},           // 2^16 * 2^16 = (-1)(-1) = 1
		{0, 1, 0},           // 2^16 * 1 = 2^16 -> 0
		{1, 0, 0},           //
		{0, 2, 0xffff},      // -2 = 65535
		{0xffff, 0xffff, 4}, // (-2)(-2) = 4
		{0x100, 0x100, 0},   // 2^16 -> 0
		{2, 0x8001, 1},      // 2*32769 = 65538 = 1
	}
	for _, tc := range tests {
		if got := mul(tc.a, tc.b); got != tc.want {
			t.Errorf("mul(%#x, %#x) = %#x, want %#x", tc.a, tc.b, got, tc.want)
		}
	}
	// Every a against edge values, both orders.
	for a := 0; a < 1<<16; a++ {
		for _, b := range edge {
			if got, want := mul(uint16(a), b), refMul(uint16(a), b); got != want {
				t.Fatalf("mul(%#x, %#x) = %#x, want %#x", a, b, got, want)
			}
			if got, want := mul(b, uint16(a)), refMul(b, uint16(a)); got != want {
				t.Fatalf("mul(%#x, %#x) = %#x, want %#x", b, a, got, want)
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 1<<20; i++ {
		a, b := uint16(rng.Uint32()), uint16(rng.Uint32())
		if got, want := mul(a, b), refMul(a, b); got != want {
			t.Fatalf("mul(%#x, %#x) = %#x, want %#x", a, b, got, want)
		}
	}
}

func TestMulInv(t *testing.T) {
	for x := 0; x < 1<<16; x++ {
		inv := mulInv(uint16(x))
		if got := mul(uint16(x), inv); got != 1 {
			t.Fatalf("mul(%#x, mulInv(%#x) = %#x) = %#x, want 1", x, x, inv, got)
		}
	}
	if mulInv(0) != 0 || mulInv(1) != 1 {
		t.Errorf("mulInv(0) = %#x, mulInv(1) = %#x; want 0, 1", mulInv(0), mulInv(1))
	}
}

func TestNewCipherKeySize(t *testing.T) {
	ciphertest.RejectKeySizesAs[KeySizeError](t, NewCipher, []int{0, 1, 8, 15, 17, 24, 32})
}

// FuzzRoundTrip checks Decrypt(Encrypt(x)) == x, and that NewCipher accepts
// exactly 16-byte keys and never panics.
func FuzzRoundTrip(f *testing.F) {
	ciphertest.FuzzBlock(f, NewCipher, []int{KeySize}, knownAnswers)
}

// BenchmarkBlock compares IDEA with crypto/des (single DES and 3DES, the
// other 64-bit block ciphers of SSL 3.0) in the same run.
func BenchmarkBlock(b *testing.B) {
	c, err := NewCipher(mustHex(b, "000102030405060708090a0b0c0d0e0f"))
	if err != nil {
		b.Fatal(err)
	}
	ciphertest.BenchmarkWithBaseline(b, "IDEA", c)
}

func BenchmarkNewCipher(b *testing.B) {
	ciphertest.BenchmarkNewCipher(b, NewCipher, mustHex(b, "000102030405060708090a0b0c0d0e0f"))
}
