package ssl

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/cryptobyte"
)

// The serialized form of a SessionState, for session caches outside the
// process (ssl/rediscache): what crypto/tls's SessionState.Bytes and
// ParseSessionState are to TLS tickets. It carries the master secret in
// clear; a store outside the process must seal it (rediscache does, with
// an AEAD). Layout (cryptobyte, big-endian):
//
//	uint16 version;                 /* sessionStateVersion */
//	uint16 cipher_suite;
//	uint64 created_unix;            /* seconds, two's complement */
//	uint32 created_nanos;
//	opaque session_id<0..32>;
//	opaque master_secret<48>;       /* uint8 length, exactly 48 */
//	ASN.1Cert peer_certificates<0..2^24-1>;   /* each <1..2^24-1> */
//	Chain verified_chains<0..2^8-1>;          /* uint8 count */
//	struct { ChainCert certs<1..2^8-1>; } Chain;  /* uint8 count; the first is peer_index 0 */
//	struct { uint8 kind; select (kind) {
//	    case 0: uint8 peer_index;     /* a peer certificate */
//	    case 1: ASN.1Cert cert;       /* one that is not (a root) */
//	} } ChainCert;
//
// A version bump makes old entries unparseable, which a cache treats as a
// miss: the cost of a format change is one full handshake per session.
const (
	sessionStateVersion = 1
	// MaxSessionStateLen bounds a serialized session, so that a store
	// never holds (nor a parser reads) more than resumption needs.
	MaxSessionStateLen = 64 << 10
	maxSessionChains   = 4
	masterSecretLen    = 48
)

// MarshalBinary returns the serialized form of s (see ParseSessionState).
// It fails for a session that has no valid encoding, or whose encoding is
// over MaxSessionStateLen (such a session is for the local cache only).
func (s *SessionState) MarshalBinary() ([]byte, error) {
	if len(s.MasterSecret) != masterSecretLen {
		return nil, fmt.Errorf("ssl: session master secret of %d bytes, want %d", len(s.MasterSecret), masterSecretLen)
	}
	if len(s.VerifiedChains) > maxSessionChains {
		return nil, fmt.Errorf("ssl: session has %d verified chains, more than %d", len(s.VerifiedChains), maxSessionChains)
	}
	if len(s.PeerCertificates) > maxChainCertificates {
		return nil, fmt.Errorf("ssl: session has %d peer certificates, more than %d", len(s.PeerCertificates), maxChainCertificates)
	}
	var b cryptobyte.Builder
	b.AddUint16(sessionStateVersion)
	b.AddUint16(s.CipherSuite)
	b.AddUint64(uint64(s.Created.Unix()))
	b.AddUint32(uint32(s.Created.Nanosecond()))
	addVec8(&b, "session_id", s.SessionID, 0, maxSessionIDLen)
	addVec8(&b, "master_secret", s.MasterSecret, masterSecretLen, masterSecretLen)
	peerIndex := make(map[*x509.Certificate]int)
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
		for i, c := range s.PeerCertificates {
			if c == nil {
				b.SetError(errors.New("nil peer certificate"))
				return
			}
			peerIndex[c] = i
			addVec24(b, "peer certificate", c.Raw, 1, maxCertificateLen)
		}
	})
	b.AddUint8(uint8(len(s.VerifiedChains)))
	for _, ch := range s.VerifiedChains {
		if len(ch) == 0 || len(ch) > maxUint8Vec {
			b.SetError(fmt.Errorf("verified chain of %d certificates", len(ch)))
			break
		}
		if len(s.PeerCertificates) == 0 || ch[0] != s.PeerCertificates[0] {
			b.SetError(errors.New("verified chain does not start with the peer's leaf"))
			break
		}
		b.AddUint8(uint8(len(ch)))
		for _, c := range ch {
			if i, ok := peerIndex[c]; ok {
				b.AddUint8(0)
				b.AddUint8(uint8(i))
				continue
			}
			if c == nil {
				b.SetError(errors.New("nil certificate in a verified chain"))
				break
			}
			b.AddUint8(1)
			addVec24(&b, "chain certificate", c.Raw, 1, maxCertificateLen)
		}
	}
	out, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("ssl: serializing session: %w", err)
	}
	if len(out) > MaxSessionStateLen {
		return nil, fmt.Errorf("ssl: serialized session of %d bytes exceeds the %d-byte limit", len(out), MaxSessionStateLen)
	}
	return out, nil
}

