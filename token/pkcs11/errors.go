package pkcs11

import (
	"errors"
	"fmt"

	p11 "github.com/miekg/pkcs11"

	"github.com/tokenssl/tokenssl/token"
)

// Error kinds. Every error this package returns for one of these conditions
// satisfies errors.Is(err, Kind); the PKCS#11 return code, when there is one,
// is reachable with errors.As(err, new(pkcs11.Error)) from miekg/pkcs11.
// No error ever carries a PIN.
var (
	// ErrPINIncorrect: the token rejected the PIN (CKR_PIN_INCORRECT,
	// CKR_PIN_INVALID, CKR_PIN_LEN_RANGE), or the PIN differs from one this
	// process has already logged in to the token with, or was rejected by
	// this token earlier in this process. C_Login is never retried with it.
	ErrPINIncorrect = errors.New("pkcs11: PIN incorrect")
	// ErrPINLocked: the user PIN is locked (CKR_PIN_LOCKED or
	// CKF_USER_PIN_LOCKED); an SO has to unblock it.
	ErrPINLocked = errors.New("pkcs11: PIN locked")
	// ErrTokenNotFound: no token matches the selection.
	ErrTokenNotFound = errors.New("pkcs11: token not found")
	// ErrKeyNotFound: no object matches the key selection.
	ErrKeyNotFound = errors.New("pkcs11: key not found")
	// ErrCertificateNotFound is ErrKeyNotFound for a certificate object:
	// errors.Is matches both, and the message says what was missing.
	ErrCertificateNotFound error = certificateNotFound{}
	// ErrTokenUnavailable: the token went away (removed, store deleted,
	// device error) or the module is being re-initialised. Operations in
	// flight fail with it; later operations reconnect by themselves.
	// It also matches token.ErrUnavailable, the engine's view of it.
	ErrTokenUnavailable error = &aliasError{"pkcs11: token unavailable", token.ErrUnavailable}
	// ErrDecrypt: an RSA decryption failed for a data-dependent reason. It
	// deliberately says nothing about why (padding, length): the SSL engine
	// substitutes a random pre-master secret and must not learn more.
	ErrDecrypt = errors.New("pkcs11: decryption failed")
	// ErrClosed: the Backend was closed.
	ErrClosed = errors.New("pkcs11: backend closed")
	// ErrUnsupported: the key or token cannot do what was asked.
	ErrUnsupported = errors.New("pkcs11: unsupported operation")
)

// aliasError is a sentinel that also matches a sentinel of the token
// package, so the engine can recognise it without importing this backend.
type aliasError struct {
	msg   string
	alias error
}

func (e *aliasError) Error() string        { return e.msg }
func (e *aliasError) Is(target error) bool { return target == e.alias }

// Error describes a failed operation: which operation on which token, the
// kind (one of the Err* values) and the PKCS#11 return code if any.
type Error struct {
	Op     string    // e.g. "sign", "login", "open"
	Token  string    // token label (or module path before a token is known)
	Kind   error     // one of the Err* values, or nil
	Code   p11.Error // 0 when the failure did not come from the module
	Detail string    // extra context; never secret
}

func (e *Error) Error() string {
	msg := "pkcs11"
	if e.Token != "" {
		msg += fmt.Sprintf(": token %q", e.Token)
	}
	if e.Op != "" {
		msg += ": " + e.Op
	}
	switch {
	case e.Kind != nil:
		msg += ": " + trimPrefix(e.Kind.Error())
	case e.Code != 0:
		msg += ": failed"
	}
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.Code != 0 {
		msg += " (" + codeName(e.Code) + ")"
	}
	return msg
}

// Unwrap exposes both the kind and the return code to errors.Is/As.
func (e *Error) Unwrap() []error {
	var errs []error
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Code != 0 {
		errs = append(errs, e.Code)
	}
	return errs
}

func trimPrefix(s string) string {
	const p = "pkcs11: "
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

// codeName renders a CKR_ value without miekg's "pkcs11: 0x..: " prefix.
func codeName(c p11.Error) string {
	s := c.Error()
	// miekg formats as "pkcs11: 0x%X: NAME".
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == ' ' {
			return s[i+1:]
		}
	}
	return s
}

