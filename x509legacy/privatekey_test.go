package x509legacy

import (
	"bytes"
	"crypto/dsa"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/tokenssl/tokenssl/internal/legacytest"
)

// opensslSeeds are keys written by OpenSSL 3.0 (`openssl genpkey`,
// `openssl pkey -traditional`, `openssl pkcs8 -topk8 -v2 aes256`), kept as
// the seed corpus of FuzzParsePrivateKeyPEM. The openssl-driven tests in
// ssl/keyfile_openssl_test.go make fresh ones at test time.
func opensslSeed(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "fuzz", "FuzzParsePrivateKeyPEM", name))
	if err != nil {
		t.Fatal(err)
	}
	// go test fuzz v1 / []byte("...")
	s := string(raw)
	i, j := strings.Index(s, `[]byte("`), strings.LastIndex(s, `")`)
	if i < 0 || j < i {
		t.Fatalf("%s: not a fuzz corpus file", name)
	}
	return []byte(strings.NewReplacer(`\n`, "\n", `\"`, `"`, `\\`, `\`).Replace(s[i+len(`[]byte("`) : j]))
}

func TestParsePrivateKeyPEMOpenSSLSeeds(t *testing.T) {
	for _, tc := range []struct {
		name    string
		want    string // "dsa", "dh" or "encrypted"
		qBits   int    // DH: bits of Q, 0 for none
		encType string
	}{
		{"openssl-dsa8", "dsa", 160, ""},
		{"openssl-dsatrad", "dsa", 160, ""},
		{"openssl-dhx", "dh", 160, ""},
		{"openssl-dhdsa", "dh", 224, ""}, // openssl dhparam -dsaparam 1024
		{"openssl-ffdhe", "dh", 0, ""},
		{"openssl-dh3", "dh", 0, ""},
		{"openssl-enc8", "encrypted", 0, "ENCRYPTED PRIVATE KEY"},
		{"openssl-enctrad", "encrypted", 0, "DSA PRIVATE KEY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := ParsePrivateKeyPEM(opensslSeed(t, tc.name))
			switch tc.want {
			case "encrypted":
				if !errors.Is(err, ErrEncryptedKey) || !strings.Contains(err.Error(), "openssl pkey") || !strings.Contains(err.Error(), tc.encType) {
					t.Fatalf("err = %v, want ErrEncryptedKey naming %s and how to decrypt", err, tc.encType)
				}
			case "dsa":
				d, ok := k.(*dsa.PrivateKey)
				if err != nil || !ok || d.Q.BitLen() != tc.qBits || new(big.Int).Exp(d.G, d.X, d.P).Cmp(d.Y) != 0 {
					t.Fatalf("key %T, err %v", k, err)
				}
			case "dh":
				d, ok := k.(*DHPrivateKey)
				if err != nil || !ok || new(big.Int).Exp(d.G, d.X, d.P).Cmp(d.Y) != 0 {
					t.Fatalf("key %T, err %v", k, err)
				}
				if got := 0; d.Q != nil {
					got = d.Q.BitLen()
					if got != tc.qBits {
						t.Fatalf("Q has %d bits, want %d", got, tc.qBits)
					}
				} else if tc.qBits != 0 {
					t.Fatal("Q dropped")
				}
			}
		})
	}
}

func TestParsePrivateKeyPEMForms(t *testing.T) {
	dsaKey := legacytest.NewDSAKey(t, legacytest.DSA1024)
	dsaDER, err := MarshalDSAPrivateKey(dsaKey)
	if err != nil {
		t.Fatal(err)
	}
	dh := &DHPrivateKey{DHPublicKey: DHPublicKey{P: legacytest.DSA1024.P, G: legacytest.DSA1024.G, Q: legacytest.DSA1024.Q}, X: big.NewInt(12345)}
	dh.Y = new(big.Int).Exp(dh.G, dh.X, dh.P)
	dhDER, err := MarshalDHPrivateKey(dh)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 1024)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	rsa8, _ := x509.MarshalPKCS8PrivateKey(rsaKey)
	ec8, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	ed8, _ := x509.MarshalPKCS8PrivateKey(edKey)
	ecSEC1, _ := x509.MarshalECPrivateKey(ecKey)
	enc := func(typ string, der []byte, h map[string]string) []byte {
		return pem.EncodeToMemory(&pem.Block{Type: typ, Headers: h, Bytes: der})
	}
	cert := enc("CERTIFICATE", []byte{0x30, 0x00}, nil)
	badDSA := bytes.Clone(dsaDER)
	badDSA[len(badDSA)-1] ^= 1 // x no longer matches y

	for _, tc := range []struct {
		name    string
		data    []byte
		check   func(any) bool
		wantErr error
	}{
		{"DSA traditional", enc("DSA PRIVATE KEY", dsaDER, nil), func(k any) bool { d, ok := k.(*dsa.PrivateKey); return ok && d.X.Cmp(dsaKey.X) == 0 }, nil},
		{"DSA after a certificate", append(cert, enc("DSA PRIVATE KEY", dsaDER, nil)...), func(k any) bool { _, ok := k.(*dsa.PrivateKey); return ok }, nil},
		{"DH project form keeps Q", enc("DH PRIVATE KEY", dhDER, nil), func(k any) bool {
			d, ok := k.(*DHPrivateKey)
			return ok && d.Q.Cmp(legacytest.DSA1024.Q) == 0 && d.Y.Cmp(dh.Y) == 0
		}, nil},
		{"RSA PKCS#8", enc("PRIVATE KEY", rsa8, nil), func(k any) bool { _, ok := k.(*rsa.PrivateKey); return ok }, nil},
		{"RSA PKCS#1", enc("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey), nil), func(k any) bool { _, ok := k.(*rsa.PrivateKey); return ok }, nil},
		{"EC PKCS#8", enc("PRIVATE KEY", ec8, nil), func(k any) bool { _, ok := k.(*ecdsa.PrivateKey); return ok }, nil},
		{"EC SEC 1", enc("EC PRIVATE KEY", ecSEC1, nil), func(k any) bool { _, ok := k.(*ecdsa.PrivateKey); return ok }, nil},
		{"Ed25519 PKCS#8", enc("PRIVATE KEY", ed8, nil), func(k any) bool { _, ok := k.(ed25519.PrivateKey); return ok }, nil},
		{"no key", cert, nil, ErrNoPrivateKey},
		{"empty", nil, nil, ErrNoPrivateKey},
		{"encrypted PKCS#8", enc("ENCRYPTED PRIVATE KEY", []byte{0x30, 0x00}, nil), nil, ErrEncryptedKey},
		{"encrypted traditional", enc("RSA PRIVATE KEY", []byte{1}, map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,00"}), nil, ErrEncryptedKey},
		{"DSA x does not match y", enc("DSA PRIVATE KEY", badDSA, nil), nil, nil},
		{"DSA truncated", enc("DSA PRIVATE KEY", dsaDER[:len(dsaDER)-1], nil), nil, ErrMalformed},
		{"DH truncated", enc("DH PRIVATE KEY", dhDER[:len(dhDER)-1], nil), nil, ErrMalformed},
		{"PKCS#8 DSA trailing data", enc("PRIVATE KEY", append(pkcs8(t, OIDPublicKeyDSA, dsaKey.X, &dsaKey.Parameters, nil), 0), nil), nil, ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := ParsePrivateKeyPEM(tc.data)
			if tc.check != nil {
				if err != nil || !tc.check(k) {
					t.Fatalf("got %T, %v", k, err)
				}
				return
			}
			if err == nil || k != nil {
				t.Fatalf("accepted: %T", k)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

// pkcs8 builds a PKCS #8 PrivateKeyInfo for DSA (dp) or DH (dh) by hand.
func pkcs8(t testing.TB, oid []int, x *big.Int, dp *dsa.Parameters, dh *DHPublicKey) []byte {
	t.Helper()
	var spki []byte
	var err error
	if dp != nil {
		spki, err = MarshalDSAPublicKey(&dsa.PublicKey{Parameters: *dp, Y: big.NewInt(2)})
	} else {
		spki, err = MarshalDHPublicKey(dh)
	}
	if err != nil {
		t.Fatal(err)
	}
	// Reuse the AlgorithmIdentifier of the SubjectPublicKeyInfo.
	_, params, _, ok := readSPKI(spki)
	if !ok {
		t.Fatal("readSPKI")
	}
	var xb cryptobyte.Builder
	xb.AddASN1BigInt(x)
	xDER := xb.BytesOrPanic()
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(0)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oid)
			b.AddBytes(params)
		})
		b.AddASN1OctetString(xDER)
	})
	return b.BytesOrPanic()
}

func TestParsePKCS8DH(t *testing.T) {
	x := big.NewInt(987654321)
	for _, tc := range []struct {
		name  string
		oid   []int
		withQ bool
	}{
		{"X9.42 keeps Q", OIDDHPublicNumber, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			der := pkcs8(t, tc.oid, x, nil, &DHPublicKey{P: legacytest.DSA1024.P, G: legacytest.DSA1024.G, Q: legacytest.DSA1024.Q, Y: big.NewInt(2)})
			k, err := ParsePKCS8PrivateKey(der)
			if err != nil {
				t.Fatal(err)
			}
			d := k.(*DHPrivateKey)
			if (d.Q != nil) != tc.withQ || d.X.Cmp(x) != 0 || d.Y.Cmp(new(big.Int).Exp(d.G, x, d.P)) != 0 {
				t.Fatalf("key %+v", d)
			}
		})
	}
	// x must be below q.
	if _, err := ParsePKCS8PrivateKey(pkcs8(t, OIDDHPublicNumber, legacytest.DSA1024.Q, nil,
		&DHPublicKey{P: legacytest.DSA1024.P, G: legacytest.DSA1024.G, Q: legacytest.DSA1024.Q, Y: big.NewInt(2)})); err == nil {
		t.Fatal("x = q accepted")
	}
}

// FuzzParsePrivateKeyPEM: the parser never panics, and every DSA or DH key
// it returns is consistent (y = g^x mod p, x in range).
//
// Seeds: testdata/fuzz/FuzzParsePrivateKeyPEM (OpenSSL 3.0 output).
func FuzzParsePrivateKeyPEM(f *testing.F) {
	f.Add([]byte("-----BEGIN DH PRIVATE KEY-----\nMAA=\n-----END DH PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParsePrivateKeyPEM(data)
		if !accepted(t, k, err) {
			return
		}
		switch k := k.(type) {
		case *dsa.PrivateKey:
			if k.X.Sign() <= 0 || k.X.Cmp(k.Q) >= 0 || new(big.Int).Exp(k.G, k.X, k.P).Cmp(k.Y) != 0 {
				t.Fatal("inconsistent DSA key accepted")
			}
			der, err := MarshalDSAPrivateKey(k)
			if err != nil {
				t.Fatal(err)
			}
			if again, err := ParseDSAPrivateKey(der); err != nil || again.X.Cmp(k.X) != 0 {
				t.Fatalf("DSA round trip: %v", err)
			}
		case *DHPrivateKey:
			if k.X.Sign() <= 0 || new(big.Int).Exp(k.G, k.X, k.P).Cmp(k.Y) != 0 || k.P.BitLen() > MaxDHPrimeBits {
				t.Fatal("inconsistent DH key accepted")
			}
			der, err := MarshalDHPrivateKey(k)
			if err != nil {
				t.Fatal(err)
			}
			if again, err := ParseDHPrivateKey(der); err != nil || again.X.Cmp(k.X) != 0 || (again.Q == nil) != (k.Q == nil) {
				t.Fatalf("DH round trip: %v", err)
			}
		}
	})
}
