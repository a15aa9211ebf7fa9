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

func mustBig(s string) *big.Int {
	n, ok := new(big.Int).SetString(s, 16)
	if !ok {
		panic("bad hex: " + s)
	}
	return n
}

// Fixed DSA domain parameters (made once with dsa.GenerateParameters) so
// that the tests need not spend seconds generating 2048-bit primes; keys are
// still generated per run. TestParameters checks them.
var (
	params1024 = dsa.Parameters{
		P: mustBig("f593dda9f52235574497cb580fb99d76956c6463d06aba961ea7905957512f90599b428baf21799e5d65b25603c73f17d6ce118d04449181faf7cb0be3a5f782033153df98f34df58991bab64dba5691aa4dce33df27985597b70ce4f4880ca13a9c48cfb33d15bce8fe9227378fa0643681d177b5303d59915a19e6e2cc68df"),
		Q: mustBig("9fb4740e0c03a0455f71aa4f6afdc786f814a06d"),
		G: mustBig("ead4447cd01ece51ac07a814f76a22058127e2db24520df1d264087858444f1382ff6bcb69699aba7acf0ad4905104a3ac743a66c7bb379c84a1ccb731b6be81dcc8202a689638b9d9e309088033f27799157ec1a6cfd839d3e3d4021e63655029959518924af5b0de6834ce5b75ed10a84e2382e4e6a2db8a1908a5c0948b1b"),
	}
	params2048 = dsa.Parameters{
		P: mustBig("8e818bf064dad99784c5b5dcccbc77dfb87cd60ce0712e5dd07c03e77e438516cbf1754c1d2191e1002b8fd1127ee2286aced7d69fd513d7a87fa75790a0ced57b8cefa5a9d8769b692119962e29253158d4af036f1291e46f35d0a574d2bdb9a555080857904512527503fa8aed2c08a0cd40b184df193a525006dc6e5c4807ee38c99af2c0c9ea421fcd68acaa8deb5df618fa2afaca17cf01755af4a9f9dc904df9a80c003f9d4b506c7603bd74e71d26e886c8dc17b5ad271a9724b714225acef71eb701b776bcb0e27d8df2751da38a085aaa483f31e591d8870cc54ed3dd42a3054f2edc0c8cc3100a576b79297ce32c34a4e61f1ea001fb4692151e41"),
		Q: mustBig("fc98428693291be15394f8fe8cdf8adb8f0eaa0870b5e9d0d830fdfa8afa4e75"),
		G: mustBig("4bfc333a7d60d5cd0c23e368b1181cced4f0ad8e1f9f36b08381e30a218bc40115071ea410ad77617092f5f454f473419d5819033ab3a810c5426e31fdbfa590759db4f90575030552fa8d2fc6d1d53e9092291088b0dc85275b7199046e9fcc016eb58fe029eb6ed3b750df616efa9f6f0b6b71a53970e04c41f19cdbeb31ece70888a59e54e16bdb30e4f7cbc352e5ec347bdc4f090ba217391fdd9982cdf1d15dde7c3925614d233f5b3596c270aa838fd6f3c1d4a57cfd73542a18837aa682335d74821da962e153facd845b4141ffe39094ad49bc0525b765eb3cb1e6db4e8655732537d2e09210679c83b540ba6e7db5ea69d03230e122e8a402a29ac2"),
	}
	// 2048/224, made once with `openssl genpkey -genparam -algorithm DSA
	// -pkeyopt dsa_paramgen_bits:2048 -pkeyopt dsa_paramgen_q_bits:224`.
	params2048q224 = dsa.Parameters{
		P: mustBig("" +
			"8a7fcfe608c3575e21370357a42a8c84990f3c0d56a1b507a933cf72aa8693ab" +
			"fa277840a7b0e01e748b8f82221c0c3614ee8c4068933b0a98ec780a38d2f78d" +
			"0b949b23b77904e326ee85aa1ff069c634591f2bbfd5bdeb2fc64d0684711b62" +
			"b8081f80daa411641b1fb93b122f6c1484cc15e7f7d2981dfc2a7617615dee43" +
			"cf1536132713e9c183afe086698eda6aeab98903291cd68c59eb5aecb01889bc" +
			"e7ef5bd750324a28bc005aaae77f28d749db80da9c6c15bf53fd63cca27773a3" +
			"f32d1738eed78b306146820b35101c602cd2b8100f0a11ebcdf1db34346ea709" +
			"c423b8c1e74a9b75a9ea0ec89067b79d2c422e24f10b160edc3a6daa6d6f3591"),
		Q: mustBig("" +
			"eb64b4eb80e4036875e2d92063901318b9984d799ce2c0495968acbf"),
		G: mustBig("" +
			"dc21e962d76f6f559372a2fd7e00727450697a34d8332d8fb62b47e6290d79a2" +
			"03185c93406fe5dbafaecfc5acbcc718e5f40794561525029088b9ec217814d7" +
			"01aa19ff211508b19264ed0dca65e610a228f8de4741e7f677f579c2ff8da6c5" +
			"1f9f1fb1a1ea226e7445761ba8ca41c68703c3e578dc9d5144be0f2452aace39" +
			"bf9b5b05f4fdb27bad2ebf2f9c1c24be21d88eb472931395e93fc415931c3ad8" +
			"9d7fd63f12f7ade116563f9f5deab24308a5b608382f3dcc1eb6320d4055fe36" +
			"061925e5303b31a61f1da65b812bfdd88ecadf8981b97d567d463ac87c74707a" +
			"ca0a31a40400cbc478528d8675012dfebd476d2cff0c56ca8e9d3dbdca2f1e9"),
	}
)

func newDSAKey(t testing.TB, params dsa.Parameters) *dsa.PrivateKey {
	t.Helper()
	priv := &dsa.PrivateKey{PublicKey: dsa.PublicKey{Parameters: params}}
	if err := dsa.GenerateKey(priv, rand.Reader); err != nil {
		t.Fatal(err)
	}
	return priv
}

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
