package ssl

import (
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// Handshake messages of SSL 3.0 (March 1996 draft §7.6; November 1996
// appendix A.4/A.5 where the two differ, except as noted on each message).
//
// Every message marshals to, and unmarshals from, the complete Handshake
// structure of §7.6: msg_type (uint8), length (uint24), body. unmarshal
// rejects anything that is not exactly one well-formed message of its type:
// a wrong msg_type, a length that disagrees with the data, truncation,
// trailing bytes (ClientHello alone keeps what follows compression_methods),
// and vectors outside the bounds of the spec. On success the message keeps
// data in raw and its fields alias data, so the caller must not reuse the
// buffer. marshal always encodes from the fields (it neither reads nor sets
// raw) and returns an error instead of producing something unmarshal would
// reject. Encodings are canonical, so marshal(unmarshal(x)) == x.

// Handshake message types (§7.6).
const (
	typeHelloRequest       uint8 = 0
	typeClientHello        uint8 = 1
	typeServerHello        uint8 = 2
	typeCertificate        uint8 = 11
	typeServerKeyExchange  uint8 = 12
	typeCertificateRequest uint8 = 13
	typeServerHelloDone    uint8 = 14
	typeCertificateVerify  uint8 = 15
	typeClientKeyExchange  uint8 = 16
	typeFinished           uint8 = 20
)

// maxHandshakeSize caps the body length of a handshake message we accept
// or produce. The uint24 length field allows 16 MiB, which a peer could use
// to make us buffer that much before any authentication. The cap is the
// largest legal ClientHello, so that every one is accepted: version (2),
// random (32), session_id<0..32> (1+32), cipher_suites<2..2^16-1> (2+65534,
// an even length), compression_methods<1..2^8-1> (1+255) and an
// extensions block<0..2^16-1> (2+65535), 131,396 bytes. The same cap (128
// KiB and a little) suits every other message: a CertificateRequest's CA
// list is ~64 KiB, key exchange messages a few KiB, and a Certificate
// chain of several large certificates stays within it.
const maxHandshakeSize = maxClientHelloSize

const maxClientHelloSize = 2 + helloRandomLen + 1 + maxSessionIDLen + 2 + (maxUint16Vec - 1) + 1 + maxUint8Vec + 2 + maxUint16Vec

// Sizes and vector bounds of §7.6.
const (
	handshakeHeaderLen = 4  // msg_type + uint24 length
	helloRandomLen     = 32 // Random: gmt_unix_time + random_bytes[28]
	maxSessionIDLen    = 32 // SessionID<0..32>
	finishedLen        = 36 // md5_hash[16] + sha_hash[20]
	maxUint8Vec        = 1<<8 - 1
	maxUint16Vec       = 1<<16 - 1
	maxUint24Vec       = 1<<24 - 1
)

type handshakeMessage interface {
	marshal() ([]byte, error)
	unmarshal([]byte) bool
}

// marshalHandshake builds a complete handshake message of type typ whose
// body is written by body, and enforces maxHandshakeSize.
func marshalHandshake(typ uint8, body cryptobyte.BuilderContinuation) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddUint8(typ)
	b.AddUint24LengthPrefixed(body)
	out, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("ssl: marshaling handshake message %d: %w", typ, err)
	}
	if len(out)-handshakeHeaderLen > maxHandshakeSize {
		return nil, fmt.Errorf("ssl: handshake message %d of %d bytes exceeds the %d-byte limit", typ, len(out)-handshakeHeaderLen, maxHandshakeSize)
	}
	return out, nil
}

// readHandshakeBody checks that data is exactly one handshake message of
// type typ within maxHandshakeSize, and returns its body.
func readHandshakeBody(data []byte, typ uint8) (cryptobyte.String, bool) {
	s := cryptobyte.String(data)
	var t uint8
	var body cryptobyte.String
	if !s.ReadUint8(&t) || t != typ || !s.ReadUint24LengthPrefixed(&body) || !s.Empty() {
		return nil, false
	}
	if len(body) > maxHandshakeSize {
		return nil, false
	}
	return body, true
}

