package pkcs11

import (
	"context"
	"encoding/hex"
	"fmt"

	p11 "github.com/miekg/pkcs11"
)

// SlotInfo describes a slot for the CLI's token inspection.
type SlotInfo struct {
	ID           uint
	Description  string
	Manufacturer string
	TokenPresent bool
	Removable    bool
	Hardware     bool
	Token        *TokenInfo  // nil without a token, or if it could not be read
	TokenError   string      // why Token is nil although TokenPresent
	Mechanisms   []Mechanism // the SSL-relevant mechanisms the token offers
}

// TokenInfo is the part of CK_TOKEN_INFO a user selects and checks by.
type TokenInfo struct {
	Label, Manufacturer, Model, Serial string

	Initialized        bool // CKF_TOKEN_INITIALIZED
	LoginRequired      bool // CKF_LOGIN_REQUIRED
	UserPINInitialized bool // CKF_USER_PIN_INITIALIZED
	PINCountLow        bool // CKF_USER_PIN_COUNT_LOW: a wrong PIN was entered lately
	PINFinalTry        bool // CKF_USER_PIN_FINAL_TRY: one more wrong PIN locks it
	PINLocked          bool // CKF_USER_PIN_LOCKED
	SOPINLocked        bool // CKF_SO_PIN_LOCKED
	WriteProtected     bool // CKF_WRITE_PROTECTED
	ProtectedAuthPath  bool // CKF_PROTECTED_AUTHENTICATION_PATH (PIN pad)
	MinPINLen          uint
	MaxPINLen          uint
}

// Mechanism is one mechanism a token supports.
type Mechanism struct {
	Name                   string // CKM_ name without the prefix, e.g. "RSA_PKCS"
	Type                   uint
	MinKeySize, MaxKeySize uint
	Flags                  uint // CKF_ENCRYPT, CKF_SIGN, CKF_DERIVE, ...
}

// sslMechanisms are the mechanisms worth showing for SSL 3.0 use, in
// display order: what the handshake needs (RSA, DSA, DH, KEA), the bulk
// ciphers of the suite table (SKIPJACK, DES, 3DES, RC4, RC2, IDEA) and the
// SSL3 key-derivation family a token might offer.
var sslMechanisms = []struct {
	name string
	typ  uint
}{
	{"RSA_PKCS", p11.CKM_RSA_PKCS},
	{"RSA_X_509", p11.CKM_RSA_X_509},
	{"RSA_PKCS_KEY_PAIR_GEN", p11.CKM_RSA_PKCS_KEY_PAIR_GEN},
	{"DSA", p11.CKM_DSA},
	{"DSA_SHA1", p11.CKM_DSA_SHA1},
	{"DSA_KEY_PAIR_GEN", p11.CKM_DSA_KEY_PAIR_GEN},
	{"DH_PKCS_DERIVE", p11.CKM_DH_PKCS_DERIVE},
	{"DH_PKCS_KEY_PAIR_GEN", p11.CKM_DH_PKCS_KEY_PAIR_GEN},
	{"DH_PKCS_PARAMETER_GEN", p11.CKM_DH_PKCS_PARAMETER_GEN},
	{"KEA_KEY_PAIR_GEN", p11.CKM_KEA_KEY_PAIR_GEN},
	{"KEA_KEY_DERIVE", p11.CKM_KEA_KEY_DERIVE},
	{"SKIPJACK_KEY_GEN", p11.CKM_SKIPJACK_KEY_GEN},
	{"SKIPJACK_CBC64", p11.CKM_SKIPJACK_CBC64},
	{"SKIPJACK_WRAP", p11.CKM_SKIPJACK_WRAP},
	{"DES_CBC", p11.CKM_DES_CBC},
	{"DES3_CBC", p11.CKM_DES3_CBC},
	{"DES3_ECB", p11.CKM_DES3_ECB},
	{"RC4", p11.CKM_RC4},
	{"RC2_CBC", p11.CKM_RC2_CBC},
	{"IDEA_CBC", p11.CKM_IDEA_CBC},
	{"MD5", p11.CKM_MD5},
	{"SHA_1", p11.CKM_SHA_1},
	{"SSL3_PRE_MASTER_KEY_GEN", p11.CKM_SSL3_PRE_MASTER_KEY_GEN},
	{"SSL3_MASTER_KEY_DERIVE", p11.CKM_SSL3_MASTER_KEY_DERIVE},
	{"SSL3_MASTER_KEY_DERIVE_DH", p11.CKM_SSL3_MASTER_KEY_DERIVE_DH},
	{"SSL3_KEY_AND_MAC_DERIVE", p11.CKM_SSL3_KEY_AND_MAC_DERIVE},
	{"SSL3_MD5_MAC", p11.CKM_SSL3_MD5_MAC},
	{"SSL3_SHA1_MAC", p11.CKM_SSL3_SHA1_MAC},
}

