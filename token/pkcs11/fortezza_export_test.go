package pkcs11

import (
	p11 "github.com/miekg/pkcs11"

	"github.com/tokenssl/tokenssl/token"
)

// FortezzaTestKey wraps an existing secret key object as a card key (tests
// drive the SKIPJACK calls with a key SoftHSM can hold).
func FortezzaTestKey(c *FortezzaCard, h p11.ObjectHandle) token.FortezzaKey {
	return &p11Key{card: c, h: h}
}
