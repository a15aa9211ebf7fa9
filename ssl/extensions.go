package ssl

import (
	"bytes"
	"errors"
	"net"
	"strings"

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

// extensionServerName is RFC 6066's server_name: TLS-era clients may send
// it in an SSL 3.0 ClientHello's extensions block, and a server that holds
// certificates for several names needs it (Config.GetCertificate).
const extensionServerName uint16 = 0

// parseServerName returns the host_name of a server_name extension ("" when
// absent). ok is false when the extension is malformed: not a list of
// (name_type, opaque name<1..2^16-1>), more than one host_name, or a name
// that is not a plain DNS name (RFC 6066 §3: no trailing dot, ASCII).
func parseServerName(exts map[uint16][]byte) (name string, ok bool) {
	data, present := exts[extensionServerName]
	if !present {
		return "", true
	}
	s := cryptobyte.String(data)
	var list cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&list) || !s.Empty() || list.Empty() {
		return "", false
	}
	for !list.Empty() {
		var typ uint8
		var host cryptobyte.String
		if !list.ReadUint8(&typ) || !list.ReadUint16LengthPrefixed(&host) || len(host) == 0 {
			return "", false
		}
		if typ != 0 { // only host_name (0) is defined; skip others
			continue
		}
		if name != "" {
			return "", false
		}
		for _, b := range host {
			if b <= ' ' || b >= 0x7f {
				return "", false
			}
		}
		name = string(host)
		if name[len(name)-1] == '.' {
			return "", false
		}
	}
	return name, true
}

// serverNameExtension encodes a server_name extension naming host.
func serverNameExtension(host string) (extension, error) {
	var b cryptobyte.Builder
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddUint8(0) // host_name
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(host)) })
	})
	data, err := b.Bytes()
	return extension{extensionServerName, data}, err
}

// hostnameForSNI returns the name a client sends in server_name: none for
// an IP address literal (RFC 6066 §3), and without a trailing dot.
func hostnameForSNI(name string) string {
	host := strings.TrimSuffix(name, ".")
	if host == "" || net.ParseIP(strings.Trim(host, "[]")) != nil || len(host) > 255 {
		return ""
	}
	return host
}
