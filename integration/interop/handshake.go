package interop

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Suite is an SSL 3.0 cipher suite the peers can name.
type Suite struct {
	ID uint16
	// Name is the RFC 6101 style name (SSL_...) for SSL 3.0 era suites and
	// the TLS_ name for the later AES ones.
	Name string
	// OpenSSL is OpenSSL's name for the suite.
	OpenSSL string

	// How NSS's verbose output describes the suite: "SSL version 3.0 using
	// <bits>-bit <cipher> with <n>-bit <mac> MAC" and "Key Exchange: ... <kea>".
	nssCipher string
	nssBits   int
	nssMAC    string
	nssKEA    string
}

func (s Suite) String() string { return fmt.Sprintf("%s(0x%04X)", s.Name, s.ID) }

// Suites lists the suites this package knows, SSL 3.0 RSA suites first.
var Suites = []Suite{
	{0x0001, "SSL_RSA_WITH_NULL_MD5", "NULL-MD5", "NULL", 0, "MD5", "RSA"},
	{0x0002, "SSL_RSA_WITH_NULL_SHA", "NULL-SHA", "NULL", 0, "SHA1", "RSA"},
	{0x0003, "SSL_RSA_EXPORT_WITH_RC4_40_MD5", "EXP-RC4-MD5", "", 0, "", ""},
	{0x0004, "SSL_RSA_WITH_RC4_128_MD5", "RC4-MD5", "RC4", 128, "MD5", "RSA"},
	{0x0005, "SSL_RSA_WITH_RC4_128_SHA", "RC4-SHA", "RC4", 128, "SHA1", "RSA"},
	{0x0006, "SSL_RSA_EXPORT_WITH_RC2_CBC_40_MD5", "EXP-RC2-CBC-MD5", "", 0, "", ""},
	{0x0008, "SSL_RSA_EXPORT_WITH_DES40_CBC_SHA", "EXP-DES-CBC-SHA", "", 0, "", ""},
	{0x0009, "SSL_RSA_WITH_DES_CBC_SHA", "DES-CBC-SHA", "DES", 56, "SHA1", "RSA"},
	{0x000A, "SSL_RSA_WITH_3DES_EDE_CBC_SHA", "DES-CBC3-SHA", "3DES", 112, "SHA1", "RSA"},
	{0x0014, "SSL_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA", "EXP-EDH-RSA-DES-CBC-SHA", "", 0, "", ""},
	{0x0015, "SSL_DHE_RSA_WITH_DES_CBC_SHA", "EDH-RSA-DES-CBC-SHA", "DES", 56, "SHA1", "DHE"},
	{0x0016, "SSL_DHE_RSA_WITH_3DES_EDE_CBC_SHA", "EDH-RSA-DES-CBC3-SHA", "3DES", 112, "SHA1", "DHE"},
	{0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA", "AES", 128, "SHA1", "RSA"},
	{0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA", "DHE-RSA-AES128-SHA", "AES", 128, "SHA1", "DHE"},
	{0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA", "AES", 256, "SHA1", "RSA"},
	{0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", "DHE-RSA-AES256-SHA", "AES", 256, "SHA1", "DHE"},
	// Named for the suite matrix (integration/matrix_linux_test.go), which
	// reads negotiated suites from our side; no NSS output description.
	{0x0012, "SSL_DHE_DSS_WITH_DES_CBC_SHA", "EDH-DSS-DES-CBC-SHA", "", 0, "", ""},
	{0x0013, "SSL_DHE_DSS_WITH_3DES_EDE_CBC_SHA", "EDH-DSS-DES-CBC3-SHA", "", 0, "", ""},
	{0x0032, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA", "DHE-DSS-AES128-SHA", "", 0, "", ""},
	{0x0038, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA", "DHE-DSS-AES256-SHA", "", 0, "", ""},
	{0x0041, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA", "CAMELLIA128-SHA", "", 0, "", ""},
	{0x0044, "TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA", "DHE-DSS-CAMELLIA128-SHA", "", 0, "", ""},
	{0x0045, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA", "DHE-RSA-CAMELLIA128-SHA", "", 0, "", ""},
	{0x0066, "TLS_DHE_DSS_WITH_RC4_128_SHA", "EDH-DSS-RC4-SHA", "", 0, "", ""},
	{0x0084, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA", "CAMELLIA256-SHA", "", 0, "", ""},
	{0x0087, "TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA", "DHE-DSS-CAMELLIA256-SHA", "", 0, "", ""},
	{0x0088, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA", "DHE-RSA-CAMELLIA256-SHA", "", 0, "", ""},
	{0x0096, "TLS_RSA_WITH_SEED_CBC_SHA", "SEED-SHA", "", 0, "", ""},
	{0xC011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA", "ECDHE-RSA-RC4-SHA", "", 0, "", ""},
	{0xC012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", "ECDHE-RSA-DES-CBC3-SHA", "", 0, "", ""},
	{0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA", "", 0, "", ""},
	{0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA", "", 0, "", ""},
}

// SuiteByID looks a suite up by its code.
func SuiteByID(id uint16) (Suite, bool) {
	for _, s := range Suites {
		if s.ID == id {
			return s, true
		}
	}
	return Suite{}, false
}

// SuiteByName accepts the names peers print: SSL_RSA_WITH_RC4_128_MD5,
// TLS_RSA_WITH_RC4_128_MD5, RSA_WITH_RC4_128_MD5, RC4-MD5 (OpenSSL), and hex
// codes 0x0004 / 0004 / :0004. Case does not matter.
func SuiteByName(name string) (Suite, bool) {
	u := strings.ToUpper(strings.TrimSpace(name))
	for _, s := range Suites {
		bare := strings.TrimPrefix(strings.TrimPrefix(s.Name, "SSL_"), "TLS_")
		if u == s.Name || u == "SSL_"+bare || u == "TLS_"+bare || u == bare || u == s.OpenSSL {
			return s, true
		}
	}
	h := strings.TrimPrefix(strings.TrimPrefix(u, "0X"), ":")
	if len(h) == 4 {
		if v, err := strconv.ParseUint(h, 16, 16); err == nil {
			if s, ok := SuiteByID(uint16(v)); ok {
				return s, true
			}
			return Suite{ID: uint16(v), Name: fmt.Sprintf("0x%04X", v)}, true
		}
	}
	return Suite{}, false
}

// SuiteNames joins suite names with commas, the -ciphers syntax of tokenssl
// and zcryptopeer.
func SuiteNames(ids ...uint16) string {
	var parts []string
	for _, id := range ids {
		if s, ok := SuiteByID(id); ok {
			parts = append(parts, s.Name)
		} else {
			parts = append(parts, fmt.Sprintf("0x%04X", id))
		}
	}
	return strings.Join(parts, ",")
}

// SuiteCodes joins suites as hex codes with commas ("0x0004,0xC013"), which
// zcryptopeer's -ciphers takes for every code, named by it or not.
func SuiteCodes(ids ...uint16) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = fmt.Sprintf("0x%04X", id)
	}
	return strings.Join(parts, ",")
}

// NSSCipherArg renders suites for the -c option of selfserv and tstclnt:
// ":0004:000A" (NSS also takes single letters; the hex form is unambiguous).
func NSSCipherArg(ids ...uint16) string {
	var b strings.Builder
	for _, id := range ids {
		fmt.Fprintf(&b, ":%04X", id)
	}
	return b.String()
}

// Handshake is one completed handshake as reported by a peer.
type Handshake struct {
	// Version is the protocol version as printed ("3.0" for SSL 3.0), or ""
	// when the peer's line does not say.
	Version string
	// Suite is the negotiated suite (0 if the printed name is unknown).
	Suite uint16
	// SuiteName is the suite as the peer printed it.
	SuiteName string
	// Resumed reports an abbreviated (session-resuming) handshake.
	Resumed bool
	// SessionID is the session id in hex; "" when the peer does not print
	// it (NSS tools) or the session is not resumable.
	SessionID string
	// Line is the line (or lines, for NSS tools) the values came from.
	Line string
}

func (h Handshake) String() string {
	return fmt.Sprintf("{suite=%s(0x%04X) resumed=%t session=%s version=%s}", h.SuiteName, h.Suite, h.Resumed, h.SessionID, h.Version)
}

// ParseHandshakes extracts the lines
//
//	handshake ok suite=NAME resumed=BOOL session=HEX
//
// that `tokenssl server|client` and zcryptopeer print, wherever they appear
// in out (a prefix such as a log timestamp is ignored, and extra key=value
// fields are allowed).
func ParseHandshakes(out string) []Handshake {
	var hs []Handshake
	for _, line := range strings.Split(out, "\n") {
		i := strings.Index(line, "handshake ok")
		if i < 0 {
			continue
		}
		line = strings.TrimRight(line, "\r")
		h := Handshake{Line: line}
		for _, f := range strings.Fields(line[i+len("handshake ok"):]) {
			k, v, ok := strings.Cut(f, "=")
			if !ok {
				continue
			}
			switch k {
			case "suite":
				h.SuiteName = v
				if s, ok := SuiteByName(v); ok {
					h.Suite = s.ID
				}
			case "resumed":
				h.Resumed, _ = strconv.ParseBool(v)
			case "session":
				h.SessionID = strings.ToLower(v)
			case "version":
				h.Version = v
			}
		}
		hs = append(hs, h)
	}
	return hs
}

var (
	nssVersionRE = regexp.MustCompile(`SSL version (\d+\.\d+) using (\d+)-bit (\S+) with (\d+)-bit (\S+) MAC`)
	nssKEARE     = regexp.MustCompile(`Key Exchange: \d+-bit (\S+)`)
	nssStatsRE   = regexp.MustCompile(`(\d+) cache hits; (\d+) cache misses`)
)

func nssSuite(cipher string, bits int, mac, kea string) (Suite, bool) {
	for _, s := range Suites {
		if s.nssCipher == cipher && s.nssBits == bits && s.nssMAC == mac && (kea == "" || s.nssKEA == kea) {
			return s, true
		}
	}
	return Suite{}, false
}

// ParseNSSServer turns the merged stdout+stderr of `selfserv -v` into
// handshakes. Per connection selfserv prints, once the first request bytes
// arrived, its cumulative session-cache statistics ("selfserv: H cache hits;
// M cache misses, ...", stdout) followed by "selfserv: SSL version 3.0 using
// 128-bit RC4 with 128-bit MD5 MAC" and "Key Exchange: 2048-bit RSA"
// (stderr). A handshake is Resumed when the hit count grew. It has no
// session id.
func ParseNSSServer(out string) []Handshake {
	return parseNSS(out, true)
}

// ParseNSSClient turns the stderr of `tstclnt -v` into handshakes. Per
// handshake tstclnt prints "tstclnt: SSL version 3.0 using ... MAC", the
// key exchange line and then its cumulative client cache statistics
// ("H cache hits; M cache misses, ..."); a hit means the server accepted the
// offered session.
func ParseNSSClient(out string) []Handshake {
	return parseNSS(out, false)
}

func parseNSS(out string, statsFirst bool) []Handshake {
	var hs []Handshake
	prevHits, curHits := 0, 0
	pending := -1 // index of a handshake waiting for its stats (client)
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimRight(line, "\r")
		if m := nssStatsRE.FindStringSubmatch(line); m != nil {
			curHits, _ = strconv.Atoi(m[1])
			if !statsFirst && pending >= 0 {
				hs[pending].Resumed = curHits > prevHits
				hs[pending].Line += "\n" + line
				prevHits = curHits
				pending = -1
			}
			continue
		}
		if m := nssVersionRE.FindStringSubmatch(line); m != nil {
			bits, _ := strconv.Atoi(m[2])
			h := Handshake{Version: m[1], SuiteName: fmt.Sprintf("%s-%d/%s", m[3], bits, m[5]), Line: line}
			if s, ok := nssSuite(m[3], bits, m[5], ""); ok {
				h.Suite, h.SuiteName = s.ID, s.Name
			}
			if statsFirst {
				h.Resumed = curHits > prevHits
				prevHits = curHits
			} else {
				pending = len(hs)
			}
			hs = append(hs, h)
			continue
		}
		if m := nssKEARE.FindStringSubmatch(line); m != nil && len(hs) > 0 {
			h := &hs[len(hs)-1]
			if v := nssVersionRE.FindStringSubmatch(h.Line); v != nil {
				bits, _ := strconv.Atoi(v[2])
				if s, ok := nssSuite(v[3], bits, v[5], m[1]); ok {
					h.Suite, h.SuiteName = s.ID, s.Name
				}
			}
			h.Line += "\n" + line
		}
	}
	return hs
}
