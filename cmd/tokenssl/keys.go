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
	"github.com/tokenssl/tokenssl/token"
	"github.com/tokenssl/tokenssl/token/pkcs11"
)

// keyFlags selects a certificate and private key: a PEM file, a key on a
// PKCS#11 token (module, token, key, PIN), or an RFC 7512 pkcs11: URI. A
// token key may be a Fortezza card (its KEA key, by CKK_KEA or the card
// layout's label), served by the card or by the SoftHSM emulator.
type keyFlags struct {
	cert, key               string
	module                  string
	slot                    int
	tokenLabel, tokenSerial string
	keyLabel, keyID         string
	pin                     pkcs11.PINSpec
	pinFinalTry             bool
	poolSize                int
}

// side says which command registers flags: flags only one side takes
// are not shown on the other.
type side int

const (
	serverSide side = iota
	clientSide
	tokenSide // token keys: the token and its PIN, no key or certificate
)

func (k *keyFlags) register(fs *flag.FlagSet, s side) {
	if s != tokenSide {
		fs.StringVar(&k.cert, "cert", "", "PEM certificate chain, or a pkcs11: URI of a certificate on a token (default with a token key: the certificate stored beside it)")
		fs.StringVar(&k.key, "key", "", "PEM private key file, or a pkcs11: URI (RFC 7512), also of a Fortezza card's KEA key")
	}
	fs.StringVar(&k.module, "pkcs11-module", defaultModule(), "PKCS#11 module (default: SoftHSM2 where installed)")
	fs.IntVar(&k.slot, "slot", -1, "token by slot ID")
	fs.StringVar(&k.tokenLabel, "token-label", "", "token by label")
	fs.StringVar(&k.tokenSerial, "token-serial", "", "token by serial number")
	if s != tokenSide {
		fs.StringVar(&k.keyLabel, "key-label", "", "private key by CKA_LABEL")
		fs.StringVar(&k.keyID, "key-id", "", "private key by CKA_ID: hex (0105) or as in a URI (%01%05)")
	}
	registerPIN(fs, &k.pin, "")
	fs.BoolVar(&k.pinFinalTry, "pin-final-try", false, "log in even when the token reports its final PIN try (a wrong PIN then locks it)")
	if s == serverSide {
		fs.IntVar(&k.poolSize, "pool-size", 0, "PKCS#11 sessions shared by all handshakes (default: number of CPUs)")
	}
}

// registerPIN registers the PIN flags -<prefix>pin, -<prefix>pin-file,
// -<prefix>pin-env and -<prefix>pin-source on spec: every way to give a
// PIN ends in the one parser, pkcs11.PINSpec.Resolve.
func registerPIN(fs *flag.FlagSet, spec *pkcs11.PINSpec, prefix string) {
	fs.StringVar(&spec.Value, prefix+"pin", "", "user PIN (visible in ps: prefer -"+prefix+"pin-file or -"+prefix+"pin-env)")
	fs.StringVar(&spec.File, prefix+"pin-file", "", "read the user PIN from this file")
	fs.StringVar(&spec.Env, prefix+"pin-env", "", "read the user PIN from this environment variable")
	fs.StringVar(&spec.Source, prefix+"pin-source", "", "PIN source: file:PATH, env:NAME, pass:PIN or prompt")
}

// pinOrPrompt is spec, or a prompt when it is empty and stdin is a terminal.
func pinOrPrompt(spec pkcs11.PINSpec) pkcs11.PINSpec {
	if spec == (pkcs11.PINSpec{}) && term.IsTerminal(int(os.Stdin.Fd())) {
		spec.Prompt = true
	}
	return spec
}

func defaultModule() string {
	if p, err := softhsm.Find(); err == nil {
		return p
	}
	return ""
}

// onToken reports whether the flags name a token key.
func (k *keyFlags) onToken() bool {
	return pkcs11.IsURI(k.key) || k.keyLabel != "" || k.keyID != ""
}

// set reports whether any key was given.
func (k *keyFlags) set() bool { return k.key != "" || k.onToken() }

// token is the module and token the flags select, without a PIN.
func (k *keyFlags) token() pkcs11.Config {
	cfg := pkcs11.Config{ModulePath: k.module, TokenLabel: k.tokenLabel, TokenSerial: k.tokenSerial, PoolSize: k.poolSize, PINFinalTry: k.pinFinalTry}
	if k.slot >= 0 {
		s := uint(k.slot)
		cfg.SlotID = &s
	}
	return cfg
}

// tokenConfig builds the backend configuration from the flags.
func (k *keyFlags) tokenConfig() (pkcs11.Config, error) {
	cfg := k.token()
	src, err := pinOrPrompt(k.pin).Resolve()
	if err != nil {
		return cfg, err
	}
	cfg.PIN = src
	return cfg, nil
}

// request is the token key the flags name.
func (k *keyFlags) request() (pkcs11.KeyRequest, error) {
	req := pkcs11.KeyRequest{Config: k.token(), PIN: pinOrPrompt(k.pin), Key: pkcs11.KeySpec{Label: k.keyLabel}, Emulator: softhsm.EmulateFortezza}
	if k.keyID != "" {
		id, err := parseKeyID(k.keyID)
		if err != nil {
			return req, err
		}
		req.Key.ID = id
	}
	return req, nil
}

