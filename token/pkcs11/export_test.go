package pkcs11

import (
	"path/filepath"

	p11 "github.com/miekg/pkcs11"
)

// ModuleLoginCalls returns how many times C_Login was called on the module
// at path in this process (all Backends).
func ModuleLoginCalls(path string) int64 {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	registry.Lock()
	m := registry.m[path]
	registry.Unlock()
	if m == nil {
		return 0
	}
	return m.loginCalls.Load()
}

// EqualURI compares parsed URIs including the PIN.
func EqualURI(a, b *URI) bool { return equalURI(a, b) }

// EncodeURIWithPIN formats u including its pin-value.
func EncodeURIWithPIN(u *URI) string { return u.encode(true) }

// ClassifyCode names the class errors.go gives a return code.
func ClassifyCode(code uint) string {
	return [...]string{"other", "removed", "sessionLost", "ambiguous"}[classify(p11.Error(code))]
}

// IsGone reports whether the Backend treats code as the token going away.
func IsGone(code uint) bool { return isGone(p11.Error(code)) }

// SetDecryptFault makes the next C_Decrypt results come from f (nil: the
// module's own) until the returned function restores it.
func SetDecryptFault(f func() error) (restore func()) {
	old := decryptFault
	decryptFault = f
	return func() { decryptFault = old }
}
