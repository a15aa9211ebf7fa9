package kea

import (
	"crypto/dsa"

	"github.com/tokenssl/tokenssl/x509legacy"
)

// DSAParameters returns params as the dsa.Parameters (p, q, g) that
// package x509legacy uses for KEA groups; nil for nil.
func (params *Params) DSAParameters() *dsa.Parameters {
	if params == nil {
		return nil
	}
	return &dsa.Parameters{P: params.P, Q: params.Q, G: params.G}
}

// CertificatePublicKey binds a KEA key read from a certificate
// (x509legacy.ParseKEAPublicKey, x509legacy.ParseKEACertificate) to the
// group params the caller trusts: the identifier (and the full parameters,
// if present) must match params (else the error wraps
// x509legacy.ErrParamsMismatch), and Y must pass CheckPublic.
func CertificatePublicKey(k *x509legacy.KEAPublicKey, params *Params) (*PublicKey, error) {
	if err := k.MatchParams(params.DSAParameters()); err != nil {
		return nil, err
	}
	if err := CheckPublic(params, k.Y); err != nil {
		return nil, err
	}
	return &PublicKey{Params: Params{P: params.P, Q: params.Q, G: params.G}, Y: k.Y}, nil
}
