package x509legacy_test

import (
	"bytes"
	"crypto/dsa"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/tokenssl/tokenssl/internal/legacytest"
	"github.com/tokenssl/tokenssl/kea"
	. "github.com/tokenssl/tokenssl/x509legacy"
)

// pki is a test CA with a KEA leaf and a DSA leaf.
type pki struct {
	params           *kea.Params
	caKey            *dsa.PrivateKey
	caDER            []byte
	ca               *Certificate
	keaKey           *kea.PrivateKey
	keaDER, keaFull  []byte
	dsaKey           *dsa.PrivateKey
	dsaDER           []byte
	notBefore, notAf time.Time
}

func dsaKey(t testing.TB, params *kea.Params) *dsa.PrivateKey {
	t.Helper()
	return legacytest.NewDSAKey(t, dsa.Parameters{P: params.P, Q: params.Q, G: params.G})
}

func newPKI(t testing.TB) *pki {
	t.Helper()
	p := &pki{params: kea.DefaultParams()}
	p.notBefore = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p.notAf = time.Date(2036, 1, 2, 3, 4, 5, 0, time.UTC)
	p.caKey = dsaKey(t, p.params)
	var err error
	p.caDER, err = CreateCACertificate(nil, &Template{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "tokenssl test CA", Organization: []string{"tokenssl"}},
		NotBefore:    p.notBefore, NotAfter: p.notAf,
	}, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	if p.ca, err = ParseCertificate(p.caDER); err != nil {
		t.Fatal(err)
	}
	if p.keaKey, err = kea.GenerateKey(nil, p.params); err != nil {
		t.Fatal(err)
	}
	tmpl := &Template{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "kea.example", Organization: []string{"tokenssl"}},
		NotBefore:    p.notBefore, NotAfter: p.notAf,
	}
	if p.keaDER, err = CreateKEACertificate(nil, tmpl, p.params.DSAParameters(), p.keaKey.Y, p.ca, p.caKey); err != nil {
		t.Fatal(err)
	}
	tmpl.KEAParams = KEAParamsFull
	tmpl.SerialNumber = big.NewInt(3)
	if p.keaFull, err = CreateKEACertificate(nil, tmpl, p.params.DSAParameters(), p.keaKey.Y, p.ca, p.caKey); err != nil {
		t.Fatal(err)
	}
	p.dsaKey = dsaKey(t, p.params)
	if p.dsaDER, err = CreateDSACertificate(nil, &Template{
		Subject:   pkix.Name{CommonName: "dss.example"},
		NotBefore: p.notBefore, NotAfter: p.notAf,
	}, &p.dsaKey.PublicKey, p.ca, p.caKey); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestParamsIDDefinition recomputes the KEA-Parms-Id from a hand-built
// Dss-Parms encoding of the default group.
func TestParamsIDDefinition(t *testing.T) {
	params := kea.DefaultParams()
	// p and q have the top bit set (need a 0x00 sign byte); g does not.
	if params.P.Bytes()[0] < 0x80 || params.Q.Bytes()[0] < 0x80 || params.G.Bytes()[0] >= 0x80 {
		t.Fatal("hand encoding below assumes the default group's leading bytes")
	}
	var body []byte
	body = append(body, 0x02, 0x81, 0x81, 0x00)
	body = append(body, params.P.Bytes()...)
	body = append(body, 0x02, 0x15, 0x00)
	body = append(body, params.Q.Bytes()...)
	body = append(body, 0x02, 0x81, 0x80)
	body = append(body, params.G.Bytes()...)
	der := append([]byte{0x30, 0x82, byte(len(body) >> 8), byte(len(body))}, body...)
	h := sha1.Sum(der)
	want := make([]byte, 10)
	for i := range want {
		want[i] = h[i] ^ h[i+10]
	}
	got, err := KEAParamsID(params.DSAParameters())
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("ParamsID = %x, %v; want %x", got, err, want)
	}
	t.Logf("KEA-Parms-Id of the default group: %x", got)
	other := kea.DefaultParams()
	other.G = new(big.Int).Exp(other.G, big.NewInt(2), other.P)
	if id, _ := KEAParamsID(other.DSAParameters()); bytes.Equal(id, got) {
		t.Fatal("different groups, same ParamsID")
	}
	if _, err := KEAParamsID(nil); err == nil {
		t.Fatal("KEAParamsID(nil) succeeded")
	}
}

