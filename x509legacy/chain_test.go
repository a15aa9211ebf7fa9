package x509legacy

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenssl/tokenssl/internal/legacytest"
)

// chainNames renders chains as "leaf > inter > root" strings.
func chainNames(chains [][]*x509.Certificate) []string {
	var out []string
	for _, chain := range chains {
		var names []string
		for _, c := range chain {
			names = append(names, c.Subject.CommonName)
		}
		out = append(out, strings.Join(names, " > "))
	}
	return out
}

func TestVerifyChain(t *testing.T) {
	p := newPKI(t)
	rsaKey := testRSAKey(t)
	k1 := legacytest.NewDSAKey(t, legacytest.DSA1024)
	k2 := legacytest.NewDSAKey(t, legacytest.DSA1024)

	// Mixed algorithms: RSA root > DSA intermediate (RSA-signed) > RSA leaf
	// (DSA-signed).
	rsaRoot := issue(t, caOpts("RSA Root", x509.SHA256WithRSA), &rsaKey.PublicKey, nil, rsaKey)
	dsaUnderRSA := issue(t, caOpts("DSA under RSA", x509.SHA256WithRSA), &k1.PublicKey, rsaRoot, rsaKey)
	rsaLeafUnderDSA := issue(t, certOpts{cn: "rsa leaf"}, &rsaKey.PublicKey, dsaUnderRSA, k1)

	// Version 1 DSA root without extensions, as in the SSL 3.0 era.
	v1Root := issue(t, certOpts{cn: "v1 Root", v1: true}, &k1.PublicKey, nil, k1)
	leafUnderV1 := issue(t, certOpts{cn: "leaf under v1"}, &k2.PublicKey, v1Root, k1)
	// A version 1 intermediate is not a CA.
	v1Inter := issue(t, certOpts{cn: "v1 Inter", v1: true}, &k2.PublicKey, p.root, p.rootKey)
	leafUnderV1Inter := issue(t, certOpts{cn: "leaf under v1 inter"}, &k1.PublicKey, v1Inter, k2)

	// Validity.
	expiredLeaf := issue(t, certOpts{cn: "expired leaf", notBefore: testNow.AddDate(-2, 0, 0), notAfter: testNow.AddDate(0, 0, -1)}, &k1.PublicKey, p.inter, p.interKey)
	futureLeaf := issue(t, certOpts{cn: "future leaf", notBefore: testNow.AddDate(0, 0, 1)}, &k1.PublicKey, p.inter, p.interKey)
	expiredInterOpts := caOpts("DSA Intermediate", x509.DSAWithSHA256)
	expiredInterOpts.notAfter = testNow.AddDate(0, -1, 0)
	expiredInter := issue(t, expiredInterOpts, &p.interKey.PublicKey, p.root, p.rootKey)

	// Issuer constraints.
	notCAOpts := certOpts{cn: "Not CA"}
	notCA := issue(t, notCAOpts, &k2.PublicKey, p.root, p.rootKey)
	leafUnderNotCA := issue(t, certOpts{cn: "leaf under not CA"}, &k1.PublicKey, notCA, k2)
	noCertSign := issue(t, certOpts{cn: "No certSign", isCA: true, keyUsage: x509.KeyUsageDigitalSignature}, &k2.PublicKey, p.root, p.rootKey)
	leafUnderNoCertSign := issue(t, certOpts{cn: "leaf under no certSign"}, &k1.PublicKey, noCertSign, k2)
	noBC := issue(t, certOpts{cn: "No BC", noBasicConstraints: true, keyUsage: x509.KeyUsageCertSign}, &k2.PublicKey, p.root, p.rootKey)
	leafUnderNoBC := issue(t, certOpts{cn: "leaf under no BC"}, &k1.PublicKey, noBC, k2)

	// pathLenConstraint 0 on the root forbids any intermediate.
	pathLenRootOpts := caOpts("PathLen0 Root", x509.DSAWithSHA256)
	pathLenRootOpts.pathLen = intPtr(0)
	pathLenRoot := issue(t, pathLenRootOpts, &p.rootKey.PublicKey, nil, p.rootKey)
	interPL := issue(t, caOpts("Inter under PathLen0", x509.DSAWithSHA256), &k2.PublicKey, pathLenRoot, p.rootKey)
	leafUnderInterPL := issue(t, certOpts{cn: "leaf under inter PL"}, &k1.PublicKey, interPL, k2)
	leafUnderPathLenRoot := issue(t, certOpts{cn: "leaf under PathLen0 root"}, &k1.PublicKey, pathLenRoot, p.rootKey)

	// Name constraints are not implemented, so they are refused.
	ncOpts := caOpts("Constrained", x509.DSAWithSHA256)
	ncOpts.nameConstraint = "example.com"
	nc := issue(t, ncOpts, &k2.PublicKey, p.root, p.rootKey)
	leafUnderNC := issue(t, certOpts{cn: "www.example.com"}, &k1.PublicKey, nc, k2)

	// Unknown critical extension.
	critLeaf := issue(t, certOpts{cn: "critical ext leaf", extra: []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 3, 4}, Critical: true, Value: []byte{5, 0}}}}, &k1.PublicKey, p.inter, p.interKey)

	// Two intermediates that certify each other, and no root: must not loop.
	loopA := issue(t, caOpts("Loop A", x509.DSAWithSHA1), &k1.PublicKey, nil, k1)
	loopB := issue(t, caOpts("Loop B", x509.DSAWithSHA1), &k2.PublicKey, loopA, k1)
	loopA2 := issue(t, caOpts("Loop A", x509.DSAWithSHA1), &k1.PublicKey, loopB, k2)
	leafUnderLoop := issue(t, certOpts{cn: "leaf under loop"}, &p.interKey.PublicKey, loopA, k1)

	// Self-signed leaf that is itself a trusted root.
	selfSigned := issue(t, caOpts("self-signed", x509.DSAWithSHA1), &k1.PublicKey, nil, k1)

	var invalid x509.CertificateInvalidError
	var unknown x509.UnknownAuthorityError
	var critical x509.UnhandledCriticalExtension
	tests := []struct {
		name          string
		leaf          *x509.Certificate
		intermediates []*x509.Certificate
		roots         []*x509.Certificate
		want          []string // chains, if success
		wantIs        error
		wantAs        any
		wantReason    x509.InvalidReason // with wantAs == &invalid
	}{
		{name: "DSA-SHA1 leaf > DSA-SHA256 inter > root", leaf: p.leaf, intermediates: []*x509.Certificate{p.inter}, roots: []*x509.Certificate{p.root},
			want: []string{"leaf.example > DSA Intermediate > DSA Root"}},
		{name: "DSA-SHA256 leaf, leaf also in intermediates", leaf: p.leafSHA256, intermediates: []*x509.Certificate{p.leafSHA256, p.inter}, roots: []*x509.Certificate{p.root},
			want: []string{"leaf.example > DSA Intermediate > DSA Root"}},
		{name: "intermediate directly", leaf: p.inter, roots: []*x509.Certificate{p.root},
			want: []string{"DSA Intermediate > DSA Root"}},
		{name: "two roots with the same name, one right", leaf: p.leaf, intermediates: []*x509.Certificate{p.inter}, roots: []*x509.Certificate{p.otherRoot, p.root},
			want: []string{"leaf.example > DSA Intermediate > DSA Root"}},
		{name: "mixed RSA and DSA", leaf: rsaLeafUnderDSA, intermediates: []*x509.Certificate{dsaUnderRSA}, roots: []*x509.Certificate{rsaRoot},
			want: []string{"rsa leaf > DSA under RSA > RSA Root"}},
		{name: "version 1 root", leaf: leafUnderV1, roots: []*x509.Certificate{v1Root},
			want: []string{"leaf under v1 > v1 Root"}},
		{name: "leaf is a root", leaf: selfSigned, roots: []*x509.Certificate{selfSigned},
			want: []string{"self-signed"}},

		{name: "tampered leaf signature", leaf: withBadSignature(t, p.leaf), intermediates: []*x509.Certificate{p.inter}, roots: []*x509.Certificate{p.root},
			wantIs: ErrSignature},
		{name: "tampered intermediate signature", leaf: p.leaf, intermediates: []*x509.Certificate{withBadSignature(t, p.inter)}, roots: []*x509.Certificate{p.root},
			wantIs: ErrSignature},
		{name: "wrong issuer: same name, other key", leaf: p.leaf, intermediates: []*x509.Certificate{p.inter}, roots: []*x509.Certificate{p.otherRoot},
			wantIs: ErrSignature},
		{name: "wrong issuer: unrelated root", leaf: p.leaf, intermediates: []*x509.Certificate{p.inter}, roots: []*x509.Certificate{rsaRoot},
			wantAs: &unknown},
		{name: "missing intermediate", leaf: p.leaf, roots: []*x509.Certificate{p.root},
			wantAs: &unknown},
		{name: "no roots", leaf: p.leaf, intermediates: []*x509.Certificate{p.inter},
			wantAs: &unknown},
		{name: "expired leaf", leaf: expiredLeaf, intermediates: []*x509.Certificate{p.inter}, roots: []*x509.Certificate{p.root},
			wantAs: &invalid, wantReason: x509.Expired},
		{name: "not yet valid leaf", leaf: futureLeaf, intermediates: []*x509.Certificate{p.inter}, roots: []*x509.Certificate{p.root},
			wantAs: &invalid, wantReason: x509.Expired},
		{name: "expired intermediate", leaf: p.leaf, intermediates: []*x509.Certificate{expiredInter}, roots: []*x509.Certificate{p.root},
			wantAs: &invalid, wantReason: x509.Expired},
		{name: "expired and valid intermediate", leaf: p.leaf, intermediates: []*x509.Certificate{expiredInter, p.inter}, roots: []*x509.Certificate{p.root},
			want: []string{"leaf.example > DSA Intermediate > DSA Root"}},
		{name: "intermediate not a CA", leaf: leafUnderNotCA, intermediates: []*x509.Certificate{notCA}, roots: []*x509.Certificate{p.root},
			wantAs: &invalid, wantReason: x509.NotAuthorizedToSign},
		{name: "intermediate without certSign", leaf: leafUnderNoCertSign, intermediates: []*x509.Certificate{noCertSign}, roots: []*x509.Certificate{p.root},
			wantAs: &invalid, wantReason: x509.NotAuthorizedToSign},
		{name: "v3 intermediate without basic constraints", leaf: leafUnderNoBC, intermediates: []*x509.Certificate{noBC}, roots: []*x509.Certificate{p.root},
			wantAs: &invalid, wantReason: x509.NotAuthorizedToSign},
		{name: "v1 intermediate", leaf: leafUnderV1Inter, intermediates: []*x509.Certificate{v1Inter}, roots: []*x509.Certificate{p.root},
			wantAs: &invalid, wantReason: x509.NotAuthorizedToSign},
		{name: "pathLen 0 root, intermediate below", leaf: leafUnderInterPL, intermediates: []*x509.Certificate{interPL}, roots: []*x509.Certificate{pathLenRoot},
			wantAs: &invalid, wantReason: x509.TooManyIntermediates},
		{name: "pathLen 0 root, leaf directly below", leaf: leafUnderPathLenRoot, roots: []*x509.Certificate{pathLenRoot},
			want: []string{"leaf under PathLen0 root > PathLen0 Root"}},
		{name: "name-constrained intermediate refused", leaf: leafUnderNC, intermediates: []*x509.Certificate{nc}, roots: []*x509.Certificate{p.root},
			wantAs: &invalid, wantReason: x509.CANotAuthorizedForThisName},
		{name: "unhandled critical extension", leaf: critLeaf, intermediates: []*x509.Certificate{p.inter}, roots: []*x509.Certificate{p.root},
			wantAs: &critical},
		{name: "issuer loop without root", leaf: leafUnderLoop, intermediates: []*x509.Certificate{loopA, loopB, loopA2}, roots: []*x509.Certificate{p.root},
			wantAs: &unknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			chains, err := VerifyChain(tc.leaf, tc.intermediates, tc.roots, testNow)
			if tc.want != nil {
				if err != nil {
					t.Fatalf("VerifyChain: %v", err)
				}
				if got := chainNames(chains); fmt.Sprint(got) != fmt.Sprint(tc.want) {
					t.Fatalf("chains = %q, want %q", got, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("VerifyChain succeeded: %q", chainNames(chains))
			}
			t.Logf("error: %v", err)
			if chains != nil {
				t.Errorf("chains = %q with error", chainNames(chains))
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Fatalf("err = %v, want %v", err, tc.wantIs)
			}
			if tc.wantAs != nil && !errors.As(err, tc.wantAs) {
				t.Fatalf("err = %T %v, want %T", err, err, tc.wantAs)
			}
			if tc.wantAs == &invalid && invalid.Reason != tc.wantReason {
				t.Fatalf("reason = %v (%v), want %v", invalid.Reason, err, tc.wantReason)
			}
		})
	}
}

