package pkcs11

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"

	p11 "github.com/miekg/pkcs11"
)

// KeySpec selects an object by label (CKA_LABEL), id (CKA_ID) or both;
// when both are given both must match.
type KeySpec struct {
	Label string
	ID    []byte
}

func (k KeySpec) String() string {
	var parts []string
	if k.Label != "" {
		parts = append(parts, fmt.Sprintf("label %q", k.Label))
	}
	if len(k.ID) > 0 {
		parts = append(parts, "id "+FormatID(k.ID))
	}
	if len(parts) == 0 {
		return "any object"
	}
	return strings.Join(parts, ", ")
}

func (k KeySpec) template(class uint) []*p11.Attribute {
	t := []*p11.Attribute{p11.NewAttribute(p11.CKA_CLASS, class)}
	if k.Label != "" {
		t = append(t, p11.NewAttribute(p11.CKA_LABEL, k.Label))
	}
	if len(k.ID) > 0 {
		t = append(t, p11.NewAttribute(p11.CKA_ID, k.ID))
	}
	return t
}

// Object is a token object found by FindObject (keys embed it). Its handle
// is refreshed when the Backend reconnects, so an Object stays valid across
// token removal and re-insertion.
type Object struct {
	b       *Backend
	ref     *objectRef
	label   string
	id      []byte
	class   uint
	keyType uint
}

// Label returns CKA_LABEL.
func (o *Object) Label() string { return o.label }

// ID returns CKA_ID.
func (o *Object) ID() []byte { return append([]byte(nil), o.id...) }

// Class returns CKA_CLASS (CKO_*).
func (o *Object) Class() uint { return o.class }

// KeyType returns CKA_KEY_TYPE (CKK_*) for keys.
func (o *Object) KeyType() uint { return o.keyType }

// Backend returns the Backend the object lives on.
func (o *Object) Backend() *Backend { return o.b }

// WithObject runs fn on a pooled session with the object's current handle
// (for mechanisms this package does not wrap, e.g. CKM_KEA_KEY_DERIVE).
// The rules of Backend.WithSession apply.
func (o *Object) WithObject(ctx context.Context, fn func(c *p11.Ctx, sh p11.SessionHandle, h p11.ObjectHandle) error) error {
	return o.b.do(ctx, "object", probeGeneral, func(c *p11.Ctx, sh p11.SessionHandle) error {
		return fn(c, sh, o.handle())
	})
}

func (o *Object) handle() p11.ObjectHandle { return p11.ObjectHandle(o.ref.handle.Load()) }

// Certificate returns the DER of the CKO_CERTIFICATE stored beside the
// object: same CKA_ID if the object has one, else same label.
func (o *Object) Certificate() ([]byte, error) {
	if len(o.id) > 0 {
		der, err := o.b.FindCertificate(KeySpec{ID: o.id})
		if err == nil || o.label == "" {
			return der, err
		}
	}
	return o.b.FindCertificate(KeySpec{Label: o.label})
}

