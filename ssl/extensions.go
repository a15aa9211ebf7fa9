package ssl

import (
	"bytes"
	"errors"

	"golang.org/x/crypto/cryptobyte"
)

// SSL 3.0 has no extensions, but it lets a ClientHello carry trailing bytes
// (forward compatibility), and RFC 5746 uses exactly that room for
// renegotiation_info in SSL 3.0 as in TLS. These helpers read and write the
// TLS extensions block: uint16 length, then (type, opaque data<0..2^16-1>)*.

const extensionRenegotiationInfo uint16 = 0xff01

type extension struct {
	typ  uint16
	data []byte
}

// parseExtensions parses a whole extensions block. ok is false when the
// block is malformed or repeats a type.
func parseExtensions(raw []byte) (map[uint16][]byte, bool) {
	if len(raw) == 0 {
		return nil, true
	}
	s := cryptobyte.String(raw)
	var list cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&list) || !s.Empty() {
		return nil, false
	}
	exts := make(map[uint16][]byte)
	for !list.Empty() {
		var typ uint16
		var data cryptobyte.String
		if !list.ReadUint16(&typ) || !list.ReadUint16LengthPrefixed(&data) {
			return nil, false
		}
		if _, dup := exts[typ]; dup {
			return nil, false
		}
		exts[typ] = data
	}
	return exts, true
}

// marshalExtensions encodes exts as an extensions block (nil for none).
func marshalExtensions(exts []extension) ([]byte, error) {
	if len(exts) == 0 {
		return nil, nil
	}
	var b cryptobyte.Builder
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, e := range exts {
			b.AddUint16(e.typ)
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(e.data) })
		}
	})
	return b.Bytes()
}

// renegotiationInfo returns the renegotiated_connection field of a
// renegotiation_info extension (§3.2 of RFC 5746: opaque <0..255>) and
// whether the extension was present and well formed.
func renegotiationInfo(exts map[uint16][]byte) (value []byte, present, ok bool) {
	data, present := exts[extensionRenegotiationInfo]
	if !present {
		return nil, false, true
	}
	s := cryptobyte.String(data)
	var v cryptobyte.String
	if !s.ReadUint8LengthPrefixed(&v) || !s.Empty() {
		return nil, true, false
	}
	return v, true, true
}

// verifyRenegotiationInfo applies RFC 5746 to a received
// renegotiation_info (value ri, present or not). In a first handshake
// signalled records whether the peer asked for the binding; later, a
// binding handshake must carry exactly want (the previous verify_data),
// and a non-binding one must carry none.
func (c *Conn) verifyRenegotiationInfo(ri []byte, present, signalled bool, want []byte) error {
	if c.handshakes == 0 {
		if present && len(ri) != 0 {
			return c.sendAlert(alertHandshakeFailure, errors.New("initial handshake with non-empty renegotiation_info"))
		}
		c.secureRenegotiation = signalled
		return nil
	}
	if !c.secureRenegotiation {
		if present {
			return c.sendAlert(alertHandshakeFailure, errors.New("renegotiation_info in an insecure renegotiation"))
		}
		return nil
	}
	if !present || !bytes.Equal(ri, want) {
		return c.sendAlert(alertHandshakeFailure, errors.New("renegotiation_info does not match the previous handshake"))
	}
	return nil
}

func renegotiationInfoExtension(value []byte) extension {
	return extension{extensionRenegotiationInfo, append([]byte{byte(len(value))}, value...)}
}