// TestVerifyChainDepth builds a straight chain root > i1 > ... > iN > leaf
// and checks the MaxDepth limit (certificates above the leaf).
func TestVerifyChainDepth(t *testing.T) {
	key := legacytest.NewDSAKey(t, legacytest.DSA1024)
	root := issue(t, caOpts("depth root", x509.DSAWithSHA1), &key.PublicKey, nil, key)
	var inters []*x509.Certificate
	parent := root
	for i := 1; i <= MaxDepth; i++ {
		c := issue(t, caOpts(fmt.Sprintf("depth inter %d", i), x509.DSAWithSHA1), &key.PublicKey, parent, key)
		inters = append(inters, c)
		parent = c
	}
	for _, tc := range []struct {
		intermediates int
		ok            bool
	}{
		{0, true},
		{MaxDepth - 1, true}, // MaxDepth certificates above the leaf
		{MaxDepth, false},
	} {
		t.Run(fmt.Sprintf("%d intermediates", tc.intermediates), func(t *testing.T) {
			issuer := root
			if tc.intermediates > 0 {
				issuer = inters[tc.intermediates-1]
			}
			leaf := issue(t, certOpts{cn: "depth leaf"}, &key.PublicKey, issuer, key)
			chains, err := VerifyChain(leaf, inters, []*x509.Certificate{root}, testNow)
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				if len(chains) != 1 || len(chains[0]) != tc.intermediates+2 {
					t.Fatalf("chains = %q", chainNames(chains))
				}
				return
			}
			var invalid x509.CertificateInvalidError
			if !errors.As(err, &invalid) || invalid.Reason != x509.TooManyIntermediates {
				t.Fatalf("err = %v, want TooManyIntermediates", err)
			}
		})
	}
}

