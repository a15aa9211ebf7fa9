package ssl

import (
	"crypto"
	"crypto/cipher"
	"crypto/des"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"io"
	"testing"

	"github.com/tokenssl/tokenssl/ssl/internal/ssl3mac"
)

// Structural side-channel tests: a regression that gives a padding oracle
// or a Bleichenbacher oracle back would change what these observe — the
// error value and the work done — without needing a timing measurement.

// cbcPair returns a writer and a reader half with the same 3DES-SHA keys.
func cbcPair(t *testing.T) (w, r *halfConn, block cipher.Block, iv []byte) {
	key := make([]byte, 24)
	iv = make([]byte, 8)
	mk := make([]byte, 20)
	rand.Read(key)
	rand.Read(iv)
	rand.Read(mk)
	block, _ = des.NewTripleDESCipher(key)
	wm, _ := ssl3mac.New(crypto.SHA1, mk)
	rm, _ := ssl3mac.New(crypto.SHA1, mk)
	w, r = &halfConn{}, &halfConn{}
	w.prepareCipherSpec(cipher.NewCBCEncrypter(block, iv), wm)
	w.changeCipherSpec()
	r.prepareCipherSpec(cipher.NewCBCDecrypter(block, iv), rm)
	r.changeCipherSpec()
	return
}

func TestCBCPaddingAndMACFailuresAreIndistinguishable(t *testing.T) {
	// Each case corrupts one record of 3 full blocks of data + MAC + pad.
	// The plaintext is re-encrypted after the corruption, so the reader
	// sees a well-formed ciphertext whose padding or MAC is wrong.
	data := make([]byte, 37) // 37 + 20 + 1 = 58 → padding 6 → 64 bytes
	cases := []struct {
		name    string
		corrupt func(plain []byte)
		good    bool
	}{
		{"valid record", func([]byte) {}, true},
		{"MAC byte flipped", func(p []byte) { p[40] ^= 1 }, false},
		{"padding length = block size", func(p []byte) { p[len(p)-1] = 8 }, false},
		{"padding length 255", func(p []byte) { p[len(p)-1] = 255 }, false},
		{"padding length 0 (valid length, MAC misaligned)", func(p []byte) { p[len(p)-1] = 0 }, false},
		{"padding bytes changed (SSL 3.0 does not check them)", func(p []byte) { p[len(p)-2] ^= 0xff }, true},
	}
	var errs []error
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w, r, block, iv := cbcPair(t)
			rec, err := w.encrypt([]byte{23, 3, 0, 0, 0}, recordTypeApplicationData, data, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			ct := rec[recordHeaderLen:]
			plain := make([]byte, len(ct))
			cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, ct)
			tc.corrupt(plain)
			cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, plain)

			var macs []int
			testHookRecordMAC = func(n int) { macs = append(macs, n) }
			defer func() { testHookRecordMAC = nil }()
			_, err = r.decrypt(recordTypeApplicationData, ct)
			if tc.good != (err == nil) {
				t.Fatalf("decrypt: %v", err)
			}
			// Exactly one MAC computation on every path, good or bad.
			if len(macs) != 1 {
				t.Fatalf("%d MAC computations, want exactly 1", len(macs))
			}
			if !tc.good {
				errs = append(errs, err)
			}
		})
	}
	// One error value for every failure: nothing tells padding from MAC.
	for _, err := range errs {
		if err != alertBadRecordMAC {
			t.Fatalf("failure reported as %v, want the single bad_record_mac", err)
		}
	}
}

// recordingDecrypter stands in for a token: it fails as told and records
// how it was called.
type recordingDecrypter struct {
	crypto.Decrypter
	err   error
	plain []byte
	calls int
}

func (d *recordingDecrypter) Decrypt(r io.Reader, ct []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	d.calls++
	if d.err != nil {
		return nil, d.err
	}
	return d.plain, nil
}

func TestRSADecryptionFailuresAreIndistinguishable(t *testing.T) {
	good := append([]byte{3, 0}, make([]byte, 46)...)
	rand.Read(good[2:])
	cases := []struct {
		name  string
		d     *recordingDecrypter
		valid bool
	}{
		{"valid", &recordingDecrypter{plain: good}, true},
		{"bad PKCS#1 padding (token error)", &recordingDecrypter{err: errors.New("CKR_GENERAL_ERROR")}, false},
		{"wrong length", &recordingDecrypter{plain: good[:47]}, false},
		{"version roll-back", &recordingDecrypter{plain: append([]byte{2, 0}, good[2:]...)}, false},
		{"token removed", &recordingDecrypter{err: errors.New("CKR_DEVICE_REMOVED")}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pms, err := decryptPreMaster(rand.Reader, tc.d, make([]byte, 256), VersionSSL30)
			// Same shape on every path: no error, 48 bytes, one decryption.
			if err != nil || len(pms) != 48 || tc.d.calls != 1 {
				t.Fatalf("err %v, %d bytes, %d calls", err, len(pms), tc.d.calls)
			}
			if got := string(pms) == string(good); got != tc.valid {
				t.Fatalf("pre-master is the decrypted one: %v, want %v", got, tc.valid)
			}
		})
	}
	// The software path with a real key: corrupted ciphertexts also give a
	// 48-byte random secret and no error.
	key := testCerts(t).serverKey
	ct, _ := rsa.EncryptPKCS1v15(rand.Reader, &key.PublicKey, good)
	for i, mutate := range []func([]byte){func(b []byte) {}, func(b []byte) { b[0] ^= 1 }, func(b []byte) { b[len(b)-1] ^= 1 }} {
		c := append([]byte(nil), ct...)
		mutate(c)
		pms, err := decryptPreMaster(rand.Reader, key, c, VersionSSL30)
		if err != nil || len(pms) != 48 || (i == 0) != (string(pms) == string(good)) {
			t.Fatalf("case %d: err %v", i, err)
		}
	}
}
