package ssl3mac

import (
	"bytes"
	"crypto"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"strconv"
	"testing"
)

// referenceMAC is a deliberately naive transcription of the SSL 3.0 record
// MAC (§7.2.3.1, type included as in RFC 6101 §5.2.3.1): build both inputs
// as byte strings and hash them from scratch.
func referenceMAC(h crypto.Hash, secret []byte, seq uint64, typ uint8, content []byte) []byte {
	padLen := 48
	if h == crypto.SHA1 {
		padLen = 40
	}
	pad1 := bytes.Repeat([]byte{0x36}, padLen)
	pad2 := bytes.Repeat([]byte{0x5c}, padLen)

	var in []byte
	in = append(in, secret...)
	in = append(in, pad1...)
	in = binary.BigEndian.AppendUint64(in, seq)
	in = append(in, typ)
	in = binary.BigEndian.AppendUint16(in, uint16(len(content)))
	in = append(in, content...)
	ih := h.New()
	ih.Write(in)
	inner := ih.Sum(nil)

	var out []byte
	out = append(out, secret...)
	out = append(out, pad2...)
	out = append(out, inner...)
	oh := h.New()
	oh.Write(out)
	return oh.Sum(nil)
}

// seqBytes returns n bytes start, start+1, ... (mod 256); the known-answer
// inputs below are described with it.
func seqBytes(start byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

// Known answers generated with an independent implementation: zcrypto's
// ssl30MAC (github.com/zmap/zcrypto v0.0.0-20210617162039-12fab6686964,
// tls/cipher_suites.go, reached through macMD5/macSHA1(VersionSSL30, key)
// and its MAC(digestBuf, seq, header, length, data) method, unmodified).
// The throwaway generator called, for each row,
//
//	m := macMD5(VersionSSL30, key) // or macSHA1
//	header := []byte{typ, 3, 0, length[0], length[1]}
//	m.MAC(nil, seq[:], header, length[:], data)
//
// with seq and length big-endian.
var katMACs = []struct {
	hash    crypto.Hash
	secret  []byte
	seq     uint64
	typ     uint8
	content []byte
	want    string
}{
	{crypto.MD5, seqBytes(0x11, 16), 0, 22, nil, "a4dee94c979c0f7a6da572edbb80e107"},
	{crypto.MD5, seqBytes(0x11, 16), 0x0102030405060708, 23, seqBytes(0x00, 1000), "077d0e5a47047ca1ebffb5ef405a36eb"},
	{crypto.SHA1, seqBytes(0x22, 20), 1, 21, []byte{1, 0}, "7aac31c11e0ceb39f54d3b3af5e1f2010224ddb8"},
	{crypto.SHA1, seqBytes(0x22, 20), 0xfffffffffffffffe, 23, seqBytes(0x33, 16384), "b8f833e102b416b49e662d08a224b3470bb8bdbd"},
	{crypto.SHA1, seqBytes(0x22, 20), 7, 20, []byte{1}, "7698066255c7dc15c2488348c83086a786b5fd2b"},
}

func TestKnownAnswers(t *testing.T) {
	for i, tc := range katMACs {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			m, err := New(tc.hash, tc.secret)
			if err != nil {
				t.Fatal(err)
			}
			got := hex.EncodeToString(m.Sum(nil, tc.seq, tc.typ, tc.content))
			if got != tc.want {
				t.Errorf("Sum = %s, want %s (zcrypto)", got, tc.want)
			}
			ref := hex.EncodeToString(referenceMAC(tc.hash, tc.secret, tc.seq, tc.typ, tc.content))
			if ref != tc.want {
				t.Errorf("referenceMAC = %s, want %s (zcrypto)", ref, tc.want)
			}
		})
	}
}