// unmarshalBody is the frame of the unmarshal methods of the messages with
// a body: data must be exactly one handshake message of type typ (see
// readHandshakeBody), and parse must accept its body, reading the fields
// from it; only then is *raw set to data. The caller resets its message
// first, so a message that fails keeps no raw.
func unmarshalBody(data []byte, typ uint8, raw *[]byte, parse func(body cryptobyte.String) bool) bool {
	body, ok := readHandshakeBody(data, typ)
	if !ok || !parse(body) {
		return false
	}
	*raw = data
	return true
}

// Vector helpers: read or write an opaque vector whose length prefix has
// 1, 2 or 3 bytes, checking the floor and ceiling of its <floor..ceiling>.

func readVec8(s *cryptobyte.String, out *[]byte, floor, ceiling int) bool {
	return s.ReadUint8LengthPrefixed((*cryptobyte.String)(out)) && len(*out) >= floor && len(*out) <= ceiling
}

func readVec16(s *cryptobyte.String, out *[]byte, floor, ceiling int) bool {
	return s.ReadUint16LengthPrefixed((*cryptobyte.String)(out)) && len(*out) >= floor && len(*out) <= ceiling
}

func readVec24(s *cryptobyte.String, out *[]byte, floor, ceiling int) bool {
	return s.ReadUint24LengthPrefixed((*cryptobyte.String)(out)) && len(*out) >= floor && len(*out) <= ceiling
}

// readVecList splits list, the contents of a length-prefixed list of
// vectors, into its elements, each read by readElem (readVec16, readVec24)
// within <floor..ceiling>. An empty list gives nil; anything that is not
// whole elements fails.
func readVecList(list cryptobyte.String, readElem func(*cryptobyte.String, *[]byte, int, int) bool, floor, ceiling int) ([][]byte, bool) {
	var out [][]byte
	for !list.Empty() {
		var v []byte
		if !readElem(&list, &v, floor, ceiling) {
			return nil, false
		}
		out = append(out, v)
	}
	return out, true
}

func vecBoundsError(what string, n, floor, ceiling int) error {
	return fmt.Errorf("%s: length %d outside <%d..%d>", what, n, floor, ceiling)
}

// vecFits reports whether v is within <floor..ceiling>, and otherwise sets
// b's error. The addVec functions write v only when it fits; each passes its
// own closure straight to the cryptobyte method so that it stays on the
// stack (through a func parameter it would escape).
func vecFits(b *cryptobyte.Builder, what string, v []byte, floor, ceiling int) bool {
	if len(v) < floor || len(v) > ceiling {
		b.SetError(vecBoundsError(what, len(v), floor, ceiling))
		return false
	}
	return true
}

func addVec8(b *cryptobyte.Builder, what string, v []byte, floor, ceiling int) {
	if vecFits(b, what, v, floor, ceiling) {
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(v) })
	}
}

func addVec16(b *cryptobyte.Builder, what string, v []byte, floor, ceiling int) {
	if vecFits(b, what, v, floor, ceiling) {
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(v) })
	}
}

func addVec24(b *cryptobyte.Builder, what string, v []byte, floor, ceiling int) {
	if vecFits(b, what, v, floor, ceiling) {
		b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(v) })
	}
}

// addVecList writes the elements of a list of vectors, each by addElem
// (addVec16, addVec24) within <floor..ceiling>; the caller writes the
// list's own length prefix around them (readVecList reads them back).
func addVecList(b *cryptobyte.Builder, addElem func(*cryptobyte.Builder, string, []byte, int, int), what string, vs [][]byte, floor, ceiling int) {
	for _, v := range vs {
		addElem(b, what, v, floor, ceiling)
	}
}

func addFixed(b *cryptobyte.Builder, what string, v []byte, n int) {
	if len(v) != n {
		b.SetError(fmt.Errorf("%s: length %d, want %d", what, len(v), n))
		return
	}
	b.AddBytes(v)
}

// marshalEmpty and unmarshalEmpty are the whole codec of the messages
// whose body is empty: HelloRequest and ServerHelloDone.
func marshalEmpty(typ uint8) ([]byte, error) {
	return marshalHandshake(typ, func(*cryptobyte.Builder) {})
}

func unmarshalEmpty(data []byte, typ uint8) bool {
	body, ok := readHandshakeBody(data, typ)
	return ok && body.Empty()
}

// helloRequestMsg is HelloRequest (§7.6.1.1): an empty body.
type helloRequestMsg struct{}

func (m *helloRequestMsg) marshal() ([]byte, error) {
	return marshalEmpty(typeHelloRequest)
}

