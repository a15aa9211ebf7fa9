package pkcs11

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	p11 "github.com/miekg/pkcs11"

	"github.com/tokenssl/tokenssl/token"
)

// URI is a parsed RFC 7512 PKCS#11 URI, e.g.
//
//	pkcs11:token=web;object=server;id=%01%02;type=private?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/tokenssl/pin
//
// Values are percent-decoded. Empty fields were absent.
type URI struct {
	// Path attributes (what to select).
	Token, Manufacturer, Serial, Model                      string
	LibraryManufacturer, LibraryDescription, LibraryVersion string
	SlotDescription, SlotManufacturer                       string
	SlotID                                                  *uint
	Object                                                  string // CKA_LABEL
	Type                                                    string // public, private, cert, secret-key, data
	ID                                                      []byte // CKA_ID

	// Query attributes (how to get there).
	ModulePath, ModuleName string
	PINSource              string // e.g. file:/path, env:NAME, prompt
	PINValue               string // the PIN itself; never printed by String

	// Vendor attributes ("x-" prefix), kept for the caller.
	VendorPath  map[string]string
	VendorQuery map[string][]string

	// carriesPIN: the URI as written holds a PIN, so Config's errors
	// quote none of it either (a PIN's fragments may have become values).
	carriesPIN bool
}

// IsURI reports whether s looks like a PKCS#11 URI rather than a file name.
func IsURI(s string) bool {
	return len(s) >= 7 && strings.EqualFold(s[:7], "pkcs11:")
}

var uriTypes = map[string]bool{"public": true, "private": true, "cert": true, "secret-key": true, "data": true}

// ParseURI parses an RFC 7512 PKCS#11 URI. It is strict: unknown
// attributes (other than "x-" vendor ones), repeated attributes, malformed
// percent-escapes and characters the grammar does not allow unescaped are
// errors, because a URI that silently matches something else selects the
// wrong key. Errors never quote any part of a PIN: in a URI that carries
// one (pin-value, or a pass: pin-source) no error quotes the URI at all,
// since a PIN with an unescaped '&' or ';' splits into fragments that look
// like attributes; errors then name the attribute by its position.
func ParseURI(s string) (*URI, error) {
	if !IsURI(s) {
		return nil, errors.New(`pkcs11 URI: must start with "pkcs11:"`)
	}
	p := uriParser{secret: strings.Contains(s, "pin-value") || strings.Contains(strings.ToLower(s), "pass:")}
	rest := s[7:]
	path, query, _ := strings.Cut(rest, "?")
	u := &URI{carriesPIN: p.secret}
	seen := map[string]bool{}
	if path != "" {
		for i, attr := range strings.Split(path, ";") {
			name, val, err := p.attribute(i, "path", attr)
			if err != nil {
				return nil, err
			}
			if seen[name] {
				return nil, p.errorf(i, "path", "is repeated", "path attribute %q repeated", name)
			}
			seen[name] = true
			if err := u.setPath(name, val); err != nil {
				if p.secret {
					return nil, p.errorf(i, "path", "has a bad value", "")
				}
				return nil, err
			}
		}
	}
	if query != "" {
		qseen := map[string]bool{}
		for i, attr := range strings.Split(query, "&") {
			name, val, err := p.attribute(i, "query", attr)
			if err != nil {
				return nil, err
			}
			if strings.HasPrefix(name, "x-") {
				if u.VendorQuery == nil {
					u.VendorQuery = map[string][]string{}
				}
				u.VendorQuery[name] = append(u.VendorQuery[name], val)
				continue
			}
			if qseen[name] {
				return nil, p.errorf(i, "query", "is repeated", "query attribute %q repeated", name)
			}
			qseen[name] = true
			a, ok := findAttr(uriQueryAttrs, name)
			if !ok {
				return nil, p.errorf(i, "query", "is unknown", "unknown query attribute %q", name)
			}
			a.set(u, val) // query values need no check
		}
		if u.PINSource != "" && u.PINValue != "" {
			return nil, errors.New("pkcs11 URI: give pin-source or pin-value, not both")
		}
	}
	return u, nil
}

