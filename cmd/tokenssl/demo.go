package main

import (
	"crypto"
	"crypto/dsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"os"
	"strings"
	"time"

	"github.com/tokenssl/tokenssl/kea"
	"github.com/tokenssl/tokenssl/softhsm"
	"github.com/tokenssl/tokenssl/ssl"
	"github.com/tokenssl/tokenssl/ssl/dhcert"
	"github.com/tokenssl/tokenssl/token"
	"github.com/tokenssl/tokenssl/token/pkcs11"
)

// runDemo is `make demo`: it provisions a throw-away SoftHSM token with
// the server's RSA, DSA and DH keys (generated on the token, sensitive,
// never extractable) and their certificates, starts a server whose every
// private-key operation runs on the token, and runs a client over every
// implemented suite of Appendix C, a resumed handshake, and the three
// FORTEZZA_KEA suites between two emulated Fortezza cards.
func runDemo(args []string) error {
	fs := flag.NewFlagSet("demo", flag.ExitOnError)
	fs.Parse(args)
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
	pki, err := buildDemoPKI(tok, backend)
	if err != nil {
		return fmt.Errorf("demo: provisioning the token: %w", err)
	}
	fmt.Printf("demo: SoftHSM token %q holds the server keys (RSA-2048, DSA-1024, DH x4), all CKA_SENSITIVE, not extractable\n", "tokenssl-demo")

	suites := demoSuites()
	serverConfig := &ssl.Config{Certificates: pki.certs, CipherSuites: suites, HandshakeTimeout: 30 * time.Second}
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
		config := &ssl.Config{RootCAs: pki.roots, ServerName: "localhost", CipherSuites: []uint16{id}}
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
	config := &ssl.Config{RootCAs: pki.roots, ServerName: "localhost", ClientSessionCache: cache}
	for i := 0; i < 2; i++ {
		if err := demoExchange(ln.Addr().String(), config, payload, "client (resumption): "); err != nil {
			fmt.Printf("client (resumption): FAILED: %v\n", err)
			failed++
		}
	}
	// Fortezza: two emulated cards on the same SoftHSM store.
	fmt.Println()
	fz, err := runFortezzaDemo(env)
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

// demoSuites is every implemented suite except FORTEZZA_KEA, which runs
// between cards (runFortezzaDemo).
func demoSuites() []uint16 {
	var out []uint16
	for _, s := range ssl.CipherSuites() {
		if s.Implemented && !strings.Contains(s.Name, "FORTEZZA") {
			out = append(out, s.ID)
		}
	}
	return out
}

func demoExchange(addr string, config *ssl.Config, payload []byte, prefix string) error {
	raw, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return err
	}
	c := ssl.Client(raw, config)
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write(payload); err != nil {
		return err
	}
	echo := make([]byte, len(payload))
	if _, err := io.ReadFull(c, echo); err != nil {
		return err
	}
	if string(echo) != string(payload) {
		return fmt.Errorf("echo mismatch")
	}
	fmt.Println(prefix + handshakeLine(c.ConnectionState()))
	return nil
}

// demoServe echoes; it prints only failures and resumptions, so that the
// client's lines carry the story.
func demoServe(ln net.Listener, logger *log.Logger) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
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
		}()
	}
}

// demoPKI is the server's certificates (keys on the token) and the roots a
// client trusts.
type demoPKI struct {
	certs []ssl.Certificate
	roots *x509.CertPool
}