func (m *helloRequestMsg) unmarshal(data []byte) bool {
	return unmarshalEmpty(data, typeHelloRequest)
}

// clientHelloMsg is ClientHello (§7.6.1.2):
//
//	ProtocolVersion client_version;
//	Random random;
//	SessionID session_id;                            <0..32>
//	CipherSuite cipher_suites<2..2^16-1>;            at least one suite
//	CompressionMethod compression_methods<1..2^8-1>;
//
// Bytes after compression_methods are kept raw in extensions (nil when
// there are none): TLS clients that fall back to SSL 3.0 may send TLS
// extensions there, and SSL 3.0 ignores them — except the two ECDHE needs
// (RFC 4492 §5.1), which unmarshal reads into ecCurves and ecPointFormats
// (parseECExtensions; nil when absent). marshal writes extensions only.
type clientHelloMsg struct {
	raw                []byte
	vers               uint16
	random             []byte
	sessionID          []byte
	cipherSuites       []uint16
	compressionMethods []uint8
	extensions         []byte
	ecCurves           []uint16
	ecPointFormats     []uint8
}

func (m *clientHelloMsg) marshal() ([]byte, error) {
	return marshalHandshake(typeClientHello, func(b *cryptobyte.Builder) {
		b.AddUint16(m.vers)
		addFixed(b, "ClientHello.random", m.random, helloRandomLen)
		addVec8(b, "ClientHello.session_id", m.sessionID, 0, maxSessionIDLen)
		if n := 2 * len(m.cipherSuites); n < 2 || n > maxUint16Vec {
			b.SetError(vecBoundsError("ClientHello.cipher_suites", n, 2, maxUint16Vec))
			return
		}
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			for _, s := range m.cipherSuites {
				b.AddUint16(s)
			}
		})
		addVec8(b, "ClientHello.compression_methods", m.compressionMethods, 1, maxUint8Vec)
		b.AddBytes(m.extensions)
	})
}

func (m *clientHelloMsg) unmarshal(data []byte) bool {
	*m = clientHelloMsg{}
	return unmarshalBody(data, typeClientHello, &m.raw, func(body cryptobyte.String) bool {
		var suites cryptobyte.String
		if !body.ReadUint16(&m.vers) ||
			!body.ReadBytes(&m.random, helloRandomLen) ||
			!readVec8(&body, &m.sessionID, 0, maxSessionIDLen) ||
			!body.ReadUint16LengthPrefixed(&suites) ||
			len(suites) < 2 || len(suites)%2 != 0 ||
			!readVec8(&body, &m.compressionMethods, 1, maxUint8Vec) {
			return false
		}
		m.cipherSuites = make([]uint16, 0, len(suites)/2)
		for !suites.Empty() {
			var s uint16
			if !suites.ReadUint16(&s) {
				return false
			}
			m.cipherSuites = append(m.cipherSuites, s)
		}
		if !body.Empty() {
			m.extensions = body
			if exts, ok := parseExtensions(body); ok {
				m.ecCurves, m.ecPointFormats = parseECExtensions(exts)
			}
		}
		return true
	})
}

// serverHelloMsg is ServerHello (§7.6.1.3). After compression_method only
// a well-formed extensions block may follow (RFC 5746 renegotiation_info is
// the one extension an SSL 3.0 server sends); it is kept raw in extensions.
type serverHelloMsg struct {
	raw               []byte
	vers              uint16
	random            []byte
	sessionID         []byte
	cipherSuite       uint16
	compressionMethod uint8
	extensions        []byte
}

func (m *serverHelloMsg) marshal() ([]byte, error) {
	return marshalHandshake(typeServerHello, func(b *cryptobyte.Builder) {
		b.AddUint16(m.vers)
		addFixed(b, "ServerHello.random", m.random, helloRandomLen)
		addVec8(b, "ServerHello.session_id", m.sessionID, 0, maxSessionIDLen)
		b.AddUint16(m.cipherSuite)
		b.AddUint8(m.compressionMethod)
		if _, ok := parseExtensions(m.extensions); !ok {
			b.SetError(errors.New("ssl: malformed ServerHello extensions"))
			return
		}
		b.AddBytes(m.extensions)
	})
}

