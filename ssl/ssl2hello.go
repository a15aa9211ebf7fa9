package ssl

import (
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// Appendix E: a Version 3.0 server accepts the SSL 2.0 CLIENT-HELLO of
// clients that do not yet know what the server speaks; a client may send
// one. SSL 2.0 itself is not spoken: an SSL 2.0-only client is refused
// with SSL 2.0's own ERROR message, the one refusal it understands.

const (
	ssl2MsgClientHello = 1
	// ssl2MaxRecord bounds the SSL 2.0 record we read (the header allows
	// 2^15-1); a CLIENT-HELLO of SSL 3.0 suites needs far less.
	ssl2MaxRecord = 1 << 14
)

// ssl2ErrorNoCipher is SSL 2.0's ERROR message (MSG-ERROR 0, NO-CIPHER-
// ERROR 0x0001) in a 2-byte-header record.
var ssl2ErrorNoCipher = []byte{0x80, 0x03, 0x00, 0x00, 0x01}

// errSSL2Only reports a client that offered SSL 2.0 only.
var errSSL2Only = errors.New("client speaks SSL 2.0 only; SSL 2.0 is not supported")

// errSSL2NotHello reports an SSL 2.0 record that is not a CLIENT-HELLO.
var errSSL2NotHello = errors.New("SSL 2.0 record is not a CLIENT-HELLO")

// parseSSL2ClientHello converts the body of an SSL 2.0 record (msg_type
// through challenge, E.1) into a ClientHello. Only the SSL 3.0 suites, the
// V2CipherSpecs whose first byte is zero, are kept. errSSL2Only is returned
// only for a well-formed hello: anything malformed is answered as an SSL
// 3.0 server answers malformed input.
func parseSSL2ClientHello(body []byte) (*clientHelloMsg, error) {
	s := cryptobyte.String(body)
	var msgType uint8
	var vers, specLen, idLen, challengeLen uint16
	if !s.ReadUint8(&msgType) {
		return nil, errors.New("empty SSL 2.0 record")
	}
	if msgType != ssl2MsgClientHello {
		return nil, errSSL2NotHello
	}
	if !s.ReadUint16(&vers) || !s.ReadUint16(&specLen) || !s.ReadUint16(&idLen) || !s.ReadUint16(&challengeLen) {
		return nil, errors.New("malformed SSL 2.0 CLIENT-HELLO")
	}
	// E.1: cipher_spec_length non-zero, a multiple of 3; session id 0 or 16
	// bytes; challenge 16 to 32 bytes (shorter is legitimately rejected).
	if specLen == 0 || specLen%3 != 0 || (idLen != 0 && idLen != 16) || challengeLen < 16 || challengeLen > 32 ||
		len(s) != int(specLen)+int(idLen)+int(challengeLen) {
		return nil, fmt.Errorf("SSL 2.0 CLIENT-HELLO with bad lengths (specs %d, session id %d, challenge %d)", specLen, idLen, challengeLen)
	}
	// Any version from 3.0 up is answered with 3.0.
	if vers < VersionSSL30 {
		return nil, errSSL2Only
	}
	var specs, id, challenge []byte
	s.ReadBytes(&specs, int(specLen))
	s.ReadBytes(&id, int(idLen))
	s.ReadBytes(&challenge, int(challengeLen))
	m := &clientHelloMsg{vers: vers, compressionMethods: []uint8{0}, random: make([]byte, 32)}
	// The challenge is right-aligned in the 32-byte random, zero-padded.
	copy(m.random[32-len(challenge):], challenge)
	for i := 0; i < len(specs); i += 3 {
		if specs[i] == 0 {
			m.cipherSuites = append(m.cipherSuites, uint16(specs[i+1])<<8|uint16(specs[i+2]))
		}
	}
	if len(m.cipherSuites) == 0 {
		return nil, errSSL2Only
	}
	// A 16-byte SSL 2.0 session id can never name one of our sessions;
	// E.1 says resumption requests use an SSL 3.0 hello. Ignore it.
	return m, nil
}

// marshalSSL2ClientHello builds the SSL 2.0 record for hello (our suites as
// {0x00, suite}, the 32-byte random as challenge) and returns the whole
// record and the part that enters the handshake hashes.
func marshalSSL2ClientHello(hello *clientHelloMsg) (record, body []byte, err error) {
	var b cryptobyte.Builder
	b.AddUint8(ssl2MsgClientHello)
	b.AddUint16(hello.vers)
	b.AddUint16(uint16(3 * len(hello.cipherSuites)))
	b.AddUint16(0)
	b.AddUint16(uint16(len(hello.random)))
	for _, id := range hello.cipherSuites {
		b.AddUint8(0)
		b.AddUint16(id)
	}
	b.AddBytes(hello.random)
	body, err = b.Bytes()
	if err != nil {
		return nil, nil, err
	}
	if len(body) > 0x7fff {
		return nil, nil, errors.New("ssl: SSL 2.0 hello too long")
	}
	record = append([]byte{0x80 | byte(len(body)>>8), byte(len(body))}, body...)
	return record, body, nil
}
