//go:build linux || darwin || freebsd

// Package p11fortezza is the small cgo layer the Fortezza PKCS#11 backend
// needs because miekg/pkcs11 can neither pass CK_KEA_DERIVE_PARAMS nor read
// back a mechanism parameter the token writes (the r_c of a KEA derive as
// sender, the IV of a SKIPJACK-CBC64 encryption; docs/fortezza.md §3.5).
//
// It reaches the module already loaded and C_Initialize'd by miekg/pkcs11
// (token/pkcs11's Module): dlopen of the same path returns the same
// library, whose C_GetFunctionList gives the same function table, so the
// session and object handles of the miekg context are valid here. It never
// calls C_Initialize or C_Finalize.
//
// Parameter structures are built in C memory by Go code that mirrors the C
// definitions of the OASIS headers in third_party/ (pkcs11t.h, unpacked:
// the Unix convention); layout_test.go checks every size and offset against
// the C compiler's, and that C reads back what Go wrote. Go memory is never
// handed to the module, so the token may keep writing into pRandomA or the
// IV buffer until the call returns, as the mechanisms specify.
package p11fortezza

/*
#cgo CFLAGS: -I${SRCDIR}/third_party
#cgo linux LDFLAGS: -ldl
#cgo freebsd LDFLAGS: -ldl
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <dlfcn.h>

#define CK_PTR *
#ifndef NULL_PTR
#define NULL_PTR 0
#endif
#define CK_DEFINE_FUNCTION(returnType, name) returnType name
#define CK_DECLARE_FUNCTION(returnType, name) returnType name
#define CK_DECLARE_FUNCTION_POINTER(returnType, name) returnType (* name)
#define CK_CALLBACK_FUNCTION(returnType, name) returnType (* name)
#include "pkcs11.h"

// p11f_load returns the function list of the module at path, loading it if
// needed (normally it is loaded already and dlopen just counts a reference).
static CK_FUNCTION_LIST_PTR p11f_load(const char *path) {
	void *h = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
	if (h == NULL) {
		h = dlopen(path, RTLD_NOW);
	}
	if (h == NULL) {
		return NULL;
	}
	CK_C_GetFunctionList gfl = (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList");
	if (gfl == NULL) {
		return NULL;
	}
	CK_FUNCTION_LIST_PTR fl = NULL;
	if (gfl(&fl) != CKR_OK) {
		return NULL;
	}
	return fl;
}

static CK_RV p11f_derive(CK_FUNCTION_LIST_PTR fl, CK_SESSION_HANDLE sh, CK_MECHANISM_TYPE mech,
		void *param, CK_ULONG paramLen, CK_OBJECT_HANDLE base,
		void *tmpl, CK_ULONG n, CK_OBJECT_HANDLE *out) {
	CK_MECHANISM m = { mech, param, paramLen };
	return fl->C_DeriveKey(sh, &m, base, (CK_ATTRIBUTE_PTR)tmpl, n, out);
}

static CK_RV p11f_encrypt_init(CK_FUNCTION_LIST_PTR fl, CK_SESSION_HANDLE sh, CK_MECHANISM_TYPE mech,
		void *param, CK_ULONG paramLen, CK_OBJECT_HANDLE key) {
	CK_MECHANISM m = { mech, param, paramLen };
	return fl->C_EncryptInit(sh, &m, key);
}

static CK_RV p11f_decrypt_init(CK_FUNCTION_LIST_PTR fl, CK_SESSION_HANDLE sh, CK_MECHANISM_TYPE mech,
		void *param, CK_ULONG paramLen, CK_OBJECT_HANDLE key) {
	CK_MECHANISM m = { mech, param, paramLen };
	return fl->C_DecryptInit(sh, &m, key);
}

// Layout of the C definitions, for layout_test.go.
static size_t p11f_layout(int i) {
	switch (i) {
	case 0: return sizeof(CK_KEA_DERIVE_PARAMS);
	case 1: return offsetof(CK_KEA_DERIVE_PARAMS, isSender);
	case 2: return offsetof(CK_KEA_DERIVE_PARAMS, ulRandomLen);
	case 3: return offsetof(CK_KEA_DERIVE_PARAMS, pRandomA);
	case 4: return offsetof(CK_KEA_DERIVE_PARAMS, pRandomB);
	case 5: return offsetof(CK_KEA_DERIVE_PARAMS, ulPublicDataLen);
	case 6: return offsetof(CK_KEA_DERIVE_PARAMS, pPublicData);
	case 7: return sizeof(CK_ATTRIBUTE);
	case 8: return offsetof(CK_ATTRIBUTE, type);
	case 9: return offsetof(CK_ATTRIBUTE, pValue);
	case 10: return offsetof(CK_ATTRIBUTE, ulValueLen);
	case 11: return sizeof(CK_BBOOL);
	case 12: return sizeof(CK_ULONG);
	case 13: return sizeof(CK_MECHANISM);
	}
	return (size_t)-1;
}

// p11f_read_kea reads a CK_KEA_DERIVE_PARAMS through the C definition.
static void p11f_read_kea(const void *p, CK_BBOOL *isSender, CK_ULONG *randomLen,
		unsigned char **a, unsigned char **b, CK_ULONG *pubLen, unsigned char **pub) {
	const CK_KEA_DERIVE_PARAMS *k = (const CK_KEA_DERIVE_PARAMS *)p;
	*isSender = k->isSender;
	*randomLen = k->ulRandomLen;
	*a = k->pRandomA;
	*b = k->pRandomB;
	*pubLen = k->ulPublicDataLen;
	*pub = k->pPublicData;
}

// p11f_read_attr reads element i of a CK_ATTRIBUTE array.
static void p11f_read_attr(const void *p, int i, CK_ATTRIBUTE_TYPE *t, void **v, CK_ULONG *n) {
	const CK_ATTRIBUTE *a = (const CK_ATTRIBUTE *)p + i;
	*t = a->type;
	*v = a->pValue;
	*n = a->ulValueLen;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"

	p11 "github.com/miekg/pkcs11"
)

// ckKEADeriveParams mirrors CK_KEA_DERIVE_PARAMS (pkcs11t.h):
//
//	CK_BBOOL isSender; CK_ULONG ulRandomLen; CK_BYTE_PTR pRandomA;
//	CK_BYTE_PTR pRandomB; CK_ULONG ulPublicDataLen; CK_BYTE_PTR pPublicData;
//
// CK_ULONG is C unsigned long (64 bits on LP64 Unix, Go uint); CK_BBOOL a
// byte. Go aligns the fields as the C compiler does (layout_test.go).
type ckKEADeriveParams struct {
	isSender        uint8
	ulRandomLen     uint
	pRandomA        unsafe.Pointer
	pRandomB        unsafe.Pointer
	ulPublicDataLen uint
	pPublicData     unsafe.Pointer
}

// ckAttribute mirrors CK_ATTRIBUTE: type, pValue, ulValueLen.
type ckAttribute struct {
	typ        uint
	pValue     unsafe.Pointer
	ulValueLen uint
}

// Module is the function table of a loaded PKCS#11 library.
type Module struct {
	fl C.CK_FUNCTION_LIST_PTR
}

// Load returns the function table of the library at path (normally loaded
// and initialised already by miekg/pkcs11).
func Load(path string) (*Module, error) {
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	fl := C.p11f_load(cp)
	if fl == nil {
		return nil, fmt.Errorf("p11fortezza: cannot load %s or its C_GetFunctionList", path)
	}
	return &Module{fl: fl}, nil
}

// arena is C memory freed together.
type arena []unsafe.Pointer

func (a *arena) alloc(n int) unsafe.Pointer {
	if n == 0 {
		n = 1
	}
	p := C.calloc(1, C.size_t(n))
	if p == nil {
		panic("p11fortezza: out of memory")
	}
	*a = append(*a, p)
	return p
}

func (a *arena) bytes(b []byte) unsafe.Pointer {
	p := a.alloc(len(b))
	if len(b) > 0 {
		C.memcpy(p, unsafe.Pointer(&b[0]), C.size_t(len(b)))
	}
	return p
}

func (a *arena) free() {
	for _, p := range *a {
		C.free(p)
	}
	*a = nil
}

// KEADeriveParams are the parameters of CKM_KEA_KEY_DERIVE.
type KEADeriveParams struct {
	// IsSender: TRUE for the originator (SSL client), which has the token
	// generate Ra; FALSE for the recipient (SSL server).
	IsSender bool
	// RandomA is Ra (r_c): written by the token when IsSender (its length,
	// 128 for Fortezza, is ulRandomLen), read otherwise.
	RandomA []byte
	// RandomB is Rb (r_s); 00…01 selects e-mail mode, 0 (recipient) asks
	// the token for a fresh r_s, written back. Same length as RandomA.
	RandomB []byte
	// PublicData is the other party's KEA public value Y.
	PublicData []byte
}

// marshalKEA builds a CK_KEA_DERIVE_PARAMS in C memory.
func marshalKEA(a *arena, p *KEADeriveParams) (param, ra, rb unsafe.Pointer, err error) {
	if len(p.RandomA) != len(p.RandomB) || len(p.RandomA) == 0 {
		return nil, nil, nil, errors.New("p11fortezza: Ra and Rb must have the same, non-zero length")
	}
	s := (*ckKEADeriveParams)(a.alloc(int(unsafe.Sizeof(ckKEADeriveParams{}))))
	if p.IsSender {
		s.isSender = 1
	}
	s.ulRandomLen = uint(len(p.RandomA))
	ra = a.bytes(p.RandomA)
	rb = a.bytes(p.RandomB)
	s.pRandomA = ra
	s.pRandomB = rb
	s.ulPublicDataLen = uint(len(p.PublicData))
	s.pPublicData = a.bytes(p.PublicData)
	return unsafe.Pointer(s), ra, rb, nil
}

// marshalTemplate builds a CK_ATTRIBUTE array in C memory.
func marshalTemplate(a *arena, tmpl []*p11.Attribute) unsafe.Pointer {
	size := int(unsafe.Sizeof(ckAttribute{}))
	base := a.alloc(size * len(tmpl))
	for i, at := range tmpl {
		e := (*ckAttribute)(unsafe.Add(base, i*size))
		e.typ = at.Type
		e.ulValueLen = uint(len(at.Value))
		if len(at.Value) > 0 {
			e.pValue = a.bytes(at.Value)
		}
	}
	return base
}

func rvErr(rv C.CK_RV) error {
	if rv == C.CKR_OK {
		return nil
	}
	return p11.Error(rv)
}

// DeriveKEA calls C_DeriveKey with CKM_KEA_KEY_DERIVE (mech) and p on
// session sh with base key base; for a sender it copies the token's Ra
// back into p.RandomA, for a recipient the token's Rb into p.RandomB (a
// recipient passing Rb = 0 has the token generate and keep r_b, and gets
// no key: handle 0). Errors from the module are p11.Error values.
func (m *Module) DeriveKEA(sh p11.SessionHandle, mech uint, base p11.ObjectHandle, p *KEADeriveParams, tmpl []*p11.Attribute) (p11.ObjectHandle, error) {
	var a arena
	defer a.free()
	param, ra, rb, err := marshalKEA(&a, p)
	if err != nil {
		return 0, err
	}
	t := marshalTemplate(&a, tmpl)
	var out C.CK_OBJECT_HANDLE
	rv := C.p11f_derive(m.fl, C.CK_SESSION_HANDLE(sh), C.CK_MECHANISM_TYPE(mech),
		param, C.CK_ULONG(unsafe.Sizeof(ckKEADeriveParams{})), C.CK_OBJECT_HANDLE(base),
		t, C.CK_ULONG(len(tmpl)), &out)
	if err := rvErr(rv); err != nil {
		return 0, err
	}
	if p.IsSender {
		copy(p.RandomA, unsafe.Slice((*byte)(ra), len(p.RandomA)))
	} else {
		copy(p.RandomB, unsafe.Slice((*byte)(rb), len(p.RandomB)))
	}
	return p11.ObjectHandle(out), nil
}

// EncryptInitIV calls C_EncryptInit with mech (CKM_SKIPJACK_CBC64) whose
// parameter is the 24-byte iv buffer, and copies back what the token wrote
// there: a Fortezza token generates the IV at encrypt-init.
func (m *Module) EncryptInitIV(sh p11.SessionHandle, mech uint, key p11.ObjectHandle, iv []byte) error {
	var a arena
	defer a.free()
	buf := a.bytes(iv)
	rv := C.p11f_encrypt_init(m.fl, C.CK_SESSION_HANDLE(sh), C.CK_MECHANISM_TYPE(mech), buf, C.CK_ULONG(len(iv)), C.CK_OBJECT_HANDLE(key))
	if err := rvErr(rv); err != nil {
		return err
	}
	copy(iv, unsafe.Slice((*byte)(buf), len(iv)))
	return nil
}

// DecryptInitIV calls C_DecryptInit with mech and the given IV.
func (m *Module) DecryptInitIV(sh p11.SessionHandle, mech uint, key p11.ObjectHandle, iv []byte) error {
	var a arena
	defer a.free()
	buf := a.bytes(iv)
	rv := C.p11f_decrypt_init(m.fl, C.CK_SESSION_HANDLE(sh), C.CK_MECHANISM_TYPE(mech), buf, C.CK_ULONG(len(iv)), C.CK_OBJECT_HANDLE(key))
	return rvErr(rv)
}

// cLayout returns the C compiler's size or offset number i (p11f_layout).
func cLayout(i int) uintptr { return uintptr(C.p11f_layout(C.int(i))) }

// cReadKEA reads a CK_KEA_DERIVE_PARAMS through the C definition.
func cReadKEA(p unsafe.Pointer) (isSender byte, randomLen uint, a, b unsafe.Pointer, pubLen uint, pub unsafe.Pointer) {
	var s C.CK_BBOOL
	var rl, pl C.CK_ULONG
	var pa, pb, pp *C.uchar
	C.p11f_read_kea(p, &s, &rl, &pa, &pb, &pl, &pp)
	return byte(s), uint(rl), unsafe.Pointer(pa), unsafe.Pointer(pb), uint(pl), unsafe.Pointer(pp)
}

// cReadAttr reads element i of a CK_ATTRIBUTE array through the C definition.
func cReadAttr(p unsafe.Pointer, i int) (uint, unsafe.Pointer, uint) {
	var t C.CK_ATTRIBUTE_TYPE
	var v unsafe.Pointer
	var n C.CK_ULONG
	C.p11f_read_attr(p, C.int(i), &t, &v, &n)
	return uint(t), v, uint(n)
}