// uriParser words ParseURI's errors.
type uriParser struct {
	secret bool // the URI carries a PIN: quote nothing
}

// errorf quotes input (clipped) in a URI without a PIN; in one with a PIN
// it gives only the part, the attribute's position and reason (which holds
// no input), since the name and value may both be PIN fragments.
func (p uriParser) errorf(i int, part, reason, format string, args ...any) error {
	if p.secret {
		return fmt.Errorf("pkcs11 URI: %s attribute %d %s (not quoted: the URI carries a PIN; percent-encode '&', ';' and '%%' in a pin-value)", part, i+1, reason)
	}
	for j, a := range args {
		if s, ok := a.(string); ok {
			args[j] = clip(s)
		}
	}
	return fmt.Errorf("pkcs11 URI: "+format, args...)
}

// attribute splits the i-th attribute of part ("path" or "query") into
// its name and percent-decoded value.
func (p uriParser) attribute(i int, part, attr string) (name, val string, err error) {
	name, raw, ok := strings.Cut(attr, "=")
	if !ok || name == "" {
		return "", "", p.errorf(i, part, "is not name=value", part+" attribute %q is not name=value", attr)
	}
	if err := checkName(name); err != nil {
		return "", "", p.errorf(i, part, "has a bad name", "bad attribute name %q", name)
	}
	query := part == "query"
	if val, err = unescape(raw, query); err != nil {
		if query && name == "pin-value" {
			return "", "", errors.New("pkcs11 URI: pin-value: malformed escape")
		}
		return "", "", p.errorf(i, part, "has a malformed value", "%s: %v", name, err)
	}
	return name, val, nil
}

// uriAttr is one standard attribute of a PKCS#11 URI: the field of URI
// that holds it, read and written as text.
type uriAttr struct {
	name string
	get  func(u *URI) string // "": absent
	set  func(u *URI, val string) error
	// binary values (id) are percent-encoded in full when written.
	binary bool
}

// textAttr is an attribute held in a string field as it is; check, if not
// nil, refuses a malformed value.
func textAttr(name string, field func(u *URI) *string, check func(val string) error) uriAttr {
	return uriAttr{
		name: name,
		get:  func(u *URI) string { return *field(u) },
		set: func(u *URI, val string) error {
			if check != nil {
				if err := check(val); err != nil {
					return err
				}
			}
			*field(u) = val
			return nil
		},
	}
}

// uriPathAttrs are the path attributes of RFC 7512, in the order String
// writes them.
var uriPathAttrs = []uriAttr{
	textAttr("token", func(u *URI) *string { return &u.Token }, nil),
	textAttr("manufacturer", func(u *URI) *string { return &u.Manufacturer }, nil),
	textAttr("serial", func(u *URI) *string { return &u.Serial }, nil),
	textAttr("model", func(u *URI) *string { return &u.Model }, nil),
	textAttr("library-manufacturer", func(u *URI) *string { return &u.LibraryManufacturer }, nil),
	textAttr("library-description", func(u *URI) *string { return &u.LibraryDescription }, nil),
	textAttr("library-version", func(u *URI) *string { return &u.LibraryVersion }, func(val string) error {
		if _, _, err := parseVersion(val); err != nil {
			return fmt.Errorf("pkcs11 URI: library-version %q: want M or M.N", clip(val))
		}
		return nil
	}),
	textAttr("slot-description", func(u *URI) *string { return &u.SlotDescription }, nil),
	textAttr("slot-manufacturer", func(u *URI) *string { return &u.SlotManufacturer }, nil),
	{
		name: "slot-id",
		get: func(u *URI) string {
			if u.SlotID == nil {
				return ""
			}
			return strconv.FormatUint(uint64(*u.SlotID), 10)
		},
		set: func(u *URI, val string) error {
			n, err := strconv.ParseUint(val, 10, 0)
			if err != nil || val == "" || val[0] == '+' {
				return fmt.Errorf("pkcs11 URI: slot-id %q is not a decimal number", clip(val))
			}
			id := uint(n)
			u.SlotID = &id
			return nil
		},
	},
	textAttr("object", func(u *URI) *string { return &u.Object }, nil),
	textAttr("type", func(u *URI) *string { return &u.Type }, func(val string) error {
		if !uriTypes[val] {
			return fmt.Errorf("pkcs11 URI: type %q: want public, private, cert, secret-key or data", clip(val))
		}
		return nil
	}),
	{
		name:   "id",
		get:    func(u *URI) string { return string(u.ID) },
		set:    func(u *URI, val string) error { u.ID = []byte(val); return nil },
		binary: true,
	},
}

