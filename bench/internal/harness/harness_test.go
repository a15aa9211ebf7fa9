package harness

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"fmt"
	"io"
	"net"
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

func TestShares(t *testing.T) {
	for _, tc := range []struct {
		n, c int
		want []int
	}{
		{10, 1, []int{10}},
		{10, 2, []int{5, 5}},
		{7, 3, []int{3, 2, 2}},
		{2, 4, []int{1, 1}}, // never an idle worker
		{5, 0, []int{5}},    // at least one
	} {
		got := shares(tc.n, tc.c)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("shares(%d, %d) = %v, want %v", tc.n, tc.c, got, tc.want)
		}
	}
}

func TestMeasMinus(t *testing.T) {
	x := meas{total: 10, user: 7, sys: 3, reads: 2, writes: 2, rbytes: 100, wbytes: 50, client: 4, busy: 1}
	floor := meas{total: 4, user: 3, sys: 1, reads: 1, writes: 1, rbytes: 1, wbytes: 1, client: 2, busy: 1}
	want := meas{total: 6, user: 4, sys: 2, reads: 1, writes: 1, rbytes: 99, wbytes: 49}
	if got := x.minus(floor); got != want {
		t.Errorf("minus = %+v, want %+v", got, want)
	}
}

func TestSinceDivides(t *testing.T) {
	u0 := usage{user: 100, sys: 50, reads: 1, writes: 2, rbytes: 10, wbytes: 20}
	u1 := usage{user: 500, sys: 250, reads: 9, writes: 6, rbytes: 410, wbytes: 820}
	want := meas{total: 150, user: 100, sys: 50, reads: 2, writes: 1, rbytes: 100, wbytes: 200}
	if got := since(u0, u1, 4); got != want {
		t.Errorf("since = %+v, want %+v", got, want)
	}
}

func TestPingCode(t *testing.T) {
	for i, k := range pingKinds {
		c, err := pingCode(k)
		if err != nil || int(c) != i {
			t.Errorf("pingCode(%q) = %d, %v, want %d", k, c, err, i)
		}
	}
	if c, err := pingCode("rc4-sha"); err == nil {
		t.Errorf("pingCode(rc4-sha) = %d, want an error (bulk is not pinged)", c)
	}
}

func TestLoadTitle(t *testing.T) {
	if got := loadTitle("x", 1); got != "x" {
		t.Errorf("loadTitle(x, 1) = %q", got)
	}
	if got := loadTitle("x", 3); !strings.Contains(got, "3 clients at once") {
		t.Errorf("loadTitle(x, 3) = %q, want the client count", got)
	}
}

// TestPingListener checks the idle-interleaved baseline's protocol: a
// ping runs the operation its byte names and is answered 0; a byte that
// names nothing, or an operation the server cannot run (no token), is
// answered 1 and the connection closed, so that no failure is timed as an
// operation.
func TestPingListener(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go (&server{key: key}).acceptPings(ln)
	dec, _ := pingCode("rsa-decrypt")
	tok, _ := pingCode("c-decrypt")
	for _, tc := range []struct {
		name  string
		codes []byte
		want  []byte
	}{
		{"floor and decrypt", []byte{0, dec, dec, 0}, []byte{0, 0, 0, 0}},
		{"no token", []byte{0, tok}, []byte{0, 1}},
		{"unknown code", []byte{byte(len(pingKinds))}, []byte{1}},
	} {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		for i, code := range tc.codes {
			var r [1]byte
			if _, err := c.Write([]byte{code}); err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadFull(c, r[:]); err != nil || r[0] != tc.want[i] {
				t.Errorf("%s: ping %d (code %d) answered %d, %v; want %d", tc.name, i, code, r[0], err, tc.want[i])
			}
		}
		if tc.want[len(tc.want)-1] != 0 {
			if n, err := c.Read(make([]byte, 1)); err != io.EOF {
				t.Errorf("%s: after a failed ping, Read = %d, %v; want EOF", tc.name, n, err)
			}
		}
		c.Close()
	}
}

// TestBulkWorkAcrossCalls runs the echo handler's cipher+MAC work the way
// workConn does, a read's worth at a time, sizes not multiples of a
// record: the keys and sequence numbers carry over and every MAC checks.
func TestBulkWorkAcrossCalls(t *testing.T) {
	for kind, suite := range bulkSuites {
		work, err := bulkWork(suite)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		for _, n := range []int{1, 0, 16383, 16385, 32768, 7} {
			if err := work(n); err != nil {
				t.Errorf("%s: %d bytes: %v", kind, n, err)
			}
		}
	}
}
