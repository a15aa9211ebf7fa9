// Package kea implements the Key Exchange Algorithm (KEA) of the Fortezza
// system as SSL 3.0 uses it: DSA-style domain parameters, static and
// ephemeral key pairs, the validity checks on peer values, the shared value
// w in full and e-mail mode, and the SKIPJACK-based derivation of the 80-bit
// token encryption key (TEK). Section references are to docs/fortezza.md.
//
// The package is pure computation: no I/O, no token access. A PKCS#11
// emulator that keeps private values on a token can compute the two
// exponentiations there (ExpT and ExpU describe them) and finish with
// CombineW and DeriveTEK.
//
// Roles: the initiator A is the SSL client (PKCS#11 isSender=TRUE), the
// responder B the SSL server. Each has a static key pair (x, Y = g^x) and,
// in full mode, an ephemeral pair (r, R = g^r). When the responder's R is the
// fixed value 1, the exchange runs in e-mail mode:
//
//	full:   w = Y_B^r_A + R_B^x_A = Y_A^r_B + R_A^x_B          (mod p)
//	e-mail: w = Y_B^r_A + Y_B^x_A = Y_A^x_B + R_A^x_B          (mod p)
//
// All of these have the shape w = t + u with t = (peer static)^(own
// ephemeral) and u = (peer ephemeral)^(own static); in e-mail mode the
// initiator uses Y_B as the peer ephemeral and the responder uses x_B as its
// own ephemeral.
package kea

import "errors"

const (
	// PrimeBits and SubprimeBits are the sizes of p and q (docs/fortezza.md §2.1).
	PrimeBits    = 1024
	SubprimeBits = 160
	// ValueSize is the size of p, g, Y, R and w in their fixed-length
	// big-endian form (the card's CI_P, CI_G, CI_Y, CI_RA).
	ValueSize = PrimeBits / 8
	// PrivateSize is the size of x and r (CI_X).
	PrivateSize = SubprimeBits / 8
	// TEKSize is the size of the derived token encryption key.
	TEKSize = 10
)

// Sentinel errors. Functions wrap them with detail; test with errors.Is.
var (
	// ErrInvalidParams reports domain parameters that fail Validate or a
	// structural check.
	ErrInvalidParams = errors.New("kea: invalid domain parameters")
	// ErrPublicRange reports a public value Y or R outside 1 < v < p-1.
	ErrPublicRange = errors.New("kea: public value out of range (need 1 < v < p-1)")
	// ErrPublicOrder reports a public value that is not in the order-q
	// subgroup (v^q mod p != 1).
	ErrPublicOrder = errors.New("kea: public value not in the order-q subgroup")
	// ErrPrivateRange reports a private value outside 1 <= x < q.
	ErrPrivateRange = errors.New("kea: private value out of range (need 1 <= x < q)")
	// ErrZeroSecret reports a shared value w = (t + u) mod p equal to zero.
	ErrZeroSecret = errors.New("kea: shared value w is zero")
	// ErrParamsMismatch reports keys that belong to different groups.
	ErrParamsMismatch = errors.New("kea: keys use different domain parameters")
)