// buildDemoPKI makes a software RSA CA and DSA CA and, on the token, the
// server keys every non-Fortezza suite needs: RSA (RSA, RSA_EXPORT,
// DHE_RSA), DSA (DHE_DSS), and DH keys in certificates for DH_RSA and
// DH_DSS and their export variants. Certificates are stored beside keys.
func buildDemoPKI(tok *softhsm.Token, b *pkcs11.Backend) (*demoPKI, error) {
	now := time.Now()
	serial := int64(10)
	tmpl := func(cn string, ku x509.KeyUsage, isCA bool) *dhcert.Template {
		serial++
		t := &dhcert.Template{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), KeyUsage: ku, IsCA: isCA}
		if !isCA {
			t.DNSNames = []string{cn}
			t.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		}
		return t
	}
	parse := func(der []byte, err error) (*x509.Certificate, error) {
		if err != nil {
			return nil, err
		}
		return x509.ParseCertificate(der)
	}
	// The CAs stay in memory: only the server's keys matter here.
	rsaCAKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	rsaCASPKI, _ := x509.MarshalPKIXPublicKey(&rsaCAKey.PublicKey)
	rsaCA, err := parse(dhcert.CreateCertificate(rand.Reader, tmpl("tokenssl demo RSA CA", x509.KeyUsageCertSign, true), nil, rsaCASPKI, rsaCAKey))
	if err != nil {
		return nil, err
	}
	kp := kea.DefaultParams() // a 1024/160 DSA group; also the X9.42 DH group of DH_DSS
	dsaParams := dsa.Parameters{P: kp.P, Q: kp.Q, G: kp.G}
	dsaCAPriv := &dsa.PrivateKey{PublicKey: dsa.PublicKey{Parameters: dsaParams}}
	if err := dsa.GenerateKey(dsaCAPriv, rand.Reader); err != nil {
		return nil, err
	}
	dsaCAKey := &token.DSAKey{PrivateKey: dsaCAPriv}
	dsaCASPKI, _ := dhcert.MarshalDSAPublicKey(&dsaCAPriv.PublicKey)
	dsaCA, err := parse(dhcert.CreateCertificate(rand.Reader, tmpl("tokenssl demo DSA CA", x509.KeyUsageCertSign, true), nil, dsaCASPKI, dsaCAKey))
	if err != nil {
		return nil, err
	}
	pki := &demoPKI{roots: x509.NewCertPool()}
	pki.roots.AddCert(rsaCA)
	pki.roots.AddCert(dsaCA)

	// issue certifies spki, stores the certificate beside the token key,
	// and adds the pair to the server's list.
	issue := func(label string, ref softhsm.KeyRef, spki []byte, ku x509.KeyUsage, byDSA bool) error {
		key, err := b.FindKey(ref.Spec())
		if err != nil {
			return err
		}
		var caCert *x509.Certificate
		var caKey crypto.Signer = rsaCAKey
		caCert = rsaCA
		if byDSA {
			caCert, caKey = dsaCA, dsaCAKey
		}
		der, err := dhcert.CreateCertificate(rand.Reader, tmpl("localhost", ku, false), caCert, spki, caKey)
		if err != nil {
			return err
		}
		if err := tok.ImportCertificate(label, ref.ID, der); err != nil {
			return err
		}
		leaf, err := x509.ParseCertificate(der)
		if err != nil {
			return err
		}
		chain := [][]byte{der}
		if byDSA {
			chain = append(chain, dsaCA.Raw) // see ssl's DSA chain fallback
		}
		pki.certs = append(pki.certs, ssl.Certificate{Certificate: chain, PrivateKey: key, Leaf: leaf})
		return nil
	}

	ref, err := tok.GenerateRSA("rsa-server", nil, 2048)
	if err != nil {
		return nil, err
	}
	key, err := b.FindKey(ref.Spec())
	if err != nil {
		return nil, err
	}
	spki, _ := x509.MarshalPKIXPublicKey(key.(crypto.Signer).Public())
	if err := issue("rsa-server", ref, spki, x509.KeyUsageDigitalSignature|x509.KeyUsageKeyEncipherment, false); err != nil {
		return nil, err
	}
	if ref, err = tok.GenerateDSA("dsa-server", nil, dsaParams); err != nil {
		return nil, err
	}
	if key, err = b.FindKey(ref.Spec()); err != nil {
		return nil, err
	}
	spki, _ = dhcert.MarshalDSAPublicKey(key.(crypto.Signer).Public().(*dsa.PublicKey))
	if err := issue("dsa-server", ref, spki, x509.KeyUsageDigitalSignature, false); err != nil {
		return nil, err
	}
	x942 := &token.DHParams{P: kp.P, G: kp.G, Q: kp.Q}
	for _, d := range []struct {
		label string
		group *token.DHParams
		byDSA bool
	}{
		{"dh-rsa-server", ssl.RFC2409Group2(), false},
		{"dh-dss-server", x942, true},
		{"dh-rsa-export-server", ssl.ExportDHGroup512(), false},
		{"dh-dss-export-server", ssl.ExportDHGroup512(), true},
	} {
		ref, err := tok.GenerateDH(d.label, nil, *d.group)
		if err != nil {
			return nil, err
		}
		key, err := b.FindKey(ref.Spec())
		if err != nil {
			return nil, err
		}
		pub := key.(token.DHAgreer).DHPublic()
		spki, err := dhcert.MarshalPublicKey(&dhcert.PublicKey{P: d.group.P, G: d.group.G, Q: d.group.Q, Y: pub.Y})
		if err != nil {
			return nil, err
		}
		if err := issue(d.label, ref, spki, x509.KeyUsageKeyAgreement, d.byDSA); err != nil {
			return nil, err
		}
	}
	return pki, nil
}
