package x509legacy

// Test helper: crypto/x509.CreateCertificate cannot sign with DSA (nor put a
// DSA key in a certificate), so this file assembles certificates by hand:
// it builds the TBSCertificate with encoding/asn1, signs it with crypto/dsa
// (or crypto/rsa), and wraps it in a Certificate.

import (
	"crypto"
	"crypto/dsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"sync"
	"testing"
	"time"
)

var (
	oidPublicKeyDSA       = asn1.ObjectIdentifier{1, 2, 840, 10040, 4, 1}
	oidSigDSAWithSHA1     = asn1.ObjectIdentifier{1, 2, 840, 10040, 4, 3}
	oidSigDSAWithSHA256   = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 2}
	oidExtBasicConstraint = asn1.ObjectIdentifier{2, 5, 29, 19}
	oidExtNameConstraints = asn1.ObjectIdentifier{2, 5, 29, 30}
)

// testNow is the verification time; generated certificates are valid for a
// year either side of it unless a test says otherwise.
var testNow = time.Date(2030, time.January, 1, 0, 0, 0, 0, time.UTC)

var (
	rsaKeyOnce sync.Once
	rsaKey     *rsa.PrivateKey
	rsaKeyErr  error
)

// testRSAKey returns one RSA key shared by the tests (generation is slow).
func testRSAKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	rsaKeyOnce.Do(func() { rsaKey, rsaKeyErr = rsa.GenerateKey(rand.Reader, 2048) })
	if rsaKeyErr != nil {
		t.Fatal(rsaKeyErr)
	}
	return rsaKey
}

// certOpts describes a certificate for issue. Zero values give a version 3
// end-entity certificate valid around testNow, signed with DSA-with-SHA1.
type certOpts struct {
	cn                  string
	serial              int64
	notBefore, notAfter time.Time
	v1                  bool // version 1: no extensions at all
	isCA                bool
	noBasicConstraints  bool
	pathLen             *int
	keyUsage            x509.KeyUsage
	nameConstraint      string // permitted dNSName subtree, if set
	extra               []pkix.Extension
	sigAlg              x509.SignatureAlgorithm // DSAWithSHA1 (default), DSAWithSHA256 or SHA256WithRSA
}

type tbsCertificate struct {
	Version            int `asn1:"optional,explicit,default:0,tag:0"`
	SerialNumber       *big.Int
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Issuer             asn1.RawValue
	Validity           validity
	Subject            asn1.RawValue
	PublicKey          asn1.RawValue
	Extensions         []pkix.Extension `asn1:"omitempty,optional,explicit,tag:3"`
}

type validity struct {
	NotBefore, NotAfter time.Time
}

type certificate struct {
	TBSCertificate     asn1.RawValue
	SignatureAlgorithm pkix.AlgorithmIdentifier
	SignatureValue     asn1.BitString
}

type subjectPublicKeyInfo struct {
	Algorithm pkix.AlgorithmIdentifier
	PublicKey asn1.BitString
}

type basicConstraints struct {
	IsCA       bool `asn1:"optional"`
	MaxPathLen int  `asn1:"optional,default:-1"`
}

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := asn1.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// marshalSPKI encodes a DSA (by hand) or RSA (by crypto/x509) public key.
func testMarshalSPKI(t testing.TB, pub any) []byte {
	t.Helper()
	switch pub := pub.(type) {
	case *dsa.PublicKey:
		params := mustMarshal(t, struct{ P, Q, G *big.Int }{pub.P, pub.Q, pub.G})
		y := mustMarshal(t, pub.Y)
		return mustMarshal(t, subjectPublicKeyInfo{
			Algorithm: pkix.AlgorithmIdentifier{Algorithm: oidPublicKeyDSA, Parameters: asn1.RawValue{FullBytes: params}},
			PublicKey: asn1.BitString{Bytes: y, BitLength: 8 * len(y)},
		})
	default:
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
}

func keyUsageExtension(t testing.TB, ku x509.KeyUsage) pkix.Extension {
	var b [2]byte
	n := 0
	for i := 0; i < 9; i++ {
		if ku&(1<<i) != 0 {
			b[i/8] |= 0x80 >> (i % 8)
			n = i + 1
		}
	}
	return pkix.Extension{Id: oidExtKeyUsage, Critical: true,
		Value: mustMarshal(t, asn1.BitString{Bytes: b[:(n+7)/8], BitLength: n})}
}

// nameConstraintsExtension permits one dNSName subtree.
func nameConstraintsExtension(t testing.TB, dns string) pkix.Extension {
	type generalSubtree struct {
		Base asn1.RawValue
	}
	type nameConstraints struct {
		Permitted []generalSubtree `asn1:"optional,tag:0"`
	}
	base := asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 2, Bytes: []byte(dns)}
	return pkix.Extension{Id: oidExtNameConstraints, Critical: true,
		Value: mustMarshal(t, nameConstraints{Permitted: []generalSubtree{{base}}})}
}

