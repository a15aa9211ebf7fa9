package kea

import (
	"fmt"
	"math/big"

	"github.com/tokenssl/tokenssl/internal/ctexp"
)

// EmailModeR is the value 1 that a responder sends as its R to select e-mail
// mode (NSS servers send r_s = 00…01), as a ValueSize-byte string.
func EmailModeR() []byte {
	r := make([]byte, ValueSize)
	r[ValueSize-1] = 1
	return r
}

// IsEmailMode reports whether the responder's R is the e-mail-mode marker 1.
// It compares the integer value, so every byte of a 128-byte r_s counts
// (swfort compared only a pointer's worth of bytes; docs/fortezza.md §2.3).
func IsEmailMode(rb *big.Int) bool {
	return rb != nil && rb.Cmp(one) == 0
}

// ExpT computes t = peerStatic^ownEphemeral mod p after checking peerStatic
// with CheckPublic: t = Y_B^r_A for the initiator, t = Y_A^r_B for the
// responder (in e-mail mode the responder passes its static x_B as
// ownEphemeral).
func ExpT(params *Params, peerStatic, ownEphemeral *big.Int) (*big.Int, error) {
	return agree(params, peerStatic, ownEphemeral)
}

// ExpU computes u = peerEphemeral^ownStatic mod p after checking
// peerEphemeral with CheckPublic: u = R_B^x_A for the initiator (Y_B in
// e-mail mode), u = R_A^x_B for the responder.
func ExpU(params *Params, peerEphemeral, ownStatic *big.Int) (*big.Int, error) {
	return agree(params, peerEphemeral, ownStatic)
}

// agree is one Diffie-Hellman step, peer^own mod p, with the checks KEA
// requires on the peer value and an exponentiation whose time does not
// depend on the secret (internal/ctexp), its length padded to q's.
// (This is also exactly what PKCS#11 CKM_DH_PKCS_DERIVE computes.)
func agree(params *Params, peer, own *big.Int) (*big.Int, error) {
	if err := CheckPublic(params, peer); err != nil {
		return nil, err
	}
	if err := checkPrivate(params, own); err != nil {
		return nil, err
	}
	return ctexp.Exp(peer, own, params.P, params.Q.BitLen()), nil
}

// CombineW returns w = (t + u) mod p as a ValueSize-byte big-endian string
// (left-padded), rejecting w = 0 with ErrZeroSecret. t and u must lie in
// [0, p); they are normally the results of ExpT and ExpU, possibly computed
// on a token. CombineW cannot see the peer values: a caller that computes t
// and u elsewhere (e.g. with CKM_DH_PKCS_DERIVE, which checks nothing) must
// run CheckPublic on the peer's Y and R itself first.
func CombineW(params *Params, t, u *big.Int) ([]byte, error) {
	if err := params.checkShape(); err != nil {
		return nil, err
	}
	for _, v := range []*big.Int{t, u} {
		if v == nil || v.Sign() < 0 || v.Cmp(params.P) >= 0 {
			return nil, fmt.Errorf("kea: t or u not in [0, p)")
		}
	}
	w := new(big.Int).Add(t, u)
	w.Mod(w, params.P)
	if w.Sign() == 0 {
		return nil, ErrZeroSecret
	}
	return w.FillBytes(make([]byte, ValueSize)), nil
}

// InitiatorSharedValue computes w for the initiator A (the SSL client):
// w = Y_B^r_A + R_B^x_A mod p, or, when peerEphemeral is 1 (e-mail mode),
// w = Y_B^r_A + Y_B^x_A mod p. static is (x_A, Y_A), ephemeral (r_A, R_A);
// peerStatic is Y_B and peerEphemeral R_B. Both peer values are checked.
func InitiatorSharedValue(static, ephemeral *PrivateKey, peerStatic, peerEphemeral *big.Int) ([]byte, error) {
	if static == nil || ephemeral == nil {
		return nil, fmt.Errorf("kea: initiator needs a static and an ephemeral key")
	}
	if !static.Params.Equal(&ephemeral.Params) {
		return nil, ErrParamsMismatch
	}
	params := &static.Params
	if IsEmailMode(peerEphemeral) {
		peerEphemeral = peerStatic
	}
	return sharedValue(params, peerStatic, ephemeral.X, peerEphemeral, static.X)
}

// ResponderSharedValue computes w for the responder B (the SSL server):
// w = Y_A^r_B + R_A^x_B mod p, or, when ephemeral is nil (B sent R = 1,
// e-mail mode), w = Y_A^x_B + R_A^x_B mod p. static is (x_B, Y_B); peerStatic
// is Y_A and peerEphemeral R_A. Both peer values are checked.
func ResponderSharedValue(static, ephemeral *PrivateKey, peerStatic, peerEphemeral *big.Int) ([]byte, error) {
	if static == nil {
		return nil, fmt.Errorf("kea: responder needs a static key")
	}
	rb := static.X // e-mail mode: r_B is replaced by x_B
	if ephemeral != nil {
		if !static.Params.Equal(&ephemeral.Params) {
			return nil, ErrParamsMismatch
		}
		rb = ephemeral.X
	}
	params := &static.Params
	return sharedValue(params, peerStatic, rb, peerEphemeral, static.X)
}

// sharedValue is both sides' w = peerStatic^tExp + peerEphemeral^uExp mod p,
// each peer value checked first.
func sharedValue(params *Params, peerStatic, tExp, peerEphemeral, uExp *big.Int) ([]byte, error) {
	t, err := ExpT(params, peerStatic, tExp)
	if err != nil {
		return nil, fmt.Errorf("kea: peer static value: %w", err)
	}
	u, err := ExpU(params, peerEphemeral, uExp)
	if err != nil {
		return nil, fmt.Errorf("kea: peer ephemeral value: %w", err)
	}
	return CombineW(params, t, u)
}
