package ssl

import (
	"crypto"
	"crypto/dsa"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/tokenssl/tokenssl/internal/legacytest"
	"github.com/tokenssl/tokenssl/token"
	"github.com/tokenssl/tokenssl/x509legacy"
)

// legacyPKI extends testPKI with the certificates the DSS, fixed-DH and
// export suites need: a self-signed DSA CA beside the RSA CA, DSA and DH
// server and client certificates, and a 512-bit RSA server certificate.
// Certificates issued by the DSA CA carry it as the second element of
// their chain: a CertPool cannot be listed, so the DSA fallback of
// verifyChain takes its anchors from the presented chain.
type legacyPKI struct {
	roots    *x509.CertPool // the RSA CA and the DSA CA
	dsaCA    *x509.Certificate
	dsaCAKey *token.DSAKey

	dsaServer   Certificate // DSA key (DHE_DSS), signed by the DSA CA
	dhRSA       Certificate // DH key in Oakley group 2, signed by the RSA CA
	dhDSS       Certificate // DH key in the 1024/160 X9.42 group, signed by the DSA CA
	dhRSAExport Certificate // DH key in the 512-bit export group, RSA CA
	dhDSSExport Certificate // DH key in the 512-bit export group, DSA CA
	rsa512      Certificate // 512-bit RSA key (RSA_EXPORT without a temporary key)

	dsaClient   Certificate // DSA client key, signed by the DSA CA
	dhClientRSA Certificate // DH client key in Oakley group 2, RSA CA (rsa_fixed_dh)
	dhClientDSS Certificate // DH client key in Oakley group 2, DSA CA (dss_fixed_dh)
}

var (
	legacyOnce sync.Once
	legacy     *legacyPKI
)

func legacyCerts(t testing.TB) *legacyPKI {
	t.Helper()
	p := testCerts(t)
	legacyOnce.Do(func() { legacy = newLegacyPKI(t, p) })
	if legacy == nil {
		t.Fatal("legacy test PKI generation failed")
	}
	return legacy
}

// serverCerts are the server certificates serverConfig adds to the RSA one
// so that every implemented non-Fortezza suite has a certificate.
func (l *legacyPKI) serverCerts() []Certificate {
	return []Certificate{l.dsaServer, l.dhRSA, l.dhDSS, l.dhRSAExport, l.dhDSSExport}
}

// newDSAKey returns a DSA key in the 1024/160 group of the legacy PKI.
func newDSAKey(t testing.TB) *token.DSAKey {
	return &token.DSAKey{PrivateKey: legacytest.NewDSAKey(t, legacytest.DSA1024)}
}

// x942Group is the DSA group as an X9.42 DH group (with q): the group of
// the dhDSS certificate.
func x942Group() *token.DHParams {
	p := legacytest.DSA1024
	return &token.DHParams{P: p.P, G: p.G, Q: p.Q}
}

func newDHKey(t testing.TB, group *token.DHParams) *token.DHKey {
	x, y, err := generateDHKey(rand.Reader, group)
	if err != nil {
		t.Fatal(err)
	}
	return &token.DHKey{Pub: token.DHPublicKey{DHParams: *group, Y: y}, X: x}
}

func dhSPKI(t testing.TB, k *token.DHKey) []byte {
	der, err := x509legacy.MarshalDHPublicKey(&x509legacy.DHPublicKey{P: k.Pub.P, G: k.Pub.G, Q: k.Pub.Q, Y: k.Pub.Y})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// issueLegacy makes a certificate for spki signed by the CA (caCert,
// caKey), leaf first, the CA appended when it is the DSA CA.
func issueLegacy(t testing.TB, caCert *x509.Certificate, caKey crypto.Signer, spki []byte, key token.Key, cn string, eku x509.ExtKeyUsage, ku x509.KeyUsage) Certificate {
	t.Helper()
	now := time.Now()
	tmpl := &x509legacy.Template{
		SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: ku, ExtKeyUsage: []x509.ExtKeyUsage{eku},
	}
	der, err := x509legacy.CreateCertificate(rand.Reader, tmpl, caCert, spki, caKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	chain := [][]byte{der}
	if _, isDSA := caKey.Public().(*dsa.PublicKey); isDSA {
		chain = append(chain, caCert.Raw)
	}
	return Certificate{Certificate: chain, PrivateKey: key, Leaf: leaf}
}

func newLegacyPKI(t testing.TB, p *testPKI) *legacyPKI {
	l := &legacyPKI{}
	now := time.Now()
	l.dsaCAKey = newDSAKey(t)
	caSPKI, err := x509legacy.MarshalDSAPublicKey(&l.dsaCAKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	caDER, err := x509legacy.CreateCertificate(rand.Reader, &x509legacy.Template{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "test DSA CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(48 * time.Hour), IsCA: true, KeyUsage: x509.KeyUsageCertSign,
	}, nil, caSPKI, l.dsaCAKey)
	if err != nil {
		t.Fatal(err)
	}
	if l.dsaCA, err = x509.ParseCertificate(caDER); err != nil {
		t.Fatal(err)
	}
	l.roots = p.roots.Clone()
	l.roots.AddCert(l.dsaCA)

	dsaSPKI := func(k *token.DSAKey) []byte {
		der, err := x509legacy.MarshalDSAPublicKey(&k.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	sign := x509.KeyUsageDigitalSignature
	agree := x509.KeyUsageKeyAgreement
	server, client := x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth

	dsaServerKey := newDSAKey(t)
	l.dsaServer = issueLegacy(t, l.dsaCA, l.dsaCAKey, dsaSPKI(dsaServerKey), dsaServerKey, "localhost", server, sign)

	group2, x942 := RFC2409Group2(), x942Group()
	export := ExportDHGroup512()
	k := newDHKey(t, group2)
	l.dhRSA = issueLegacy(t, p.caCert, p.caKey, dhSPKI(t, k), k, "localhost", server, agree)
	k = newDHKey(t, x942)
	l.dhDSS = issueLegacy(t, l.dsaCA, l.dsaCAKey, dhSPKI(t, k), k, "localhost", server, agree)
	k = newDHKey(t, export)
	l.dhRSAExport = issueLegacy(t, p.caCert, p.caKey, dhSPKI(t, k), k, "localhost", server, agree)
	k = newDHKey(t, export)
	l.dhDSSExport = issueLegacy(t, l.dsaCA, l.dsaCAKey, dhSPKI(t, k), k, "localhost", server, agree)

	small, err := generateSmallRSAKey(rand.Reader, 512)
	if err != nil {
		t.Fatal(err)
	}
	rsaSPKI, err := x509.MarshalPKIXPublicKey(&small.pub)
	if err != nil {
		t.Fatal(err)
	}
	l.rsa512 = issueLegacy(t, p.caCert, p.caKey, rsaSPKI, small, "localhost", server, sign|x509.KeyUsageKeyEncipherment)

	dsaClientKey := newDSAKey(t)
	l.dsaClient = issueLegacy(t, l.dsaCA, l.dsaCAKey, dsaSPKI(dsaClientKey), dsaClientKey, "dsa client", client, sign)
	k = newDHKey(t, group2)
	l.dhClientRSA = issueLegacy(t, p.caCert, p.caKey, dhSPKI(t, k), k, "dh client", client, agree)
	k = newDHKey(t, group2)
	l.dhClientDSS = issueLegacy(t, l.dsaCA, l.dsaCAKey, dhSPKI(t, k), k, "dh client", client, agree)
	return l
}
