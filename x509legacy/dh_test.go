package x509legacy

import (
	"bytes"
	"crypto/dsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"math/big"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/tokenssl/tokenssl/internal/legacytest"
)

// The 512-bit safe prime of ssl/dh_groups.go (the X9.42 group of these
// tests is legacytest.DSA1024).
var safe512 = legacytest.HexInt("fc3be1877c989e93db9150c78f503e89bccd23ef650cfc9d6d482cde73060050683ea253cfe02e34be32e85c3a63599d43a812cc0aa4c7df29a85a1a4efeca87")

func x942Key(t testing.TB) *DHPublicKey {
	x, _ := rand.Int(rand.Reader, legacytest.DSA1024.Q)
	x.Add(x, big.NewInt(2))
	p := legacytest.DSA1024
	return &DHPublicKey{P: p.P, G: p.G, Q: p.Q, Y: new(big.Int).Exp(p.G, x, p.P)}
}

func TestPublicKeyRoundTrip(t *testing.T) {
	k := x942Key(t)
	withJ := *k
	withJ.J = new(big.Int).Div(new(big.Int).Sub(k.P, big.NewInt(1)), k.Q)
	safe := &DHPublicKey{P: safe512, G: big.NewInt(2), Y: new(big.Int).Exp(big.NewInt(2), big.NewInt(12345), safe512)}
	for name, pub := range map[string]*DHPublicKey{"x942": k, "with j": &withJ, "safe prime, q implied": safe} {
		t.Run(name, func(t *testing.T) {
			der, err := MarshalDHPublicKey(pub)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseDHPublicKey(der)
			if err != nil {
				t.Fatal(err)
			}
			wantQ := pub.Q
			if wantQ == nil {
				wantQ = new(big.Int).Rsh(pub.P, 1)
			}
			if got.P.Cmp(pub.P) != 0 || got.G.Cmp(pub.G) != 0 || got.Y.Cmp(pub.Y) != 0 || got.Q.Cmp(wantQ) != 0 ||
				(pub.J == nil) != (got.J == nil) || pub.J != nil && pub.J.Cmp(got.J) != 0 {
				t.Fatalf("round trip changed the key: %+v", got)
			}
			re, _ := MarshalDHPublicKey(got)
			if !bytes.Equal(re, der) {
				t.Fatal("re-marshal differs")
			}
		})
	}
}

