// Command provision sets up a persistent SoftHSM2 token for manual use:
// its own store in -dir (never the system's), random SO and user PINs in
// files beside it (mode 0600, never on a command line), an RSA key
// generated on the token (sensitive, not extractable), and a self-signed
// certificate signed by that key, stored on the token beside it and in a
// PEM file for clients. It prints the tokenssl command lines that use it.
// Running it again reuses what exists.
//
//	go run ./softhsm/cmd/provision -dir .tokens [-label tokenssl] [-key-label server] [-cn localhost]
package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
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
	keyLabel := flag.String("key-label", "server", "key and certificate label")
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
	key, err := b.FindKey(pkcs11.KeySpec{Label: *keyLabel})
	if errors.Is(err, pkcs11.ErrKeyNotFound) {
		var ref softhsm.KeyRef
		if ref, err = tok.GenerateRSA(*keyLabel, nil, *bits); err != nil {
			b.Close()
			return err
		}
		fmt.Printf("generated RSA-%d key %q (id %x) on the token\n", *bits, *keyLabel, ref.ID)
		key, err = b.FindKey(ref.Spec())
	}
	if err != nil {
		b.Close()
		return err
	}
	rk, ok := key.(*pkcs11.RSAKey)
	if !ok {
		b.Close()
		return fmt.Errorf("key %q is not an RSA key", *keyLabel)
	}
	der, err := rk.Certificate()
	if errors.Is(err, pkcs11.ErrKeyNotFound) {
		if der, err = selfSigned(rk, *cn); err == nil {
			err = tok.ImportCertificate(*keyLabel, rk.ID(), der)
		}
		if err == nil {
			fmt.Printf("stored a self-signed certificate for %q beside the key\n", *cn)
		}
	}
	b.Close()
	if err != nil {
		return err
	}
	certFile := filepath.Join(env.Dir, *keyLabel+".crt")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	printUsage(env, tok, *keyLabel, rk.ID(), certFile, userPINFile, *listen, *cn)
	return nil
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

// selfSigned makes a certificate for the token key, signed by it
// (SHA-256 with RSA: a DigestInfo signature through C_Sign).
func selfSigned(k *pkcs11.RSAKey, cn string) ([]byte, error) {
	pub := k.Public().(*rsa.PublicKey)
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, err
	}
	ski := sha1.Sum(pub.N.Bytes())
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"tokenssl token"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(1, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true, // self-signed: clients pass it as their -ca root
		SubjectKeyId:          ski[:],
		DNSNames:              []string{cn},
	}
	if ip := net.ParseIP(cn); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else if cn == "localhost" {
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	}
	return x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, k)
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

func printUsage(env *softhsm.Env, tok *softhsm.Token, keyLabel string, id []byte, certFile, pinFile, listen, cn string) {
	conf := "SOFTHSM2_CONF=" + shq(env.ConfigPath)
	tokenFlags := fmt.Sprintf("-pkcs11-module %s -token-label %s -key-label %s -pin-file %s",
		shq(env.ModulePath), shq(tok.Label), shq(keyLabel), shq(pinFile))
	uri := &pkcs11.URI{Token: tok.Label, Object: keyLabel, ID: id, Type: "private",
		ModulePath: env.ModulePath, PINSource: "file:" + pinFile}
	host, port, _ := net.SplitHostPort(listen)
	if host == "" {
		host = "127.0.0.1"
	}
	fmt.Printf(`
Token %q (serial %s) in %s
  key %q (RSA, id %s) and its certificate are on the token; the certificate is also in %s
  user PIN in %s (mode 0600); SO PIN in %s

Server, private key on the token:
  %s bin/tokenssl server -listen %s -cert %s %s
  (the same key as a PKCS#11 URI: -key %s)

Client, trusting that certificate:
  bin/tokenssl client -connect %s -ca %s -servername %s

Client with its certificate and key on the token (client authentication):
  %s bin/tokenssl client -connect %s -ca %s -servername %s -cert %s %s
`,
		tok.Label, tok.Serial, env.Dir,
		keyLabel, hex.EncodeToString(id), certFile,
		pinFile, filepath.Join(env.Dir, "so.pin"),
		conf, shq(listen), shq(certFile), tokenFlags,
		shq(uri.String()),
		shq(net.JoinHostPort(host, port)), shq(certFile), shq(cn),
		conf, shq(net.JoinHostPort(host, port)), shq(certFile), shq(cn), shq(certFile), tokenFlags)
}
