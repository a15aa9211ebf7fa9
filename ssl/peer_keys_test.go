package ssl

import (
	"crypto"
	"crypto/dsa"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"io"
	"math/big"
	"strings"
	"testing"

	"github.com/tokenssl/tokenssl/internal/legacytest"
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
		spki, err := x509legacy.MarshalDSAPublicKey(legacytest.SizedDSAKey(t, bits, qBits))
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
		pub := &rsa.PublicKey{N: legacytest.OddBits(t, bits), E: 65537}
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
			sc.DHParameters = &token.DHParams{P: legacytest.OddBits(t, 8320), G: big.NewInt(2)}
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
		{"2048/224 raw 56 bytes", legacytest.DSA2048Q224, false, true},
		{"2048/256 raw 64 bytes", legacytest.DSA2048Q256, false, true},
		{"1024/160 raw 40 bytes", legacytest.DSA1024, false, true},
		{"2048/256 raw 40 bytes", legacytest.DSA2048Q256, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			priv := legacytest.NewDSAKey(t, tc.params)
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
