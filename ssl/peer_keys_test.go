package ssl

import (
	"crypto"
	"crypto/dsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"io"
	"math/big"
	"strings"
	"testing"

	"github.com/tokenssl/tokenssl/token"
	"github.com/tokenssl/tokenssl/x509legacy"
)

// Issue 10 items 1 and 14: the peer key bounds over real connections, and
// raw r‖s DSA signatures for every q size.

// forgedKey is a hostile peer's key: its public half is whatever the test
// puts in the certificate, and it "signs" with a fixed forgery (DSA r=1,
// s=2, as in the issue) without any arithmetic.
type forgedKey struct {
	pub crypto.PublicKey
	sig []byte
}

func (k forgedKey) Public() crypto.PublicKey { return k.pub }

func (k forgedKey) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) { return k.sig, nil }

func (k forgedKey) Decrypt(io.Reader, []byte, crypto.DecrypterOpts) ([]byte, error) {
	return nil, errors.New("forged key cannot decrypt")
}

// hugeOdd returns a random odd number of exactly bits bits: a "prime" or
// modulus no one can compute with cheaply, made without prime generation.
func hugeOdd(t testing.TB, bits int) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), uint(bits-1)))
	if err != nil {
		t.Fatal(err)
	}
	n.SetBit(n, bits-1, 1)
	return n.SetBit(n, 0, 1)
}

// hugeDSAKey is a DSA public key with a pBits-bit p and a qBits-bit q
// (crypto/dsa takes any q whose length is a multiple of 8; with a long q
// each verification exponentiates with exponents as long).
func hugeDSAKey(t testing.TB, pBits, qBits int) *dsa.PublicKey {
	return &dsa.PublicKey{Parameters: dsa.Parameters{P: hugeOdd(t, pBits), Q: hugeOdd(t, qBits), G: big.NewInt(2)}, Y: big.NewInt(3)}
}

