package p11fortezza

import (
	"bytes"
	"testing"
	"unsafe"

	p11 "github.com/miekg/pkcs11"
)

// TestLayoutMatchesC compares the Go mirrors with the C compiler's view of
// the OASIS definitions.
func TestLayoutMatchesC(t *testing.T) {
	var k ckKEADeriveParams
	var a ckAttribute
	for _, c := range []struct {
		name string
		i    int
		got  uintptr
	}{
		{"sizeof(CK_KEA_DERIVE_PARAMS)", 0, unsafe.Sizeof(k)},
		{"offsetof(isSender)", 1, unsafe.Offsetof(k.isSender)},
		{"offsetof(ulRandomLen)", 2, unsafe.Offsetof(k.ulRandomLen)},
		{"offsetof(pRandomA)", 3, unsafe.Offsetof(k.pRandomA)},
		{"offsetof(pRandomB)", 4, unsafe.Offsetof(k.pRandomB)},
		{"offsetof(ulPublicDataLen)", 5, unsafe.Offsetof(k.ulPublicDataLen)},
		{"offsetof(pPublicData)", 6, unsafe.Offsetof(k.pPublicData)},
		{"sizeof(CK_ATTRIBUTE)", 7, unsafe.Sizeof(a)},
		{"offsetof(type)", 8, unsafe.Offsetof(a.typ)},
		{"offsetof(pValue)", 9, unsafe.Offsetof(a.pValue)},
		{"offsetof(ulValueLen)", 10, unsafe.Offsetof(a.ulValueLen)},
		{"sizeof(CK_BBOOL)", 11, unsafe.Sizeof(k.isSender)},
		{"sizeof(CK_ULONG)", 12, unsafe.Sizeof(k.ulRandomLen)},
	} {
		if want := cLayout(c.i); c.got != want {
			t.Errorf("%s: Go %d, C %d", c.name, c.got, want)
		}
	}
}

// TestMarshalReadByC writes the structures from Go and reads them with C.
func TestMarshalReadByC(t *testing.T) {
	var a arena
	defer a.free()
	ra := bytes.Repeat([]byte{0xa1}, 128)
	rb := append(make([]byte, 127), 1)
	y := bytes.Repeat([]byte{0x5c}, 128)
	for _, sender := range []bool{true, false} {
		p, raC, _, err := marshalKEA(&a, &KEADeriveParams{IsSender: sender, RandomA: ra, RandomB: rb, PublicData: y})
		if err != nil {
			t.Fatal(err)
		}
		s, rl, pa, pb, pl, pp := cReadKEA(p)
		if (s == 1) != sender || rl != 128 || pl != 128 || pa != raC {
			t.Fatalf("C read isSender %d, ulRandomLen %d, ulPublicDataLen %d", s, rl, pl)
		}
		if !bytes.Equal(unsafe.Slice((*byte)(pa), rl), ra) || !bytes.Equal(unsafe.Slice((*byte)(pb), rl), rb) ||
			!bytes.Equal(unsafe.Slice((*byte)(pp), pl), y) {
			t.Fatal("C read different buffers")
		}
	}
	if _, _, _, err := marshalKEA(&a, &KEADeriveParams{RandomA: ra, RandomB: rb[:5]}); err == nil {
		t.Error("accepted Ra and Rb of different lengths")
	}
	tmpl := []*p11.Attribute{
		p11.NewAttribute(p11.CKA_CLASS, p11.CKO_SECRET_KEY),
		p11.NewAttribute(p11.CKA_KEY_TYPE, p11.CKK_SKIPJACK),
		p11.NewAttribute(p11.CKA_TOKEN, false),
		p11.NewAttribute(p11.CKA_LABEL, nil),
	}
	base := marshalTemplate(&a, tmpl)
	for i, at := range tmpl {
		typ, v, n := cReadAttr(base, i)
		if typ != at.Type || n != uint(len(at.Value)) {
			t.Fatalf("attribute %d: C read type %#x len %d", i, typ, n)
		}
		if n > 0 && !bytes.Equal(unsafe.Slice((*byte)(v), n), at.Value) {
			t.Fatalf("attribute %d: C read another value", i)
		}
		if n == 0 && v != nil {
			t.Fatalf("attribute %d: empty value with a pointer", i)
		}
	}
}
