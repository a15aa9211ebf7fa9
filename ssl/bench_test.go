package ssl

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/rand"
	"crypto/rc4"
	"crypto/tls"
	"io"
	"net"
	"testing"

	"github.com/tokenssl/tokenssl/internal/acceptloop"
	"github.com/tokenssl/tokenssl/ssl/internal/ssl3mac"
)

// Record-layer cost beside the raw cost of the same cipher and MAC with no
// framing: the ratio is what the record layer adds.

type benchSuite struct {
	name  string
	suite uint16
}

var benchSuites = []benchSuite{{"RC4-SHA", SSL_RSA_WITH_RC4_128_SHA}, {"3DES-SHA", SSL_RSA_WITH_3DES_EDE_CBC_SHA},
	{"AES128-SHA", TLS_RSA_WITH_AES_128_CBC_SHA}, {"AES256-SHA", TLS_RSA_WITH_AES_256_CBC_SHA}}
var benchSizes = []struct {
	name string
	n    int
}{{"1KiB", 1024}, {"16KiB", 16384}}

func benchKeys(s *cipherSuite) (key, iv, macKey []byte) {
	key = make([]byte, s.cipher.keyMaterial)
	iv = make([]byte, s.cipher.ivSize)
	macKey = make([]byte, s.macSize())
	rand.Read(key)
	rand.Read(iv)
	rand.Read(macKey)
	return
}