// rv extracts the CKR_ code of err, or 0.
func rv(err error) p11.Error {
	var c p11.Error
	if errors.As(err, &c) {
		return c
	}
	return 0
}

// How a PKCS#11 return code is read. The table decides which failures may
// end an SSL handshake early with ErrTokenUnavailable (token.ErrUnavailable):
// only those no peer input can cause. On the RSA decrypt path anything else
// must look like a bad ciphertext (ErrDecrypt, then the engine's random
// pre-master secret), or a card that fails on some ciphertexts becomes a
// Bleichenbacher oracle.
//
//	class        codes                                        decrypt              other operations
//	removed      DEVICE_REMOVED, TOKEN_NOT_PRESENT,            ErrTokenUnavailable  ErrTokenUnavailable,
//	             TOKEN_NOT_RECOGNIZED, SLOT_ID_INVALID,                             reconnect on next use
//	             CRYPTOKI_NOT_INITIALIZED
//	sessionLost  SESSION_HANDLE_INVALID, SESSION_CLOSED,       reconnect, retry     ErrTokenUnavailable,
//	             OBJECT_HANDLE_INVALID, KEY_HANDLE_INVALID,    once; if that fails  reconnect on next use
//	             USER_NOT_LOGGED_IN                            ErrTokenUnavailable
//	ambiguous    GENERAL_ERROR, DEVICE_ERROR, DEVICE_MEMORY,   ErrDecrypt           probe C_GetTokenInfo:
//	             FUNCTION_FAILED                                                    gone if it fails
//	other        everything else                               ErrDecrypt           the error, with its code
//
// SoftHSM answers GENERAL_ERROR for bad padding, and a card may answer
// DEVICE_ERROR for a ciphertext its firmware dislikes: neither says the
// token went away. Session-class codes concern our handles, which no
// ciphertext can invalidate, but they are retried on decryption so a
// handshake survives a session lost in passing.
type codeClass int

const (
	classOther codeClass = iota
	classRemoved
	classSessionLost
	classAmbiguous
)

func classify(code p11.Error) codeClass {
	switch code {
	case p11.CKR_DEVICE_REMOVED, p11.CKR_TOKEN_NOT_PRESENT, p11.CKR_TOKEN_NOT_RECOGNIZED,
		p11.CKR_SLOT_ID_INVALID, p11.CKR_CRYPTOKI_NOT_INITIALIZED:
		return classRemoved
	case p11.CKR_SESSION_HANDLE_INVALID, p11.CKR_SESSION_CLOSED,
		// Our key objects are token objects found at open: if their
		// handles die, the token (or its store) went away.
		p11.CKR_OBJECT_HANDLE_INVALID, p11.CKR_KEY_HANDLE_INVALID,
		// The login vanished (another application logged out, or every
		// session was closed): re-login on reconnect repairs it.
		p11.CKR_USER_NOT_LOGGED_IN:
		return classSessionLost
	case p11.CKR_GENERAL_ERROR, p11.CKR_DEVICE_ERROR, p11.CKR_DEVICE_MEMORY, p11.CKR_FUNCTION_FAILED:
		return classAmbiguous
	}
	return classOther
}

// isGone reports whether code means the token, its session or its objects
// vanished under us (classes removed and sessionLost). Ambiguous codes
// (CKR_GENERAL_ERROR, CKR_DEVICE_ERROR) are not: callers probe the token
// for them, except on decryption.
func isGone(code p11.Error) bool {
	c := classify(code)
	return c == classRemoved || c == classSessionLost
}

func unavailable(op, label string, code p11.Error, detail string) *Error {
	return &Error{Op: op, Token: label, Kind: ErrTokenUnavailable, Code: code, Detail: detail}
}

type certificateNotFound struct{}

func (certificateNotFound) Error() string        { return "pkcs11: certificate not found" }
func (certificateNotFound) Is(target error) bool { return target == ErrKeyNotFound }