// uriQueryAttrs are the query attributes, in the order String writes them.
var uriQueryAttrs = []uriAttr{
	textAttr("module-name", func(u *URI) *string { return &u.ModuleName }, nil),
	textAttr("module-path", func(u *URI) *string { return &u.ModulePath }, nil),
	textAttr("pin-source", func(u *URI) *string { return &u.PINSource }, nil),
	textAttr("pin-value", func(u *URI) *string { return &u.PINValue }, nil),
}

func findAttr(attrs []uriAttr, name string) (uriAttr, bool) {
	for _, a := range attrs {
		if a.name == name {
			return a, true
		}
	}
	return uriAttr{}, false
}

func (u *URI) setPath(name, val string) error {
	if a, ok := findAttr(uriPathAttrs, name); ok {
		return a.set(u, val)
	}
	if !strings.HasPrefix(name, "x-") {
		return fmt.Errorf("pkcs11 URI: unknown path attribute %q", name)
	}
	if u.VendorPath == nil {
		u.VendorPath = map[string]string{}
	}
	u.VendorPath[name] = val
	return nil
}

func parseVersion(v string) (major, minor uint64, err error) {
	maj, min, hasMinor := strings.Cut(v, ".")
	if major, err = strconv.ParseUint(maj, 10, 8); err != nil || maj == "" || maj[0] == '+' {
		return 0, 0, errors.New("bad version")
	}
	if hasMinor {
		if minor, err = strconv.ParseUint(min, 10, 8); err != nil || min == "" || min[0] == '+' {
			return 0, 0, errors.New("bad version")
		}
	}
	return major, minor, nil
}

func checkName(name string) error {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return errors.New("bad attribute name")
		}
	}
	return nil
}

// clip bounds how much of a hostile input goes into an error message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

const hexDigits = "0123456789ABCDEF"

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// allowed reports whether c may appear unescaped: RFC 7512's pk11-pchar
// (unreserved and ":[]@!$'()*+,=&") in the path, pk11-qchar (unreserved
// and ":[]@!$'()*+,=/?|;") in the query.
func allowed(c byte, query bool) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '-', '.', '_', '~', ':', '[', ']', '@', '!', '$', '\'', '(', ')', '*', '+', ',', '=':
		return true
	case '&':
		return !query
	case '/', '?', '|', ';':
		return query
	}
	return false
}

func unescape(s string, query bool) (string, error) {
	var out []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' {
			if i+2 >= len(s) {
				return "", errors.New("truncated percent-escape")
			}
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if !ok1 || !ok2 {
				return "", errors.New("bad percent-escape")
			}
			out = append(out, hi<<4|lo)
			i += 2
			continue
		}
		if !allowed(c, query) {
			if c == '/' {
				return "", errors.New(`"/" must be written %2F in the path`)
			}
			return "", fmt.Errorf("character %q must be percent-encoded", c)
		}
		out = append(out, c)
	}
	return string(out), nil
}

