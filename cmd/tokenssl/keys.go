package main

import (
	"crypto/x509"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/tokenssl/tokenssl/softhsm"
	"github.com/tokenssl/tokenssl/ssl"
	"github.com/tokenssl/tokenssl/token/pkcs11"
)

// keyFlags selects a certificate and private key: a PEM file, a key on a
// PKCS#11 token (module, token, key, PIN), or an RFC 7512 pkcs11: URI.
type keyFlags struct {
	cert, key               string
	module                  string
	slot                    int
	tokenLabel, tokenSerial string
	keyLabel, keyID         string
	pin, pinFile, pinEnv    string
	pinFinalTry             bool
	poolSize                int
}

func (k *keyFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&k.cert, "cert", "", "PEM certificate chain (default with a token key: the certificate stored beside it)")
	fs.StringVar(&k.key, "key", "", "PEM private key file, or a pkcs11: URI (RFC 7512)")
	fs.StringVar(&k.module, "pkcs11-module", defaultModule(), "PKCS#11 module (default: SoftHSM2 where installed)")
	fs.IntVar(&k.slot, "slot", -1, "token by slot ID")
	fs.StringVar(&k.tokenLabel, "token-label", "", "token by label")
	fs.StringVar(&k.tokenSerial, "token-serial", "", "token by serial number")
	fs.StringVar(&k.keyLabel, "key-label", "", "private key by CKA_LABEL")
	fs.StringVar(&k.keyID, "key-id", "", "private key by CKA_ID (hex)")
	fs.StringVar(&k.pin, "pin", "", "user PIN (visible in ps: prefer -pin-file or -pin-env)")
	fs.StringVar(&k.pinFile, "pin-file", "", "read the user PIN from this file")
	fs.StringVar(&k.pinEnv, "pin-env", "", "read the user PIN from this environment variable")
	fs.BoolVar(&k.pinFinalTry, "pin-final-try", false, "log in even when the token reports its final PIN try (a wrong PIN then locks it)")
	fs.IntVar(&k.poolSize, "pool-size", 0, "PKCS#11 sessions shared by all handshakes (default: number of CPUs)")
}

func defaultModule() string {
	if p, err := softhsm.Find(); err == nil {
		return p
	}
	return ""
}

// onToken reports whether the flags name a token key.
func (k *keyFlags) onToken() bool {
	return strings.HasPrefix(k.key, "pkcs11:") || k.keyLabel != "" || k.keyID != ""
}

// set reports whether any key was given.
func (k *keyFlags) set() bool { return k.key != "" || k.onToken() }

// tokenConfig builds the backend configuration from the flags.
func (k *keyFlags) tokenConfig() (pkcs11.Config, error) {
	cfg := pkcs11.Config{ModulePath: k.module, TokenLabel: k.tokenLabel, TokenSerial: k.tokenSerial, PoolSize: k.poolSize, PINFinalTry: k.pinFinalTry}
	if k.slot >= 0 {
		s := uint(k.slot)
		cfg.SlotID = &s
	}
	n := 0
	for _, v := range []string{k.pin, k.pinFile, k.pinEnv} {
		if v != "" {
			n++
		}
	}
	if n > 1 {
		return cfg, errors.New("give at most one of -pin, -pin-file, -pin-env")
	}
	switch {
	case k.pin != "":
		cfg.PIN = pkcs11.PINString(k.pin)
	case k.pinFile != "":
		cfg.PIN = pkcs11.PINFile(k.pinFile)
	case k.pinEnv != "":
		cfg.PIN = pkcs11.PINEnv(k.pinEnv)
	case term.IsTerminal(int(os.Stdin.Fd())):
		cfg.PIN = pkcs11.PINPrompt{}
	}
	return cfg, nil
}

// load returns the certificate and key; closeFn releases the token.
func (k *keyFlags) load() (cert ssl.Certificate, closeFn func(), err error) {
	closeFn = func() {}
	if !k.onToken() {
		if k.cert == "" || k.key == "" {
			return cert, closeFn, errors.New("give -cert and -key, or a token key (-key-label/-key-id or -key pkcs11:…)")
		}
		cert, err = ssl.LoadX509KeyPair(k.cert, k.key)
		return cert, closeFn, err
	}
	cfg, err := k.tokenConfig()
	if err != nil {
		return cert, closeFn, err
	}
	var b *pkcs11.Backend
	if strings.HasPrefix(k.key, "pkcs11:") {
		b, cert.PrivateKey, err = pkcs11.OpenURI(k.key, cfg)
	} else {
		if cfg.ModulePath == "" {
			return cert, closeFn, errors.New("no PKCS#11 module: give -pkcs11-module")
		}
		spec := pkcs11.KeySpec{Label: k.keyLabel}
		if k.keyID != "" {
			if spec.ID, err = hex.DecodeString(k.keyID); err != nil {
				return cert, closeFn, fmt.Errorf("-key-id: %v", err)
			}
		}
		if b, err = pkcs11.Open(cfg); err == nil {
			if cert.PrivateKey, err = b.FindKey(spec); err != nil {
				b.Close()
			}
		}
	}
	if err != nil {
		return cert, closeFn, err
	}
	closeFn = func() { b.Close() }
	if k.cert != "" {
		if cert.Certificate, err = ssl.LoadCertificateChain(k.cert); err != nil {
			closeFn()
			return cert, func() {}, err
		}
	} else {
		stored, ok := cert.PrivateKey.(interface{ Certificate() ([]byte, error) })
		if !ok {
			closeFn()
			return cert, func() {}, errors.New("no -cert given and the token key has no certificate lookup")
		}
		der, err := stored.Certificate()
		if err != nil {
			closeFn()
			return cert, func() {}, fmt.Errorf("no -cert given and no certificate beside the key on the token: %w", err)
		}
		cert.Certificate = [][]byte{der}
	}
	if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
		closeFn()
		return cert, func() {}, err
	}
	return cert, closeFn, nil
}
