package ssl

import (
	"bytes"
	"testing"
)

// FuzzFortezzaKeys: the FortezzaKeys ClientKeyExchange parser never
// panics, and what it accepts has every fixed field at its exact size.
func FuzzFortezzaKeys(f *testing.F) {
	valid := append([]byte{128}, bytes.Repeat([]byte{7}, 128+312)...)
	f.Add(valid)
	f.Add(append([]byte{0}, bytes.Repeat([]byte{1}, 312)...))
	f.Add(valid[:200])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		k, ok := parseFortezzaKeys(body)
		if !ok {
			return
		}
		if len(k.rc) != 128 || len(k.ySignature) != 40 || len(k.wrappedClientKey) != 12 || len(k.wrappedServerKey) != 12 ||
			len(k.clientIV) != 24 || len(k.serverIV) != 24 || len(k.masterIV) != 24 || len(k.encryptedPreMaster) != 48 ||
			len(k.yc) > 128 || len(body) != 1+len(k.yc)+312 {
			t.Fatalf("accepted inconsistent FortezzaKeys: %d bytes", len(body))
		}
	})
}
