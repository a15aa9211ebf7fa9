// Command provision sets up a persistent SoftHSM2 token for manual use:
// its own store in -dir (never the system's), random SO and user PINs in
// files beside it (mode 0600, never on a command line), and three RSA keys
// generated on the token (sensitive, not extractable): a CA's, a server's
// and a client's. The CA certificate is self-signed by the CA key; the
// server and client certificates are leaves (CA:FALSE, serverAuth and
// clientAuth) that the CA key signs, as NSS and OpenSSL expect of a peer.
// Each certificate is stored on the token beside its key and in a PEM file.
// It prints the tokenssl command lines that use them, client
// authentication included. Running it again reuses what exists.
//
//	go run ./softhsm/cmd/provision -dir .tokens [-label tokenssl] [-key-label server] [-client-label client] [-cn localhost]
package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tokenssl/tokenssl/softhsm"
	"github.com/tokenssl/tokenssl/token/pkcs11"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "provision:", err)
		os.Exit(1)
	}
}

func run() error {
	defDir := os.Getenv("TOKENSSL_TOKEN_DIR")
	if defDir == "" {
		defDir = ".tokens"
	}
	dir := flag.String("dir", defDir, "store directory (default $TOKENSSL_TOKEN_DIR or .tokens)")
	label := flag.String("label", "tokenssl", "token label")
	keyLabel := flag.String("key-label", "server", "the server's key and certificate label")
	clientLabel := flag.String("client-label", "client", "the client's key and certificate label")
	caLabel := flag.String("ca-label", "ca", "the CA's key and certificate label")
	bits := flag.Int("bits", 2048, "RSA key size")
	cn := flag.String("cn", "localhost", "certificate common name and DNS name")
	listen := flag.String("listen", "127.0.0.1:4433", "address for the printed server command")
	force := flag.Bool("force", false, "delete the token and start again")
	flag.Parse()

	env, err := softhsm.New(*dir)
	if err != nil {
		return err
	}
	defer env.Close()
	userPINFile := filepath.Join(env.Dir, "user.pin")
	soPINFile := filepath.Join(env.Dir, "so.pin")

	tok, err := existingToken(env, *label, userPINFile)
	if err != nil {
		return err
	}
	if tok != nil && *force {
		if err := tok.Delete(); err != nil {
			return err
		}
		// SoftHSM notices a deleted token only on its next C_Initialize,
		// which the next Env gets.
		env.Close()
		if env, err = softhsm.New(*dir); err != nil {
			return err
		}
		defer env.Close()
		tok = nil
	}
	if tok == nil {
		userPIN, err := pinFile(userPINFile, 16)
		if err != nil {
			return err
		}
		soPIN, err := pinFile(soPINFile, 24)
		if err != nil {
			return err
		}
		if tok, err = env.InitToken(*label, soPIN, userPIN); err != nil {
			return err
		}
		fmt.Printf("initialised token %q (serial %s)\n", tok.Label, tok.Serial)
	}

	b, err := tok.Open()
	if err != nil {
		return err
	}
	defer b.Close()
	p := &provisioner{tok: tok, b: b, bits: *bits}
	caKey, caDER, err := p.ca(*caLabel)
	if err != nil {
		return err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return err
	}
	server, err := p.leaf(*keyLabel, *cn, x509.ExtKeyUsageServerAuth, caCert, caKey)
	if err != nil {
		return err
	}
	client, err := p.leaf(*clientLabel, "tokenssl client", x509.ExtKeyUsageClientAuth, caCert, caKey)
	if err != nil {
		return err
	}
	files := map[string][]byte{"ca.crt": caDER, *keyLabel + ".crt": server.der, *clientLabel + ".crt": client.der}
	for name, der := range files {
		if err := os.WriteFile(filepath.Join(env.Dir, name), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
			return err
		}
	}
	printUsage(env, tok, server, client, filepath.Join(env.Dir, "ca.crt"), userPINFile, *listen, *cn)
	return nil
}

// provisioner makes or finds the keys and certificates on one token.
type provisioner struct {
	tok  *softhsm.Token
	b    *pkcs11.Backend
	bits int
}

// issued is a key on the token and its certificate.
type issued struct {
	label string
	id    []byte
	der   []byte
}

// key returns the RSA key labelled label, generating it on the token.
func (p *provisioner) key(label string) (*pkcs11.RSAKey, error) {
	key, err := p.b.FindKey(pkcs11.KeySpec{Label: label})
	if errors.Is(err, pkcs11.ErrKeyNotFound) {
		var ref softhsm.KeyRef
		if ref, err = p.tok.GenerateRSA(label, nil, p.bits); err != nil {
			return nil, err
		}
		fmt.Printf("generated RSA-%d key %q (id %s) on the token\n", p.bits, label, uriID(ref.ID))
		key, err = p.b.FindKey(ref.Spec())
	}
	if err != nil {
		return nil, err
	}
	rk, ok := key.(*pkcs11.RSAKey)
	if !ok {
		return nil, fmt.Errorf("key %q is not an RSA key", label)
	}
	return rk, nil
}

// ca returns the CA key and its self-signed certificate, making them.
func (p *provisioner) ca(label string) (*pkcs11.RSAKey, []byte, error) {
	k, err := p.key(label)
	if err != nil {
		return nil, nil, err
	}
	der, err := k.Certificate()
	if errors.Is(err, pkcs11.ErrKeyNotFound) {
		tmpl := template("tokenssl token CA", k)
		tmpl.IsCA = true
		tmpl.MaxPathLenZero = true
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
		tmpl.NotAfter = time.Now().AddDate(5, 0, 0)
		if der, err = x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k); err == nil {
			err = p.tok.ImportCertificate(label, k.ID(), der)
		}
		if err == nil {
			fmt.Printf("stored a CA certificate beside key %q\n", label)
		}
	}
	return k, der, err
}