func TestSizeAndErrors(t *testing.T) {
	for _, tc := range []struct {
		h    crypto.Hash
		size int
	}{{crypto.MD5, md5.Size}, {crypto.SHA1, sha1.Size}} {
		m, err := New(tc.h, make([]byte, tc.size))
		if err != nil {
			t.Fatal(err)
		}
		if m.Size() != tc.size {
			t.Errorf("%v: Size() = %d, want %d", tc.h, m.Size(), tc.size)
		}
		if got := len(m.Sum(nil, 0, 23, nil)); got != tc.size {
			t.Errorf("%v: len(Sum) = %d, want %d", tc.h, got, tc.size)
		}
	}
	for _, h := range []crypto.Hash{0, crypto.SHA256, crypto.SHA512, crypto.MD5SHA1} {
		if _, err := New(h, []byte("k")); err == nil {
			t.Errorf("New(%v) succeeded, want error", h)
		}
	}
}

// TestSumAppendsAndRepeats checks that Sum appends rather than overwrites,
// that the precomputed state is restored between calls, and that every
// field of the input is covered by the MAC.
func TestSumAppendsAndRepeats(t *testing.T) {
	for _, h := range []crypto.Hash{crypto.MD5, crypto.SHA1} {
		secret := seqBytes(0x5a, h.Size())
		m, err := New(h, secret)
		if err != nil {
			t.Fatal(err)
		}
		content := []byte("application data")
		prefix := []byte("header")
		out := m.Sum(append([]byte(nil), prefix...), 42, 23, content)
		if !bytes.Equal(out[:len(prefix)], prefix) {
			t.Fatalf("%v: Sum clobbered dst prefix", h)
		}
		first := out[len(prefix):]
		for i := 0; i < 3; i++ {
			if again := m.Sum(nil, 42, 23, content); !bytes.Equal(again, first) {
				t.Fatalf("%v: Sum not repeatable on call %d", h, i)
			}
		}
		variants := map[string][]byte{
			"seq":     m.Sum(nil, 43, 23, content),
			"type":    m.Sum(nil, 42, 22, content),
			"content": m.Sum(nil, 42, 23, []byte("application datA")),
			"length":  m.Sum(nil, 42, 23, content[:len(content)-1]),
		}
		m2, _ := New(h, seqBytes(0x5b, h.Size()))
		variants["secret"] = m2.Sum(nil, 42, 23, content)
		for name, v := range variants {
			if bytes.Equal(v, first) {
				t.Errorf("%v: changing %s did not change the MAC", h, name)
			}
		}
	}
}

func TestSumPanicsOnOversizedContent(t *testing.T) {
	m, _ := New(crypto.MD5, make([]byte, 16))
	defer func() {
		if recover() == nil {
			t.Error("Sum with 65536-byte content did not panic")
		}
	}()
	m.Sum(nil, 0, 23, make([]byte, 0x10000))
}

func TestMaxLengthContent(t *testing.T) {
	content := seqBytes(1, 0xffff)
	for _, h := range []crypto.Hash{crypto.MD5, crypto.SHA1} {
		secret := seqBytes(9, h.Size())
		m, _ := New(h, secret)
		if got, want := m.Sum(nil, 5, 23, content), referenceMAC(h, secret, 5, 23, content); !bytes.Equal(got, want) {
			t.Errorf("%v: got %x, want %x", h, got, want)
		}
	}
}

func TestSumDoesNotAllocate(t *testing.T) {
	for _, h := range []crypto.Hash{crypto.MD5, crypto.SHA1} {
		m, _ := New(h, make([]byte, h.Size()))
		content := make([]byte, 1024)
		dst := make([]byte, 0, 64)
		allocs := testing.AllocsPerRun(100, func() {
			dst = m.Sum(dst[:0], 1, 23, content)
		})
		if allocs != 0 {
			t.Errorf("%v: Sum allocates %v times per call, want 0", h, allocs)
		}
	}
}