func (m *serverHelloMsg) unmarshal(data []byte) bool {
	*m = serverHelloMsg{}
	return unmarshalBody(data, typeServerHello, &m.raw, func(body cryptobyte.String) bool {
		if !body.ReadUint16(&m.vers) ||
			!body.ReadBytes(&m.random, helloRandomLen) ||
			!readVec8(&body, &m.sessionID, 0, maxSessionIDLen) ||
			!body.ReadUint16(&m.cipherSuite) ||
			!body.ReadUint8(&m.compressionMethod) {
			return false
		}
		if !body.Empty() {
			if _, ok := parseExtensions(body); !ok {
				return false
			}
			m.extensions = body
		}
		return true
	})
}

// certificateMsg is Certificate (§7.6.2): ASN.1Cert certificate_list
// <1..2^24-1>, each ASN.1Cert <1..2^24-1>. Unlike the spec, an empty list
// is accepted (and produced): some clients answer a CertificateRequest with
// an empty Certificate message instead of the no_certificate alert.
type certificateMsg struct {
	raw          []byte
	certificates [][]byte
}

func (m *certificateMsg) marshal() ([]byte, error) {
	return marshalHandshake(typeCertificate, func(b *cryptobyte.Builder) {
		b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
			addVecList(b, addVec24, "ASN.1Cert", m.certificates, 1, maxUint24Vec)
		})
	})
}

func (m *certificateMsg) unmarshal(data []byte) bool {
	*m = certificateMsg{}
	return unmarshalBody(data, typeCertificate, &m.raw, func(body cryptobyte.String) bool {
		var list cryptobyte.String
		if !body.ReadUint24LengthPrefixed(&list) || !body.Empty() {
			return false
		}
		var ok bool
		m.certificates, ok = readVecList(list, readVec24, 1, maxUint24Vec)
		return ok
	})
}

// Caps on one Certificate message, beyond the message size cap: every
// certificate is parsed (and a cached session kept some), so their number
// and size bound the work and memory one handshake can make a peer cost.
// Ten certificates is a long chain for any real PKI; 32 KiB is several
// times a certificate with a 16384-bit key or a few hundred names.
const (
	maxChainCertificates = 10
	maxCertificateLen    = 32 << 10
)

// checkChainLimits applies those caps to a received certificate_list.
func checkChainLimits(raw [][]byte) error {
	if len(raw) > maxChainCertificates {
		return fmt.Errorf("certificate chain of %d certificates exceeds the limit of %d", len(raw), maxChainCertificates)
	}
	for i, der := range raw {
		if len(der) > maxCertificateLen {
			return fmt.Errorf("certificate %d is %d bytes, over the limit of %d", i, len(der), maxCertificateLen)
		}
	}
	return nil
}

// serverKeyExchangeMsg is ServerKeyExchange (§7.6.3). Its body depends on
// the key exchange algorithm, so it is kept whole in key for the key
// agreement to parse (see parseServerDHParams, parseServerRSAParams). Every
// variant is non-empty, so an empty body is rejected.
type serverKeyExchangeMsg struct {
	raw []byte
	key []byte
}

func (m *serverKeyExchangeMsg) marshal() ([]byte, error) {
	return marshalHandshake(typeServerKeyExchange, func(b *cryptobyte.Builder) {
		if len(m.key) == 0 {
			b.SetError(errors.New("empty ServerKeyExchange"))
			return
		}
		b.AddBytes(m.key)
	})
}

func (m *serverKeyExchangeMsg) unmarshal(data []byte) bool {
	*m = serverKeyExchangeMsg{}
	return unmarshalBody(data, typeServerKeyExchange, &m.raw, func(body cryptobyte.String) bool {
		if body.Empty() {
			return false
		}
		m.key = body
		return true
	})
}

// certificateRequestMsg is CertificateRequest (§7.6.4):
//
//	ClientCertificateType certificate_types<1..2^8-1>;
//	DistinguishedName certificate_authorities<3..2^16-1>;
//
// with DistinguishedName <1..2^16-1>. Unlike the spec, an empty
// certificate_authorities list is accepted (and produced): servers
// commonly send one to mean "any CA". A non-empty list must hold whole,
// non-empty names, which implies the spec's floor of 3.
type certificateRequestMsg struct {
	raw                    []byte
	certificateTypes       []byte
	certificateAuthorities [][]byte
}

