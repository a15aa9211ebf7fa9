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

// testDSAParams are DSA domain parameters (1024-bit p, 160-bit q) made once
// with dsa.GenerateParameters; they double as an X9.42 DH group.
var testDSAParams = dsa.Parameters{
	P: mustHexInt("9303fccdf8bee4b33fa53ab7961e2e09c14631a75599128f71a90917ab5e7d66aaebf09436ac72acd3b8bb7c86fc1dadb5f0d538f9add863479fdc78e5ee700f27e6efb86113e93b4e4289f5d5d2d6491f3c0ed274946c10334f391e37a4006c571fbf20538ea466d48405d2173fdb9da0f7d33757015c4d46ea9e56e965843b"),
	Q: mustHexInt("e7de3086060370e4e40fd69dea9647a19453e651"),
	G: mustHexInt("1a891a18f9b5498a01507d6be5930231e47b66203ce06b3f8c12b496763f6d682bc4bb8bd3df9e67194fc8216a46251ef39effa04bd79770180b0d7346776662cb039c899dde6ca9c73d32160ee7bcb25045f4832c4f37b11c62618ab4a83db5ec116d4b7e899b7b589686c90173cd0031b2d32954693ecc85850eb3305c3327"),
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

func newDSAKey(t testing.TB) *token.DSAKey {
	priv := &dsa.PrivateKey{PublicKey: dsa.PublicKey{Parameters: testDSAParams}}
	if err := dsa.GenerateKey(priv, rand.Reader); err != nil {
		t.Fatal(err)
	}
	return &token.DSAKey{PrivateKey: priv}
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

	group2, x942 := RFC2409Group2(), &token.DHParams{P: testDSAParams.P, G: testDSAParams.G, Q: testDSAParams.Q}
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
