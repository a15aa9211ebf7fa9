package pkcs11_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/dsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	p11 "github.com/miekg/pkcs11"

	"github.com/tokenssl/tokenssl/softhsm/softhsmtest"
	"github.com/tokenssl/tokenssl/token"
	"github.com/tokenssl/tokenssl/token/pkcs11"
	"github.com/tokenssl/tokenssl/token/tokentest"
)

func TestRSASign(t *testing.T) {
	_, k, sk, _ := rsaOnToken(t, nil)
	pub := k.Public().(*rsa.PublicKey)
	if pub.N.Cmp(sk.N) != 0 || pub.E != sk.E {
		t.Fatal("public key read from the token differs from the imported key")
	}

	// SSL 3.0: the raw 36 bytes, no DigestInfo.
	digest := tokentest.SSL3Hashes([]byte("client random || server random || params"))
	sig, err := k.Sign(rand.Reader, digest, crypto.MD5SHA1)
	if err != nil {
		t.Fatal(err)
	}
	if err := rsa.VerifyPKCS1v15(pub, crypto.MD5SHA1, digest, sig); err != nil {
		t.Fatalf("MD5SHA1 signature does not verify: %v", err)
	}
	// PKCS#1 v1.5 is deterministic: the token's bytes equal crypto/rsa's.
	want, _ := rsa.SignPKCS1v15(nil, sk, crypto.MD5SHA1, digest)
	if !bytes.Equal(sig, want) {
		t.Fatal("MD5SHA1 signature differs from crypto/rsa's")
	}

	// Any other hash: DigestInfo prepended.
	h := sha256.Sum256([]byte("hello"))
	sig, err = k.Sign(rand.Reader, h[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig); err != nil {
		t.Fatalf("SHA-256 signature does not verify: %v", err)
	}
	if _, err := k.Sign(rand.Reader, digest[:35], crypto.MD5SHA1); err == nil {
		t.Fatal("35-byte MD5SHA1 digest accepted")
	}
	if _, err := k.Sign(rand.Reader, h[:], &rsa.PSSOptions{Hash: crypto.SHA256}); !errors.Is(err, pkcs11.ErrUnsupported) {
		t.Fatalf("PSS: got %v, want ErrUnsupported", err)
	}
}

// TestRSADecrypt checks what is token/pkcs11's own beyond the contract
// (tokentest.TestDecrypter, run here on the same key as in
// conformance_test.go): a bad ciphertext fails as ErrDecrypt and the error
// says nothing more.
func TestRSADecrypt(t *testing.T) {
	_, k, sk, _ := rsaOnToken(t, nil)
	tokentest.TestDecrypter(t, k)
	pre, ct := tokentest.PreMasterSecret(t, &sk.PublicKey)
	_, err := k.Decrypt(rand.Reader, tokentest.BlockType1(&sk.PublicKey, pre), nil)
	if !errors.Is(err, pkcs11.ErrDecrypt) {
		t.Fatalf("bad padding: got %v, want ErrDecrypt", err)
	}
	if err.Error() != pkcs11.ErrDecrypt.Error() {
		t.Fatalf("bad padding error says more than it should: %q", err)
	}
	if _, err := k.Decrypt(rand.Reader, ct[1:], nil); !errors.Is(err, pkcs11.ErrDecrypt) {
		t.Fatalf("short ciphertext: got %v", err)
	}
}

func TestRSAGeneratedOnToken(t *testing.T) {
	tok := softhsmtest.NewToken(t)
	ref, err := tok.GenerateRSA("gen", nil, 2048)
	if err != nil {
		t.Fatal(err)
	}
	b := open(t, tok, nil)
	k, err := b.FindKey(pkcs11.KeySpec{ID: ref.ID})
	if err != nil {
		t.Fatal(err)
	}
	pub := ref.Public.(*rsa.PublicKey)
	if k.(crypto.Signer).Public().(*rsa.PublicKey).N.Cmp(pub.N) != 0 {
		t.Fatal("modulus mismatch")
	}
	d := tokentest.SSL3Hashes([]byte("x"))
	sig, err := k.(crypto.Signer).Sign(nil, d, crypto.MD5SHA1)
	if err != nil || rsa.VerifyPKCS1v15(pub, crypto.MD5SHA1, d, sig) != nil {
		t.Fatalf("sign with generated key: %v", err)
	}
}

func TestDSASign(t *testing.T) {
	tok := softhsmtest.NewToken(t)
	params := dsaParameters(t)
	sk := &dsa.PrivateKey{PublicKey: dsa.PublicKey{Parameters: params}}
	if err := dsa.GenerateKey(sk, rand.Reader); err != nil {
		t.Fatal(err)
	}
	imported, err := tok.ImportDSA("dsa-imported", nil, sk)
	if err != nil {
		t.Fatal(err)
	}
	generated, err := tok.GenerateDSA("dsa-generated", []byte("g"), params)
	if err != nil {
		t.Fatal(err)
	}
	b := open(t, tok, nil)
	for _, ref := range []struct {
		name string
		spec pkcs11.KeySpec
		pub  *dsa.PublicKey
	}{
		{"imported", imported.Spec(), &sk.PublicKey},
		{"generated", generated.Spec(), generated.Public.(*dsa.PublicKey)},
	} {
		t.Run(ref.name, func(t *testing.T) {
			k, err := b.FindKey(ref.spec)
			if err != nil {
				t.Fatal(err)
			}
			signer := k.(*pkcs11.DSAKey)
			pub := signer.Public().(*dsa.PublicKey)
			if pub.Y.Cmp(ref.pub.Y) != 0 || pub.P.Cmp(params.P) != 0 || pub.Q.Cmp(params.Q) != 0 {
				t.Fatal("public key mismatch")
			}
			for i := 0; i < 5; i++ {
				digest := sha1.Sum([]byte{byte(i), 'm', 's', 'g'})
				der, err := signer.Sign(rand.Reader, digest[:], crypto.SHA1)
				if err != nil {
					t.Fatal(err)
				}
				var sig struct{ R, S *big.Int }
				if rest, err := asn1.Unmarshal(der, &sig); err != nil || len(rest) != 0 {
					t.Fatalf("not a DER Dss-Sig-Value: %v", err)
				}
				if !dsa.Verify(ref.pub, digest[:], sig.R, sig.S) {
					t.Fatal("DSA signature does not verify")
				}
			}
		})
	}
}

func TestDHAgree(t *testing.T) {
	tok := softhsmtest.NewToken(t)
	group := oakley2(t)
	x := randomBelow(t, group.P)
	sw := &token.DHKey{Pub: token.DHPublicKey{DHParams: group, Y: new(big.Int).Exp(group.G, x, group.P)}, X: x}
	ref, err := tok.ImportDH("dh", nil, sw)
	_, k := findMade(t, tok, nil, ref, err)
	agreer := token.AsDHAgreer(k)
	if agreer == nil {
		t.Fatalf("%T is not a token.DHAgreer", k)
	}
	if agreer.DHPublic().Y.Cmp(sw.Pub.Y) != 0 || agreer.DHPublic().P.Cmp(group.P) != 0 {
		t.Fatal("DH public value mismatch")
	}
	plen := (group.P.BitLen() + 7) / 8
	leadingZero := false
	tries := 0
	for ; tries < 20000 && (tries < 20 || !leadingZero); tries++ {
		peer := randomBelow(t, group.P)
		got, err := agreer.Agree(peer)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := sw.Agree(peer)
		if !bytes.Equal(got, want) {
			t.Fatalf("try %d: token %x, software %x", tries, got, want)
		}
		if len(got) < plen {
			leadingZero = true
		}
	}
	if !leadingZero {
		t.Fatalf("no result with a leading zero byte in %d tries", tries)
	}
	t.Logf("%d agreements, one with a leading zero byte stripped", tries)
	for _, bad := range []*big.Int{big.NewInt(0), big.NewInt(1), new(big.Int).Sub(group.P, big.NewInt(1)), group.P} {
		if _, err := agreer.Agree(bad); err == nil {
			t.Fatalf("peer value %v accepted", bad)
		}
	}
}

// A DH private key without a public object beside it: the public value is
// derived on the token (peer value g).
func TestDHPublicValueWithoutPublicObject(t *testing.T) {
	tok := softhsmtest.NewToken(t)
	group := oakley2(t)
	x := randomBelow(t, group.P)
	b := open(t, tok, nil)
	err := b.WithSession(context.Background(), func(c *p11.Ctx, sh p11.SessionHandle) error {
		_, err := c.CreateObject(sh, []*p11.Attribute{
			p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PRIVATE_KEY), p11.NewAttribute(p11.CKA_KEY_TYPE, p11.CKK_DH),
			p11.NewAttribute(p11.CKA_TOKEN, true), p11.NewAttribute(p11.CKA_PRIVATE, true),
			p11.NewAttribute(p11.CKA_SENSITIVE, true), p11.NewAttribute(p11.CKA_DERIVE, true),
			p11.NewAttribute(p11.CKA_LABEL, "lonely"), p11.NewAttribute(p11.CKA_ID, []byte{9}),
			p11.NewAttribute(p11.CKA_PRIME, group.P.Bytes()), p11.NewAttribute(p11.CKA_BASE, group.G.Bytes()),
			p11.NewAttribute(p11.CKA_VALUE, x.Bytes()),
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	k, err := b.FindKey(pkcs11.KeySpec{Label: "lonely"})
	if err != nil {
		t.Fatal(err)
	}
	if want := new(big.Int).Exp(group.G, x, group.P); k.(*pkcs11.DHKey).DHPublic().Y.Cmp(want) != 0 {
		t.Fatal("derived public value is not g^x mod p")
	}
}

func TestDHGeneratedOnToken(t *testing.T) {
	tok := softhsmtest.NewToken(t)
	group := oakley2(t)
	ref, err := tok.GenerateDH("dhgen", nil, group)
	_, k := findMade(t, tok, nil, ref, err)
	dh := k.(*pkcs11.DHKey)
	// Two token keys agree with each other through software peers.
	y := randomBelow(t, group.P)
	peer := &token.DHKey{Pub: token.DHPublicKey{DHParams: group, Y: new(big.Int).Exp(group.G, y, group.P)}, X: y}
	z1, err := dh.Agree(peer.Pub.Y)
	if err != nil {
		t.Fatal(err)
	}
	z2, _ := peer.Agree(dh.DHPublic().Y)
	if !bytes.Equal(z1, z2) {
		t.Fatal("token-generated DH key disagrees")
	}
}

func TestKeyLookup(t *testing.T) {
	tok := softhsmtest.NewToken(t)
	sk := softwareRSA(t)
	if _, err := tok.ImportRSA("server", []byte{0xA1, 0x00, 0xFF}, sk); err != nil {
		t.Fatal(err)
	}
	if _, err := tok.ImportRSA("twin", []byte{1}, sk); err != nil {
		t.Fatal(err)
	}
	if _, err := tok.ImportRSA("twin", []byte{2}, sk); err != nil {
		t.Fatal(err)
	}
	b := open(t, tok, nil)
	for _, spec := range []pkcs11.KeySpec{
		{Label: "server"},
		{ID: []byte{0xA1, 0x00, 0xFF}},
		{Label: "server", ID: []byte{0xA1, 0x00, 0xFF}},
		{Label: "twin", ID: []byte{2}},
	} {
		k, err := b.FindKey(spec)
		if err != nil {
			t.Fatalf("%v: %v", spec, err)
		}
		if k.(*pkcs11.RSAKey).Public().(*rsa.PublicKey).N.Cmp(sk.N) != 0 {
			t.Fatalf("%v: wrong key", spec)
		}
	}
	_, err := b.FindKey(pkcs11.KeySpec{Label: "nope"})
	if !errors.Is(err, pkcs11.ErrKeyNotFound) || !strings.Contains(err.Error(), `"server"`) {
		t.Fatalf("missing key: %v (want ErrKeyNotFound listing the keys present)", err)
	}
	if _, err := b.FindKey(pkcs11.KeySpec{Label: "server", ID: []byte{1}}); !errors.Is(err, pkcs11.ErrKeyNotFound) {
		t.Fatalf("label and id both must match: %v", err)
	}
	if _, err := b.FindKey(pkcs11.KeySpec{Label: "twin"}); err == nil || !strings.Contains(err.Error(), "more than one") {
		t.Fatalf("ambiguous label: %v", err)
	}
}

func TestCertificateBesideKey(t *testing.T) {
	b, k, sk, tok := rsaOnToken(t, nil)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: "token test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	// Signed by the token key itself (SHA-256 with DigestInfo).
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &sk.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
		t.Fatalf("token-signed certificate: %v", err)
	}
	if err := tok.ImportCertificate("rsa", k.ID(), der); err != nil {
		t.Fatal(err)
	}
	got, err := k.Certificate()
	if err != nil || !bytes.Equal(got, der) {
		t.Fatalf("certificate by key id: %v", err)
	}
	if got, err := b.FindCertificate(pkcs11.KeySpec{Label: "rsa"}); err != nil || !bytes.Equal(got, der) {
		t.Fatalf("certificate by label: %v", err)
	}
}

// The private key objects provisioned by softhsm never show their secrets.
func TestPrivateKeyNotExtractable(t *testing.T) {
	tok := softhsmtest.NewToken(t)
	if _, err := tok.ImportRSA("rsa", nil, softwareRSA(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := tok.GenerateRSA("rsagen", nil, 1024); err != nil {
		t.Fatal(err)
	}
	group := oakley2(t)
	x := randomBelow(t, group.P)
	if _, err := tok.ImportDH("dh", nil, &token.DHKey{Pub: token.DHPublicKey{DHParams: group, Y: new(big.Int).Exp(group.G, x, group.P)}, X: x}); err != nil {
		t.Fatal(err)
	}
	if _, err := tok.GenerateDSA("dsa", nil, dsaParameters(t)); err != nil {
		t.Fatal(err)
	}
	b := open(t, tok, nil)
	for label, secret := range map[string][]uint{
		"rsa":    {p11.CKA_PRIVATE_EXPONENT, p11.CKA_PRIME_1, p11.CKA_PRIME_2},
		"rsagen": {p11.CKA_PRIVATE_EXPONENT},
		"dh":     {p11.CKA_VALUE},
		"dsa":    {p11.CKA_VALUE},
	} {
		o, err := b.FindObject(pkcs11.KeySpec{Label: label}, p11.CKO_PRIVATE_KEY)
		if err != nil {
			t.Fatal(err)
		}
		err = o.WithObject(context.Background(), func(c *p11.Ctx, sh p11.SessionHandle, h p11.ObjectHandle) error {
			a, err := c.GetAttributeValue(sh, h, []*p11.Attribute{
				p11.NewAttribute(p11.CKA_SENSITIVE, nil), p11.NewAttribute(p11.CKA_EXTRACTABLE, nil),
				p11.NewAttribute(p11.CKA_TOKEN, nil), p11.NewAttribute(p11.CKA_PRIVATE, nil),
			})
			if err != nil {
				return err
			}
			if !bytes.Equal(a[0].Value, []byte{1}) || !bytes.Equal(a[1].Value, []byte{0}) ||
				!bytes.Equal(a[2].Value, []byte{1}) || !bytes.Equal(a[3].Value, []byte{1}) {
				t.Errorf("%s: SENSITIVE=%x EXTRACTABLE=%x TOKEN=%x PRIVATE=%x", label, a[0].Value, a[1].Value, a[2].Value, a[3].Value)
			}
			for _, typ := range secret {
				v, err := c.GetAttributeValue(sh, h, []*p11.Attribute{p11.NewAttribute(typ, nil)})
				if !errors.Is(err, p11.Error(p11.CKR_ATTRIBUTE_SENSITIVE)) {
					t.Errorf("%s: attribute 0x%x readable (%d attrs, %v)", label, typ, len(v), err)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", label, err)
		}
	}
}