// pkcs3SPKI builds a dhKeyAgreement SubjectPublicKeyInfo as OpenSSL writes
// it, with encoding/asn1 (an encoder independent of the one under test).
func pkcs3SPKI(t testing.TB, p, g, y *big.Int, privLen int) []byte {
	type dhParameter struct {
		P, G    *big.Int
		PrivLen int `asn1:"optional"`
	}
	params, err := asn1.Marshal(dhParameter{p, g, privLen})
	if err != nil {
		t.Fatal(err)
	}
	der, err := rawSPKI(OIDDHKeyAgreement, params, y)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// rawSPKI wraps DER parameters and public value y in a
// SubjectPublicKeyInfo with encoding/asn1, checking nothing.
func rawSPKI(alg asn1.ObjectIdentifier, params []byte, y *big.Int) ([]byte, error) {
	yDER, _ := asn1.Marshal(y)
	return asn1.Marshal(struct {
		Alg pkix.AlgorithmIdentifier
		Key asn1.BitString
	}{pkix.AlgorithmIdentifier{Algorithm: alg, Parameters: asn1.RawValue{FullBytes: params}},
		asn1.BitString{Bytes: yDER, BitLength: 8 * len(yDER)}})
}

func TestParsePKCS3(t *testing.T) {
	y := new(big.Int).Exp(big.NewInt(2), big.NewInt(99), safe512)
	for _, privLen := range []int{0, 160} {
		pub, err := ParseDHPublicKey(pkcs3SPKI(t, safe512, big.NewInt(2), y, privLen))
		if err != nil {
			t.Fatal(err)
		}
		if pub.Q != nil || pub.P.Cmp(safe512) != 0 || pub.Y.Cmp(y) != 0 {
			t.Fatalf("got %+v", pub)
		}
	}
}

func TestParseRejects(t *testing.T) {
	k := x942Key(t)
	pMinus1 := new(big.Int).Sub(k.P, big.NewInt(1))
	good, err := MarshalDHPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	// Each case marshals a key by hand (MarshalDHPublicKey refuses them).
	raw := func(p, g, q, y *big.Int) []byte {
		params, _ := asn1.Marshal(struct{ P, G, Q *big.Int }{p, g, q})
		der, _ := rawSPKI(OIDDHPublicNumber, params, y)
		return der
	}
	dsaSPKI, _ := MarshalDSAPublicKey(&dsa.PublicKey{Parameters: legacytest.DSA1024, Y: k.Y})
	tests := []struct {
		name string
		der  []byte
		want string
	}{
		{"empty", nil, "malformed"},
		{"trailing data", append(append([]byte{}, good...), 0), "malformed"},
		{"truncated", good[:len(good)-1], "malformed"},
		{"DSA key", dsaSPKI, "not Diffie-Hellman"},
		{"y = 0", raw(k.P, k.G, k.Q, big.NewInt(0)), "public value"},
		{"y = 1", raw(k.P, k.G, k.Q, big.NewInt(1)), "public value"},
		{"y = p-1", raw(k.P, k.G, k.Q, pMinus1), "public value"},
		{"y = p", raw(k.P, k.G, k.Q, k.P), "public value"},
		{"y < 0", raw(k.P, k.G, k.Q, big.NewInt(-5)), "public value"},
		{"g = 1", raw(k.P, big.NewInt(1), k.Q, k.Y), "generator"},
		{"g = p-1", raw(k.P, pMinus1, k.Q, k.Y), "generator"},
		{"p even", raw(new(big.Int).Add(k.P, big.NewInt(1)), k.G, k.Q, k.Y), "even"},
		{"q does not divide p-1", raw(k.P, k.G, new(big.Int).Add(k.Q, big.NewInt(2)), k.Y), "subgroup"},
		{"p too large", raw(new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), MaxDHPrimeBits), big.NewInt(1)), k.G, k.Q, k.Y), "exceeds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub, err := ParseDHPublicKey(tt.der)
			if err == nil || pub != nil {
				t.Fatalf("accepted: %+v", pub)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestKeyUsageEncoding(t *testing.T) {
	// Compare with crypto/x509's own encoder through a real certificate.
	for _, ku := range []x509.KeyUsage{
		x509.KeyUsageKeyAgreement, x509.KeyUsageDigitalSignature, x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		x509.KeyUsageDecipherOnly, x509.KeyUsageKeyEncipherment | x509.KeyUsageDigitalSignature,
	} {
		var b cryptobyte.Builder
		addKeyUsage(&b, ku)
		got, err := b.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		var bs asn1.BitString
		if rest, err := asn1.Unmarshal(got, &bs); err != nil || len(rest) != 0 {
			t.Fatalf("%v: %x does not parse: %v", ku, got, err)
		}
		var back x509.KeyUsage
		for i := 0; i < bs.BitLength; i++ {
			if bs.At(i) != 0 {
				back |= 1 << i
			}
		}
		if back != ku || bs.At(bs.BitLength-1) == 0 {
			t.Fatalf("%v encoded as %x (not minimal or wrong)", ku, got)
		}
	}
}

type testPKI struct {
	rsaCA, dsaCA       *x509.Certificate
	rsaCAKey           *rsa.PrivateKey
	dsaCAKey           dsaSigner
	dhPub              *DHPublicKey
	rsaLeaf, dsaLeaf   []byte
	dsaSubjectLeafDER  []byte
	dsaSubjectLeafPriv dsaSigner
}

func newDSASigner(t testing.TB) dsaSigner {
	return dsaSigner{legacytest.NewDSAKey(t, legacytest.DSA1024)}
}

var now = time.Now()

func buildPKI(t *testing.T) *testPKI {
	p := &testPKI{}
	var err error
	p.rsaCAKey, err = rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &Template{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "RSA CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, KeyUsage: x509.KeyUsageCertSign}
	rsaSPKI, _ := x509.MarshalPKIXPublicKey(&p.rsaCAKey.PublicKey)
	der, err := CreateCertificate(rand.Reader, caTmpl, nil, rsaSPKI, p.rsaCAKey)
	if err != nil {
		t.Fatal(err)
	}
	if p.rsaCA, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	p.dsaCAKey = newDSASigner(t)
	dsaSPKI, err := MarshalDSAPublicKey(&p.dsaCAKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl.Subject.CommonName = "DSA CA"
	der, err = CreateCertificate(rand.Reader, caTmpl, nil, dsaSPKI, p.dsaCAKey)
	if err != nil {
		t.Fatal(err)
	}
	if p.dsaCA, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	p.dhPub = x942Key(t)
	dhSPKI, err := MarshalDHPublicKey(p.dhPub)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &Template{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "dh.example"}, DNSNames: []string{"dh.example"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), KeyUsage: x509.KeyUsageKeyAgreement,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	if p.rsaLeaf, err = CreateCertificate(rand.Reader, leaf, p.rsaCA, dhSPKI, p.rsaCAKey); err != nil {
		t.Fatal(err)
	}
	if p.dsaLeaf, err = CreateCertificate(rand.Reader, leaf, p.dsaCA, dhSPKI, p.dsaCAKey); err != nil {
		t.Fatal(err)
	}
	p.dsaSubjectLeafPriv = newDSASigner(t)
	leafDSASPKI, _ := MarshalDSAPublicKey(&p.dsaSubjectLeafPriv.PublicKey)
	leaf.KeyUsage = x509.KeyUsageDigitalSignature
	if p.dsaSubjectLeafDER, err = CreateCertificate(rand.Reader, leaf, p.dsaCA, leafDSASPKI, p.dsaCAKey); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCreateCertificate(t *testing.T) {
	p := buildPKI(t)
	t.Run("DH leaf signed by RSA CA verifies with crypto/x509", func(t *testing.T) {
		leaf, err := x509.ParseCertificate(p.rsaLeaf)
		if err != nil {
			t.Fatal(err)
		}
		if leaf.PublicKeyAlgorithm != x509.UnknownPublicKeyAlgorithm || SignerAlgorithm(leaf.SignatureAlgorithm) != x509.RSA {
			t.Fatalf("key %v, signature %v", leaf.PublicKeyAlgorithm, leaf.SignatureAlgorithm)
		}
		roots := x509.NewCertPool()
		roots.AddCert(p.rsaCA)
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: "dh.example", CurrentTime: now}); err != nil {
			t.Fatal(err)
		}
		pub, err := DHPublicKeyFromCertificate(leaf)
		if err != nil || pub.Y.Cmp(p.dhPub.Y) != 0 || pub.Q.Cmp(p.dhPub.Q) != 0 {
			t.Fatalf("DH key: %+v, %v", pub, err)
		}
		if leaf.KeyUsage != x509.KeyUsageKeyAgreement || len(leaf.ExtKeyUsage) != 2 || leaf.IsCA || !leaf.BasicConstraintsValid {
			t.Fatalf("extensions not as written: ku=%v eku=%v", leaf.KeyUsage, leaf.ExtKeyUsage)
		}
	})
	t.Run("DH leaf signed by DSA CA verifies with VerifyChain", func(t *testing.T) {
		leaf, err := x509.ParseCertificate(p.dsaLeaf)
		if err != nil {
			t.Fatal(err)
		}
		if leaf.SignatureAlgorithm != x509.DSAWithSHA1 || SignerAlgorithm(leaf.SignatureAlgorithm) != x509.DSA {
			t.Fatalf("signature %v", leaf.SignatureAlgorithm)
		}
		if _, err := VerifyChain(leaf, nil, []*x509.Certificate{p.dsaCA}, now); err != nil {
			t.Fatal(err)
		}
		// A flipped bit in the signed part must not verify.
		bad := bytes.Clone(p.dsaLeaf)
		i := bytes.Index(bad, []byte("dh.example"))
		bad[i] ^= 1
		badLeaf, err := x509.ParseCertificate(bad)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := VerifyChain(badLeaf, nil, []*x509.Certificate{p.dsaCA}, now); err == nil {
			t.Fatal("tampered certificate verified")
		}
	})
	t.Run("DSA subject key parses with crypto/x509", func(t *testing.T) {
		leaf, err := x509.ParseCertificate(p.dsaSubjectLeafDER)
		if err != nil {
			t.Fatal(err)
		}
		pub, ok := leaf.PublicKey.(*dsa.PublicKey)
		if !ok || pub.Y.Cmp(p.dsaSubjectLeafPriv.Y) != 0 || pub.Q.Cmp(legacytest.DSA1024.Q) != 0 {
			t.Fatalf("DSA key did not survive: %T", leaf.PublicKey)
		}
		if err := CheckSignatureFrom(leaf, p.dsaCA); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("self-signed DSA CA", func(t *testing.T) {
		if err := CheckSignatureFrom(p.dsaCA, p.dsaCA); err != nil {
			t.Fatal(err)
		}
		if !p.dsaCA.IsCA || p.dsaCA.KeyUsage != x509.KeyUsageCertSign {
			t.Fatal("CA extensions lost")
		}
	})
}

func TestCreateCertificateTimes(t *testing.T) {
	// Dates outside 1950..2049 need GeneralizedTime.
	k, _ := rsa.GenerateKey(rand.Reader, 1024)
	spki, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	nb := time.Date(1949, 6, 1, 0, 0, 0, 0, time.UTC)
	na := time.Date(2060, 6, 1, 0, 0, 0, 0, time.UTC)
	der, err := CreateCertificate(rand.Reader, &Template{SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: "t"},
		NotBefore: nb, NotAfter: na}, nil, spki, k)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if !c.NotBefore.Equal(nb) || !c.NotAfter.Equal(na) {
		t.Fatalf("validity %v..%v", c.NotBefore, c.NotAfter)
	}
}

// TestOpenSSLFixture parses an X9.42 SubjectPublicKeyInfo written by
// OpenSSL 3.0 (openssl genpkey -algorithm DHX with the RFC 5114 1024-bit
// group, then openssl pkey -pubout), so that the parser is checked against
// an encoder other than our own.
func TestOpenSSLFixture(t *testing.T) {
	der, err := hex.DecodeString(strings.Join(strings.Fields(opensslDHXPub), ""))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParseDHPublicKey(der)
	if err != nil {
		t.Fatal(err)
	}
	if pub.P.BitLen() != 1024 || pub.Q == nil || pub.Q.BitLen() != 160 {
		t.Fatalf("p %d bits, q %v", pub.P.BitLen(), pub.Q)
	}
	if new(big.Int).Exp(pub.Y, pub.Q, pub.P).Cmp(big.NewInt(1)) != 0 {
		t.Fatal("y is not in the q-order subgroup")
	}
	re, err := MarshalDHPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(re, der) {
		t.Fatalf("our encoding differs from OpenSSL's:\n%x\n%x", re, der)
	}
}

// opensslDHXPub is the DER public key of TestOpenSSLFixture.
const opensslDHXPub = `
308201b73082012c06072a8648ce3e02013082011f02818100b10b8f96a080e0
1dde92de5eae5d54ec52c99fbcfb06a3c69a6a9dca52d23b616073e28675a23d
189838ef1e2ee652c013ecb4aea906112324975c3cd49b83bfaccbdd7d90c4bd
7098488e9c219a73724effd6fae5644738faa31a4ff55bccc0a151af5f0dc8b4
bd45bf37df365c1a65e68cfda76d4da708df1fb2bc2e4a437102818100a4d1cb
d5c3fd34126765a442efb99905f8104dd258ac507fd6406cff14266d31266fea
1e5c41564b777e690f5504f213160217b4b01b886a5e91547f9e2749f4d7fbd7
d3b9a92ee1909d0d2263f80a76a6a24c087a091f531dbf0a0169b6a28ad662a4
d18e73afa32d779d5918d08bc8858f4dcef97c2a24855e6eeb22b3b2e5021500
f518aa8781a8df278aba4e7d64b7cb9d49462353038184000281804ce3086ee4
f6e66e593e4983521021715d1b7d6d523a27173077a902c6cd4b01f9b3c02eae
ceefb8a9e1ffeebd0bd405d1d0ff4ce21844ff5ae4550830f69e09a4bb90630a
7ab26ada35a6d921b3cd5e6ecdd533d8b2fa44a48048d9b8c26fd7356542c3e3
ee135cf8d1d13c07b3f79a024649f47cf6943a366ee87e8f9dcb11`