func BenchmarkRecordSeal(b *testing.B) {
	for _, bs := range benchSuites {
		for _, size := range benchSizes {
			s := suiteByID(bs.suite)
			data := make([]byte, size.n)
			b.Run(bs.name+"/"+size.name+"/record", func(b *testing.B) {
				key, iv, macKey := benchKeys(s)
				hc := suiteHalf(b, s, key, iv, macKey, false)
				buf := make([]byte, 0, size.n+64+recordHeaderLen)
				b.SetBytes(int64(size.n))
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					rec := append(buf[:0], 23, 3, 0, 0, 0)
					if _, err := hc.encrypt(rec, recordTypeApplicationData, data, rand.Reader); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(bs.name+"/"+size.name+"/raw-cipher+mac", func(b *testing.B) {
				key, iv, macKey := benchKeys(s)
				m, _ := ssl3mac.New(s.mac, macKey)
				buf := make([]byte, size.n+64)
				b.SetBytes(int64(size.n))
				b.ReportAllocs()
				switch s.cipher {
				case cipherRC4_128:
					c, _ := rc4.NewCipher(key)
					for i := 0; i < b.N; i++ {
						out := m.Sum(append(buf[:0], data...), uint64(i), 23, data)
						c.XORKeyStream(out, out)
					}
				case cipher3DES, cipherAES128, cipherAES256:
					newBlock := aes.NewCipher
					if s.cipher == cipher3DES {
						newBlock = des.NewTripleDESCipher
					}
					blk, _ := newBlock(key)
					c, n := cipher.NewCBCEncrypter(blk, iv), blk.BlockSize()
					for i := 0; i < b.N; i++ {
						out := m.Sum(append(buf[:0], data...), uint64(i), 23, data)
						out = append(out, make([]byte, n-len(out)%n)...)
						c.CryptBlocks(out, out)
					}
				}
			})
		}
	}
}

func BenchmarkRecordOpen(b *testing.B) {
	for _, bs := range benchSuites {
		for _, size := range benchSizes {
			s := suiteByID(bs.suite)
			b.Run(bs.name+"/"+size.name, func(b *testing.B) {
				key, iv, macKey := benchKeys(s)
				// Writer and reader start from the same keys and IV and
				// process records in order, so they stay in step.
				w, r := suiteHalf(b, s, key, iv, macKey, false), suiteHalf(b, s, key, iv, macKey, true)
				data := make([]byte, size.n)
				buf := make([]byte, 0, size.n+64+recordHeaderLen)
				b.SetBytes(int64(size.n))
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					rec, err := w.encrypt(append(buf[:0], 23, 3, 0, 0, 0), recordTypeApplicationData, data, rand.Reader)
					if err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					if _, err := r.decrypt(recordTypeApplicationData, rec[recordHeaderLen:]); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// Handshake rates: full and resumed, ours beside crypto/tls at TLS 1.0 on
// the same suite (RSA key exchange, 3DES-SHA, RSA-2048 key).

func benchListener(b *testing.B, serve func(net.Conn)) (addr string, stop func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	acceptloop.Each(ln, serve)
	return ln.Addr().String(), func() { ln.Close() }
}

// handshakeModes are the two handshakes BenchmarkHandshake times.
var handshakeModes = []struct {
	name   string
	resume bool
}{{"full", false}, {"resumed", true}}

func BenchmarkHandshake(b *testing.B) {
	p := testCerts(b)
	suite := SSL_RSA_WITH_3DES_EDE_CBC_SHA
	sc := &Config{Certificates: []Certificate{p.server}, CipherSuites: []uint16{suite}}
	addr, stop := benchListener(b, func(c net.Conn) {
		s := Server(c, sc)
		s.Handshake()
		s.Close()
	})
	defer stop()
	for _, mode := range handshakeModes {
		resume := mode.resume
		b.Run("ssl3/"+mode.name, func(b *testing.B) {
			cc := &Config{RootCAs: p.roots, ServerName: "localhost", CipherSuites: []uint16{suite}}
			if resume {
				cc.ClientSessionCache = NewLRUClientSessionCache(1)
				c, err := Dial("tcp", addr, cc)
				if err != nil {
					b.Fatal(err)
				}
				c.Close()
				s, _ := cc.ClientSessionCache.Get(c.clientCacheKey)
				cc.ClientSessionCache = &fixedClientCache{s: s}
			}
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				c, err := Dial("tcp", addr, cc)
				if err != nil {
					b.Fatal(err)
				}
				if resume && !c.ConnectionState().DidResume {
					b.Fatal("did not resume")
				}
				c.Close()
			}
		})
	}

	tlsCert := tls.Certificate{Certificate: p.server.Certificate, PrivateKey: p.serverKey}
	tsc := &tls.Config{Certificates: []tls.Certificate{tlsCert}, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10,
		CipherSuites: []uint16{tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA}}
	taddr, tstop := benchListener(b, func(c net.Conn) {
		s := tls.Server(c, tsc)
		s.Handshake()
		io.Copy(io.Discard, s)
		s.Close()
	})
	defer tstop()
	for _, mode := range handshakeModes {
		resume := mode.resume
		b.Run("crypto-tls-1.0/"+mode.name, func(b *testing.B) {
			cc := &tls.Config{RootCAs: p.roots, ServerName: "localhost", MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10,
				CipherSuites: []uint16{tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA}}
			if resume {
				cc.ClientSessionCache = tls.NewLRUClientSessionCache(1)
			}
			for i := 0; i < b.N; i++ {
				c, err := tls.Dial("tcp", taddr, cc)
				if err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
		})
	}
}

// BenchmarkConnThroughput: bulk data through a whole connection over
// loopback, ours at SSL 3.0 beside crypto/tls at TLS 1.0 on the same suite
// (record splitting off on both: crypto/tls splits 1/n-1 too, but the
// comparison is of the record path).
func BenchmarkConnThroughput(b *testing.B) {
	p := testCerts(b)
	chunk := make([]byte, 16384)
	for _, bs := range []struct {
		name     string
		ours     uint16
		baseline uint16
	}{{"RC4-SHA", SSL_RSA_WITH_RC4_128_SHA, tls.TLS_RSA_WITH_RC4_128_SHA}, {"3DES-SHA", SSL_RSA_WITH_3DES_EDE_CBC_SHA, tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA}} {
		b.Run(bs.name+"/ssl3", func(b *testing.B) {
			sc := &Config{Certificates: []Certificate{p.server}, CipherSuites: []uint16{bs.ours}}
			cc := &Config{RootCAs: p.roots, ServerName: "localhost", CipherSuites: []uint16{bs.ours}, DisableRecordSplitting: true}
			addr, stop := benchListener(b, func(c net.Conn) {
				s := Server(c, sc)
				io.Copy(io.Discard, s)
				s.Close()
			})
			defer stop()
			c, err := Dial("tcp", addr, cc)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			benchWrites(b, c, chunk)
		})
		b.Run(bs.name+"/crypto-tls-1.0", func(b *testing.B) {
			tlsCert := tls.Certificate{Certificate: p.server.Certificate, PrivateKey: p.serverKey}
			sc := &tls.Config{Certificates: []tls.Certificate{tlsCert}, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10, CipherSuites: []uint16{bs.baseline}}
			cc := &tls.Config{RootCAs: p.roots, ServerName: "localhost", MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10, CipherSuites: []uint16{bs.baseline}}
			addr, stop := benchListener(b, func(c net.Conn) {
				s := tls.Server(c, sc)
				io.Copy(io.Discard, s)
				s.Close()
			})
			defer stop()
			c, err := tls.Dial("tcp", addr, cc)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			benchWrites(b, c, chunk)
		})
	}
}

// benchWrites times b.N writes of chunk to w, the connection set up.
func benchWrites(b *testing.B, w io.Writer, chunk []byte) {
	b.SetBytes(int64(len(chunk)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := w.Write(chunk); err != nil {
			b.Fatal(err)
		}
	}
}