// stdCert has crypto/x509 issue tmpl under parent, signed by key (whose
// public half the certificate also carries), and parses the result.
func stdCert(t *testing.T, tmpl, parent *x509.Certificate, key *rsa.PrivateKey) *x509.Certificate {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// TestVerifyChainRSAFallback checks that an RSA-only chain made by
// crypto/x509 itself verifies through the fallback, and agrees with
// x509.Verify.
func TestVerifyChainRSAFallback(t *testing.T) {
	key := testRSAKey(t)
	rootTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "std RSA Root"},
		NotBefore:             testNow.AddDate(-1, 0, 0),
		NotAfter:              testNow.AddDate(1, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	root := stdCert(t, rootTmpl, rootTmpl, key)
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "std rsa leaf"},
		NotBefore:    testNow.AddDate(-1, 0, 0),
		NotAfter:     testNow.AddDate(1, 0, 0),
		DNSNames:     []string{"rsa.example"},
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leaf := stdCert(t, leafTmpl, root, key)

	pool := x509.NewCertPool()
	pool.AddCert(root)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: testNow}); err != nil {
		t.Fatalf("x509.Verify: %v", err)
	}
	chains, err := VerifyChain(leaf, nil, []*x509.Certificate{root}, testNow)
	if err != nil {
		t.Fatalf("VerifyChain: %v", err)
	}
	if got := chainNames(chains); fmt.Sprint(got) != "[std rsa leaf > std RSA Root]" {
		t.Fatalf("chains = %q", got)
	}
	if _, err := VerifyChain(leaf, nil, []*x509.Certificate{root}, testNow.AddDate(2, 0, 0)); err == nil {
		t.Fatal("expired RSA chain verified")
	}
}