// MechanismName returns the CKM_ name (without prefix) of the mechanisms
// this package knows, else the hex value.
func MechanismName(t uint) string {
	for _, m := range sslMechanisms {
		if m.typ == t {
			return m.name
		}
	}
	return fmt.Sprintf("0x%08X", t)
}

// ListSlots lists every slot of the module with its token and the
// SSL-relevant mechanisms. No login is needed.
func ListSlots(modulePath string) ([]SlotInfo, error) {
	m, err := OpenModule(modulePath)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	var out []SlotInfo
	err = m.Do(func(c *p11.Ctx) error {
		slots, err := c.GetSlotList(false)
		if err != nil {
			return &Error{Op: "C_GetSlotList", Token: modulePath, Code: rv(err)}
		}
		for _, s := range slots {
			si, err := c.GetSlotInfo(s)
			if err != nil {
				out = append(out, SlotInfo{ID: s, TokenError: codeName(rv(err))})
				continue
			}
			info := SlotInfo{
				ID: s, Description: si.SlotDescription, Manufacturer: si.ManufacturerID,
				TokenPresent: si.Flags&p11.CKF_TOKEN_PRESENT != 0,
				Removable:    si.Flags&p11.CKF_REMOVABLE_DEVICE != 0,
				Hardware:     si.Flags&p11.CKF_HW_SLOT != 0,
			}
			if info.TokenPresent {
				ti, err := c.GetTokenInfo(s)
				if err != nil {
					info.TokenError = codeName(rv(err))
				} else {
					info.Token = tokenInfo(ti)
					info.Mechanisms = mechanisms(c, s)
				}
			}
			out = append(out, info)
		}
		return nil
	})
	return out, err
}

func tokenInfo(ti p11.TokenInfo) *TokenInfo {
	f := ti.Flags
	return &TokenInfo{
		Label: ti.Label, Manufacturer: ti.ManufacturerID, Model: ti.Model, Serial: ti.SerialNumber,
		Initialized:        f&p11.CKF_TOKEN_INITIALIZED != 0,
		LoginRequired:      f&p11.CKF_LOGIN_REQUIRED != 0,
		UserPINInitialized: f&p11.CKF_USER_PIN_INITIALIZED != 0,
		PINCountLow:        f&p11.CKF_USER_PIN_COUNT_LOW != 0,
		PINFinalTry:        f&p11.CKF_USER_PIN_FINAL_TRY != 0,
		PINLocked:          f&p11.CKF_USER_PIN_LOCKED != 0,
		SOPINLocked:        f&p11.CKF_SO_PIN_LOCKED != 0,
		WriteProtected:     f&p11.CKF_WRITE_PROTECTED != 0,
		ProtectedAuthPath:  f&p11.CKF_PROTECTED_AUTHENTICATION_PATH != 0,
		MinPINLen:          ti.MinPinLen, MaxPINLen: ti.MaxPinLen,
	}
}

func mechanisms(c *p11.Ctx, slot uint) []Mechanism {
	list, err := c.GetMechanismList(slot)
	if err != nil {
		return nil
	}
	have := map[uint]bool{}
	for _, m := range list {
		have[m.Mechanism] = true
	}
	var out []Mechanism
	for _, sm := range sslMechanisms {
		if !have[sm.typ] {
			continue
		}
		mi, err := c.GetMechanismInfo(slot, []*p11.Mechanism{p11.NewMechanism(sm.typ, nil)})
		m := Mechanism{Name: sm.name, Type: sm.typ}
		if err == nil {
			m.MinKeySize, m.MaxKeySize, m.Flags = mi.MinKeySize, mi.MaxKeySize, mi.Flags
		}
		out = append(out, m)
	}
	return out
}

// ObjectInfo describes one object for the CLI.
type ObjectInfo struct {
	Class       string // RFC 7512 type names: "private", "public", "cert", "secret-key", "data"
	KeyType     string // "RSA", "DSA", "DH", "KEA", "SKIPJACK", ... ("" for non-keys)
	Label       string
	ID          string // hex
	KeySize     int    // bits; 0 when unknown
	Token       bool   // CKA_TOKEN
	Private     bool   // CKA_PRIVATE
	Sensitive   bool   // CKA_SENSITIVE (private and secret keys)
	Extractable bool   // CKA_EXTRACTABLE (private and secret keys)
}