func TestKEARoundTrip(t *testing.T) {
	p := newPKI(t)

	// CA.
	if p.ca.Subject.CommonName != "tokenssl test CA" || p.ca.Issuer.CommonName != "tokenssl test CA" {
		t.Errorf("CA names: %v / %v", p.ca.Subject, p.ca.Issuer)
	}
	if !p.ca.IsCA || !p.ca.BasicConstraintsValid || p.ca.KeyUsage&x509.KeyUsageCertSign == 0 || p.ca.Version != 3 {
		t.Errorf("CA flags: IsCA=%v KeyUsage=%v version=%d", p.ca.IsCA, p.ca.KeyUsage, p.ca.Version)
	}
	if !p.ca.NotBefore.Equal(p.notBefore) || !p.ca.NotAfter.Equal(p.notAf) {
		t.Errorf("CA validity %v - %v", p.ca.NotBefore, p.ca.NotAfter)
	}
	if err := VerifyDSASignature(p.ca, p.ca); err != nil {
		t.Errorf("self-signed CA: %v", err)
	}

	// KEA leaves, both parameter encodings.
	wantID, _ := KEAParamsID(p.params.DSAParameters())
	for _, tc := range []struct {
		name string
		der  []byte
		full bool
	}{{"by-id", p.keaDER, false}, {"full", p.keaFull, true}} {
		t.Run(tc.name, func(t *testing.T) {
			kc, err := ParseKEACertificate(tc.der)
			if err != nil {
				t.Fatal(err)
			}
			if kc.Subject.CommonName != "kea.example" || kc.Issuer.CommonName != "tokenssl test CA" {
				t.Errorf("names: %v / %v", kc.Subject, kc.Issuer)
			}
			if !kc.NotBefore.Equal(p.notBefore) || !kc.NotAfter.Equal(p.notAf) {
				t.Errorf("validity %v - %v", kc.NotBefore, kc.NotAfter)
			}
			if kc.Y.Cmp(p.keaKey.Y) != 0 {
				t.Error("KEA public value differs")
			}
			if !bytes.Equal(kc.ParamsID, wantID) {
				t.Errorf("ParamsID %x, want %x", kc.ParamsID, wantID)
			}
			if (kc.Params != nil) != tc.full || (tc.full && !paramsEqual(kc.Params, p.params)) {
				t.Errorf("Params = %v", kc.Params)
			}
			if kc.KeyUsage != x509.KeyUsageKeyAgreement || kc.IsCA {
				t.Errorf("KeyUsage = %v, IsCA = %v", kc.KeyUsage, kc.IsCA)
			}
			if !bytes.Equal(kc.AuthorityKeyID, p.ca.SubjectKeyID) || len(kc.SubjectKeyID) != 20 {
				t.Errorf("AKI %x, CA SKI %x, SKI %x", kc.AuthorityKeyID, p.ca.SubjectKeyID, kc.SubjectKeyID)
			}
			if err := VerifyDSASignature(&kc.Certificate, p.ca); err != nil {
				t.Errorf("VerifyDSASignature: %v", err)
			}
			pub, err := kea.CertificatePublicKey(kc.KEA, p.params)
			if err != nil || pub.Y.Cmp(p.keaKey.Y) != 0 {
				t.Errorf("KEA.PublicKey: %v", err)
			}
			other, _ := kea.GenerateParams(nil)
			if _, err := kea.CertificatePublicKey(kc.KEA, other); !errors.Is(err, ErrParamsMismatch) {
				t.Errorf("KEA.PublicKey with another group: %v", err)
			}
			if err := kc.CheckValidity(p.notBefore.Add(time.Hour)); err != nil {
				t.Error(err)
			}
			if kc.CheckValidity(p.notBefore.Add(-time.Second)) == nil || kc.CheckValidity(p.notAf.Add(time.Second)) == nil {
				t.Error("CheckValidity accepted a time outside the validity period")
			}
		})
	}

	// DSA leaf.
	c, pub, err := ParseDSACertificate(p.dsaDER)
	if err != nil {
		t.Fatal(err)
	}
	if !DSAKeysEqual(pub, &p.dsaKey.PublicKey) || c.KeyUsage != x509.KeyUsageDigitalSignature {
		t.Errorf("DSA leaf: key equal %v, KeyUsage %v", DSAKeysEqual(pub, &p.dsaKey.PublicKey), c.KeyUsage)
	}
	if c.SerialNumber.Sign() <= 0 {
		t.Errorf("random serial %v", c.SerialNumber)
	}
	if err := VerifyDSASignature(c, p.ca); err != nil {
		t.Errorf("DSA leaf: %v", err)
	}
	if _, err := ParseKEACertificate(p.dsaDER); !errors.Is(err, ErrNotKEA) {
		t.Errorf("ParseKEACertificate(DSA cert) = %v", err)
	}
	if _, _, err := ParseDSACertificate(p.keaDER); !errors.Is(err, ErrUnsupportedKey) {
		t.Errorf("ParseDSACertificate(KEA cert) = %v", err)
	}
}

