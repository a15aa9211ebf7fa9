package harness

import (
	"bytes"
	"crypto"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/tokenssl/tokenssl/ssl"
)

// TestMain lets the test binary be its own server child, as sslbench is.
func TestMain(m *testing.M) {
	MaybeServe()
	os.Exit(m.Run())
}

// TestRunQuick runs every figure with tiny sizes so that the harness
// cannot rot: both servers start, every phase completes (resumptions
// resume, raw loops verify their own MACs), the table has every row. The
// figures themselves are not checked: no timing assertions.
func TestRunQuick(t *testing.T) {
	o := Quick
	o.Log = testWriter{t}
	dir := t.TempDir()
	o.CPUProfile, o.MemProfile = dir+"/cpu.out", dir+"/mem.out"
	rows, err := Run(o)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(AllFigures)+1 { // bulk has two rows
		t.Fatalf("%d rows, want %d", len(rows), len(AllFigures)+1)
	}
	var buf bytes.Buffer
	Table(&buf, o, rows)
	for _, r := range rows {
		if r.Ours == "" || strings.Contains(r.Ours, "NaN") {
			t.Errorf("row %q: %q", r.Figure, r.Ours)
		}
	}
	t.Log("\n" + buf.String())
	for _, p := range []string{o.CPUProfile, o.MemProfile} {
		if st, err := os.Stat(p); err != nil || st.Size() == 0 {
			t.Errorf("profile %s not written (%v)", p, err)
		}
	}
}

func TestUnknownFigure(t *testing.T) {
	o := Quick
	o.Only = []string{"bulk", "nonsense"}
	if _, err := Run(o); err == nil || !strings.Contains(err.Error(), "nonsense") {
		t.Fatalf("Run = %v, want an error naming the unknown figure", err)
	}
}

// TestSSL3MAC checks the baseline's MAC against known answers of
// ssl/internal/ssl3mac's tests (computed there with zcrypto), so that the
// raw figure is the cost of the real construction.
func TestSSL3MAC(t *testing.T) {
	seqBytes := func(start byte, n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = start + byte(i)
		}
		return b
	}
	for _, tc := range []struct {
		hash    crypto.Hash
		secret  []byte
		seq     uint64
		typ     uint8
		content []byte
		want    string
	}{
		{crypto.MD5, seqBytes(0x11, 16), 0x0102030405060708, 23, seqBytes(0x00, 1000), "077d0e5a47047ca1ebffb5ef405a36eb"},
		{crypto.SHA1, seqBytes(0x22, 20), 1, 21, []byte{1, 0}, "7aac31c11e0ceb39f54d3b3af5e1f2010224ddb8"},
		{crypto.SHA1, seqBytes(0x22, 20), 0xfffffffffffffffe, 23, seqBytes(0x33, 16384), "b8f833e102b416b49e662d08a224b3470bb8bdbd"},
	} {
		got := hex.EncodeToString(newSSL3MAC(tc.hash, tc.secret).sum(nil, tc.seq, tc.typ, tc.content))
		if got != tc.want {
			t.Errorf("%v seq %d: %s, want %s", tc.hash, tc.seq, got, tc.want)
		}
	}
}

func TestRawBulk(t *testing.T) {
	for _, s := range []uint16{ssl.SSL_RSA_WITH_RC4_128_SHA, ssl.SSL_RSA_WITH_3DES_EDE_CBC_SHA} {
		if err := rawBulk(s, 40000); err != nil {
			t.Errorf("%#04x: %v", s, err)
		}
	}
	if err := rawBulk(ssl.SSL_RSA_WITH_NULL_MD5, 1); err == nil {
		t.Error("rawBulk accepted a suite it does not measure")
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