func (m *certificateRequestMsg) marshal() ([]byte, error) {
	return marshalHandshake(typeCertificateRequest, func(b *cryptobyte.Builder) {
		addVec8(b, "CertificateRequest.certificate_types", m.certificateTypes, 1, maxUint8Vec)
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			addVecList(b, addVec16, "DistinguishedName", m.certificateAuthorities, 1, maxUint16Vec)
		})
	})
}

func (m *certificateRequestMsg) unmarshal(data []byte) bool {
	*m = certificateRequestMsg{}
	return unmarshalBody(data, typeCertificateRequest, &m.raw, func(body cryptobyte.String) bool {
		var cas cryptobyte.String
		if !readVec8(&body, &m.certificateTypes, 1, maxUint8Vec) ||
			!body.ReadUint16LengthPrefixed(&cas) ||
			!body.Empty() {
			return false
		}
		var ok bool
		m.certificateAuthorities, ok = readVecList(cas, readVec16, 1, maxUint16Vec)
		return ok
	})
}

// serverHelloDoneMsg is ServerHelloDone (§7.6.5): an empty body.
type serverHelloDoneMsg struct{}

func (m *serverHelloDoneMsg) marshal() ([]byte, error) {
	return marshalEmpty(typeServerHelloDone)
}

func (m *serverHelloDoneMsg) unmarshal(data []byte) bool {
	return unmarshalEmpty(data, typeServerHelloDone)
}

// clientKeyExchangeMsg is ClientKeyExchange (§7.6.7), kept whole in
// ciphertext for the key agreement: for RSA it is the bare
// EncryptedPreMasterSecret with NO length prefix (unlike TLS); for
// Diffie-Hellman an explicit dh_Yc<1..2^16-1> vector, or an empty body
// when Yc is implicit in the client certificate (so empty is accepted).
type clientKeyExchangeMsg struct {
	raw        []byte
	ciphertext []byte
}

func (m *clientKeyExchangeMsg) marshal() ([]byte, error) {
	return marshalHandshake(typeClientKeyExchange, func(b *cryptobyte.Builder) {
		b.AddBytes(m.ciphertext)
	})
}

func (m *clientKeyExchangeMsg) unmarshal(data []byte) bool {
	*m = clientKeyExchangeMsg{}
	return unmarshalBody(data, typeClientKeyExchange, &m.raw, func(body cryptobyte.String) bool {
		m.ciphertext = body
		return true
	})
}

// certificateVerifyMsg is CertificateVerify (§7.6.8): the digitally-signed
// value as an opaque <0..2^16-1> vector, and nothing after it.
type certificateVerifyMsg struct {
	raw       []byte
	signature []byte
}

func (m *certificateVerifyMsg) marshal() ([]byte, error) {
	return marshalHandshake(typeCertificateVerify, func(b *cryptobyte.Builder) {
		addVec16(b, "CertificateVerify.signature", m.signature, 0, maxUint16Vec)
	})
}

func (m *certificateVerifyMsg) unmarshal(data []byte) bool {
	*m = certificateVerifyMsg{}
	return unmarshalBody(data, typeCertificateVerify, &m.raw, func(body cryptobyte.String) bool {
		return readVec16(&body, &m.signature, 0, maxUint16Vec) && body.Empty()
	})
}

// finishedMsg is Finished (§7.6.9): md5_hash[16] followed by sha_hash[20],
// exactly 36 bytes.
type finishedMsg struct {
	raw        []byte
	verifyData []byte
}

func (m *finishedMsg) marshal() ([]byte, error) {
	return marshalHandshake(typeFinished, func(b *cryptobyte.Builder) {
		addFixed(b, "Finished", m.verifyData, finishedLen)
	})
}

func (m *finishedMsg) unmarshal(data []byte) bool {
	*m = finishedMsg{}
	return unmarshalBody(data, typeFinished, &m.raw, func(body cryptobyte.String) bool {
		return body.ReadBytes(&m.verifyData, finishedLen) && body.Empty()
	})
}

// unmarshalHandshake parses data, a complete handshake message whose
// msg_type is typ, into the matching message type. It returns false for an
// unknown type, for data whose msg_type is not typ, and for any malformed
// message.
func unmarshalHandshake(typ uint8, data []byte) (handshakeMessage, bool) {
	m := newHandshakeMessage(typ)
	if m == nil || !m.unmarshal(data) {
		return nil, false
	}
	return m, true
}

