package ssl

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/tokenssl/tokenssl/internal/ciphertest"
)

// deriveKeys, the function the handshake calls, on the export suites
// (§8.2.2): against zcrypto's values (katKeys, prf_test.go), against
// values computed by an independent Python implementation of the section
// (hashlib, written from the text), and against a plain transcription of
// the section (refExportKeys, on prf_test.go's refKeyBlock) for random
// inputs and every export suite. The §8.2.2.1 example in the spec copy
// gives the byte layout only, no numbers (TestKeyPartitionKnownAnswers
// checks the layout).

// refExportKeys derives the export cipher spec of §8.2.2 independently of
// deriveKeys.
func refExportKeys(s *cipherSuite, master, cr, sr []byte) keyMaterial {
	mac, key, iv, exp := s.macSize(), s.cipher.keyMaterial, s.cipher.ivSize, s.cipher.expandedKey
	kb := refKeyBlock(master, cr, sr, 2*mac+2*key)
	return keyMaterial{
		clientMAC: kb[:mac],
		serverMAC: kb[mac : 2*mac],
		clientKey: refMD5(kb[2*mac:2*mac+key], cr, sr)[:exp],
		serverKey: refMD5(kb[2*mac+key:2*mac+2*key], sr, cr)[:exp],
		clientIV:  refMD5(cr, sr)[:iv],
		serverIV:  refMD5(sr, cr)[:iv],
	}
}

func sameKeyMaterial(a, b keyMaterial) bool {
	return bytes.Equal(a.clientMAC, b.clientMAC) && bytes.Equal(a.serverMAC, b.serverMAC) &&
		bytes.Equal(a.clientKey, b.clientKey) && bytes.Equal(a.serverKey, b.serverKey) &&
		bytes.Equal(a.clientIV, b.clientIV) && bytes.Equal(a.serverIV, b.serverIV)
}

func TestDeriveKeysZcryptoKnownAnswers(t *testing.T) {
	master := ciphertest.Hex(t, katMaster1)
	for _, tc := range katKeys {
		id, err := CipherSuiteByName(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		km := deriveKeys(suiteByID(id), master, katClientRandom, katServerRandom)
		got := []string{hex.EncodeToString(km.clientMAC), hex.EncodeToString(km.serverMAC), hex.EncodeToString(km.clientKey),
			hex.EncodeToString(km.serverKey), hex.EncodeToString(km.clientIV), hex.EncodeToString(km.serverIV)}
		want := []string{tc.cMAC, tc.sMAC, tc.cKey, tc.sKey, tc.cIV, tc.sIV}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s: piece %d = %s, want (zcrypto) %s", tc.name, i, got[i], want[i])
			}
		}
	}
}

func TestExportKeysKnownAnswer(t *testing.T) {
	master := make([]byte, 48)
	cr, sr := make([]byte, 32), make([]byte, 32)
	for i := range master {
		master[i] = byte(i)
	}
	for i := range cr {
		cr[i], sr[i] = 0x40+byte(i), 0xA0+byte(i)
	}
	h := func(s string) []byte { return ciphertest.Hex(t, s) }
	// From the Python implementation (hashlib), same inputs.
	rc4 := keyMaterial{
		clientMAC: h("78821b559088be0f7ac9da3f2345f70f"), serverMAC: h("4e5cf7d4d7662b0c70095bc2627efad7"),
		clientKey: h("3515f95193c2307bf1463516b997b7c7"), serverKey: h("2a77f1faaaaa29dea403071f7ba7159c"),
		clientIV: h(""), serverIV: h(""),
	}
	rc2 := rc4
	rc2.clientIV, rc2.serverIV = h("c59d653fa0a4496d"), h("7eece4a956be9302")
	des40 := keyMaterial{
		clientMAC: h("78821b559088be0f7ac9da3f2345f70f4e5cf7d4"), serverMAC: h("d7662b0c70095bc2627efad7887cc20e8f9db7f4"),
		clientKey: h("2a238067396e29dd"), serverKey: h("32c8c7cb17d28355"),
		clientIV: h("c59d653fa0a4496d"), serverIV: h("7eece4a956be9302"),
	}
	for id, want := range map[uint16]keyMaterial{
		SSL_RSA_EXPORT_WITH_RC4_40_MD5:        rc4,
		SSL_DH_anon_EXPORT_WITH_RC4_40_MD5:    rc4,
		SSL_RSA_EXPORT_WITH_RC2_CBC_40_MD5:    rc2,
		SSL_RSA_EXPORT_WITH_DES40_CBC_SHA:     des40,
		SSL_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA: des40,
	} {
		s := suiteByID(id)
		if got := deriveKeys(s, master, cr, sr); !sameKeyMaterial(got, want) {
			t.Errorf("%s:\n got %x\nwant %x", s.name, got, want)
		}
		if got := refExportKeys(s, master, cr, sr); !sameKeyMaterial(got, want) {
			t.Errorf("%s: the Go reference disagrees with Python", s.name)
		}
	}
}

func TestExportKeysMatchReference(t *testing.T) {
	master, cr, sr := make([]byte, 48), make([]byte, 32), make([]byte, 32)
	for _, s := range cipherSuiteTable {
		if !s.exportCipher() {
			continue
		}
		for i := 0; i < 20; i++ {
			rand.Read(master)
			rand.Read(cr)
			rand.Read(sr)
			if got, want := deriveKeys(s, master, cr, sr), refExportKeys(s, master, cr, sr); !sameKeyMaterial(got, want) {
				t.Fatalf("%s: got %x, want %x", s.name, got, want)
			}
		}
	}
}