// ParseSessionState parses what MarshalBinary produced. The input is not
// retained. Every bound of the encoding is checked before anything is
// parsed, so input from a store that was tampered with (or that holds an
// older format) yields an error, never a panic or an outsized session.
func ParseSessionState(data []byte) (*SessionState, error) {
	if len(data) > MaxSessionStateLen {
		return nil, fmt.Errorf("ssl: serialized session of %d bytes exceeds the %d-byte limit", len(data), MaxSessionStateLen)
	}
	data = bytes.Clone(data)
	in := cryptobyte.String(data)
	var version, suite uint16
	var sec uint64
	var nsec uint32
	s := &SessionState{}
	var certList cryptobyte.String
	if !in.ReadUint16(&version) {
		return nil, errors.New("ssl: serialized session: truncated")
	}
	if version != sessionStateVersion {
		return nil, fmt.Errorf("ssl: serialized session of version %d, want %d", version, sessionStateVersion)
	}
	if !in.ReadUint16(&suite) || !in.ReadUint64(&sec) || !in.ReadUint32(&nsec) || nsec >= 1e9 ||
		!readVec8(&in, &s.SessionID, 0, maxSessionIDLen) ||
		!readVec8(&in, &s.MasterSecret, masterSecretLen, masterSecretLen) ||
		!in.ReadUint24LengthPrefixed(&certList) {
		return nil, errors.New("ssl: serialized session: malformed header")
	}
	s.CipherSuite = suite
	s.Created = time.Unix(int64(sec), int64(nsec))
	var raw [][]byte
	for !certList.Empty() {
		var der []byte
		if !readVec24(&certList, &der, 1, maxCertificateLen) {
			return nil, errors.New("ssl: serialized session: malformed peer certificate")
		}
		if len(raw) == maxChainCertificates {
			return nil, fmt.Errorf("ssl: serialized session: more than %d peer certificates", maxChainCertificates)
		}
		raw = append(raw, der)
	}
	for i, der := range raw {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("ssl: serialized session: peer certificate %d: %w", i, err)
		}
		s.PeerCertificates = append(s.PeerCertificates, c)
	}
	var nChains uint8
	if !in.ReadUint8(&nChains) || nChains > maxSessionChains {
		return nil, errors.New("ssl: serialized session: malformed verified chains")
	}
	for range nChains {
		var n uint8
		if !in.ReadUint8(&n) || n == 0 {
			return nil, errors.New("ssl: serialized session: malformed verified chain")
		}
		ch := make([]*x509.Certificate, 0, n)
		for j := range n {
			var kind, idx uint8
			if !in.ReadUint8(&kind) {
				return nil, errors.New("ssl: serialized session: truncated verified chain")
			}
			switch kind {
			case 0:
				if !in.ReadUint8(&idx) || int(idx) >= len(s.PeerCertificates) || (j == 0 && idx != 0) {
					return nil, errors.New("ssl: serialized session: bad peer certificate index in a verified chain")
				}
				ch = append(ch, s.PeerCertificates[idx])
			case 1:
				if j == 0 {
					return nil, errors.New("ssl: serialized session: verified chain does not start with the peer's leaf")
				}
				var der []byte
				if !readVec24(&in, &der, 1, maxCertificateLen) {
					return nil, errors.New("ssl: serialized session: malformed chain certificate")
				}
				c, err := x509.ParseCertificate(der)
				if err != nil {
					return nil, fmt.Errorf("ssl: serialized session: chain certificate: %w", err)
				}
				ch = append(ch, c)
			default:
				return nil, fmt.Errorf("ssl: serialized session: unknown chain certificate kind %d", kind)
			}
		}
		s.VerifiedChains = append(s.VerifiedChains, ch)
	}
	if !in.Empty() {
		return nil, errors.New("ssl: serialized session: trailing data")
	}
	return s, nil
}
