package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"strings"
	"time"

	"github.com/tokenssl/tokenssl/internal/acceptloop"
	"github.com/tokenssl/tokenssl/internal/ssltest"
	"github.com/tokenssl/tokenssl/softhsm"
	"github.com/tokenssl/tokenssl/ssl"
)

// runDemo is `make demo`: it provisions a throw-away SoftHSM token with
// the server's RSA, DSA and DH keys (generated on the token, sensitive,
// never extractable) and their certificates, starts a server whose every
// private-key operation runs on the token, and runs a client over every
// implemented suite of Appendix C, a resumed handshake, and the three
// FORTEZZA_KEA suites between two emulated Fortezza cards and between two
// cards on the PKCS#11 card module (card=emulator, card=pkcs11).
func runDemo(args []string) error {
	fs := commandFlagSet("demo")
	module := fs.String("fortezza-module", "", "the Fortezza card module (default: bin/libfortezzacard.so of this repository, when built)")
	fs.Parse(args)
	if *module == "" {
		if wd, err := os.Getwd(); err == nil {
			if p, err := softhsm.FindFortezzaModule(wd); err == nil {
				*module = p
			}
		}
	}
	start := time.Now()

	env, err := softhsm.New("")
	if err != nil {
		return fmt.Errorf("demo: %w (run 'make deps' to install SoftHSM2)", err)
	}
	defer env.Close()
	tok, err := env.InitToken("tokenssl-demo", softhsm.RandomPIN(16), softhsm.RandomPIN(8))
	if err != nil {
		return err
	}
	backend, err := tok.Open()
	if err != nil {
		return err
	}
	defer backend.Close()
	pki, err := ssltest.NewPKI(ssltest.TokenKeys{Token: tok, Backend: backend}, "localhost")
	if err != nil {
		return fmt.Errorf("demo: provisioning the token: %w", err)
	}
	fmt.Printf("demo: SoftHSM token %q holds the server keys (RSA-2048, DSA-1024, DH x4), all CKA_SENSITIVE, not extractable\n", "tokenssl-demo")

	suites := ssltest.CertificateSuites() // FORTEZZA_KEA runs between cards (runFortezzaDemo)
	serverConfig := &ssl.Config{Certificates: pki.ServerCerts, CipherSuites: suites, HandshakeTimeout: 30 * time.Second}
	ln, err := ssl.Listen("tcp", "127.0.0.1:0", serverConfig)
	if err != nil {
		return err
	}
	defer ln.Close()
	go demoServe(ln, log.New(os.Stdout, "server: ", 0))
	fmt.Printf("demo: server listening on %s\n\n", ln.Addr())

	var negotiated []string
	failed := 0
	payload := []byte("tokenssl demo: hello over SSL 3.0\n")
	for _, id := range suites {
		config := &ssl.Config{RootCAs: pki.Roots, ServerName: "localhost", CipherSuites: []uint16{id}}
		if err := demoExchange(ln.Addr().String(), config, payload, "client: "); err != nil {
			fmt.Printf("client: %s FAILED: %v\n", ssl.CipherSuiteName(id), err)
			failed++
			continue
		}
		negotiated = append(negotiated, ssl.CipherSuiteName(id))
	}
	// Resumption: a full handshake, then one offering its session.
	fmt.Println()
	cache := ssl.NewLRUClientSessionCache(4)
	config := &ssl.Config{RootCAs: pki.Roots, ServerName: "localhost", ClientSessionCache: cache}
	for i := 0; i < 2; i++ {
		if err := demoExchange(ln.Addr().String(), config, payload, "client (resumption): "); err != nil {
			fmt.Printf("client (resumption): FAILED: %v\n", err)
			failed++
		}
	}
	// Fortezza: two emulated cards on the same SoftHSM store, then two
	// cards on the PKCS#11 card module.
	fmt.Println()
	fz, err := runFortezzaDemo(env, *module)
	if err != nil {
		fmt.Printf("fortezza: FAILED: %v\n", err)
		failed++
	}
	negotiated = append(negotiated, fz...)

	fmt.Printf("\ndemo: %d suites negotiated in %v:\n  %s\n", len(negotiated), time.Since(start).Round(time.Millisecond), strings.Join(negotiated, "\n  "))
	if failed > 0 {
		return fmt.Errorf("demo: %d handshakes failed", failed)
	}
	return nil
}

func demoExchange(addr string, config *ssl.Config, payload []byte, prefix string) error {
	st, err := echoExchange(addr, config, payload)
	if err != nil {
		return err
	}
	fmt.Println(prefix + handshakeLine(st))
	return nil
}

// echoExchange connects to the echo server at addr, writes payload and
// reads it back; it returns the client's view of the connection.
func echoExchange(addr string, config *ssl.Config, payload []byte) (ssl.ConnectionState, error) {
	var none ssl.ConnectionState
	raw, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return none, err
	}
	c := ssl.Client(raw, config)
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write(payload); err != nil {
		return none, err
	}
	echo := make([]byte, len(payload))
	if _, err := io.ReadFull(c, echo); err != nil {
		return none, err
	}
	if !bytes.Equal(echo, payload) {
		return none, errors.New("echo mismatch")
	}
	return c.ConnectionState(), nil
}

// demoServe echoes; it prints only failures and resumptions, so that the
// client's lines carry the story. It returns when ln is closed and every
// connection it accepted is done.
func demoServe(ln net.Listener, logger *log.Logger) {
	acceptloop.Each(ln, func(c net.Conn) {
		defer c.Close()
		sc := c.(*ssl.Conn)
		if err := sc.Handshake(); err != nil {
			logger.Print(failureLine(err))
			return
		}
		if st := sc.ConnectionState(); st.DidResume {
			logger.Print(handshakeLine(st))
		}
		io.Copy(sc, sc)
	}).Wait()
}
