package ssl

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"net"
	"testing"
)

// BenchmarkDHEHandshake: full SSL_DHE_RSA_WITH_3DES_EDE_CBC_SHA handshakes
// (RSA-2048 server key, RFC 2409 group 2 with 256-bit private exponents, no
// session cache), client and server in this process over loopback, beside
// the raw public-key work in the same run:
//
//   - raw-server: one RSA-2048 signature of an MD5‖SHA-1 value plus two
//     1024-bit modular exponentiations with a 256-bit exponent (g^x and
//     Yc^x): what the server must spend;
//   - raw-both-sides: the same for the client too (two more
//     exponentiations) plus its two RSA-2048 verifications (the
//     ServerKeyExchange signature and the certificate's).
//
// handshake/raw-both-sides is the protocol's overhead over its arithmetic.
func BenchmarkDHEHandshake(b *testing.B) {
	p := testCerts(b)
	suite := SSL_DHE_RSA_WITH_3DES_EDE_CBC_SHA
	group := RFC2409Group2()
	sc := &Config{Certificates: []Certificate{p.server}, CipherSuites: []uint16{suite}, DHParameters: group, DisableSessionCache: true}
	addr, stop := benchListener(b, func(c net.Conn) {
		s := Server(c, sc)
		s.Handshake()
		s.Close()
	})
	defer stop()
	b.Run("handshake", func(b *testing.B) {
		cc := &Config{RootCAs: p.roots, ServerName: "localhost", CipherSuites: []uint16{suite}}
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			c, err := Dial("tcp", addr, cc)
			if err != nil {
				b.Fatal(err)
			}
			if c.ConnectionState().CipherSuite != suite {
				b.Fatal("wrong suite")
			}
			c.Close()
		}
	})

	digest := make([]byte, 36)
	rand.Read(digest)
	_, peerY, err := generateDHKey(rand.Reader, group)
	if err != nil {
		b.Fatal(err)
	}
	sig, _ := p.serverKey.Sign(rand.Reader, digest, crypto.MD5SHA1)
	leaf := p.server.Leaf
	exchange := func() {
		x, _, err := generateDHKey(rand.Reader, group) // g^x
		if err != nil {
			b.Fatal(err)
		}
		dhExp(peerY, x, group) // peer^x, as the handshake computes it
	}
	b.Run("raw-server", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := p.serverKey.Sign(rand.Reader, digest, crypto.MD5SHA1); err != nil {
				b.Fatal(err)
			}
			exchange()
		}
	})
	b.Run("raw-both-sides", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := p.serverKey.Sign(rand.Reader, digest, crypto.MD5SHA1); err != nil {
				b.Fatal(err)
			}
			exchange()
			exchange()
			if err := rsa.VerifyPKCS1v15(&p.serverKey.PublicKey, crypto.MD5SHA1, digest, sig); err != nil {
				b.Fatal(err)
			}
			if err := leaf.CheckSignatureFrom(p.caCert); err != nil {
				b.Fatal(err)
			}
		}
	})
}
