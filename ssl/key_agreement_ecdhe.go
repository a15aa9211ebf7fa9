package ssl

import (
	"crypto"
	"crypto/ecdh"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"

	"golang.org/x/crypto/cryptobyte"
)

// ecdheKeyAgreement is ECDHE_RSA (RFC 4492 §2.4) at SSL 3.0, as OpenSSL
// 1.0.2, tlslite-ng and zcrypto negotiate it: the server sends
// ServerECDHParams (a named curve, P-256 or P-384, and its ephemeral point,
// uncompressed) signed through crypto.Signer with the SSL 3.0 RSA signature
// of §7.6.3 (MD5‖SHA-1 over the randoms and params, as for DHE: the key may
// be on a token); the client answers with its own ephemeral point. The
// pre-master secret is the x-coordinate of the shared point (RFC 4492
// §5.10), which crypto/ecdh returns.
//
// SSL 3.0 has no extensions, but the ClientHello's trailing bytes carry
// TLS's: the exchange runs only for a client whose supported_curves (RFC
// 4492 §5.1.1) names one of our curves and whose ec_point_formats (§5.1.2),
// when sent, includes uncompressed (its absence means uncompressed only). A
// ClientHello without supported_curves never gets an ECDHE suite, although
// §4 would let the server pick any curve: a client that sends none is an
// SSL 3.0 client that knows nothing of ECC.
type ecdheKeyAgreement struct {
	kexDefaults // keeps nothing on a token
	suite       *cipherSuite
	// Server: this handshake's key. Client: the server's point.
	key      *ecdh.PrivateKey
	peer     *ecdh.PublicKey
	peerSeen bool
}

func newECDHEKeyAgreement(s *cipherSuite) keyAgreement { return &ecdheKeyAgreement{suite: s} }

// Extension types and values of RFC 4492 §5.1.
const (
	extensionSupportedCurves uint16 = 10
	extensionECPointFormats  uint16 = 11

	curveP256 uint16 = 23 // secp256r1
	curveP384 uint16 = 24 // secp384r1

	pointFormatUncompressed uint8 = 0
	curveTypeNamed          uint8 = 3 // ECCurveType named_curve
)

// ecdheCurves are the named curves we speak, in our order of preference.
var ecdheCurves = []uint16{curveP256, curveP384}

func ecdhCurve(id uint16) ecdh.Curve {
	switch id {
	case curveP256:
		return ecdh.P256()
	case curveP384:
		return ecdh.P384()
	}
	return nil
}

func (*ecdheKeyAgreement) traits() kexTraits { return kexTraits{clientCertTypes: signingClientCerts} }

// certificateFits: an RSA certificate whose key signs (a token key will).
func (ka *ecdheKeyAgreement) certificateFits(cert *Certificate) bool {
	signer, ok := cert.PrivateKey.(crypto.Signer)
	leaf, err := cert.leaf()
	if !ok || err != nil || checkServerSigningKey(ka.suite, leaf) != nil {
		return false
	}
	_, isRSA := signer.Public().(*rsa.PublicKey)
	return isRSA
}

// clientHelloFits is crypto/tls's ecdheOK: a common curve, and uncompressed
// points allowed.
func (*ecdheKeyAgreement) clientHelloFits(ch *clientHelloMsg) bool {
	return ecdheCurveFor(ch) != 0
}

// ecdheCurveFor picks our most preferred curve the client supports, or 0.
func ecdheCurveFor(ch *clientHelloMsg) uint16 {
	if ch.ecPointFormats != nil && !slices.Contains(ch.ecPointFormats, pointFormatUncompressed) {
		return 0
	}
	for _, c := range ecdheCurves {
		if slices.Contains(ch.ecCurves, c) {
			return c
		}
	}
	return 0
}

// clientHelloExtensions: what a client offering ECDHE says it supports.
func (*ecdheKeyAgreement) clientHelloExtensions() []extension { return ecdheClientExtensions() }