// parseKeyID reads -key-id as hex (0105, 01:05) or as a URI writes it
// (%01%05), the form token keys prints.
func parseKeyID(s string) ([]byte, error) {
	if strings.HasPrefix(s, "%") {
		u, err := pkcs11.ParseURI("pkcs11:id=" + s)
		if err != nil || len(u.ID) == 0 {
			return nil, fmt.Errorf("-key-id %q: want hex (0105) or percent-escaped bytes (%%01%%05)", s)
		}
		return u.ID, nil
	}
	id, err := hex.DecodeString(strings.ReplaceAll(s, ":", ""))
	if err != nil || len(id) == 0 {
		return nil, fmt.Errorf("-key-id %q: want hex (0105) or percent-escaped bytes (%%01%%05)", s)
	}
	return id, nil
}

// loadedKey is a certificate with its key, ready for ssl.Config.
type loadedKey struct {
	cert    ssl.Certificate
	roots   *x509.CertPool  // the CA stored on a Fortezza card, else nil
	card    pkcs11.CardKind // which implementation serves a card
	backend *pkcs11.Backend // the token of a token key, else nil
	close   func()
}

// load returns the certificate and key the flags name; server selects a
// card's KEA certificate (else its DSS certificate, a client's). A
// certificate that does not belong to the key is refused here.
func (k *keyFlags) load(server bool) (*loadedKey, error) {
	if !k.onToken() {
		if k.cert == "" || k.key == "" {
			return nil, errors.New("give -cert and -key, or a token key (-key-label/-key-id or -key pkcs11:…)")
		}
		var cert ssl.Certificate
		var err error
		if pkcs11.IsURI(k.cert) {
			if cert.Certificate, err = k.tokenCertificate(nil); err != nil {
				return nil, err
			}
			if cert.PrivateKey, err = token.LoadKeyFile(k.key); err != nil {
				return nil, err
			}
		} else {
			// Loaded apart (not ssl.LoadX509KeyPair) so that checkPair
			// words a mismatch in the flags' terms.
			if cert.Certificate, err = ssl.LoadCertificateChain(k.cert); err != nil {
				return nil, err
			}
			if cert.PrivateKey, err = token.LoadKeyFile(k.key); err != nil {
				return nil, err
			}
		}
		if err := checkPair(&cert, fmt.Sprintf("-cert %s and -key %s", k.cert, k.key)); err != nil {
			return nil, err
		}
		return &loadedKey{cert: cert, close: func() {}}, nil
	}
	req, err := k.request()
	if err != nil {
		return nil, err
	}
	if !pkcs11.IsURI(k.key) && req.ModulePath == "" {
		return nil, errors.New("no PKCS#11 module: give -pkcs11-module")
	}
	lk, err := openTokenKey(req, k.key, k.cert, server)
	if err != nil {
		if errors.Is(err, pkcs11.ErrKeyNotFound) && !k.pinGiven(req) {
			return nil, errNeedPIN
		}
		return nil, err
	}
	// A client card's leaf is its DSS certificate, which the engine's
	// Fortezza check (a KEA exchange against the KEA certificate) does
	// not cover.
	if lk.card == "" || server {
		what := "the token key and the certificate stored beside it"
		if k.cert != "" {
			what = fmt.Sprintf("-cert %s and the token key", k.cert)
		}
		if err := checkPair(&lk.cert, what); err != nil {
			lk.close()
			return nil, err
		}
	}
	return lk, nil
}

// credentialFlags are the certificate flags of the server and the client:
// a key file or token key and a Fortezza card, which share -pin-final-try.
type credentialFlags struct {
	keys keyFlags
	card *fortezzaFlags
}

func (c *credentialFlags) register(fs *flag.FlagSet, s side) {
	c.keys.register(fs, s)
	c.card = addFortezzaFlags(fs, s)
	c.card.finalTry = &c.keys.pinFinalTry
}

// open selects -fortezza-store, then opens the key (when withKey) and the
// card, handing each to use as it opens; roots is the CA a card stores.
// closeAll releases them and the store. Errors are prefixed with the side's
// command name.
func (c *credentialFlags) open(s side, withKey bool, use func(*loadedKey)) (roots *x509.CertPool, closeAll func(), err error) {
	name := map[side]string{serverSide: "server", clientSide: "client"}[s]
	closeStore, err := c.card.openStore()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: -fortezza-store: %w", name, err)
	}
	var opened []*loadedKey
	closeAll = func() {
		for i := len(opened) - 1; i >= 0; i-- {
			opened[i].close()
		}
		closeStore()
	}
	for _, l := range []struct {
		on   bool
		what string
		load func(bool) (*loadedKey, error)
	}{{withKey, "", c.keys.load}, {c.card.enabled(), "Fortezza card: ", c.card.load}} {
		if !l.on {
			continue
		}
		lk, err := l.load(s == serverSide)
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("%s: %s%w", name, l.what, err)
		}
		opened = append(opened, lk)
		if lk.roots != nil {
			roots = lk.roots
		}
		use(lk)
	}
	return roots, closeAll, nil
}