// leaf returns the key labelled label and its certificate for cn, issued
// by the CA when there is none on the token yet. A CA:TRUE certificate
// beside a server or client key is the layout of an earlier version of
// this command, which NSS refuses as a peer's certificate.
func (p *provisioner) leaf(label, cn string, eku x509.ExtKeyUsage, ca *x509.Certificate, caKey *pkcs11.RSAKey) (issued, error) {
	k, err := p.key(label)
	if err != nil {
		return issued{}, err
	}
	der, err := k.Certificate()
	if err == nil {
		c, perr := x509.ParseCertificate(der)
		if perr != nil {
			return issued{}, perr
		}
		if c.IsCA || c.CheckSignatureFrom(ca) != nil {
			return issued{}, fmt.Errorf("the certificate beside key %q is not a leaf of CA %q (an earlier layout of this token): run again with -force to start over", label, ca.Subject.CommonName)
		}
		return issued{label, k.ID(), der}, nil
	}
	if !errors.Is(err, pkcs11.ErrKeyNotFound) {
		return issued{}, err
	}
	tmpl := template(cn, k)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{eku}
	if eku == x509.ExtKeyUsageServerAuth {
		tmpl.DNSNames = []string{cn}
		if ip := net.ParseIP(cn); ip != nil {
			tmpl.IPAddresses, tmpl.DNSNames = []net.IP{ip}, nil
		} else if cn == "localhost" {
			tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
		}
	}
	if der, err = x509.CreateCertificate(rand.Reader, tmpl, ca, k.Public(), caKey); err != nil {
		return issued{}, err
	}
	if err := p.tok.ImportCertificate(label, k.ID(), der); err != nil {
		return issued{}, err
	}
	fmt.Printf("stored a certificate for %q (issued by the CA) beside key %q\n", cn, label)
	return issued{label, k.ID(), der}, nil
}

// template is what every certificate here shares (signatures: SHA-256
// with RSA, a DigestInfo signature through C_Sign).
func template(cn string, k *pkcs11.RSAKey) *x509.Certificate {
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	ski := sha1.Sum(k.Public().(*rsa.PublicKey).N.Bytes())
	return &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"tokenssl token"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(1, 0, 0),
		BasicConstraintsValid: true,
		SubjectKeyId:          ski[:],
	}
}

// uriID writes a CKA_ID as a pkcs11: URI takes it: %01%05.
func uriID(id []byte) string {
	var b strings.Builder
	for _, c := range id {
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// existingToken returns the token if the store has it (it then needs the
// PIN file written when it was made).
func existingToken(env *softhsm.Env, label, userPINFile string) (*softhsm.Token, error) {
	data, err := os.ReadFile(userPINFile)
	if os.IsNotExist(err) {
		if _, terr := env.Token(label, "unused"); terr == nil {
			return nil, fmt.Errorf("token %q exists in %s but %s is missing; use -force to start again", label, env.Dir, userPINFile)
		}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	tok, err := env.Token(label, strings.TrimSuffix(string(data), "\n"))
	if err != nil {
		return nil, nil
	}
	return tok, nil
}

// pinFile returns the PIN in path, creating it with n random hex digits.
func pinFile(path string, n int) (string, error) {
	if data, err := os.ReadFile(path); err == nil {
		return strings.TrimSuffix(string(data), "\n"), nil
	}
	pin := softhsm.RandomPIN(n)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := f.WriteString(pin + "\n"); err != nil {
		return "", err
	}
	return pin, nil
}

// shq quotes s for a POSIX shell when it needs it.
func shq(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-:=,+@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func printUsage(env *softhsm.Env, tok *softhsm.Token, server, client issued, caFile, pinFile, listen, cn string) {
	conf := "SOFTHSM2_CONF=" + shq(env.ConfigPath)
	tokenFlags := func(label string) string {
		return fmt.Sprintf("-pkcs11-module %s -token-label %s -key-label %s -pin-file %s",
			shq(env.ModulePath), shq(tok.Label), shq(label), shq(pinFile))
	}
	uri := &pkcs11.URI{Token: tok.Label, Object: server.label, ID: server.id, Type: "private",
		ModulePath: env.ModulePath, PINSource: "file:" + pinFile}
	host, port, _ := net.SplitHostPort(listen)
	if host == "" {
		host = "127.0.0.1"
	}
	connect := shq(net.JoinHostPort(host, port))
	fmt.Printf(`
Token %q (serial %s) in %s
  keys %q (server, id %s) and %q (client, id %s) and the CA's, with their certificates, are on the token
  certificates also in %s: ca.crt, %s.crt, %s.crt
  user PIN in %s (mode 0600); SO PIN in %s

Server, private key on the token; client certificates are verified against the CA when given
(-verify-client require refuses clients without one):
  %s bin/tokenssl server -listen %s %s -verify-client request -client-ca %s
  (the same key as a PKCS#11 URI: -key %s)

Client, trusting the CA:
  bin/tokenssl client -connect %s -ca %s -servername %s

Client with its certificate and key on the token (client authentication):
  %s bin/tokenssl client -connect %s -ca %s -servername %s %s
`,
		tok.Label, tok.Serial, env.Dir,
		server.label, uriID(server.id), client.label, uriID(client.id),
		env.Dir, server.label, client.label,
		pinFile, filepath.Join(env.Dir, "so.pin"),
		conf, shq(listen), tokenFlags(server.label), shq(caFile),
		shq(uri.String()),
		connect, shq(caFile), shq(cn),
		conf, connect, shq(caFile), shq(cn), tokenFlags(client.label))
}