func ecdheClientExtensions() []extension {
	curves := make([]byte, 0, 2+2*len(ecdheCurves))
	curves = append(curves, 0, byte(2*len(ecdheCurves)))
	for _, c := range ecdheCurves {
		curves = append(curves, byte(c>>8), byte(c))
	}
	return []extension{
		{extensionSupportedCurves, curves},
		{extensionECPointFormats, []byte{1, pointFormatUncompressed}},
	}
}

// serverHelloExtensions: RFC 4492 §5.2, the server that selects an ECC suite
// answers a client's ec_point_formats with its own.
func (*ecdheKeyAgreement) serverHelloExtensions(ch *clientHelloMsg) []extension {
	if ch.ecPointFormats == nil {
		return nil
	}
	return []extension{{extensionECPointFormats, []byte{1, pointFormatUncompressed}}}
}

func (ka *ecdheKeyAgreement) generateServerKeyExchange(config *Config, cert *Certificate, ch *clientHelloMsg, sh *serverHelloMsg) (*serverKeyExchangeMsg, error) {
	signer, ok := cert.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, errors.New("ssl: certificate key cannot sign ServerKeyExchange")
	}
	id := ecdheCurveFor(ch)
	if id == 0 { // chooseSuite asked clientHelloFits
		return nil, errors.New("ssl: internal error: no common curve for ECDHE")
	}
	key, err := ecdhCurve(id).GenerateKey(config.rand())
	if err != nil {
		return nil, fmt.Errorf("ssl: generating the ECDHE key: %w", err)
	}
	ka.key = key
	params, err := marshalServerECDHParams(id, key.PublicKey().Bytes())
	if err != nil {
		return nil, err
	}
	body, err := signServerParams(config.rand(), signer, ch.random, sh.random, params)
	if err != nil {
		return nil, err
	}
	return &serverKeyExchangeMsg{key: body}, nil
}

func (ka *ecdheKeyAgreement) processClientKeyExchange(_ *Config, _ *Certificate, _ *clientHelloMsg, _ *x509.Certificate, ckx *clientKeyExchangeMsg) ([]byte, error) {
	if ka.key == nil {
		return nil, withAlert(alertHandshakeFailure, errors.New("internal error: no server ECDHE key"))
	}
	point, ok := parseClientECDHPublic(ckx.ciphertext)
	if !ok {
		return nil, withAlert(alertIllegalParameter, errors.New("malformed ClientECDiffieHellmanPublic"))
	}
	pub, err := ka.key.Curve().NewPublicKey(point)
	if err != nil {
		return nil, withAlert(alertIllegalParameter, errors.New("ClientKeyExchange: the client's point is not an uncompressed point on the curve"))
	}
	shared, err := ka.key.ECDH(pub)
	if err != nil {
		return nil, withAlert(alertIllegalParameter, fmt.Errorf("ClientKeyExchange: %w", err))
	}
	return shared, nil
}

func (ka *ecdheKeyAgreement) processServerKeyExchange(_ *Config, ch *clientHelloMsg, sh *serverHelloMsg, cert *x509.Certificate, skx *serverKeyExchangeMsg) error {
	if err := checkServerSigningKey(ka.suite, cert); err != nil {
		return withAlert(alertUnsupportedCertificate, err)
	}
	id, point, params, sig, ok := parseECDHEServerKeyExchange(skx.key)
	if !ok {
		return withAlert(alertIllegalParameter, errors.New("malformed ServerKeyExchange"))
	}
	if err := verifyServerParams(cert.PublicKey, ch.random, sh.random, params, sig); err != nil {
		return err
	}
	if !slices.Contains(ecdheCurves, id) {
		return withAlert(alertIllegalParameter, fmt.Errorf("ServerKeyExchange: server chose curve %d, which was not offered", id))
	}
	pub, err := ecdhCurve(id).NewPublicKey(point)
	if err != nil {
		return withAlert(alertIllegalParameter, errors.New("ServerKeyExchange: the server's point is not an uncompressed point on the curve"))
	}
	ka.peer = pub
	return nil
}