// ListObjects lists the objects visible on the token: every object if the
// Backend is logged in, public ones otherwise.
func (b *Backend) ListObjects(ctx context.Context) ([]ObjectInfo, error) {
	var out []ObjectInfo
	err := b.do(ctx, "list objects", probeGeneral, func(c *p11.Ctx, sh p11.SessionHandle) error {
		hs, err := findAll(c, sh, nil, 0)
		if err != nil {
			return err
		}
		for _, h := range hs {
			out = append(out, objectInfo(c, sh, h))
		}
		return nil
	})
	return out, err
}

// ListObjects opens the token described by cfg (logging in if cfg.PIN is
// set), lists its objects and closes it again.
func ListObjects(cfg Config) ([]ObjectInfo, error) {
	b, err := Open(cfg)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	ctx, cancel := b.opCtx()
	defer cancel()
	return b.ListObjects(ctx)
}

func objectInfo(c *p11.Ctx, sh p11.SessionHandle, h p11.ObjectHandle) ObjectInfo {
	// One attribute per call: asking for one the object lacks fails the
	// whole C_GetAttributeValue on some modules.
	get := func(t uint) []byte {
		v, err := getAttr(c, sh, h, t)
		if err != nil {
			return nil
		}
		return v
	}
	var oi ObjectInfo
	class := ulong(get(p11.CKA_CLASS))
	oi.Class = className(class)
	oi.Label = string(get(p11.CKA_LABEL))
	oi.ID = hex.EncodeToString(get(p11.CKA_ID))
	oi.Token = boolAttr(get(p11.CKA_TOKEN))
	oi.Private = boolAttr(get(p11.CKA_PRIVATE))
	switch class {
	case p11.CKO_PRIVATE_KEY, p11.CKO_PUBLIC_KEY, p11.CKO_SECRET_KEY:
		kt := ulong(get(p11.CKA_KEY_TYPE))
		oi.KeyType = keyTypeName(kt)
		if class != p11.CKO_PUBLIC_KEY {
			oi.Sensitive = boolAttr(get(p11.CKA_SENSITIVE))
			oi.Extractable = boolAttr(get(p11.CKA_EXTRACTABLE))
		}
		switch kt {
		case p11.CKK_RSA:
			oi.KeySize = bitLen(get(p11.CKA_MODULUS))
		case p11.CKK_DSA, p11.CKK_DH, p11.CKK_X9_42_DH, p11.CKK_KEA:
			oi.KeySize = bitLen(get(p11.CKA_PRIME))
		default:
			if n := ulong(get(p11.CKA_VALUE_LEN)); n != ^uint(0) {
				oi.KeySize = int(n) * 8
			}
		}
	}
	return oi
}

func bitLen(b []byte) int {
	for len(b) > 0 && b[0] == 0 {
		b = b[1:]
	}
	if len(b) == 0 {
		return 0
	}
	n := (len(b) - 1) * 8
	for x := b[0]; x != 0; x >>= 1 {
		n++
	}
	return n
}

// objectClasses names the CKO_* classes: as a URI's type= spells them,
// which is how listings show them, and in an operator's words.
var objectClasses = map[uint]struct{ name, noun string }{
	p11.CKO_PRIVATE_KEY: {"private", "private key"},
	p11.CKO_PUBLIC_KEY:  {"public", "public key"},
	p11.CKO_CERTIFICATE: {"cert", "certificate"},
	p11.CKO_SECRET_KEY:  {"secret-key", "secret key"},
	p11.CKO_DATA:        {"data", "data object"},
}

func className(c uint) string {
	if n, ok := objectClasses[c]; ok {
		return n.name
	}
	return fmt.Sprintf("class 0x%x", c)
}

// keyTypeNames name the CKK_* key types in listings and errors.
var keyTypeNames = map[uint]string{
	p11.CKK_RSA:            "RSA",
	p11.CKK_DSA:            "DSA",
	p11.CKK_DH:             "DH",
	p11.CKK_X9_42_DH:       "X9_42_DH",
	p11.CKK_KEA:            "KEA",
	p11.CKK_EC:             "EC",
	p11.CKK_SKIPJACK:       "SKIPJACK",
	p11.CKK_DES:            "DES",
	p11.CKK_DES3:           "DES3",
	p11.CKK_AES:            "AES",
	p11.CKK_RC4:            "RC4",
	p11.CKK_RC2:            "RC2",
	p11.CKK_IDEA:           "IDEA",
	p11.CKK_GENERIC_SECRET: "GENERIC_SECRET",
}

func keyTypeName(t uint) string {
	if n, ok := keyTypeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("0x%x", t)
}
