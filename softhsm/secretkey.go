package softhsm

import (
	p11 "github.com/miekg/pkcs11"
)

// ImportAESKey stores key as an AES secret key object (CKO_SECRET_KEY)
// that can encrypt and decrypt but never leaves the token (sensitive, not
// extractable): how a fleet puts one session-sealing key on each server's
// token.
func (t *Token) ImportAESKey(label string, id []byte, key []byte) (KeyRef, error) {
	err := t.create([]*p11.Attribute{
		mkAttr(p11.CKA_CLASS, p11.CKO_SECRET_KEY),
		mkAttr(p11.CKA_KEY_TYPE, p11.CKK_AES),
		mkAttr(p11.CKA_TOKEN, true),
		mkAttr(p11.CKA_PRIVATE, true),
		mkAttr(p11.CKA_SENSITIVE, true),
		mkAttr(p11.CKA_EXTRACTABLE, false),
		mkAttr(p11.CKA_ENCRYPT, true),
		mkAttr(p11.CKA_DECRYPT, true),
		mkAttr(p11.CKA_LABEL, label),
		mkAttr(p11.CKA_ID, id),
		mkAttr(p11.CKA_VALUE, key),
	})
	return KeyRef{Label: label, ID: id}, err
}
