package ssl

import (
	"testing"
	"time"
)

func TestCipherSuiteTableIsIndexedByCode(t *testing.T) {
	if len(cipherSuiteTable) != 31 {
		t.Fatalf("table has %d rows, Appendix C has 31", len(cipherSuiteTable))
	}
	for i, s := range cipherSuiteTable {
		if int(s.id) != i {
			t.Fatalf("row %d holds %s (%#04x)", i, s.name, s.id)
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
