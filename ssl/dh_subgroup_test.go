package ssl

import (
	"crypto/rand"
	"crypto/x509"
	"errors"
	"math/big"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tokenssl/tokenssl/token"
	"github.com/tokenssl/tokenssl/token/tokentest"
)

// Issue 10 item 3: the small-subgroup attack on static DH keys.

// countingDH counts agreements and, when refuse says so, fails as SoftHSM
// does for a shared value of 1 or p-1.
type countingDH struct {
	token.DHAgreer
	agreed atomic.Int32
	refuse func(y *big.Int) bool
}

func (k *countingDH) Agree(y *big.Int) ([]byte, error) {
	k.agreed.Add(1)
	if k.refuse != nil && k.refuse(y) {
		return nil, errors.New("CKR_FUNCTION_FAILED")
	}
	return k.DHAgreer.Agree(y)
}

// dhYc encodes an explicit ClientDiffieHellmanPublic.
func dhYc(y *big.Int) []byte {
	b := y.Bytes()
	return append([]byte{byte(len(b) >> 8), byte(len(b))}, b...)
}

// TestStaticDHSmallSubgroup: against a DH_DSS server whose software key is
// in a group with small factors in p-1 (q from the certificate, not from
// the key), every Yc outside the order-q subgroup gets illegal_parameter at
// ClientKeyExchange, decided from public values without any agreement —
// the same answer a random wrong value gets; a value in the subgroup that
// is not the client's fails at the client's Finished (bad_record_mac), and
// so does an agreement the key refuses. Before the fix Q was taken from the key (here
// stripped, as for a token key), the small-order values reached the
// agreement and a refused agreement was reported at once.
func TestStaticDHSmallSubgroup(t *testing.T) {
	l := legacyCerts(t)
	group, small := tokentest.CofactorGroup(t)
	soft := newDHKey(t, group)
	spki := dhSPKI(t, soft) // X9.42, carries q
	soft.Pub.Q = nil        // as a CKK_DH token key: no CKA_SUBPRIME
	key := &countingDH{DHAgreer: soft}
	cert := issueLegacy(t, l.dsaCA, l.dsaCAKey, spki, key, "localhost", x509.ExtKeyUsageServerAuth, x509.KeyUsageKeyAgreement)
	inGroup := new(big.Int).Exp(group.G, big.NewInt(12345), group.P)
	randomValue, _ := rand.Int(rand.Reader, group.P)

	type outcome struct {
		alert  alert
		step   string
		agreed int32
	}
	// What the attacker sees is the alert and when it comes: at
	// ClientKeyExchange, or when the client's encrypted Finished fails to
	// authenticate under keys from another pre-master secret.
	atCKE := outcome{alertIllegalParameter, "client DH public value", 0}
	atFinished := outcome{alertBadRecordMAC, "record authentication failed", 1}
	rows := []struct {
		name   string
		yc     *big.Int
		refuse bool
		want   outcome
	}{
		{"random value", randomValue, false, atCKE},
		{"in the subgroup, not the client's", inGroup, false, atFinished},
		{"in the subgroup, agreement refused", inGroup, true, atFinished},
	}
	for name, y := range small {
		rows = append(rows, struct {
			name   string
			yc     *big.Int
			refuse bool
			want   outcome
		}{name, y, false, atCKE})
	}
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			key.agreed.Store(0)
			key.refuse = func(*big.Int) bool { return tc.refuse }
			cc, sc := clientConfig(t), &Config{Certificates: []Certificate{cert}}
			cc.CipherSuites = []uint16{SSL_DH_DSS_WITH_3DES_EDE_CBC_SHA}
			sc.CipherSuites = cc.CipherSuites
			serr := mutateCKX(t, cc, sc, func([]byte) []byte { return dhYc(tc.yc) })
			a, ok := alertOf(serr)
			if !ok || a != tc.want.alert || !strings.Contains(serr.Error(), tc.want.step) {
				t.Fatalf("server: %v; want %v (%q)", serr, tc.want.alert, tc.want.step)
			}
			if got := key.agreed.Load(); got != tc.want.agreed {
				t.Errorf("%d agreements with the static key, want %d", got, tc.want.agreed)
			}
		})
	}
	t.Run("honest client", func(t *testing.T) {
		key.refuse = nil
		cc, sc := clientConfig(t), &Config{Certificates: []Certificate{cert}}
		cc.CipherSuites = []uint16{SSL_DH_DSS_WITH_3DES_EDE_CBC_SHA}
		sc.CipherSuites = cc.CipherSuites
		mustHandshake(t, cc, sc)
	})
}

// TestStaticDHClientKey: a client with a fixed-DH certificate checks the
// server's value against its own key's subgroup (q from its certificate: a
// DHE group carries none) before agreeing, and a refused agreement goes on
// with a random pre-master secret. Before the fix the DHE path dropped q.
func TestStaticDHClientKey(t *testing.T) {
	l := legacyCerts(t)
	group, small := tokentest.CofactorGroup(t)
	soft := newDHKey(t, group)
	spki := dhSPKI(t, soft)
	soft.Pub.Q = nil
	key := &countingDH{DHAgreer: soft}
	cert := issueLegacy(t, l.dsaCA, l.dsaCAKey, spki, key, "client", x509.ExtKeyUsageClientAuth, x509.KeyUsageKeyAgreement)
	static := fixedDHClientStatic(&cert)
	if static == nil || static.group.Q == nil || static.group.Q.Cmp(group.Q) != 0 {
		t.Fatal("the client's static group lacks the certificate's q")
	}
	peerGroup := &token.DHParams{P: group.P, G: group.G} // as from a DHE ServerKeyExchange
	config := &Config{}
	for name, ys := range small {
		_, _, err := clientDHExchange(config, peerGroup, ys, static)
		var ae *alertErr
		if !errors.As(err, &ae) || ae.alert != alertIllegalParameter || key.agreed.Load() != 0 {
			t.Errorf("%s: %v after %d agreements; want illegal_parameter before any", name, err, key.agreed.Load())
		}
	}
	key.refuse = func(*big.Int) bool { return true }
	ys := new(big.Int).Exp(group.G, big.NewInt(777), group.P)
	z, ckx, err := clientDHExchange(config, peerGroup, ys, static)
	if err != nil || len(z) != 128 || ckx == nil || len(ckx.ciphertext) != 0 {
		t.Fatalf("refused agreement: %v, %d-byte pre-master; want a random one", err, len(z))
	}
}