// FuzzSum compares the precomputed fast path to referenceMAC.
func FuzzSum(f *testing.F) {
	f.Add(false, []byte("0123456789abcdef"), uint64(0), uint8(22), []byte{})
	f.Add(true, []byte("0123456789abcdef0123"), uint64(1<<63), uint8(23), []byte("hello"))
	f.Add(true, []byte{}, uint64(7), uint8(21), bytes.Repeat([]byte{0xff}, 200))
	f.Fuzz(func(t *testing.T, useSHA bool, secret []byte, seq uint64, typ uint8, content []byte) {
		if len(content) > 0xffff {
			return
		}
		h := crypto.MD5
		if useSHA {
			h = crypto.SHA1
		}
		m, err := New(h, secret)
		if err != nil {
			t.Fatal(err)
		}
		got := m.Sum(nil, seq, typ, content)
		want := referenceMAC(h, secret, seq, typ, content)
		if !bytes.Equal(got, want) {
			t.Fatalf("Sum = %x, reference = %x", got, want)
		}
		// A second call must restore the precomputed state.
		if again := m.Sum(nil, seq, typ, content); !bytes.Equal(again, want) {
			t.Fatalf("second Sum = %x, want %x", again, want)
		}
	})
}

// Benchmarks: the SSL 3.0 MAC beside crypto/hmac with the same hash, over
// the same 11-byte header + content, so the ratio shows the cost of the
// construction itself.

func benchSSL3(b *testing.B, h crypto.Hash, n int) {
	m, err := New(h, make([]byte, h.Size()))
	if err != nil {
		b.Fatal(err)
	}
	content := make([]byte, n)
	dst := make([]byte, 0, 64)
	b.SetBytes(int64(n))
	b.ReportAllocs()
	var seq uint64
	for b.Loop() {
		dst = m.Sum(dst[:0], seq, 23, content)
		seq++
	}
}

func benchHMAC(b *testing.B, newHash func() hash.Hash, size, n int) {
	mac := hmac.New(newHash, make([]byte, size))
	content := make([]byte, n)
	var header [11]byte
	dst := make([]byte, 0, 64)
	b.SetBytes(int64(n))
	b.ReportAllocs()
	var seq uint64
	for b.Loop() {
		binary.BigEndian.PutUint64(header[:8], seq)
		header[8] = 23
		binary.BigEndian.PutUint16(header[9:], uint16(n))
		mac.Reset()
		mac.Write(header[:])
		mac.Write(content)
		dst = mac.Sum(dst[:0])
		seq++
	}
}

func BenchmarkSSL3MD5_1K(b *testing.B)   { benchSSL3(b, crypto.MD5, 1024) }
func BenchmarkHMACMD5_1K(b *testing.B)   { benchHMAC(b, md5.New, md5.Size, 1024) }
func BenchmarkSSL3MD5_16K(b *testing.B)  { benchSSL3(b, crypto.MD5, 16384) }
func BenchmarkHMACMD5_16K(b *testing.B)  { benchHMAC(b, md5.New, md5.Size, 16384) }
func BenchmarkSSL3SHA1_1K(b *testing.B)  { benchSSL3(b, crypto.SHA1, 1024) }
func BenchmarkHMACSHA1_1K(b *testing.B)  { benchHMAC(b, sha1.New, sha1.Size, 1024) }
func BenchmarkSSL3SHA1_16K(b *testing.B) { benchSSL3(b, crypto.SHA1, 16384) }
func BenchmarkHMACSHA1_16K(b *testing.B) { benchHMAC(b, sha1.New, sha1.Size, 16384) }

// BenchmarkSSL3Naive is referenceMAC, to show what the precomputation saves.
func BenchmarkSSL3NaiveMD5_1K(b *testing.B) {
	content := make([]byte, 1024)
	secret := make([]byte, 16)
	b.SetBytes(1024)
	b.ReportAllocs()
	for b.Loop() {
		referenceMAC(crypto.MD5, secret, 1, 23, content)
	}
}
