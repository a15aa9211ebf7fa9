package ssl

import (
	"bytes"
	"crypto/x509"
	"strings"
	"testing"
	"time"
)

// stateFixtures are sessions as a server or client keeps them: without a
// peer certificate, with an unverified leaf, with a verified chain whose
// root is not the peer's.
func stateFixtures(t testing.TB) map[string]*SessionState {
	p := testCerts(t)
	leaf := p.client.Leaf
	base := func() *SessionState {
		return &SessionState{SessionID: bytes.Repeat([]byte{0xa5}, 32), CipherSuite: SSL_RSA_WITH_RC4_128_SHA,
			MasterSecret: bytes.Repeat([]byte{0x4d}, 48), Created: time.Unix(1700000000, 123456789)}
	}
	noCert := base()
	unverified := base()
	unverified.PeerCertificates = []*x509.Certificate{leaf}
	verified := base()
	verified.PeerCertificates = []*x509.Certificate{leaf}
	verified.VerifiedChains = [][]*x509.Certificate{{leaf, p.caCert}}
	noID := base()
	noID.SessionID = nil
	noID.Created = time.Time{}
	return map[string]*SessionState{"no certificate": noCert, "unverified leaf": unverified, "verified chain": verified, "empty ID, zero time": noID}
}

func sameSession(t *testing.T, got, want *SessionState) {
	t.Helper()
	if !bytes.Equal(got.SessionID, want.SessionID) || got.CipherSuite != want.CipherSuite ||
		!bytes.Equal(got.MasterSecret, want.MasterSecret) || !got.Created.Equal(want.Created) ||
		len(got.PeerCertificates) != len(want.PeerCertificates) || len(got.VerifiedChains) != len(want.VerifiedChains) {
		t.Fatalf("round trip changed the session: got %+v, want %+v", got, want)
	}
	for i := range want.PeerCertificates {
		if !got.PeerCertificates[i].Equal(want.PeerCertificates[i]) {
			t.Fatalf("peer certificate %d differs", i)
		}
	}
	for i, ch := range want.VerifiedChains {
		if len(got.VerifiedChains[i]) != len(ch) {
			t.Fatalf("verified chain %d has %d certificates, want %d", i, len(got.VerifiedChains[i]), len(ch))
		}
		for j := range ch {
			if !got.VerifiedChains[i][j].Equal(ch[j]) {
				t.Fatalf("verified chain %d certificate %d differs", i, j)
			}
		}
		// The leaf of a chain is the peer's, not a second copy of it.
		if len(got.PeerCertificates) > 0 && got.VerifiedChains[i][0] != got.PeerCertificates[0] {
			t.Fatal("verified chain does not share the parsed leaf")
		}
	}
}

func TestSessionStateRoundTrip(t *testing.T) {
	for name, s := range stateFixtures(t) {
		t.Run(name, func(t *testing.T) {
			data, err := s.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseSessionState(data)
			if err != nil {
				t.Fatal(err)
			}
			sameSession(t, got, s)
			again, err := got.MarshalBinary()
			if err != nil || !bytes.Equal(again, data) {
				t.Fatalf("re-marshal differs (%v)", err)
			}
			// Not retained: scribbling on the input changes nothing.
			for i := range data {
				data[i] = 0
			}
			sameSession(t, got, s)
		})
	}
}

func TestSessionStateMalformed(t *testing.T) {
	fx := stateFixtures(t)
	good, err := fx["verified chain"].MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := fx["no certificate"].MarshalBinary()
	edit := func(b []byte, f func([]byte) []byte) []byte { return f(bytes.Clone(b)) }
	// Offsets in plain: version 0, suite 2, created 4..15, id len 16, id
	// 17..48, master len 49, master 50..97, cert list len 98..100, chains 101.
	tests := []struct {
		name, data, want string
	}{
		{"empty", "", "truncated"},
		{"version 2", string(edit(plain, func(b []byte) []byte { b[1] = 2; return b })), "version 2"},
		{"truncated", string(good[:len(good)-1]), "serialized session"},
		{"trailing byte", string(append(bytes.Clone(plain), 0)), "trailing data"},
		{"nanoseconds over 1e9", string(edit(plain, func(b []byte) []byte { copy(b[12:16], []byte{0xff, 0xff, 0xff, 0xff}); return b })), "malformed header"},
		{"session ID of 33", string(edit(plain, func(b []byte) []byte { b[16] = 33; return b })), "malformed header"},
		{"master secret of 47", string(edit(plain, func(b []byte) []byte { b[49] = 47; return append(b[:97], b[98:]...) })), "malformed header"},
		{"five chains", string(edit(plain, func(b []byte) []byte { b[101] = 5; return b })), "malformed verified chains"},
		{"empty chain", string(edit(plain, func(b []byte) []byte { b[101] = 1; return append(b, 0) })), "malformed verified chain"},
		{"bad peer index", string(edit(plain, func(b []byte) []byte { b[101] = 1; return append(b, 1, 0, 0) })), "bad peer certificate index"},
		{"unknown kind", string(edit(plain, func(b []byte) []byte { b[101] = 1; return append(b, 1, 7) })), "kind 7"},
		{"peer certificate not DER", string(edit(plain, func(b []byte) []byte {
			b = b[:98]
			b = append(b, 0, 0, 6, 0, 0, 3, 1, 2, 3, 0)
			return b
		})), "peer certificate 0"},
		{"over the size limit", string(make([]byte, MaxSessionStateLen+1)), "exceeds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSessionState([]byte(tt.data))
			if err == nil {
				t.Fatalf("accepted: %+v", s)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not say %q", err, tt.want)
			}
			if strings.Contains(err.Error(), string(bytes.Repeat([]byte{0x4d}, 8))) {
				t.Fatal("the error quotes the master secret")
			}
		})
	}
	// And the encoder refuses what it cannot represent.
	bad := *fx["no certificate"]
	bad.MasterSecret = bad.MasterSecret[:47]
	if _, err := bad.MarshalBinary(); err == nil {
		t.Fatal("marshaled a 47-byte master secret")
	}
	bad = *fx["verified chain"]
	bad.PeerCertificates = make([]*x509.Certificate, maxChainCertificates+1)
	if _, err := bad.MarshalBinary(); err == nil {
		t.Fatal("marshaled 11 peer certificates")
	}
}

// FuzzParseSessionState: ParseSessionState never panics, and what it
// accepts re-marshals to the same bytes (the encoding is canonical) and
// re-parses to an equal session. Seeds: the fixtures plus
// testdata/fuzz/FuzzParseSessionState/.
func FuzzParseSessionState(f *testing.F) {
	for _, s := range stateFixtures(f) {
		if data, err := s.MarshalBinary(); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSessionState(data)
		if err != nil {
			if s != nil {
				t.Fatal("a session with an error")
			}
			return
		}
		again, err := s.MarshalBinary()
		if err != nil {
			t.Fatalf("accepted but cannot re-marshal: %v", err)
		}
		if !bytes.Equal(again, data) {
			t.Fatal("not canonical: re-marshal differs")
		}
		s2, err := ParseSessionState(again)
		if err != nil {
			t.Fatal(err)
		}
		sameSession(t, s2, s)
	})
}