func (ka *ecdheKeyAgreement) generateClientKeyExchange(config *Config, _ *clientHelloMsg, _ *x509.Certificate, _ *Certificate) ([]byte, *clientKeyExchangeMsg, error) {
	if ka.peer == nil {
		return nil, nil, withAlert(alertUnexpectedMessage, errors.New("server sent no ServerKeyExchange for an ECDHE suite"))
	}
	key, err := ka.peer.Curve().GenerateKey(config.rand())
	if err != nil {
		return nil, nil, fmt.Errorf("ssl: generating the ECDHE key: %w", err)
	}
	shared, err := key.ECDH(ka.peer)
	if err != nil {
		return nil, nil, withAlert(alertIllegalParameter, fmt.Errorf("ServerKeyExchange: %w", err))
	}
	var b cryptobyte.Builder
	addVec8(&b, "ClientECDiffieHellmanPublic.ecdh_Yc", key.PublicKey().Bytes(), 1, maxUint8Vec)
	body, err := b.Bytes()
	if err != nil {
		return nil, nil, err
	}
	return shared, &clientKeyExchangeMsg{ciphertext: body}, nil
}

// marshalServerECDHParams encodes ServerECDHParams (RFC 4492 §5.4): an
// ECParameters of type named_curve, then the point as ECPoint <1..2^8-1>.
func marshalServerECDHParams(curve uint16, point []byte) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddUint8(curveTypeNamed)
	b.AddUint16(curve)
	addVec8(&b, "ServerECDHParams.public", point, 1, maxUint8Vec)
	return b.Bytes()
}

// parseECDHEServerKeyExchange splits an ECDHE_RSA ServerKeyExchange body:
// ServerECDHParams with a named curve, then the Signature as opaque
// <0..2^16-1>, and nothing after. params is the signed encoding. Explicit
// curves (curve types 1 and 2) are refused: no SSL 3.0 peer sends them.
func parseECDHEServerKeyExchange(body []byte) (curve uint16, point, params, sig []byte, ok bool) {
	s := cryptobyte.String(body)
	var typ uint8
	if !s.ReadUint8(&typ) || typ != curveTypeNamed || !s.ReadUint16(&curve) ||
		!readVec8(&s, &point, 1, maxUint8Vec) {
		return 0, nil, nil, nil, false
	}
	params = body[:len(body)-len(s)]
	if !readVec16(&s, &sig, 0, maxUint16Vec) || !s.Empty() {
		return 0, nil, nil, nil, false
	}
	return curve, point, params, sig, true
}

// parseClientECDHPublic reads ClientECDiffieHellmanPublic (RFC 4492 §5.7)
// in its explicit form: exactly one ecdh_Yc <1..2^8-1>. The implicit form
// belongs to fixed-ECDH client certificates, which ECDHE_RSA does not take.
func parseClientECDHPublic(body []byte) ([]byte, bool) {
	s := cryptobyte.String(body)
	var point []byte
	if !readVec8(&s, &point, 1, maxUint8Vec) || !s.Empty() {
		return nil, false
	}
	return point, true
}

// parseECExtensions reads supported_curves and ec_point_formats out of a
// ClientHello's extensions block. An absent extension comes back nil; a
// malformed one as no curve (nil) or no point format (empty), so that the
// client gets no ECDHE suite: SSL
// 3.0 tells a server to ignore what follows compression_methods, and a
// garbled ECC offer is an offer we cannot take.
func parseECExtensions(exts map[uint16][]byte) (curves []uint16, points []uint8) {
	if data, ok := exts[extensionSupportedCurves]; ok {
		s := cryptobyte.String(data)
		var list cryptobyte.String
		if s.ReadUint16LengthPrefixed(&list) && s.Empty() && len(list) >= 2 && len(list)%2 == 0 {
			curves = make([]uint16, 0, len(list)/2)
			for !list.Empty() {
				var c uint16
				list.ReadUint16(&c)
				curves = append(curves, c)
			}
		}
	}
	if data, ok := exts[extensionECPointFormats]; ok {
		s := cryptobyte.String(data)
		var list []byte
		points = []uint8{} // present but unusable: not even uncompressed
		if readVec8(&s, &list, 1, maxUint8Vec) && s.Empty() {
			points = list
		}
	}
	return curves, points
}
