package x509legacy_test

import (
	"bytes"
	"crypto/dsa"
	"testing"

	"github.com/tokenssl/tokenssl/kea"
	. "github.com/tokenssl/tokenssl/x509legacy"
)

// FuzzParseCertificate: the certificate parsers never panic; whatever parses
// survives signature verification attempts, and a parsed KEA certificate's
// key stays within the documented bounds.
func FuzzParseCertificate(f *testing.F) {
	p := newPKI(f)
	for _, der := range [][]byte{p.caDER, p.keaDER, p.keaFull, p.dsaDER} {
		f.Add(der)
	}
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, der []byte) {
		c, err := ParseCertificate(der)
		kc, kerr := ParseKEACertificate(der)
		ParseDSACertificate(der)
		if err != nil {
			if kerr == nil {
				t.Fatal("ParseKEACertificate accepted what ParseCertificate rejected")
			}
			return
		}
		if !bytes.Equal(c.Raw, der) || len(c.RawTBSCertificate) == 0 {
			t.Fatal("Raw fields not set")
		}
		VerifyDSASignature(c, c)
		VerifyDSASignature(c, p.ca)
		c.CheckValidity(p.notBefore)
		if kerr == nil {
			if kc.Y.Sign() <= 0 || len(kc.ParamsID) != KEAParamsIDSize || kc.Y.BitLen() > 8*kea.ValueSize {
				t.Fatalf("KEA certificate out of bounds: Y=%x id=%x", kc.Y, kc.ParamsID)
			}
			kea.CertificatePublicKey(kc.KEA, p.params)
		}
		if pub, ok := c.PublicKey.(*dsa.PublicKey); ok && pub.P.BitLen() > MaxDSACertPrimeBits {
			t.Fatalf("DSA key with %d-bit p accepted", pub.P.BitLen())
		}
	})
}

// FuzzParsePublicKey: SubjectPublicKeyInfo parsing never panics, and an
// accepted KEA key re-encodes (with the 128-byte Y) and parses back equal.
func FuzzParsePublicKey(f *testing.F) {
	params := kea.DefaultParams()
	k, err := kea.GenerateKey(nil, params)
	if err != nil {
		f.Fatal(err)
	}
	for _, enc := range []KEAParamsEncoding{KEAParamsByID, KEAParamsFull} {
		der, err := MarshalKEAPublicKey(params.DSAParameters(), k.Y, enc)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(der)
	}
	d := dsaKey(f, params)
	der, err := MarshalDSAPublicKey(&d.PublicKey)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(der)
	f.Fuzz(func(t *testing.T, der []byte) {
		pub, err := ParsePublicKey(der)
		if err != nil {
			return
		}
		kp, ok := pub.(*KEAPublicKey)
		if !ok {
			return
		}
		if kp.Params == nil {
			return // the identifier alone cannot be re-encoded in full
		}
		again, err := MarshalKEAPublicKey(kp.Params, kp.Y, KEAParamsFull)
		if err != nil {
			t.Fatalf("re-encoding an accepted key: %v", err)
		}
		kp2, err := ParseKEAPublicKey(again)
		if err != nil || kp2.Y.Cmp(kp.Y) != 0 || !bytes.Equal(kp2.ParamsID, kp.ParamsID) {
			t.Fatalf("re-parse mismatch: %v", err)
		}
	})
}