func forgedDSASig(t testing.TB) []byte {
	sig, err := x509legacy.MarshalDSASignature(big.NewInt(1), big.NewInt(2))
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// TestPeerKeyBounds (issue 10 item 1): every place a peer's key is used
// refuses a key over the bounds (x509legacy/bounds.go) when the
// certificate arrives, with bad_certificate and an error naming the bound,
// before the CertificateVerify or ServerKeyExchange signature, the RSA
// encryption or the chain verification that would compute with it:
// parseChain returns before any of them runs. Before the fix the DSA rows
// cost seconds of CPU and ended in handshake_failure at CertificateVerify
// or ServerKeyExchange, the RSA rows got past the certificate, and the
// oversized intermediate was accepted.
func TestPeerKeyBounds(t *testing.T) {
	p, l := testCerts(t), legacyCerts(t)
	server, client := x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth
	sign := x509.KeyUsageDigitalSignature
	hugeDSA := func(bits, qBits int) ([]byte, crypto.PublicKey) {
		spki, err := x509legacy.MarshalDSAPublicKey(hugeDSAKey(t, bits, qBits))
		if err != nil {
			t.Fatal(err)
		}
		pub, err := x509.ParsePKIXPublicKey(spki)
		if err != nil {
			t.Fatal(err)
		}
		return spki, pub
	}
	hugeRSA := func(bits int) (*rsa.PublicKey, []byte) {
		pub := &rsa.PublicKey{N: hugeOdd(t, bits), E: 65537}
		spki, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		return pub, spki
	}
	dsaClient := func(bits, qBits int) Certificate {
		spki, pub := hugeDSA(bits, qBits)
		return issueLegacy(t, p.caCert, p.caKey, spki, forgedKey{pub, forgedDSASig(t)}, "client", client, sign)
	}
	rsaCert := func(bits int, cn string, eku x509.ExtKeyUsage) Certificate {
		pub, spki := hugeRSA(bits)
		return issueLegacy(t, p.caCert, p.caKey, spki, forgedKey{pub, make([]byte, bits/8)}, cn, eku, sign|x509.KeyUsageKeyEncipherment)
	}
	dsaServer := func(bits, qBits int) Certificate {
		spki, pub := hugeDSA(bits, qBits)
		return issueLegacy(t, l.dsaCA, l.dsaCAKey, spki, forgedKey{pub, forgedDSASig(t)}, "localhost", server, sign)
	}
	// A good chain with an extra certificate that carries an oversized key.
	withExtra := p.server
	_, bigSPKI := hugeRSA(16384)
	extra := issueLegacy(t, p.caCert, p.caKey, bigSPKI, nil, "unused intermediate", server, sign)
	withExtra.Certificate = append(append([][]byte(nil), p.server.Certificate...), extra.Certificate[0])

	tests := []struct {
		name      string
		suite     uint16
		setup     func(cc, sc *Config)
		rejecter  string // "server" or "client": the side that checks the key
		want      alert
		boundText string
	}{
		{"CertificateVerify DSA 16384", SSL_RSA_WITH_3DES_EDE_CBC_SHA, func(cc, sc *Config) {
			sc.ClientAuth, cc.Certificates = RequestClientCert, []Certificate{dsaClient(16384, 160)}
		}, "server", alertBadCertificate, "16384-bit p"},
		{"CertificateVerify DSA 16384/16376", SSL_RSA_WITH_3DES_EDE_CBC_SHA, func(cc, sc *Config) {
			sc.ClientAuth, cc.Certificates = RequestClientCert, []Certificate{dsaClient(16384, 16376)}
		}, "server", alertBadCertificate, "16384-bit p and a 16376-bit q"},
		{"CertificateVerify DSA 4096", SSL_DHE_RSA_WITH_3DES_EDE_CBC_SHA, func(cc, sc *Config) {
			sc.ClientAuth, cc.Certificates = RequireAnyClientCert, []Certificate{dsaClient(4096, 256)}
		}, "server", alertBadCertificate, "4096-bit p and a 256-bit q"},
		{"CertificateVerify RSA 16384", SSL_RSA_WITH_3DES_EDE_CBC_SHA, func(cc, sc *Config) {
			sc.ClientAuth, cc.Certificates = RequireAnyClientCert, []Certificate{rsaCert(16384, "client", client)}
		}, "server", alertBadCertificate, "16384-bit RSA modulus exceeds 8192 bits"},
		{"ServerKeyExchange DSA 16384", SSL_DHE_DSS_WITH_3DES_EDE_CBC_SHA, func(cc, sc *Config) {
			sc.Certificates = []Certificate{dsaServer(16384, 16376)}
		}, "client", alertBadCertificate, "16384-bit p"},
		{"RSA key exchange 16384", SSL_RSA_WITH_3DES_EDE_CBC_SHA, func(cc, sc *Config) {
			sc.Certificates = []Certificate{rsaCert(16384, "localhost", server)}
		}, "client", alertBadCertificate, "16384-bit RSA modulus exceeds 8192 bits"},
		{"chain extra certificate RSA 16384", SSL_RSA_WITH_3DES_EDE_CBC_SHA, func(cc, sc *Config) {
			sc.Certificates = []Certificate{withExtra}
		}, "client", alertBadCertificate, "certificate 1: "},
		{"ServerKeyExchange DH p 8320", SSL_DHE_RSA_WITH_3DES_EDE_CBC_SHA, func(cc, sc *Config) {
			sc.DHParameters = &token.DHParams{P: hugeOdd(t, 8320), G: big.NewInt(2)}
		}, "client", alertHandshakeFailure, "8320-bit DH group exceeds 8192 bits"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cc, sc := clientConfig(t), serverConfig(t)
			cc.CipherSuites, sc.CipherSuites = []uint16{tc.suite}, []uint16{tc.suite}
			tc.setup(cc, sc)
			_, _, cerr, serr := handshakePair(t, cc, sc)
			rej, other := serr, cerr
			if tc.rejecter == "client" {
				rej, other = cerr, serr
			}
			var sent, got *AlertError
			if !errors.As(rej, &sent) || !sent.Sent || alert(sent.Alert) != tc.want {
				t.Fatalf("%s: %v; want it to send %v", tc.rejecter, rej, tc.want)
			}
			if !strings.Contains(rej.Error(), tc.boundText) {
				t.Errorf("%s error %q does not name the bound (%q)", tc.rejecter, rej, tc.boundText)
			}
			if !errors.As(other, &got) || got.Sent || alert(got.Alert) != tc.want {
				t.Errorf("peer: %v; want it to receive %v", other, tc.want)
			}
		})
	}
}