// FindObject finds exactly one object of class (CKO_*) matching spec and
// remembers it for reconnects.
func (b *Backend) FindObject(spec KeySpec, class uint) (*Object, error) {
	if spec.Label == "" && len(spec.ID) == 0 {
		return nil, &Error{Op: "find object", Token: b.label, Detail: "give a label or an id"}
	}
	o := &Object{b: b, class: class}
	var h p11.ObjectHandle
	err := b.run("find object", func(c *p11.Ctx, sh p11.SessionHandle) error {
		hs, err := findAll(c, sh, spec.template(class), 2)
		if err != nil {
			return err
		}
		switch len(hs) {
		case 0:
			return &Error{Op: "find object", Token: b.label, Kind: ErrKeyNotFound,
				Detail: fmt.Sprintf("no %s with %s; %s", objectNoun(class), spec, describeObjects(c, sh, class))}
		case 1:
		default:
			return &Error{Op: "find object", Token: b.label, Kind: ErrKeyNotFound,
				Detail: fmt.Sprintf("more than one %s matches %s; give both label and id", objectNoun(class), spec)}
		}
		h = hs[0]
		attrs, err := c.GetAttributeValue(sh, h, []*p11.Attribute{
			p11.NewAttribute(p11.CKA_LABEL, nil), p11.NewAttribute(p11.CKA_ID, nil),
		})
		if err != nil {
			return err
		}
		o.label, o.id = string(attrs[0].Value), attrs[1].Value
		if class == p11.CKO_PRIVATE_KEY || class == p11.CKO_PUBLIC_KEY || class == p11.CKO_SECRET_KEY {
			v, err := getAttr(c, sh, h, p11.CKA_KEY_TYPE)
			if err != nil {
				return err
			}
			o.keyType = ulong(v)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Re-find by everything we now know, so a reconnect finds exactly this
	// object even if the caller selected it by label alone.
	sel := KeySpec{Label: o.label, ID: o.id}
	if o.label == "" && len(o.id) == 0 {
		sel = spec
	}
	// One ref per object however often it is looked up, so resyncs do
	// not grow with the number of FindKey calls.
	refKey := fmt.Sprintf("%d\x00%q\x00%x", class, sel.Label, sel.ID)
	b.mu.Lock()
	ref := b.keys[refKey]
	if ref == nil {
		ref = &objectRef{template: sel.template(class)}
		if b.keys == nil {
			b.keys = map[string]*objectRef{}
		}
		b.keys[refKey] = ref
	}
	ref.handle.Store(uint64(h))
	b.mu.Unlock()
	o.ref = ref
	return o, nil
}

// FindCertificate returns the DER value of the CKO_CERTIFICATE matching spec.
func (b *Backend) FindCertificate(spec KeySpec) ([]byte, error) {
	if spec.Label == "" && len(spec.ID) == 0 {
		return nil, &Error{Op: "find certificate", Token: b.label, Detail: "give a label or an id"}
	}
	var der []byte
	err := b.run("find certificate", func(c *p11.Ctx, sh p11.SessionHandle) error {
		hs, err := findAll(c, sh, spec.template(p11.CKO_CERTIFICATE), 2)
		if err != nil {
			return err
		}
		if len(hs) != 1 {
			what := "no certificate"
			if len(hs) > 1 {
				what = "more than one certificate"
			}
			return &Error{Op: "find certificate", Token: b.label, Kind: ErrCertificateNotFound, Detail: fmt.Sprintf("%s with %s", what, spec)}
		}
		der, err = getAttr(c, sh, hs[0], p11.CKA_VALUE)
		return err
	})
	return der, err
}

// findAll returns up to max (0: all) objects matching tmpl.
func findAll(c *p11.Ctx, sh p11.SessionHandle, tmpl []*p11.Attribute, max int) ([]p11.ObjectHandle, error) {
	if err := c.FindObjectsInit(sh, tmpl); err != nil {
		return nil, err
	}
	defer c.FindObjectsFinal(sh)
	var out []p11.ObjectHandle
	for max <= 0 || len(out) < max {
		hs, _, err := c.FindObjects(sh, 64)
		if err != nil {
			return nil, err
		}
		if len(hs) == 0 {
			break
		}
		out = append(out, hs...)
	}
	return out, nil
}

// findOne re-finds a remembered object after a reconnect.
func findOne(c *p11.Ctx, sh p11.SessionHandle, tmpl []*p11.Attribute) (p11.ObjectHandle, error) {
	hs, err := findAll(c, sh, tmpl, 2)
	if err != nil {
		return 0, &Error{Op: "find object", Code: rv(err)}
	}
	if len(hs) != 1 {
		return 0, &Error{Op: "find object", Kind: ErrKeyNotFound, Detail: fmt.Sprintf("%d objects match after reconnect", len(hs))}
	}
	return hs[0], nil
}

func getAttr(c *p11.Ctx, sh p11.SessionHandle, h p11.ObjectHandle, typ uint) ([]byte, error) {
	a, err := c.GetAttributeValue(sh, h, []*p11.Attribute{p11.NewAttribute(typ, nil)})
	if err != nil {
		return nil, err
	}
	return a[0].Value, nil
}

// ulong decodes a CK_ULONG attribute value (native byte order and width,
// as the module wrote it).
func ulong(v []byte) uint {
	switch len(v) {
	case 8:
		return uint(binary.NativeEndian.Uint64(v))
	case 4:
		return uint(binary.NativeEndian.Uint32(v))
	}
	return ^uint(0)
}

func boolAttr(v []byte) bool { return len(v) == 1 && v[0] != 0 }

// FormatID writes a CKA_ID as an RFC 7512 URI takes it (id=%01%05), the
// form an operator can paste into -key-id or a pkcs11: URI.
func FormatID(id []byte) string {
	var b strings.Builder
	for _, c := range id {
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// objectNoun names a CKO_* class in an operator's words.
func objectNoun(class uint) string {
	if n, ok := objectClasses[class]; ok {
		return n.noun
	}
	return className(class) + " object"
}

// describeObjects lists what objects of class exist, for "not found" errors.
func describeObjects(c *p11.Ctx, sh p11.SessionHandle, class uint) string {
	hs, err := findAll(c, sh, []*p11.Attribute{p11.NewAttribute(p11.CKA_CLASS, class)}, 32)
	if err != nil || len(hs) == 0 {
		return fmt.Sprintf("the token holds no %s visible to this session", objectNoun(class))
	}
	var names []string
	for _, h := range hs {
		a, err := c.GetAttributeValue(sh, h, []*p11.Attribute{p11.NewAttribute(p11.CKA_LABEL, nil), p11.NewAttribute(p11.CKA_ID, nil)})
		if err != nil {
			continue
		}
		names = append(names, fmt.Sprintf("%q (id %s)", a[0].Value, FormatID(a[1].Value)))
	}
	return fmt.Sprintf("%ss present: %s", objectNoun(class), strings.Join(names, ", "))
}