// TestStdlibRejectsDSA documents why this package exists: crypto/x509
// refuses the DSA chain that VerifyChain accepts.
func TestStdlibRejectsDSA(t *testing.T) {
	p := newPKI(t)
	roots, inters := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(p.root)
	inters.AddCert(p.inter)
	_, err := p.leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters, CurrentTime: testNow})
	if err == nil {
		t.Fatal("crypto/x509 verified a DSA chain; x509legacy may no longer be needed")
	}
	t.Logf("x509.Verify: %v", err)
	for _, c := range []struct {
		child, parent *x509.Certificate
	}{{p.leaf, p.inter}, {p.inter, p.root}} {
		err := c.child.CheckSignatureFrom(c.parent)
		if err == nil {
			t.Fatalf("crypto/x509 CheckSignatureFrom accepted %v", c.child.SignatureAlgorithm)
		}
		t.Logf("x509 CheckSignatureFrom, %v: %T %v", c.child.SignatureAlgorithm, err, err)
	}
	if !HasDSASignature(append([]*x509.Certificate{p.leaf}, p.inter)...) {
		t.Fatal("HasDSASignature = false")
	}
	if _, err := VerifyChain(p.leaf, []*x509.Certificate{p.inter}, []*x509.Certificate{p.root}, testNow); err != nil {
		t.Fatal(err)
	}
}