// DSA groups with 224- and 256-bit q, made once with `openssl genpkey
// -genparam -algorithm DSA -pkeyopt dsa_paramgen_bits:2048 -pkeyopt
// dsa_paramgen_q_bits:N`.
var (
	testDSAParams2048q224 = dsa.Parameters{
		P: mustHexInt("" +
			"8a7fcfe608c3575e21370357a42a8c84990f3c0d56a1b507a933cf72aa8693ab" +
			"fa277840a7b0e01e748b8f82221c0c3614ee8c4068933b0a98ec780a38d2f78d" +
			"0b949b23b77904e326ee85aa1ff069c634591f2bbfd5bdeb2fc64d0684711b62" +
			"b8081f80daa411641b1fb93b122f6c1484cc15e7f7d2981dfc2a7617615dee43" +
			"cf1536132713e9c183afe086698eda6aeab98903291cd68c59eb5aecb01889bc" +
			"e7ef5bd750324a28bc005aaae77f28d749db80da9c6c15bf53fd63cca27773a3" +
			"f32d1738eed78b306146820b35101c602cd2b8100f0a11ebcdf1db34346ea709" +
			"c423b8c1e74a9b75a9ea0ec89067b79d2c422e24f10b160edc3a6daa6d6f3591"),
		Q: mustHexInt("" +
			"eb64b4eb80e4036875e2d92063901318b9984d799ce2c0495968acbf"),
		G: mustHexInt("" +
			"dc21e962d76f6f559372a2fd7e00727450697a34d8332d8fb62b47e6290d79a2" +
			"03185c93406fe5dbafaecfc5acbcc718e5f40794561525029088b9ec217814d7" +
			"01aa19ff211508b19264ed0dca65e610a228f8de4741e7f677f579c2ff8da6c5" +
			"1f9f1fb1a1ea226e7445761ba8ca41c68703c3e578dc9d5144be0f2452aace39" +
			"bf9b5b05f4fdb27bad2ebf2f9c1c24be21d88eb472931395e93fc415931c3ad8" +
			"9d7fd63f12f7ade116563f9f5deab24308a5b608382f3dcc1eb6320d4055fe36" +
			"061925e5303b31a61f1da65b812bfdd88ecadf8981b97d567d463ac87c74707a" +
			"ca0a31a40400cbc478528d8675012dfebd476d2cff0c56ca8e9d3dbdca2f1e9"),
	}
	testDSAParams2048q256 = dsa.Parameters{
		P: mustHexInt("" +
			"b7ba303d7188a4e4ac3f99361fbd1c3d21ada74f1aa8cfa46732ccf78a2a76d0" +
			"8a7808aa7e6f99cb5ab6b30a34545fde337b8dfdca778e1a9645a29c7a078b7e" +
			"bc5058ff11ba7934199defaea0a134c0204bb26c070895cc5a3cb8bec02e85f1" +
			"d8d065ee03b7c1236b0d997a2064580b969a9667e67ec1450603528392574a1a" +
			"e68a61e437b702cba8121bdb5c776a1ac48896e58670fc22a502096bdfc7f87a" +
			"00dd7a8a3b1f86d7dd7308078ca3f5b4bfe4fc860c5c9ef5059458328bfadfd7" +
			"98a9916b8acc28dd5ee1a7b6273b1cd63e7cc795887ef2e9de9ab1344d5ebf4a" +
			"3bfe270d4465c5a02d8f65cfaea1f379f980c86ab97e4040662bb285b454e097"),
		Q: mustHexInt("" +
			"f1cda998a843fff2b2d4963d747b4a1c3d89f3207b1c20ebc9faa953a5d501f3"),
		G: mustHexInt("" +
			"546582747a18d341866cc15e5bec43542d26352da46073ca9e638622d3e4c22e" +
			"25e9da18bea758ee924fa8f0da77fc494d4091f8f9f8bbc961e9a87029761460" +
			"620f6969598d2c536f78269b90c4845b9840fdba8d35a85c4a9814a558284821" +
			"0dfff9cffa584c26ec36d2c21806340d8669d0e0bf11628b65bd0f0332a0fa05" +
			"bd9b55f683547efd78e123bb57fd4954eb058cfc013a3fda8fc8ffe6e35b8622" +
			"e45b820a29588e791bf5f1c84f6f9d8ed2ecde710c5005d6d76b50497a744926" +
			"4d627f4f3dea8841d457ffbcc4cbef02df8572fb12ab2cace2d56d6ef1cd4688" +
			"89273887d1d6c6c2362d015ad12e9c1e88bb96a69b170325aafb677e5cd423ca"),
	}
)

