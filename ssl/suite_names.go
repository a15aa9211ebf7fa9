package ssl

import (
	"fmt"
	"strings"
)

// OpenSSL's names for cipher suites (OpenSSL 1.0.2's ssl3.h and tls1.h),
// keyed by code, so that operators can write -ciphers as they would for
// openssl s_server: RC4-MD5, DES-CBC3-SHA, EDH-RSA-DES-CBC3-SHA, ... The
// map covers codes beyond Appendix C (AES, Camellia, SEED, ECDH(E), the
// 1024-bit export suites): a name whose code the suite table lacks is
// reported as not in this build rather than as unknown. The FZA- names
// are OpenSSL 0.9's for the FORTEZZA_KEA suites.
var openSSLSuiteNames = map[uint16]string{
	// Appendix C.
	0x0001: "NULL-MD5",
	0x0002: "NULL-SHA",
	0x0003: "EXP-RC4-MD5",
	0x0004: "RC4-MD5",
	0x0005: "RC4-SHA",
	0x0006: "EXP-RC2-CBC-MD5",
	0x0007: "IDEA-CBC-SHA",
	0x0008: "EXP-DES-CBC-SHA",
	0x0009: "DES-CBC-SHA",
	0x000A: "DES-CBC3-SHA",
	0x000B: "EXP-DH-DSS-DES-CBC-SHA",
	0x000C: "DH-DSS-DES-CBC-SHA",
	0x000D: "DH-DSS-DES-CBC3-SHA",
	0x000E: "EXP-DH-RSA-DES-CBC-SHA",
	0x000F: "DH-RSA-DES-CBC-SHA",
	0x0010: "DH-RSA-DES-CBC3-SHA",
	0x0011: "EXP-EDH-DSS-DES-CBC-SHA",
	0x0012: "EDH-DSS-DES-CBC-SHA",
	0x0013: "EDH-DSS-DES-CBC3-SHA",
	0x0014: "EXP-EDH-RSA-DES-CBC-SHA",
	0x0015: "EDH-RSA-DES-CBC-SHA",
	0x0016: "EDH-RSA-DES-CBC3-SHA",
	0x0017: "EXP-ADH-RC4-MD5",
	0x0018: "ADH-RC4-MD5",
	0x0019: "EXP-ADH-DES-CBC-SHA",
	0x001A: "ADH-DES-CBC-SHA",
	0x001B: "ADH-DES-CBC3-SHA",
	0x001C: "FZA-NULL-SHA",
	0x001D: "FZA-FZA-CBC-SHA",
	0x001E: "FZA-RC4-SHA",

	// AES (RFC 3268).
	0x002F: "AES128-SHA",
	0x0030: "DH-DSS-AES128-SHA",
	0x0031: "DH-RSA-AES128-SHA",
	0x0032: "DHE-DSS-AES128-SHA",
	0x0033: "DHE-RSA-AES128-SHA",
	0x0034: "ADH-AES128-SHA",
	0x0035: "AES256-SHA",
	0x0036: "DH-DSS-AES256-SHA",
	0x0037: "DH-RSA-AES256-SHA",
	0x0038: "DHE-DSS-AES256-SHA",
	0x0039: "DHE-RSA-AES256-SHA",
	0x003A: "ADH-AES256-SHA",

	// Camellia (RFC 4132).
	0x0041: "CAMELLIA128-SHA",
	0x0042: "DH-DSS-CAMELLIA128-SHA",
	0x0043: "DH-RSA-CAMELLIA128-SHA",
	0x0044: "DHE-DSS-CAMELLIA128-SHA",
	0x0045: "DHE-RSA-CAMELLIA128-SHA",
	0x0046: "ADH-CAMELLIA128-SHA",
	0x0084: "CAMELLIA256-SHA",
	0x0085: "DH-DSS-CAMELLIA256-SHA",
	0x0086: "DH-RSA-CAMELLIA256-SHA",
	0x0087: "DHE-DSS-CAMELLIA256-SHA",
	0x0088: "DHE-RSA-CAMELLIA256-SHA",
	0x0089: "ADH-CAMELLIA256-SHA",

	// The 1024-bit export suites (draft-ietf-tls-56-bit-ciphersuites).
	0x0060: "EXP1024-RC4-MD5",
	0x0061: "EXP1024-RC2-CBC-MD5",
	0x0062: "EXP1024-DES-CBC-SHA",
	0x0063: "EXP1024-DHE-DSS-DES-CBC-SHA",
	0x0064: "EXP1024-RC4-SHA",
	0x0065: "EXP1024-DHE-DSS-RC4-SHA",
	0x0066: "DHE-DSS-RC4-SHA",

	// SEED (RFC 4162).
	0x0096: "SEED-SHA",
	0x0097: "DH-DSS-SEED-SHA",
	0x0098: "DH-RSA-SEED-SHA",
	0x0099: "DHE-DSS-SEED-SHA",
	0x009A: "DHE-RSA-SEED-SHA",
	0x009B: "ADH-SEED-SHA",

	// Elliptic curves (RFC 4492).
	0xC001: "ECDH-ECDSA-NULL-SHA",
	0xC002: "ECDH-ECDSA-RC4-SHA",
	0xC003: "ECDH-ECDSA-DES-CBC3-SHA",
	0xC004: "ECDH-ECDSA-AES128-SHA",
	0xC005: "ECDH-ECDSA-AES256-SHA",
	0xC006: "ECDHE-ECDSA-NULL-SHA",
	0xC007: "ECDHE-ECDSA-RC4-SHA",
	0xC008: "ECDHE-ECDSA-DES-CBC3-SHA",
	0xC009: "ECDHE-ECDSA-AES128-SHA",
	0xC00A: "ECDHE-ECDSA-AES256-SHA",
	0xC00B: "ECDH-RSA-NULL-SHA",
	0xC00C: "ECDH-RSA-RC4-SHA",
	0xC00D: "ECDH-RSA-DES-CBC3-SHA",
	0xC00E: "ECDH-RSA-AES128-SHA",
	0xC00F: "ECDH-RSA-AES256-SHA",
	0xC010: "ECDHE-RSA-NULL-SHA",
	0xC011: "ECDHE-RSA-RC4-SHA",
	0xC012: "ECDHE-RSA-DES-CBC3-SHA",
	0xC013: "ECDHE-RSA-AES128-SHA",
	0xC014: "ECDHE-RSA-AES256-SHA",
	0xC015: "AECDH-NULL-SHA",
	0xC016: "AECDH-RC4-SHA",
	0xC017: "AECDH-DES-CBC3-SHA",
	0xC018: "AECDH-AES128-SHA",
	0xC019: "AECDH-AES256-SHA",
}

// openSSLSuiteCodes is openSSLSuiteNames inverted, by upper-case name.
var openSSLSuiteCodes = func() map[string]uint16 {
	m := make(map[string]uint16, len(openSSLSuiteNames))
	for id, name := range openSSLSuiteNames {
		m[strings.ToUpper(name)] = id
	}
	return m
}()

// OpenSSLCipherSuiteName returns OpenSSL's name for id, or "" if OpenSSL
// has none (SSL_NULL_WITH_NULL_NULL, signalling values).
func OpenSSLCipherSuiteName(id uint16) string { return openSSLSuiteNames[id] }

// cipherSuiteByOpenSSLName looks name up among OpenSSL's names. ok is
// false when it is not one; err is set when it is one whose code this
// build's suite table does not have.
func cipherSuiteByOpenSSLName(name string) (id uint16, ok bool, err error) {
	id, ok = openSSLSuiteCodes[strings.ToUpper(strings.TrimSpace(name))]
	if !ok {
		return 0, false, nil
	}
	if suiteByID(id) == nil {
		return 0, true, fmt.Errorf("ssl: cipher suite %s (0x%04X) is not implemented in this build", strings.TrimSpace(name), id)
	}
	return id, true, nil
}