// errNeedPIN: without a PIN a token shows no private keys, so "key not
// found" would send the operator looking for the wrong thing.
var errNeedPIN = errors.New("the token needs a PIN: use -pin-file, -pin-env or -pin-source (or run on a terminal to be prompted); without a login its private keys are hidden")

// pinGiven reports whether a PIN reaches the token: a flag, a prompt, or
// the key URI's own pin-source/pin-value.
func (k *keyFlags) pinGiven(req pkcs11.KeyRequest) bool {
	if req.Config.PIN != nil || req.PIN != (pkcs11.PINSpec{}) {
		return true
	}
	if pkcs11.IsURI(k.key) {
		if u, err := pkcs11.ParseURI(k.key); err == nil && (u.PINSource != "" || u.PINValue != "") {
			return true
		}
	}
	return false
}

// tokenCertificate reads the certificate -cert names by a pkcs11: URI: on
// b (the key's token) when given and the URI names no other token, else
// on the token the URI selects (certificates are public: no login).
func (k *keyFlags) tokenCertificate(b *pkcs11.Backend) ([][]byte, error) {
	u, err := pkcs11.ParseURI(k.cert)
	if err != nil {
		return nil, fmt.Errorf("-cert: %w", err)
	}
	if u.Type != "" && u.Type != "cert" {
		return nil, fmt.Errorf("-cert: the URI has type=%s; a certificate is type=cert", u.Type)
	}
	if u.Object == "" && len(u.ID) == 0 {
		return nil, errors.New("-cert: the URI names no certificate (give object= or id=)")
	}
	sameToken := b != nil && (u.Token == "" || u.Token == b.Label()) && (u.Serial == "" || u.Serial == b.Serial()) &&
		u.ModulePath == "" && u.ModuleName == "" && u.SlotID == nil
	if !sameToken {
		cfg, err := u.Config(pkcs11.Config{ModulePath: k.module, TokenLabel: k.tokenLabel, TokenSerial: k.tokenSerial})
		if err != nil {
			return nil, fmt.Errorf("-cert: %w", err)
		}
		if b, err = pkcs11.Open(cfg); err != nil {
			return nil, fmt.Errorf("-cert: %w", err)
		}
		defer b.Close()
	}
	der, err := b.FindCertificate(u.KeySpec())
	if err != nil {
		return nil, fmt.Errorf("-cert: %w", err)
	}
	return [][]byte{der}, nil
}

// openTokenKey opens a token key (named by uri if it is one, else by req)
// through pkcs11.OpenKey, and builds its chain: certFile if given, else
// the certificate on the token; for a card, the KEA (server) or DSS
// (client) certificate and the card's CA, which also becomes roots.
func openTokenKey(req pkcs11.KeyRequest, uri, certFile string, server bool) (*loadedKey, error) {
	var ok *pkcs11.OpenedKey
	var err error
	if pkcs11.IsURI(uri) {
		ok, err = pkcs11.OpenKeyURI(uri, req)
	} else {
		ok, err = pkcs11.OpenKey(req)
	}
	if err != nil {
		return nil, err
	}
	lk := &loadedKey{cert: ssl.Certificate{PrivateKey: ok.Key}, card: ok.Card, backend: ok.Backend, close: func() { ok.Close() }}
	fail := func(err error) (*loadedKey, error) {
		lk.close()
		return nil, err
	}
	leaf := ok.Certificate
	if ok.Card != "" && !server {
		leaf = ok.DSSCertificate
	}
	switch {
	case pkcs11.IsURI(certFile):
		if lk.cert.Certificate, err = (&keyFlags{cert: certFile, module: req.ModulePath}).tokenCertificate(ok.Backend); err != nil {
			return fail(err)
		}
	case certFile != "":
		if lk.cert.Certificate, err = ssl.LoadCertificateChain(certFile); err != nil {
			return fail(err)
		}
	case leaf == nil:
		return fail(errors.New("no -cert given and no certificate beside the key on the token"))
	default:
		lk.cert.Certificate = [][]byte{leaf}
	}
	if ok.Card != "" {
		if ok.CACertificate != nil {
			if certFile == "" {
				lk.cert.Certificate = append(lk.cert.Certificate, ok.CACertificate)
			}
			if ca, err := x509.ParseCertificate(ok.CACertificate); err == nil {
				lk.roots = x509.NewCertPool()
				lk.roots.AddCert(ca)
			}
		}
		return lk, nil // Fortezza certificates are for the engine's own parser
	}
	if lk.cert.Leaf, err = x509.ParseCertificate(lk.cert.Certificate[0]); err != nil {
		return fail(err)
	}
	return lk, nil
}

// setEmailMode puts a card that has the choice into KEA e-mail mode.
func setEmailMode(k token.Key, on bool) {
	if c, ok := k.(interface{ SetEmailMode(bool) }); ok {
		c.SetEmailMode(on)
	}
}