// signTBS signs tbs with priv (*dsa.PrivateKey or *rsa.PrivateKey) using alg.
func signTBS(t testing.TB, tbs []byte, alg x509.SignatureAlgorithm, priv any) []byte {
	t.Helper()
	switch alg {
	case x509.DSAWithSHA1, x509.DSAWithSHA256:
		key, ok := priv.(*dsa.PrivateKey)
		if !ok {
			t.Fatalf("%v needs a DSA key, have %T", alg, priv)
		}
		var digest []byte
		if alg == x509.DSAWithSHA1 {
			d := sha1.Sum(tbs)
			digest = d[:]
		} else {
			d := sha256.Sum256(tbs)
			digest = d[:]
		}
		// FIPS 186-3 §4.6: use the leftmost bits of the hash, as many as Q
		// has (all supported Q sizes are whole bytes).
		if n := key.Q.BitLen() / 8; len(digest) > n {
			digest = digest[:n]
		}
		r, s, err := dsa.Sign(rand.Reader, key, digest)
		if err != nil {
			t.Fatal(err)
		}
		return mustMarshal(t, struct{ R, S *big.Int }{r, s})
	case x509.SHA256WithRSA:
		key, ok := priv.(*rsa.PrivateKey)
		if !ok {
			t.Fatalf("%v needs an RSA key, have %T", alg, priv)
		}
		d := sha256.Sum256(tbs)
		sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, d[:])
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	t.Fatalf("unsupported signature algorithm %v", alg)
	return nil
}

// issue makes a certificate for subjectPub described by o, issued and
// signed by issuer/issuerPriv; issuer nil means self-signed (issuerPriv must
// then be the subject's private key).
func issue(t testing.TB, o certOpts, subjectPub any, issuer *x509.Certificate, issuerPriv any) *x509.Certificate {
	t.Helper()
	if o.sigAlg == x509.UnknownSignatureAlgorithm {
		o.sigAlg = x509.DSAWithSHA1
	}
	if o.notBefore.IsZero() {
		o.notBefore = testNow.AddDate(-1, 0, 0)
	}
	if o.notAfter.IsZero() {
		o.notAfter = testNow.AddDate(1, 0, 0)
	}
	if o.serial == 0 {
		o.serial = 1
	}
	sigAI := pkix.AlgorithmIdentifier{}
	switch o.sigAlg {
	case x509.DSAWithSHA1:
		sigAI.Algorithm = oidSigDSAWithSHA1
	case x509.DSAWithSHA256:
		sigAI.Algorithm = oidSigDSAWithSHA256
	case x509.SHA256WithRSA:
		sigAI = pkix.AlgorithmIdentifier{Algorithm: oidSigSHA256WithRSA, Parameters: asn1.NullRawValue}
	default:
		t.Fatalf("unsupported signature algorithm %v", o.sigAlg)
	}

	subject := mustMarshal(t, pkix.Name{Organization: []string{"tokenssl test"}, CommonName: o.cn}.ToRDNSequence())
	issuerName := subject
	if issuer != nil {
		issuerName = issuer.RawSubject
	}

	tbs := tbsCertificate{
		SerialNumber:       big.NewInt(o.serial),
		SignatureAlgorithm: sigAI,
		Issuer:             asn1.RawValue{FullBytes: issuerName},
		Validity:           validity{o.notBefore.UTC(), o.notAfter.UTC()},
		Subject:            asn1.RawValue{FullBytes: subject},
		PublicKey:          asn1.RawValue{FullBytes: testMarshalSPKI(t, subjectPub)},
	}
	if !o.v1 {
		tbs.Version = 2 // v3
		if !o.noBasicConstraints {
			bc := basicConstraints{IsCA: o.isCA, MaxPathLen: -1}
			if o.pathLen != nil {
				bc.MaxPathLen = *o.pathLen
			}
			tbs.Extensions = append(tbs.Extensions, pkix.Extension{Id: oidExtBasicConstraint, Critical: true, Value: mustMarshal(t, bc)})
		}
		if o.keyUsage != 0 {
			tbs.Extensions = append(tbs.Extensions, keyUsageExtension(t, o.keyUsage))
		}
		if o.nameConstraint != "" {
			tbs.Extensions = append(tbs.Extensions, nameConstraintsExtension(t, o.nameConstraint))
		}
		tbs.Extensions = append(tbs.Extensions, o.extra...)
	}
	tbsDER := mustMarshal(t, tbs)

	sig := signTBS(t, tbsDER, o.sigAlg, issuerPriv)
	der := mustMarshal(t, certificate{
		TBSCertificate:     asn1.RawValue{FullBytes: tbsDER},
		SignatureAlgorithm: sigAI,
		SignatureValue:     asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)},
	})
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("ParseCertificate(%s): %v", o.cn, err)
	}
	return cert
}

// caOpts returns options for a CA certificate.
func caOpts(cn string, alg x509.SignatureAlgorithm) certOpts {
	return certOpts{cn: cn, isCA: true, keyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, sigAlg: alg}
}

func intPtr(i int) *int { return &i }
