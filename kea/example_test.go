package kea_test

import (
	"bytes"
	"fmt"
	"log"

	"github.com/tokenssl/tokenssl/kea"
)

// A full-mode exchange between an SSL client (initiator A) and server
// (responder B); both end with the same TEK.
func Example() {
	params := kea.DefaultParams()
	gen := func() *kea.PrivateKey {
		k, err := kea.GenerateKey(nil, params)
		if err != nil {
			log.Fatal(err)
		}
		return k
	}
	xa, xb := gen(), gen() // static keys (Y in certificates)
	ra, rb := gen(), gen() // ephemeral keys (r_c, r_s on the wire)

	wa, err := kea.InitiatorSharedValue(xa, ra, xb.Y, rb.Y)
	if err != nil {
		log.Fatal(err)
	}
	wb, err := kea.ResponderSharedValue(xb, rb, xa.Y, ra.Y)
	if err != nil {
		log.Fatal(err)
	}
	ta, _ := kea.DeriveTEK(wa)
	tb, _ := kea.DeriveTEK(wb)
	fmt.Println(len(wa), len(ta), bytes.Equal(ta, tb))
	// Output: 128 10 true
}

// E-mail mode, as NSS servers run it: the server sends r_s = 00…01 and has
// no ephemeral key.
func Example_emailMode() {
	params := kea.DefaultParams()
	xa, _ := kea.GenerateKey(nil, params)
	ra, _ := kea.GenerateKey(nil, params)
	xb, _ := kea.GenerateKey(nil, params)

	rs, _ := kea.DecodeValue(kea.EmailModeR()) // what the client reads from ServerKeyExchange
	wa, _ := kea.InitiatorSharedValue(xa, ra, xb.Y, rs)
	wb, _ := kea.ResponderSharedValue(xb, nil, xa.Y, ra.Y)
	fmt.Println(kea.IsEmailMode(rs), bytes.Equal(wa, wb))
	// Output: true true
}
