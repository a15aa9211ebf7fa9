package pkcs11

import (
	"errors"

	p11 "github.com/miekg/pkcs11"
)

// ErrPINFinalTry: the token reports CKF_USER_PIN_FINAL_TRY and the Backend
// was not allowed to spend it (Config.PINFinalTry); C_Login was not called.
var ErrPINFinalTry = errors.New("pkcs11: PIN final try not spent")

// checkPINCounter reads the token flags of sh's token and refuses a
// C_Login that the token says cannot succeed (CKF_USER_PIN_LOCKED) or that
// would be its last try (CKF_USER_PIN_FINAL_TRY) unless finalTry. PKCS#11
// reports no number, only these flags (and CKF_USER_PIN_COUNT_LOW after a
// wrong try); the errors say which the token reports. A token whose flags
// cannot be read is tried as before: the flags are a courtesy of cards.
func (m *Module) checkPINCounter(sh p11.SessionHandle, label string, finalTry bool) error {
	si, err := m.ctx.GetSessionInfo(sh)
	if err != nil {
		return nil
	}
	ti, err := m.ctx.GetTokenInfo(si.SlotID)
	if err != nil {
		return nil
	}
	switch {
	case ti.Flags&p11.CKF_USER_PIN_LOCKED != 0:
		return &Error{Op: "login", Token: label, Kind: ErrPINLocked,
			Detail: "token reports CKF_USER_PIN_LOCKED (0 tries left); C_Login not attempted"}
	case ti.Flags&p11.CKF_USER_PIN_FINAL_TRY != 0 && !finalTry:
		return &Error{Op: "login", Token: label, Kind: ErrPINFinalTry,
			Detail: "token reports CKF_USER_PIN_FINAL_TRY (1 try left: a wrong PIN now locks it); C_Login not attempted (allow it with -pin-final-try / Config.PINFinalTry)"}
	}
	return nil
}
