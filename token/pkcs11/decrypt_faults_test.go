package pkcs11_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"sync/atomic"
	"testing"

	p11 "github.com/miekg/pkcs11"

	"github.com/tokenssl/tokenssl/token"
	"github.com/tokenssl/tokenssl/token/pkcs11"
	"github.com/tokenssl/tokenssl/token/tokentest"
)

// The classification table of errors.go (issue 10 item 9): only codes no
// ciphertext can cause may end a handshake early.
func TestReturnCodeClasses(t *testing.T) {
	tests := []struct {
		code  uint
		class string
	}{
		{p11.CKR_DEVICE_REMOVED, "removed"},
		{p11.CKR_TOKEN_NOT_PRESENT, "removed"},
		{p11.CKR_TOKEN_NOT_RECOGNIZED, "removed"},
		{p11.CKR_SLOT_ID_INVALID, "removed"},
		{p11.CKR_CRYPTOKI_NOT_INITIALIZED, "removed"},
		{p11.CKR_SESSION_HANDLE_INVALID, "sessionLost"},
		{p11.CKR_SESSION_CLOSED, "sessionLost"},
		{p11.CKR_OBJECT_HANDLE_INVALID, "sessionLost"},
		{p11.CKR_KEY_HANDLE_INVALID, "sessionLost"},
		{p11.CKR_USER_NOT_LOGGED_IN, "sessionLost"},
		{p11.CKR_DEVICE_ERROR, "ambiguous"},
		{p11.CKR_GENERAL_ERROR, "ambiguous"},
		{p11.CKR_DEVICE_MEMORY, "ambiguous"},
		{p11.CKR_FUNCTION_FAILED, "ambiguous"},
		{p11.CKR_ENCRYPTED_DATA_INVALID, "other"},
		{p11.CKR_ENCRYPTED_DATA_LEN_RANGE, "other"},
		{p11.CKR_DATA_INVALID, "other"},
		{p11.CKR_ARGUMENTS_BAD, "other"},
		{p11.CKR_OPERATION_ACTIVE, "other"},
	}
	for _, tc := range tests {
		if got := pkcs11.ClassifyCode(tc.code); got != tc.class {
			t.Errorf("%v: class %s, want %s", p11.Error(tc.code), got, tc.class)
		}
		gone := tc.class == "removed" || tc.class == "sessionLost"
		if pkcs11.IsGone(tc.code) != gone {
			t.Errorf("%v: isGone %v, want %v", p11.Error(tc.code), !gone, gone)
		}
	}
}

// The RSA decrypt path on a real SoftHSM key, with return codes SoftHSM
// never gives injected after its C_Decrypt: CKR_DEVICE_ERROR (which a card
// might give for some ciphertexts) must look exactly like bad padding; a
// removal fails early; a lost session is retried once.
func TestDecryptFaultClasses(t *testing.T) {
	b, k, sk, _ := rsaOnToken(t, nil)
	pre, ct := tokentest.PreMasterSecret(t, &sk.PublicKey)
	opts := &rsa.PKCS1v15DecryptOptions{SessionKeyLen: 48}
	tests := []struct {
		name     string
		code     uint
		times    int64 // how many C_Decrypt calls fail
		early    bool  // ErrUnavailable: the handshake may fail at once
		plain    bool  // the real plaintext comes back (after a retry)
		reconnex bool  // the Backend reconnected
	}{
		{name: "device error", code: p11.CKR_DEVICE_ERROR, times: 1},
		{name: "general error", code: p11.CKR_GENERAL_ERROR, times: 1},
		{name: "function failed", code: p11.CKR_FUNCTION_FAILED, times: 1},
		{name: "encrypted data invalid", code: p11.CKR_ENCRYPTED_DATA_INVALID, times: 1},
		{name: "device removed", code: p11.CKR_DEVICE_REMOVED, times: 1, early: true, reconnex: true},
		{name: "token not present", code: p11.CKR_TOKEN_NOT_PRESENT, times: 1, early: true, reconnex: true},
		{name: "session lost once", code: p11.CKR_SESSION_HANDLE_INVALID, times: 1, plain: true, reconnex: true},
		{name: "session lost for good", code: p11.CKR_SESSION_CLOSED, times: 2, early: true, reconnex: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var left atomic.Int64
			left.Store(tc.times)
			restore := pkcs11.SetDecryptFault(func() error {
				if left.Add(-1) >= 0 {
					return p11.Error(tc.code)
				}
				return nil
			})
			before := b.Stats().Reconnects
			got, err := k.Decrypt(rand.Reader, ct, nil)
			// The same with crypto/rsa's convention, as the engine may ask.
			left.Store(tc.times)
			key, kerr := k.Decrypt(rand.Reader, ct, opts)
			restore()
			switch {
			case tc.early:
				if !errors.Is(err, token.ErrUnavailable) || !errors.Is(kerr, token.ErrUnavailable) {
					t.Fatalf("got %v / %v, want token.ErrUnavailable", err, kerr)
				}
			case tc.plain:
				if err != nil || !bytes.Equal(got, pre) || kerr != nil || !bytes.Equal(key, pre) {
					t.Fatalf("got %x, %v / %x, %v; want the plaintext after a retry", got, err, key, kerr)
				}
			default:
				if !errors.Is(err, pkcs11.ErrDecrypt) || err.Error() != pkcs11.ErrDecrypt.Error() || errors.Is(err, token.ErrUnavailable) {
					t.Fatalf("got %v, want exactly ErrDecrypt (as for bad padding)", err)
				}
				if kerr != nil || len(key) != 48 || bytes.Equal(key, pre) {
					t.Fatalf("SessionKeyLen: got %x, %v; want a random key and no error", key, kerr)
				}
			}
			if r := b.Stats().Reconnects - before; (r > 0) != tc.reconnex {
				t.Fatalf("%d reconnects, want reconnect=%v", r, tc.reconnex)
			}
			// And the key works normally afterwards.
			if got, err := k.Decrypt(rand.Reader, ct, nil); err != nil || !bytes.Equal(got, pre) {
				t.Fatalf("decrypt afterwards: %v", err)
			}
		})
	}
}
