package skipjack

import (
	"bytes"
	"errors"
	"testing"
	"testing/iotest"
)

func TestNewIV(t *testing.T) {
	iv, err := NewIV(bytes.NewReader([]byte{1, 2, 3, 4, 5, 6, 7, 8}))
	if err != nil {
		t.Fatal(err)
	}
	want := []byte("THIS IS NOT LEAF\x01\x02\x03\x04\x05\x06\x07\x08")
	if !bytes.Equal(iv[:], want) {
		t.Fatalf("NewIV = %q, want %q", iv[:], want)
	}
	if len(LEAFSuppressed) != LEAFSize {
		t.Fatalf("len(LEAFSuppressed) = %d", len(LEAFSuppressed))
	}
	cbc, err := CBCIV(iv[:])
	if err != nil || !bytes.Equal(cbc, want[16:]) {
		t.Fatalf("CBCIV = %x, %v", cbc, err)
	}
	// CBCIV returns a copy.
	cbc[0] = 0xff
	if iv[16] != 1 {
		t.Fatal("CBCIV aliases its argument")
	}

	a, err := NewIV(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewIV(nil)
	if a == b {
		t.Fatal("two NewIV(nil) calls returned the same IV")
	}
}

func TestNewIVShortRead(t *testing.T) {
	if _, err := NewIV(bytes.NewReader([]byte{1, 2, 3})); err == nil {
		t.Error("NewIV succeeded on a 3-byte reader")
	}
	boom := errors.New("boom")
	if _, err := NewIV(iotest.ErrReader(boom)); !errors.Is(err, boom) {
		t.Errorf("NewIV error = %v, want wrapping %v", err, boom)
	}
}

func TestCBCIVLength(t *testing.T) {
	for _, n := range []int{0, 8, 16, 23, 25, 32} {
		if _, err := CBCIV(make([]byte, n)); err == nil {
			t.Errorf("CBCIV accepted %d bytes", n)
		}
	}
}
