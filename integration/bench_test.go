package integration

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/tokenssl/tokenssl/ssl"
)

// BenchmarkTokenRSAHandshake: full RSA-2048 handshakes with the server key
// on SoftHSM beside the raw rate of the same C_Decrypt through the same
// backend, at 1 and 2 concurrent callers, in one run. The handshake/decrypt
// ratio of ops/s says how much the engine adds to the token's own cost.
func BenchmarkTokenRSAHandshake(b *testing.B) {
	ca := newTestCA(b)
	cert, _, _ := tokenRSA(b, ca, "localhost", x509.ExtKeyUsageServerAuth, 2)
	pub := cert.PrivateKey.(crypto.Signer).Public().(*rsa.PublicKey)
	pms := make([]byte, 48)
	ct, _ := rsa.EncryptPKCS1v15(rand.Reader, pub, pms)
	dec := cert.PrivateKey.(crypto.Decrypter)

	sc := &ssl.Config{Certificates: []ssl.Certificate{cert}, CipherSuites: []uint16{ssl.SSL_RSA_WITH_RC4_128_SHA}}
	ln := serveSSL(b, sc, func(c net.Conn) { io.Copy(io.Discard, c) })
	cc := &ssl.Config{RootCAs: ca.Roots, ServerName: "localhost", CipherSuites: sc.CipherSuites}

	ops := map[string]func() error{
		"C_Decrypt": func() error {
			_, err := dec.Decrypt(nil, ct, nil)
			return err
		},
		"handshake": func() error {
			c, err := ssl.Dial("tcp", ln.Addr().String(), cc)
			if err != nil {
				return err
			}
			return c.Close()
		},
	}
	for _, workers := range []int{1, 2} {
		for _, name := range []string{"C_Decrypt", "handshake"} {
			op := ops[name]
			b.Run(fmt.Sprintf("%s/goroutines=%d", name, workers), func(b *testing.B) {
				var wg sync.WaitGroup
				errs := make(chan error, workers)
				for w := 0; w < workers; w++ {
					n := b.N / workers
					if w < b.N%workers {
						n++
					}
					wg.Add(1)
					go func(n int) {
						defer wg.Done()
						for i := 0; i < n; i++ {
							if err := op(); err != nil {
								errs <- err
								return
							}
						}
					}(n)
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					b.Fatal(err)
				}
			})
		}
	}
}
