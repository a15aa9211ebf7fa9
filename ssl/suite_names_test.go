package ssl

import (
	"strings"
	"testing"
)

func TestCipherSuiteByOpenSSLName(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want uint16
		err  string // substring of the error; "" for success
	}{
		{"RC4-MD5", SSL_RSA_WITH_RC4_128_MD5, ""},
		{"rc4-sha", SSL_RSA_WITH_RC4_128_SHA, ""},
		{" DES-CBC3-SHA ", SSL_RSA_WITH_3DES_EDE_CBC_SHA, ""},
		{"EDH-RSA-DES-CBC3-SHA", SSL_DHE_RSA_WITH_3DES_EDE_CBC_SHA, ""},
		{"EDH-DSS-DES-CBC3-SHA", SSL_DHE_DSS_WITH_3DES_EDE_CBC_SHA, ""},
		{"EXP-RC4-MD5", SSL_RSA_EXPORT_WITH_RC4_40_MD5, ""},
		{"EXP-RC2-CBC-MD5", SSL_RSA_EXPORT_WITH_RC2_CBC_40_MD5, ""},
		{"ADH-RC4-MD5", SSL_DH_anon_WITH_RC4_128_MD5, ""},
		{"EXP-ADH-DES-CBC-SHA", SSL_DH_anon_EXPORT_WITH_DES40_CBC_SHA, ""},
		{"IDEA-CBC-SHA", SSL_RSA_WITH_IDEA_CBC_SHA, ""},
		{"NULL-SHA", SSL_RSA_WITH_NULL_SHA, ""},
		{"DH-RSA-DES-CBC3-SHA", SSL_DH_RSA_WITH_3DES_EDE_CBC_SHA, ""},
		{"FZA-RC4-SHA", SSL_FORTEZZA_KEA_WITH_RC4_128_SHA, ""},
		{"RC4-MD4", 0, "unknown cipher suite"},
		{"EDH-RSA-DES-CBC3", 0, "unknown cipher suite"},
	} {
		got, err := CipherSuiteByName(tt.in)
		if tt.err == "" {
			if err != nil || got != tt.want {
				t.Errorf("CipherSuiteByName(%q) = %#04x, %v; want %#04x", tt.in, got, err, tt.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("CipherSuiteByName(%q) = %#04x, %v; want an error with %q", tt.in, got, err, tt.err)
		}
	}
	// Every row but NULL_NULL has an OpenSSL name that parses back to it.
	for _, s := range cipherSuiteTable {
		name := OpenSSLCipherSuiteName(s.id)
		if s.id == SSL_NULL_WITH_NULL_NULL {
			if name != "" {
				t.Errorf("NULL_NULL has an OpenSSL name %q", name)
			}
			continue
		}
		if id, err := CipherSuiteByName(name); err != nil || id != s.id {
			t.Errorf("%s: OpenSSL name %q parses to %#04x, %v", s.name, name, id, err)
		}
	}
	// Names are unique, and no OpenSSL name is also an Appendix C name.
	seen := map[string]uint16{}
	for id, name := range openSSLSuiteNames {
		if prev, dup := seen[strings.ToUpper(name)]; dup {
			t.Errorf("%q names %#04x and %#04x", name, prev, id)
		}
		seen[strings.ToUpper(name)] = id
	}
}

// A name OpenSSL knows for a code the table lacks is "not implemented",
// not "unknown": the operator typed a real suite.
func TestOpenSSLNameOutsideTable(t *testing.T) {
	for id, name := range openSSLSuiteNames {
		if suiteByID(id) != nil {
			continue
		}
		_, err := CipherSuiteByName(name)
		if err == nil || !strings.Contains(err.Error(), "not implemented in this build") || !strings.Contains(err.Error(), name) {
			t.Errorf("%s (%#04x): %v", name, id, err)
		}
	}
}
