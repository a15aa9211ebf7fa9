package kea

import (
	"bytes"
	"math/big"
	"testing"
)

// FuzzSharedValue feeds arbitrary peer values (as they arrive on the wire:
// y_c, r_c, the certificate's Y, r_s) to both roles. Nothing may panic, and
// whatever is accepted must have passed CheckPublic and yield a 128-byte w.
func FuzzSharedValue(f *testing.F) {
	xa, ra, xb, rb := parties(f)
	enc := func(v *big.Int) []byte { b, _ := EncodeValue(v); return b }
	f.Add(enc(xb.Y), enc(rb.Y))
	f.Add(enc(xb.Y), EmailModeR())
	f.Add([]byte{}, []byte{1})
	f.Add(enc(xa.P), enc(new(big.Int).Sub(xa.P, one)))
	f.Add(bytes.Repeat([]byte{0xff}, ValueSize), []byte{2})
	f.Fuzz(func(t *testing.T, peerStatic, peerEphemeral []byte) {
		ys, err1 := DecodeValue(peerStatic)
		re, err2 := DecodeValue(peerEphemeral)
		if err1 != nil || err2 != nil {
			return
		}
		if w, err := InitiatorSharedValue(xa, ra, ys, re); err == nil {
			if len(w) != ValueSize || CheckPublic(&xa.Params, ys) != nil {
				t.Fatalf("initiator accepted bad input: w=%x", w)
			}
			if _, err := DeriveTEK(w); err != nil {
				t.Fatal(err)
			}
		}
		if w, err := ResponderSharedValue(xb, rb, ys, re); err == nil {
			if len(w) != ValueSize || CheckPublic(&xb.Params, ys) != nil || CheckPublic(&xb.Params, re) != nil {
				t.Fatalf("responder accepted bad input: w=%x", w)
			}
		}
	})
}

// FuzzDeriveTEK: any input length is handled without panic.
func FuzzDeriveTEK(f *testing.F) {
	f.Add(make([]byte, ValueSize))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, w []byte) {
		tek, err := DeriveTEK(w)
		if (err == nil) != (len(w) == ValueSize) || (err == nil && len(tek) != TEKSize) {
			t.Fatalf("DeriveTEK(len %d) = %x, %v", len(w), tek, err)
		}
	})
}