func TestHasDSASignature(t *testing.T) {
	p := newPKI(t)
	key := testRSAKey(t)
	rsaRoot := issue(t, caOpts("RSA Root", x509.SHA256WithRSA), &key.PublicKey, nil, key)
	rsaLeaf := issue(t, certOpts{cn: "rsa leaf", sigAlg: x509.SHA256WithRSA}, &key.PublicKey, rsaRoot, key)
	for _, tc := range []struct {
		name  string
		certs []*x509.Certificate
		want  bool
	}{
		{"none", nil, false},
		{"nil", []*x509.Certificate{nil}, false},
		{"RSA only", []*x509.Certificate{rsaLeaf, rsaRoot}, false},
		{"DSA-SHA1 leaf", []*x509.Certificate{p.leaf}, true},
		{"DSA-SHA256 intermediate", []*x509.Certificate{rsaLeaf, p.inter}, true},
	} {
		if got := HasDSASignature(tc.certs...); got != tc.want {
			t.Errorf("%s: HasDSASignature = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func readPEM(t *testing.T, name string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "openssl", name))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("%s: no certificate", name)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return c
}

// TestOpenSSLChain verifies a chain made by OpenSSL 3.0 (see
// testdata/openssl/gen.sh): DSA 2048/256 root (DSA-SHA256, self-signed),
// DSA 1024/160 intermediate (DSA-SHA256), RSA leaf signed with DSA-SHA1.
func TestOpenSSLChain(t *testing.T) {
	root, inter, leaf := readPEM(t, "root.pem"), readPEM(t, "inter.pem"), readPEM(t, "leaf.pem")
	for _, c := range []struct {
		cert *x509.Certificate
		alg  x509.SignatureAlgorithm
		key  string
	}{{root, x509.DSAWithSHA256, "*dsa.PublicKey"}, {inter, x509.DSAWithSHA256, "*dsa.PublicKey"}, {leaf, x509.DSAWithSHA1, "*rsa.PublicKey"}} {
		if c.cert.SignatureAlgorithm != c.alg || fmt.Sprintf("%T", c.cert.PublicKey) != c.key {
			t.Fatalf("%s: %v %T", c.cert.Subject, c.cert.SignatureAlgorithm, c.cert.PublicKey)
		}
	}
	now := time.Date(2040, time.January, 1, 0, 0, 0, 0, time.UTC)
	for _, pair := range [][2]*x509.Certificate{{root, root}, {inter, root}, {leaf, inter}} {
		if err := CheckSignatureFrom(pair[0], pair[1]); err != nil {
			t.Errorf("CheckSignatureFrom(%s, %s): %v", pair[0].Subject.CommonName, pair[1].Subject.CommonName, err)
		}
	}
	chains, err := VerifyChain(leaf, []*x509.Certificate{inter}, []*x509.Certificate{root}, now)
	if err != nil {
		t.Fatal(err)
	}
	if got := chainNames(chains); fmt.Sprint(got) != "[leaf.example > OpenSSL DSA Intermediate > OpenSSL DSA Root]" {
		t.Fatalf("chains = %q", got)
	}
	if err := leaf.VerifyHostname("leaf.example"); err != nil {
		t.Error(err)
	}
	if _, err := VerifyChain(leaf, []*x509.Certificate{withBadSignature(t, inter)}, []*x509.Certificate{root}, now); !errors.Is(err, ErrSignature) {
		t.Errorf("tampered OpenSSL intermediate: err = %v", err)
	}
}

func TestVerifyChainArguments(t *testing.T) {
	if _, err := VerifyChain(nil, nil, nil, testNow); err == nil {
		t.Error("nil leaf accepted")
	}
	// A zero time means now; the generated certificates are around 2030.
	p := newPKI(t)
	_, err := VerifyChain(p.leaf, []*x509.Certificate{p.inter}, []*x509.Certificate{p.root}, time.Time{})
	if now := time.Now(); now.After(p.leaf.NotBefore) && now.Before(p.leaf.NotAfter) {
		if err != nil {
			t.Errorf("zero time: %v", err)
		}
	} else if err == nil {
		t.Error("zero time: chain outside its validity accepted")
	}
	// nil entries in the pools are skipped.
	if _, err := VerifyChain(p.leaf, []*x509.Certificate{nil, p.inter}, []*x509.Certificate{nil, p.root}, testNow); err != nil {
		t.Errorf("nil pool entries: %v", err)
	}
	if err := CheckSignatureFrom(nil, p.root); err == nil {
		t.Error("nil child accepted")
	}
}