func TestKEAVerifyRejects(t *testing.T) {
	p := newPKI(t)
	leaf, _ := ParseCertificate(p.keaDER)

	// A flipped bit anywhere in the TBS part either breaks parsing or the
	// signature; sample every position of the TBS.
	tbsStart := bytes.Index(p.keaDER, leaf.RawTBSCertificate)
	for i := tbsStart; i < tbsStart+len(leaf.RawTBSCertificate); i += 7 {
		bad := bytes.Clone(p.keaDER)
		bad[i] ^= 0x01
		c, err := ParseCertificate(bad)
		if err != nil {
			continue
		}
		if err := VerifyDSASignature(c, p.ca); err == nil {
			t.Fatalf("flipped byte %d: signature still verifies", i)
		}
	}

	// Same CA name, different key.
	p2 := newPKI(t)
	if err := VerifyDSASignature(leaf, p2.ca); !errors.Is(err, ErrSignature) {
		t.Errorf("other CA key: %v, want ErrSignature", err)
	}
	// A leaf is not a CA.
	dsaLeaf, _ := ParseCertificate(p.dsaDER)
	if err := VerifyDSASignature(leaf, dsaLeaf); !errors.Is(err, ErrIssuerMismatch) {
		t.Errorf("leaf as CA: %v, want ErrIssuerMismatch", err)
	}
	// A KEA certificate cannot act as a DSA CA.
	if err := VerifyDSASignature(p.ca, leaf); err == nil {
		t.Error("KEA certificate verified a signature")
	}
	if err := VerifyDSASignature(nil, p.ca); err == nil {
		t.Error("nil certificate accepted")
	}
	// Creating with a CA key that does not match the CA certificate.
	if _, err := CreateDSACertificate(nil, &Template{}, &p.dsaKey.PublicKey, p.ca, p2.caKey); err == nil {
		t.Error("CreateDSACertificate accepted a mismatched CA key")
	}
	if _, err := CreateKEACertificate(nil, &Template{}, p.params.DSAParameters(), p.keaKey.Y, leaf, p.caKey); err == nil {
		t.Error("CreateKEACertificate accepted a KEA certificate as CA")
	}
	if _, err := CreateKEACertificate(nil, &Template{}, p.params.DSAParameters(), nil, p.ca, p.caKey); err == nil {
		t.Error("CreateKEACertificate accepted a nil key")
	}
	if _, err := CreateCACertificate(nil, &Template{NotBefore: p.notAf, NotAfter: p.notBefore}, p.caKey); err == nil {
		t.Error("CreateCACertificate accepted NotAfter < NotBefore")
	}
}

