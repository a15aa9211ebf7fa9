package softhsm

import (
	p11 "github.com/miekg/pkcs11"
)

// ImportAESKey stores key as an AES secret key object (CKO_SECRET_KEY)
// that can encrypt and decrypt but never leaves the token (sensitive, not
// extractable): how a fleet puts one session-sealing key on each server's
// token.
func (t *Token) ImportAESKey(label string, id []byte, key []byte) (KeyRef, error) {
	err := t.create(append(sensitiveAttrs(p11.CKO_SECRET_KEY, p11.CKK_AES, label, id),
		mkAttr(p11.CKA_ENCRYPT, true),
		mkAttr(p11.CKA_DECRYPT, true),
		mkAttr(p11.CKA_VALUE, key)))
	return KeyRef{Label: label, ID: id}, err
}
