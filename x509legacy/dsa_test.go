package x509legacy

import (
	"bytes"
	"crypto/dsa"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"math/big"
	"testing"

	"github.com/tokenssl/tokenssl/internal/legacytest"
)

func TestParseDSASignature(t *testing.T) {
	valid, err := MarshalDSASignature(big.NewInt(0x1234), big.NewInt(0x80))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		der  string
		r, s int64 // 0: want ErrMalformedSignature
	}{
		{"valid", hex.EncodeToString(valid), 0x1234, 0x80},
		{"valid small", "3006020101020102", 1, 2},
		{"empty", "", 0, 0},
		{"empty sequence", "3000", 0, 0},
		{"one integer", "3003020101", 0, 0},
		{"three integers", "3009020101020102020103", 0, 0},
		{"trailing data", "300602010102010200", 0, 0},
		{"zero r", "3006020100020102", 0, 0},
		{"negative s", "30060201010201ff", 0, 0},
		{"non-minimal integer", "300702020001020102", 0, 0},
		{"non-minimal length", "3081060201010201 02", 0, 0},
		{"indefinite length", "3080020101020102 0000", 0, 0},
		{"SET instead of SEQUENCE", "3106020101020102", 0, 0},
		{"OCTET STRING members", "3006040101040102", 0, 0},
		{"truncated", "30060201010201", 0, 0},
		{"length too long", "3007020101020102", 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			der, err := hex.DecodeString(stripSpaces(tc.der))
			if err != nil {
				t.Fatal(err)
			}
			r, s, err := ParseDSASignature(der)
			if tc.r == 0 {
				if !errors.Is(err, ErrMalformedSignature) {
					t.Fatalf("err = %v, want ErrMalformedSignature", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Int64() != tc.r || s.Int64() != tc.s {
				t.Fatalf("r, s = %v, %v; want %d, %d", r, s, tc.r, tc.s)
			}
		})
	}
	if _, _, err := ParseDSASignature(make([]byte, maxSigLen+1)); !errors.Is(err, ErrMalformedSignature) {
		t.Errorf("oversized input: err = %v", err)
	}
	for _, bad := range [][2]*big.Int{{nil, big.NewInt(1)}, {big.NewInt(0), big.NewInt(1)}, {big.NewInt(1), big.NewInt(-1)}} {
		if _, err := MarshalDSASignature(bad[0], bad[1]); err == nil {
			t.Errorf("MarshalDSASignature(%v, %v) succeeded", bad[0], bad[1])
		}
	}
}

func stripSpaces(s string) string {
	return string(bytes.ReplaceAll([]byte(s), []byte(" "), nil))
}

func TestTruncateDigest(t *testing.T) {
	d := sha256.Sum256([]byte("abc"))
	tests := []struct {
		name  string
		qBits int
		want  []byte
	}{
		{"no truncation", 256, d[:]},
		{"longer Q", 512, d[:]},
		{"to 160 bits", 160, d[:20]},
		{"to 224 bits", 224, d[:28]},
		{"to 155 bits", 155, new(big.Int).Rsh(new(big.Int).SetBytes(d[:20]), 5).FillBytes(make([]byte, 20))},
	}
	for _, tc := range tests {
		if got := truncateDigest(d[:], tc.qBits); !bytes.Equal(got, tc.want) {
			t.Errorf("%s: got %x, want %x", tc.name, got, tc.want)
		}
	}
}

func TestVerifyDSA(t *testing.T) {
	k1024 := legacytest.NewDSAKey(t, legacytest.DSA1024)
	k2048 := legacytest.NewDSAKey(t, legacytest.DSA2048Q256)
	msg := []byte("SSL 3.0 ServerKeyExchange params")
	s1 := sha1.Sum(msg)
	s256 := sha256.Sum256(msg)

	sign := func(key *dsa.PrivateKey, digest []byte) []byte {
		digest = truncateDigest(digest, key.Q.BitLen())
		r, s, err := dsa.Sign(rand.Reader, key, digest)
		if err != nil {
			t.Fatal(err)
		}
		sig, err := MarshalDSASignature(r, s)
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	sig1024sha1 := sign(k1024, s1[:])
	sig1024sha256 := sign(k1024, s256[:])
	sig2048sha256 := sign(k2048, s256[:])

	badQ := k1024.PublicKey
	badQ.Q = new(big.Int).Lsh(big.NewInt(1), 191) // 192-bit Q
	smallP := k1024.PublicKey
	smallP.P = new(big.Int).Rsh(smallP.P, 600)
	hugeP := k1024.PublicKey
	hugeP.P = new(big.Int).Lsh(big.NewInt(1), 8192)
	noY := k1024.PublicKey
	noY.Y = nil
	yOne := k1024.PublicKey
	yOne.Y = big.NewInt(1)

	flipped := bytes.Clone(sig1024sha1)
	flipped[len(flipped)-1] ^= 1

	tests := []struct {
		name    string
		pub     *dsa.PublicKey
		digest  []byte
		sig     []byte
		wantErr error
	}{
		{"1024/160 SHA-1", &k1024.PublicKey, s1[:], sig1024sha1, nil},
		{"1024/160 SHA-256 truncated", &k1024.PublicKey, s256[:], sig1024sha256, nil},
		{"2048/256 SHA-256", &k2048.PublicKey, s256[:], sig2048sha256, nil},
		{"wrong digest", &k1024.PublicKey, s256[:], sig1024sha1, ErrSignature},
		{"wrong key", &k2048.PublicKey, s256[:], sig1024sha256, ErrSignature},
		{"flipped signature bit", &k1024.PublicKey, s1[:], flipped, ErrSignature},
		{"malformed signature", &k1024.PublicKey, s1[:], sig1024sha1[:len(sig1024sha1)-1], ErrMalformedSignature},
		{"nil key", nil, s1[:], sig1024sha1, ErrUnsupportedKey},
		{"192-bit Q", &badQ, s1[:], sig1024sha1, ErrUnsupportedKey},
		{"small P", &smallP, s1[:], sig1024sha1, ErrUnsupportedKey},
		{"huge P", &hugeP, s1[:], sig1024sha1, ErrUnsupportedKey},
		{"missing Y", &noY, s1[:], sig1024sha1, ErrUnsupportedKey},
		{"Y = 1", &yOne, s1[:], sig1024sha1, ErrUnsupportedKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifyDSA(tc.pub, tc.digest, tc.sig)
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("VerifyDSA = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

// pki is a small set of certificates shared by the CheckSignatureFrom and
// VerifyChain tests.
type pki struct {
	rootKey, interKey, otherKey *dsa.PrivateKey
	root, inter, leaf           *x509.Certificate
	leafSHA256                  *x509.Certificate
	otherRoot                   *x509.Certificate // same name as root, other key
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{
		rootKey:  legacytest.NewDSAKey(t, legacytest.DSA2048Q256),
		interKey: legacytest.NewDSAKey(t, legacytest.DSA1024),
		otherKey: legacytest.NewDSAKey(t, legacytest.DSA2048Q256),
	}
	leafKey := legacytest.NewDSAKey(t, legacytest.DSA1024)
	p.root = issue(t, caOpts("DSA Root", x509.DSAWithSHA256), &p.rootKey.PublicKey, nil, p.rootKey)
	p.otherRoot = issue(t, caOpts("DSA Root", x509.DSAWithSHA256), &p.otherKey.PublicKey, nil, p.otherKey)
	p.inter = issue(t, caOpts("DSA Intermediate", x509.DSAWithSHA256), &p.interKey.PublicKey, p.root, p.rootKey)
	leafOpts := certOpts{cn: "leaf.example", keyUsage: x509.KeyUsageDigitalSignature}
	p.leaf = issue(t, leafOpts, &leafKey.PublicKey, p.inter, p.interKey)
	leafOpts.sigAlg = x509.DSAWithSHA256
	p.leafSHA256 = issue(t, leafOpts, &leafKey.PublicKey, p.inter, p.interKey)
	return p
}

// withBadSignature returns a copy of c whose signature value has its last
// byte changed (still a well-formed Dss-Sig-Value for a DSA signature).
func withBadSignature(t *testing.T, c *x509.Certificate) *x509.Certificate {
	t.Helper()
	bad := *c
	bad.Signature = bytes.Clone(c.Signature)
	bad.Signature[len(bad.Signature)-1] ^= 0x01
	return &bad
}

func TestCheckSignatureFrom(t *testing.T) {
	p := newPKI(t)
	rsaKey := testRSAKey(t)
	rsaRoot := issue(t, caOpts("RSA Root", x509.SHA256WithRSA), &rsaKey.PublicKey, nil, rsaKey)
	rsaLeafKey := legacytest.NewDSAKey(t, legacytest.DSA1024)
	dsaUnderRSA := issue(t, certOpts{cn: "dsa under rsa", sigAlg: x509.SHA256WithRSA}, &rsaLeafKey.PublicKey, rsaRoot, rsaKey)
	rsaUnderDSA := issue(t, certOpts{cn: "rsa under dsa"}, &rsaKey.PublicKey, p.inter, p.interKey)

	notCAKey := legacytest.NewDSAKey(t, legacytest.DSA1024)
	notCA := issue(t, certOpts{cn: "not a CA"}, &notCAKey.PublicKey, p.root, p.rootKey)
	childOfNotCA := issue(t, certOpts{cn: "child of not a CA"}, &rsaLeafKey.PublicKey, notCA, notCAKey)
	noCertSign := issue(t, certOpts{cn: "CA without certSign", isCA: true, keyUsage: x509.KeyUsageCRLSign}, &notCAKey.PublicKey, p.root, p.rootKey)
	childOfNoCertSign := issue(t, certOpts{cn: "child"}, &rsaLeafKey.PublicKey, noCertSign, notCAKey)

	tamperedTBS := *p.leaf
	tamperedTBS.RawTBSCertificate = bytes.Clone(p.leaf.RawTBSCertificate)
	tamperedTBS.RawTBSCertificate[len(tamperedTBS.RawTBSCertificate)-1] ^= 0x80

	var constraint x509.ConstraintViolationError
	tests := []struct {
		name          string
		child, parent *x509.Certificate
		ok            bool
		wantErr       error // checked with errors.Is, if set
		wantAs        any   // checked with errors.As, if set
	}{
		{"DSA-SHA256 self-signed root", p.root, p.root, true, nil, nil},
		{"DSA-SHA256 intermediate", p.inter, p.root, true, nil, nil},
		{"DSA-SHA1 leaf", p.leaf, p.inter, true, nil, nil},
		{"DSA-SHA256 leaf, 160-bit Q", p.leafSHA256, p.inter, true, nil, nil},
		{"DSA-signed RSA leaf", rsaUnderDSA, p.inter, true, nil, nil},
		{"RSA-signed DSA cert (fallback)", dsaUnderRSA, rsaRoot, true, nil, nil},
		{"RSA self-signed (fallback)", rsaRoot, rsaRoot, true, nil, nil},
		{"tampered signature", withBadSignature(t, p.leaf), p.inter, false, ErrSignature, nil},
		{"tampered TBS", &tamperedTBS, p.inter, false, ErrSignature, nil},
		{"wrong issuer key", p.inter, p.otherRoot, false, ErrSignature, nil},
		{"wrong issuer entirely", p.leaf, p.root, false, ErrSignature, nil},
		{"issuer not a CA", childOfNotCA, notCA, false, nil, &constraint},
		{"issuer key usage lacks certSign", childOfNoCertSign, noCertSign, false, nil, &constraint},
		{"DSA signature, RSA issuer key", p.leaf, rsaRoot, false, nil, nil},
		{"RSA signature, DSA issuer key (fallback)", dsaUnderRSA, p.root, false, nil, nil},
		{"nil parent", p.leaf, nil, false, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckSignatureFrom(tc.child, tc.parent)
			if tc.ok {
				if err != nil {
					t.Fatalf("CheckSignatureFrom = %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("CheckSignatureFrom succeeded")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if tc.wantAs != nil && !errors.As(err, tc.wantAs) {
				t.Fatalf("err = %T %v, want %T", err, err, tc.wantAs)
			}
		})
	}
}