// Go's crypto/x509 parses our DSA certificates (and DSA keys) and parses the
// KEA certificate too, but without understanding the .22 key: PublicKey is
// nil and PublicKeyAlgorithm is UnknownPublicKeyAlgorithm. It cannot verify
// DSA signatures at all (hence VerifyDSASignature).
func TestCryptoX509Interop(t *testing.T) {
	p := newPKI(t)
	for _, tc := range []struct {
		name string
		der  []byte
		alg  x509.PublicKeyAlgorithm
	}{
		{"ca", p.caDER, x509.DSA}, {"dsa-leaf", p.dsaDER, x509.DSA},
		{"kea-by-id", p.keaDER, x509.UnknownPublicKeyAlgorithm}, {"kea-full", p.keaFull, x509.UnknownPublicKeyAlgorithm},
	} {
		c, err := x509.ParseCertificate(tc.der)
		if err != nil {
			t.Errorf("%s: crypto/x509: %v", tc.name, err)
			continue
		}
		if c.PublicKeyAlgorithm != tc.alg || c.SignatureAlgorithm != x509.DSAWithSHA1 {
			t.Errorf("%s: crypto/x509 sees %v / %v", tc.name, c.PublicKeyAlgorithm, c.SignatureAlgorithm)
		}
		ours, _ := ParseCertificate(tc.der)
		if c.Subject.String() != ours.Subject.String() || c.Issuer.String() != ours.Issuer.String() ||
			c.SerialNumber.Cmp(ours.SerialNumber) != 0 || c.KeyUsage != ours.KeyUsage || c.IsCA != ours.IsCA ||
			!bytes.Equal(c.SubjectKeyId, ours.SubjectKeyID) || !bytes.Equal(c.AuthorityKeyId, ours.AuthorityKeyID) {
			t.Errorf("%s: crypto/x509 and x509legacy disagree", tc.name)
		}
		if tc.alg == x509.UnknownPublicKeyAlgorithm {
			k, err := ParseKEAPublicKey(c.RawSubjectPublicKeyInfo)
			if err != nil || k.Y.Cmp(p.keaKey.Y) != 0 {
				t.Errorf("%s: KEA key from crypto/x509's RawSubjectPublicKeyInfo: %v", tc.name, err)
			}
		}
		if tc.alg == x509.DSA {
			if pub, ok := c.PublicKey.(*dsa.PublicKey); !ok || pub.Y.Cmp(ours.PublicKey.(*dsa.PublicKey).Y) != 0 {
				t.Errorf("%s: DSA key differs", tc.name)
			}
		}
	}
}

// Certificates with other keys parse, with PublicKey nil.
func TestForeignCertificate(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: "ec"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if c.PublicKey != nil || c.Subject.CommonName != "ec" {
		t.Errorf("foreign cert: PublicKey %T, subject %v", c.PublicKey, c.Subject)
	}
	if _, err := ParseKEACertificate(der); !errors.Is(err, ErrNotKEA) {
		t.Errorf("ParseKEACertificate(EC cert) = %v", err)
	}
	if err := VerifyDSASignature(c, c); err == nil {
		t.Error("VerifyDSASignature accepted an ECDSA signature")
	}
}