// newHandshakeMessage returns an empty message of type typ, or nil for a
// type this package does not know.
func newHandshakeMessage(typ uint8) handshakeMessage {
	switch typ {
	case typeHelloRequest:
		return new(helloRequestMsg)
	case typeClientHello:
		return new(clientHelloMsg)
	case typeServerHello:
		return new(serverHelloMsg)
	case typeCertificate:
		return new(certificateMsg)
	case typeServerKeyExchange:
		return new(serverKeyExchangeMsg)
	case typeCertificateRequest:
		return new(certificateRequestMsg)
	case typeServerHelloDone:
		return new(serverHelloDoneMsg)
	case typeCertificateVerify:
		return new(certificateVerifyMsg)
	case typeClientKeyExchange:
		return new(clientKeyExchangeMsg)
	case typeFinished:
		return new(finishedMsg)
	}
	return nil
}

// parseServerDHParams reads ServerDHParams (§7.6.3) from the start of a
// ServerKeyExchange body:
//
//	opaque dh_p<1..2^16-1>;
//	opaque dh_g<1..2^16-1>;
//	opaque dh_Ys<1..2^16-1>;
//
// rest is what follows (the signature, if any). The signed ServerParams
// bytes are body[:len(body)-len(rest)]. The results alias body.
func parseServerDHParams(body []byte) (p, g, ys, rest []byte, ok bool) {
	s := cryptobyte.String(body)
	if !readVec16(&s, &p, 1, maxUint16Vec) ||
		!readVec16(&s, &g, 1, maxUint16Vec) ||
		!readVec16(&s, &ys, 1, maxUint16Vec) {
		return nil, nil, nil, nil, false
	}
	return p, g, ys, s, true
}

// marshalServerDHParams encodes ServerDHParams (§7.6.3).
func marshalServerDHParams(p, g, ys []byte) ([]byte, error) {
	return marshalStruct("ServerDHParams", func(b *cryptobyte.Builder) {
		addVec16(b, "ServerDHParams.dh_p", p, 1, maxUint16Vec)
		addVec16(b, "ServerDHParams.dh_g", g, 1, maxUint16Vec)
		addVec16(b, "ServerDHParams.dh_Ys", ys, 1, maxUint16Vec)
	})
}

// parseServerRSAParams reads ServerRSAParams (§7.6.3) from the start of a
// ServerKeyExchange body:
//
//	opaque rsa_modulus<1..2^16-1>;
//	opaque rsa_exponent<1..2^16-1>;
//
// rest is what follows (the signature). The signed ServerParams bytes are
// body[:len(body)-len(rest)]. The results alias body.
func parseServerRSAParams(body []byte) (modulus, exponent, rest []byte, ok bool) {
	s := cryptobyte.String(body)
	if !readVec16(&s, &modulus, 1, maxUint16Vec) ||
		!readVec16(&s, &exponent, 1, maxUint16Vec) {
		return nil, nil, nil, false
	}
	return modulus, exponent, s, true
}

// marshalServerRSAParams encodes ServerRSAParams (§7.6.3).
func marshalServerRSAParams(modulus, exponent []byte) ([]byte, error) {
	return marshalStruct("ServerRSAParams", func(b *cryptobyte.Builder) {
		addVec16(b, "ServerRSAParams.rsa_modulus", modulus, 1, maxUint16Vec)
		addVec16(b, "ServerRSAParams.rsa_exponent", exponent, 1, maxUint16Vec)
	})
}

// marshalStruct returns what body writes, or its first error as marshaling
// the structure name failed.
func marshalStruct(name string, body cryptobyte.BuilderContinuation) ([]byte, error) {
	var b cryptobyte.Builder
	body(&b)
	out, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("ssl: marshaling %s: %w", name, err)
	}
	return out, nil
}

// readHandshakeMsg reads the next handshake message, which must be of type
// typ and decode to a *T (name says which, for the unexpected_message
// alert the driver sends otherwise).
func readHandshakeMsg[T any](c *Conn, transcript *finishedHash, typ uint8, name string) (*T, error) {
	msg, err := c.readHandshake(transcript, typ)
	if err != nil {
		return nil, err
	}
	m, ok := msg.(*T)
	if !ok {
		return nil, c.unexpectedMessage(name, msg)
	}
	return m, nil
}
