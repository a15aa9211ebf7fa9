package ssl

import (
	"strings"
	"testing"
	"time"
)

// The table is Appendix C's 31 suites indexed by code, then the later RFCs'
// 35 in increasing code order; every row is reachable by code and names its
// source.
func TestCipherSuiteTableIsIndexedByCode(t *testing.T) {
	if len(cipherSuiteTable) != 31+35 {
		t.Fatalf("table has %d rows, want Appendix C's 31 and 35 later suites", len(cipherSuiteTable))
	}
	for i, s := range cipherSuiteTable[:31] {
		if int(s.id) != i || s.source != srcAppendixC {
			t.Fatalf("row %d holds %s (%#04x) from %q", i, s.name, s.id, s.source)
		}
	}
	for i, s := range cipherSuiteTable[31:] {
		if i > 0 && s.id <= cipherSuiteTable[30+i].id {
			t.Fatalf("row %s (%#04x) out of order", s.name, s.id)
		}
		if s.source == srcAppendixC || s.source == "" || !strings.HasPrefix(s.name, "TLS_") {
			t.Fatalf("row %s has source %q", s.name, s.source)
		}
	}
	for _, s := range cipherSuiteTable {
		if suiteByID(s.id) != s {
			t.Fatalf("suiteByID(%#04x) does not reach %s", s.id, s.name)
		}
	}
	for _, id := range []uint16{0x001F, 0x002E, 0x003B, 0x0040, 0x0047, 0x0083, 0x008A, 0x0095, 0x009C, 0xC010, 0xC015, 0xFFFF} {
		if suiteByID(id) != nil {
			t.Errorf("suiteByID(%#04x) found a row", id)
		}
	}
}

// Every new suite is implemented and, with a 16-byte block cipher, derives
// 16-byte IVs from the key_block (§6.2.2's partition with the cipher's IV
// size).
func TestLaterSuitesImplemented(t *testing.T) {
	for _, s := range cipherSuiteTable[31:] {
		if !s.implemented() {
			t.Errorf("%s is not implemented", s.name)
		}
		km := deriveKeys(s, make([]byte, 48), make([]byte, 32), make([]byte, 32))
		if len(km.clientIV) != s.cipher.ivSize || len(km.serverIV) != s.cipher.ivSize ||
			len(km.clientKey) != s.cipher.keyMaterial || len(km.clientMAC) != 20 {
			t.Errorf("%s: key material %d/%d/%d", s.name, len(km.clientKey), len(km.clientIV), len(km.clientMAC))
		}
		if s.cipher.blockSize == 16 && s.cipher.ivSize != 16 {
			t.Errorf("%s: IV size %d for a 16-byte block", s.name, s.cipher.ivSize)
		}
	}
}

func TestCipherSuiteNames(t *testing.T) {
	tests := []struct {
		in   string
		want uint16
		ok   bool
	}{
		{"SSL_RSA_WITH_RC4_128_MD5", SSL_RSA_WITH_RC4_128_MD5, true},
		{"ssl_rsa_with_rc4_128_md5", SSL_RSA_WITH_RC4_128_MD5, true},
		{"RSA_WITH_3DES_EDE_CBC_SHA", SSL_RSA_WITH_3DES_EDE_CBC_SHA, true},
		{"0x000A", SSL_RSA_WITH_3DES_EDE_CBC_SHA, true},
		{"0x001e", SSL_FORTEZZA_KEA_WITH_RC4_128_SHA, true},
		{"SSL_DH_anon_EXPORT_WITH_DES40_CBC_SHA", SSL_DH_anon_EXPORT_WITH_DES40_CBC_SHA, true},
		{"0x001F", 0, false},
		{"0xZZ", 0, false},
		{"TLS_AES_128_GCM_SHA256", 0, false},
		{"TLS_RSA_WITH_AES_128_CBC_SHA", TLS_RSA_WITH_AES_128_CBC_SHA, true},
		{"SSL_RSA_WITH_AES_256_CBC_SHA", TLS_RSA_WITH_AES_256_CBC_SHA, true},
		{"ecdhe_rsa_with_aes_128_cbc_sha", TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, true},
		{"TLS_RSA_WITH_RC4_128_MD5", SSL_RSA_WITH_RC4_128_MD5, true},
		{"TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA", TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA, true},
		{"0xC014", TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, true},
		{"0x0084", TLS_RSA_WITH_CAMELLIA_256_CBC_SHA, true},
		{"0x0066", TLS_DHE_DSS_WITH_RC4_128_SHA, true},
		{"0xC015", 0, false},
		{"TLS_SSL_RSA_WITH_RC4_128_MD5", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, err := CipherSuiteByName(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("CipherSuiteByName(%q) = %#04x, %v; want %#04x ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
	for _, s := range cipherSuiteTable {
		id, err := CipherSuiteByName(CipherSuiteName(s.id))
		if err != nil || id != s.id {
			t.Errorf("name round trip of %#04x failed", s.id)
		}
	}
	if CipherSuiteName(0x00FF) != "TLS_EMPTY_RENEGOTIATION_INFO_SCSV" || CipherSuiteName(0x1234) != "0x1234" {
		t.Error("names of non-table codes")
	}
	list, err := ParseCipherSuites("SSL_RSA_WITH_RC4_128_MD5, 0x0005")
	if err != nil || len(list) != 2 || list[1] != SSL_RSA_WITH_RC4_128_SHA {
		t.Errorf("ParseCipherSuites: %v %v", list, err)
	}
	if _, err := ParseCipherSuites(" , "); err == nil {
		t.Error("empty list accepted")
	}
}

func TestNullNullNeverImplemented(t *testing.T) {
	if suiteByID(SSL_NULL_WITH_NULL_NULL).implemented() {
		t.Fatal("SSL_NULL_WITH_NULL_NULL must never be negotiated")
	}
}

func TestLRUSessionCache(t *testing.T) {
	now := time.Unix(1000, 0)
	c := NewLRUSessionCache(2, time.Minute)
	c.now = func() time.Time { return now }
	st := func(id string) *SessionState { return &SessionState{SessionID: []byte(id), Created: now} }
	c.Put("a", st("a"))
	c.Put("b", st("b"))
	c.Get("a") // a is now most recent
	c.Put("c", st("c"))
	if _, ok := c.Get("b"); ok {
		t.Fatal("least recently used entry not evicted")
	}
	if _, ok := c.Get("a"); !ok {
		t.Fatal("recently used entry evicted")
	}
	if c.Len() != 2 {
		t.Fatalf("len %d", c.Len())
	}
	now = now.Add(2 * time.Minute)
	if _, ok := c.Get("a"); ok {
		t.Fatal("expired entry returned")
	}
	c.Put("c", nil)
	if c.Len() != 0 {
		t.Fatalf("len %d after expiry and delete", c.Len())
	}
}