func TestPublicKeyEncoding(t *testing.T) {
	params := kea.DefaultParams()
	k, _ := kea.GenerateKey(nil, params)
	for _, enc := range []KEAParamsEncoding{KEAParamsByID, KEAParamsFull} {
		der, err := MarshalKEAPublicKey(params.DSAParameters(), k.Y, enc)
		if err != nil {
			t.Fatal(err)
		}
		pk, err := ParseKEAPublicKey(der)
		if err != nil {
			t.Fatal(err)
		}
		if pk.Y.Cmp(k.Y) != 0 || (pk.Params != nil) != (enc == KEAParamsFull) {
			t.Errorf("enc %d: round trip mismatch", enc)
		}
	}
	if _, err := MarshalKEAPublicKey(params.DSAParameters(), k.Y, KEAParamsEncoding(7)); err == nil {
		t.Error("unknown encoding accepted")
	}
	// The BIT STRING holds exactly the 128-byte value: 03 81 81 00 ‖ Y.
	der, _ := MarshalKEAPublicKey(params.DSAParameters(), k.Y, KEAParamsByID)
	y, _ := kea.EncodeValue(k.Y)
	if !bytes.HasSuffix(der, append([]byte{0x03, 0x81, 0x81, 0x00}, y...)) {
		t.Errorf("unexpected KEA SPKI layout: %x", der)
	}
	// Params id as OCTET STRING of 10 bytes right after the OID.
	id, _ := KEAParamsID(params.DSAParameters())
	oid := []byte{0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x02, 0x01, 0x01, 0x16}
	if !bytes.Contains(der, append(append(oid, 0x04, 0x0a), id...)) {
		t.Errorf("KEA AlgorithmIdentifier not as expected: %x", der)
	}
	// A stripped (shorter) Y is accepted on input.
	spki, _ := keaPublicKeyInfo(k.Public(), KEAParamsByID)
	small := big.NewInt(0x1234)
	spki.PublicKey = asn1.BitString{Bytes: small.Bytes(), BitLength: 16}
	sder, _ := asn1.Marshal(*spki)
	if pk, err := ParseKEAPublicKey(sder); err != nil || pk.Y.Cmp(small) != 0 {
		t.Errorf("short Y: %v", err)
	}
	// Rejected: partial bytes, empty, over 128 bytes, zero, bad params id.
	for name, mod := range map[string]func(p *publicKeyInfo){
		"partial": func(p *publicKeyInfo) { p.PublicKey.BitLength = 15 },
		"empty":   func(p *publicKeyInfo) { p.PublicKey = asn1.BitString{} },
		"long":    func(p *publicKeyInfo) { p.PublicKey = asn1.BitString{Bytes: make([]byte, 129), BitLength: 129 * 8} },
		"zero":    func(p *publicKeyInfo) { p.PublicKey = asn1.BitString{Bytes: []byte{0, 0}, BitLength: 16} },
		"id-9": func(p *publicKeyInfo) {
			p.Algorithm.Parameters = asn1.RawValue{FullBytes: []byte{4, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9}}
		},
		"no-params": func(p *publicKeyInfo) { p.Algorithm.Parameters = asn1.RawValue{} },
		"null":      func(p *publicKeyInfo) { p.Algorithm.Parameters = asn1.RawValue{FullBytes: asn1.NullBytes} },
	} {
		p, _ := keaPublicKeyInfo(k.Public(), KEAParamsByID)
		mod(p)
		der, err := asn1.Marshal(*p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseKEAPublicKey(der); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: ParseKEAPublicKey = %v, want ErrMalformed", name, err)
		}
	}
	dsaK := dsaKey(t, params)
	dder, err := MarshalDSAPublicKey(&dsaK.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if pub, err := ParsePublicKey(dder); err != nil || !DSAKeysEqual(pub.(*dsa.PublicKey), &dsaK.PublicKey) {
		t.Errorf("DSA SPKI round trip: %v", err)
	}
	if _, err := ParseKEAPublicKey(dder); !errors.Is(err, ErrNotKEA) {
		t.Errorf("ParseKEAPublicKey(DSA) = %v", err)
	}
}

func TestKEAKeyUsageEncoding(t *testing.T) {
	for _, tc := range []struct {
		ku   x509.KeyUsage
		want string
	}{
		{x509.KeyUsageDigitalSignature, "03020780"},
		{x509.KeyUsageKeyAgreement, "03020308"},
		{x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature, "03020186"},
		{x509.KeyUsageDecipherOnly, "0303070080"},
	} {
		der, err := MarshalKeyUsage(tc.ku)
		if got := hex.EncodeToString(der); err != nil || got != tc.want {
			t.Errorf("MarshalKeyUsage(%v) = %s, %v; want %s", tc.ku, got, err, tc.want)
		}
	}
}

// publicKeyInfo is SubjectPublicKeyInfo, for building malformed keys.
type publicKeyInfo struct {
	Algorithm pkix.AlgorithmIdentifier
	PublicKey asn1.BitString
}

// keaPublicKeyInfo returns MarshalKEAPublicKey's encoding of pub, decoded
// for modification.
func keaPublicKeyInfo(pub *kea.PublicKey, enc KEAParamsEncoding) (*publicKeyInfo, error) {
	der, err := MarshalKEAPublicKey(pub.Params.DSAParameters(), pub.Y, enc)
	if err != nil {
		return nil, err
	}
	var p publicKeyInfo
	if _, err := asn1.Unmarshal(der, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// paramsEqual reports whether a KEA group read from a certificate is params.
func paramsEqual(a *dsa.Parameters, params *kea.Params) bool {
	return a != nil && (&kea.Params{P: a.P, Q: a.Q, G: a.G}).Equal(params)
}