func escape(s string, query, all bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		// '=' and '&' / ';' are legal but escaping them keeps the result
		// readable by less careful parsers.
		if !all && allowed(c, query) && c != '=' && c != '&' && c != ';' && c != '?' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// String formats u as a URI. A pin-value is replaced by "REDACTED": the
// result is for logs and messages.
func (u *URI) String() string { return u.encode(false) }

func (u *URI) encode(withPIN bool) string {
	var path []string
	for _, a := range uriPathAttrs {
		if v := a.get(u); v != "" {
			path = append(path, a.name+"="+escape(v, false, a.binary))
		}
	}
	for _, k := range sortedKeys(u.VendorPath) {
		// Vendor attributes keep empty values: their meaning is the vendor's.
		path = append(path, k+"="+escape(u.VendorPath[k], false, false))
	}
	var query []string
	for _, a := range uriQueryAttrs {
		switch v := a.get(u); {
		case v == "":
		case a.name == "pin-value" && !withPIN:
			query = append(query, "pin-value=REDACTED")
		default:
			query = append(query, a.name+"="+escape(v, true, false))
		}
	}
	for _, k := range sortedKeys(u.VendorQuery) {
		for _, v := range u.VendorQuery[k] {
			query = append(query, k+"="+escape(v, true, false))
		}
	}
	s := "pkcs11:" + strings.Join(path, ";")
	if len(query) > 0 {
		s += "?" + strings.Join(query, "&")
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// KeySpec returns the object selection (object= and id=).
func (u *URI) KeySpec() KeySpec { return KeySpec{Label: u.Object, ID: u.ID} }

// moduleDirs are searched for a module-name, in order.
var moduleDirs = []string{
	"/usr/lib/x86_64-linux-gnu/pkcs11", "/usr/lib/aarch64-linux-gnu/pkcs11", "/usr/lib/pkcs11",
	"/usr/lib64/pkcs11", "/usr/local/lib/pkcs11", "/usr/lib/softhsm", "/usr/local/lib/softhsm",
	"/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib",
}

func resolveModuleName(name string) (string, error) {
	if strings.ContainsRune(name, '/') {
		return "", fmt.Errorf("pkcs11 URI: module-name %q must not contain '/'; use module-path", name)
	}
	for _, dir := range moduleDirs {
		for _, f := range []string{name + ".so", "lib" + name + ".so", name} {
			p := filepath.Join(dir, f)
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("pkcs11 URI: module-name %q not found in %s", name, strings.Join(moduleDirs, ", "))
}

// Config returns the token selection and PIN source of u on top of def:
// module, token selectors and PIN from the URI replace those of def when
// the URI has them.
func (u *URI) Config(def Config) (Config, error) {
	cfg := def
	switch {
	case u.ModulePath != "":
		cfg.ModulePath = u.ModulePath
	case u.ModuleName != "":
		p, err := resolveModuleName(u.ModuleName)
		if err != nil {
			if u.carriesPIN {
				return cfg, errors.New("pkcs11 URI: module-name not found or invalid (not quoted: the URI carries a PIN)")
			}
			return cfg, err
		}
		cfg.ModulePath = p
	}
	if u.Token != "" || u.Serial != "" || u.SlotID != nil || u.Manufacturer != "" || u.Model != "" ||
		u.SlotDescription != "" || u.SlotManufacturer != "" {
		cfg.TokenLabel, cfg.TokenSerial, cfg.SlotID = u.Token, u.Serial, u.SlotID
	}
	if u.PINValue != "" || u.PINSource != "" {
		src, err := PINSpec{Value: u.PINValue, Source: u.PINSource}.Resolve()
		if err != nil {
			return cfg, fmt.Errorf("pkcs11 URI: pin-source: %v", err)
		}
		cfg.PIN = src
	}
	if cfg.ModulePath == "" {
		return cfg, errors.New("pkcs11 URI: no module-path or module-name, and no default module")
	}
	return cfg, nil
}

// matches checks the URI's token, slot and library attributes that Config
// cannot express against what the module reports.
func (u *URI) matches(b *Backend) error {
	if u.Manufacturer == "" && u.Model == "" && u.SlotDescription == "" && u.SlotManufacturer == "" &&
		u.LibraryManufacturer == "" && u.LibraryDescription == "" && u.LibraryVersion == "" {
		return nil
	}
	return b.m.Do(func(c *p11.Ctx) error {
		b.mu.Lock()
		slot := b.slot
		b.mu.Unlock()
		// check fails on the first field the URI gives that differs from
		// what the module reports.
		type field struct{ what, want, have string }
		check := func(fields ...field) error {
			for _, f := range fields {
				if f.want != "" && f.have != f.want {
					return &Error{Op: "match URI", Token: b.label, Kind: ErrTokenNotFound,
						Detail: fmt.Sprintf("%s is %q, URI wants %q", f.what, f.have, f.want)}
				}
			}
			return nil
		}
		if u.Manufacturer != "" || u.Model != "" {
			ti, err := c.GetTokenInfo(slot)
			if err != nil {
				return unavailable("C_GetTokenInfo", b.label, rv(err), "")
			}
			if err := check(field{"token manufacturer", u.Manufacturer, ti.ManufacturerID}, field{"token model", u.Model, ti.Model}); err != nil {
				return err
			}
		}
		if u.SlotDescription != "" || u.SlotManufacturer != "" {
			si, err := c.GetSlotInfo(slot)
			if err != nil {
				return unavailable("C_GetSlotInfo", b.label, rv(err), "")
			}
			if err := check(field{"slot description", u.SlotDescription, si.SlotDescription},
				field{"slot manufacturer", u.SlotManufacturer, si.ManufacturerID}); err != nil {
				return err
			}
		}
		if u.LibraryManufacturer != "" || u.LibraryDescription != "" || u.LibraryVersion != "" {
			info, err := c.GetInfo()
			if err != nil {
				return &Error{Op: "C_GetInfo", Code: rv(err)}
			}
			have := ""
			if u.LibraryVersion != "" {
				// The version matches as far as the URI spells it (M or M.N).
				maj, min, _ := parseVersion(u.LibraryVersion)
				v := info.LibraryVersion
				have = u.LibraryVersion
				if uint64(v.Major) != maj || (strings.Contains(u.LibraryVersion, ".") && uint64(v.Minor) != min) {
					have = fmt.Sprintf("%d.%d", v.Major, v.Minor)
				}
			}
			return check(field{"library manufacturer", u.LibraryManufacturer, info.ManufacturerID},
				field{"library description", u.LibraryDescription, info.LibraryDescription},
				field{"library version", u.LibraryVersion, have})
		}
		return nil
	})
}

// OpenURI opens the token a PKCS#11 URI names and finds its private key:
// OpenKeyURI without the certificates. def supplies what the URI leaves
// out (module, PIN source, pool size). The caller closes the Backend when
// done with the key.
func OpenURI(uri string, def Config) (*Backend, token.Key, error) {
	k, err := OpenKeyURI(uri, KeyRequest{Config: def})
	if err != nil {
		return nil, nil, err
	}
	return k.Backend, k.Key, nil
}

// equalURI compares two parsed URIs, pin-value included (tests, fuzzing).
func equalURI(a, b *URI) bool {
	for _, attrs := range [][]uriAttr{uriPathAttrs, uriQueryAttrs} {
		for _, at := range attrs {
			if at.get(a) != at.get(b) {
				return false
			}
		}
	}
	if len(a.VendorPath) != len(b.VendorPath) || len(a.VendorQuery) != len(b.VendorQuery) {
		return false
	}
	for k, v := range a.VendorPath {
		if b.VendorPath[k] != v {
			return false
		}
	}
	for k, v := range a.VendorQuery {
		if !slices.Equal(v, b.VendorQuery[k]) {
			return false
		}
	}
	return true
}