// rawDSASigner signs as NSS does in SSL 3.0: raw r‖s, each half as long
// as q; with short, 20 bytes each whatever q is (a wrong length).
type rawDSASigner struct {
	priv  *dsa.PrivateKey
	short bool
}

func (k rawDSASigner) Public() crypto.PublicKey { return &k.priv.PublicKey }

func (k rawDSASigner) Sign(rnd io.Reader, digest []byte, _ crypto.SignerOpts) ([]byte, error) {
	r, s, err := dsa.Sign(rnd, k.priv, digest)
	if err != nil {
		return nil, err
	}
	n := (k.priv.Q.BitLen() + 7) / 8
	if k.short {
		n = 20
		mask := new(big.Int).Lsh(big.NewInt(1), 160)
		r.Mod(r, mask)
		s.Mod(s, mask)
	}
	return append(r.FillBytes(make([]byte, n)), s.FillBytes(make([]byte, n))...), nil
}

// TestDHEDSSRawSignatures (issue 10 item 14): a DHE_DSS server whose DSA
// key has a 224- or 256-bit q and that signs ServerKeyExchange as raw r‖s
// (NSS) is accepted; raw of another length is refused with
// handshake_failure. Before the fix only 40-byte raw signatures were
// accepted, so the 224/256 rows failed with "malformed DSA signature".
func TestDHEDSSRawSignatures(t *testing.T) {
	l := legacyCerts(t)
	for _, tc := range []struct {
		name   string
		params dsa.Parameters
		short  bool
		ok     bool
	}{
		{"2048/224 raw 56 bytes", testDSAParams2048q224, false, true},
		{"2048/256 raw 64 bytes", testDSAParams2048q256, false, true},
		{"1024/160 raw 40 bytes", testDSAParams, false, true},
		{"2048/256 raw 40 bytes", testDSAParams2048q256, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			priv := &dsa.PrivateKey{PublicKey: dsa.PublicKey{Parameters: tc.params}}
			if err := dsa.GenerateKey(priv, rand.Reader); err != nil {
				t.Fatal(err)
			}
			spki, err := x509legacy.MarshalDSAPublicKey(&priv.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			cert := issueLegacy(t, l.dsaCA, l.dsaCAKey, spki, rawDSASigner{priv, tc.short}, "localhost",
				x509.ExtKeyUsageServerAuth, x509.KeyUsageDigitalSignature)
			cc, sc := clientConfig(t), &Config{Certificates: []Certificate{cert}}
			cc.CipherSuites = []uint16{SSL_DHE_DSS_WITH_3DES_EDE_CBC_SHA}
			sc.CipherSuites = cc.CipherSuites
			c, s, cerr, serr := handshakePair(t, cc, sc)
			if tc.ok {
				if cerr != nil || serr != nil {
					t.Fatalf("client: %v; server: %v", cerr, serr)
				}
				echoCheck(t, c, s, []byte("raw r||s"))
				return
			}
			if a, ok := alertOf(cerr); !ok || a != alertHandshakeFailure || !strings.Contains(cerr.Error(), "malformed DSA signature") {
				t.Fatalf("client: %v; want handshake_failure for a malformed DSA signature", cerr)
			}
		})
	}
}
