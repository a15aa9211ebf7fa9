package pkcs11

import "path/filepath"

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
