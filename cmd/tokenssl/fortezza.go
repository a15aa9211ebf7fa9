package main

// Fortezza on the command line:
//
//	tokenssl token provision-fortezza -store DIR -label L (-pin-file F | -pin-env V | -pin-source S) -role server|client [-cn NAME] [-ca-dir DIR] [-generate-params]
//	tokenssl server|client ... -fortezza-label L (-fortezza-pin-file F | -fortezza-pin P) [-fortezza-store DIR] [-fortezza-email]

import (
	"bytes"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/tokenssl/tokenssl/internal/ssltest"
	"github.com/tokenssl/tokenssl/kea"
	"github.com/tokenssl/tokenssl/softhsm"
	"github.com/tokenssl/tokenssl/ssl"
	"github.com/tokenssl/tokenssl/token"
	"github.com/tokenssl/tokenssl/token/pkcs11"
	"github.com/tokenssl/tokenssl/x509legacy"
)

// runProvisionFortezza implements `tokenssl token provision-fortezza`: it
// puts a Fortezza card (KEA and DSS keys in one domain, their certificates
// and the CA's) on a SoftHSM token in a persistent store, creating the
// token if it does not exist, and the CA in -ca-dir if it has none yet (so
// a server and a client card provisioned with the same -ca-dir trust each
// other). The CA key is written to ca-dir/fortezza-ca.key (DSA PEM) and
// the certificate to ca-dir/fortezza-ca.pem.
func runProvisionFortezza(args []string) error {
	fs := commandFlagSet("token provision-fortezza")
	store := fs.String("store", "", "SoftHSM store directory (created if missing)")
	label := fs.String("label", "", "token label (created if missing)")
	var pinSpec pkcs11.PINSpec
	registerPIN(fs, &pinSpec, "")
	soPIN := fs.String("so-pin", "", "SO PIN for a new token (random if empty)")
	role := fs.String("role", "server", "server or client")
	cn := fs.String("cn", "", "certificate common name (the server's host name)")
	caDir := fs.String("ca-dir", "", "directory of the Fortezza CA (default: the store)")
	genParams := fs.Bool("generate-params", false, "generate a fresh 1024/160 KEA group for a new CA instead of the built-in one")
	fs.Parse(args)
	if *store == "" || *label == "" {
		return errors.New("provision-fortezza: -store and -label are required")
	}
	// The same PIN sources as every other command (one parser), and a
	// prompt on a terminal when none is given.
	var pinValue string
	if spec := pinOrPrompt(pinSpec); spec != (pkcs11.PINSpec{}) {
		src, err := spec.Resolve()
		if err != nil {
			return err
		}
		if pinValue, err = src.PIN(*label); err != nil {
			return err
		}
	}
	if pinValue == "" {
		return errors.New("provision-fortezza: a user PIN is required: use -pin-file, -pin-env or -pin-source (or run on a terminal to be prompted)")
	}
	if *role != "server" && *role != "client" {
		return errors.New("provision-fortezza: -role is server or client")
	}
	if *caDir == "" {
		*caDir = *store
	}
	if *cn == "" {
		*cn = *label
	}
	ca, err := loadOrCreateFortezzaCA(*caDir, *genParams)
	if err != nil {
		return err
	}
	env, err := softhsm.New(*store)
	if err != nil {
		return err
	}
	defer env.Close()
	tok, err := env.Token(*label, pinValue)
	if err != nil {
		if *soPIN == "" {
			*soPIN = softhsm.RandomPIN(12)
		}
		if tok, err = env.InitToken(*label, *soPIN, pinValue); err != nil {
			return err
		}
	}
	if err := tok.ProvisionFortezzaCard(ca, softhsm.FortezzaCardOptions{CommonName: *cn}); err != nil {
		return err
	}
	fmt.Printf("provisioned a Fortezza %s card on token %q (serial %s) in %s; CA in %s\n", *role, tok.Label, tok.Serial, env.Dir, *caDir)
	return nil
}

// loadOrCreateFortezzaCA reads the CA from dir or makes one there.
func loadOrCreateFortezzaCA(dir string, generateParams bool) (*softhsm.FortezzaCA, error) {
	keyPath, certPath := filepath.Join(dir, "fortezza-ca.key"), filepath.Join(dir, "fortezza-ca.pem")
	if keyPEM, err := os.ReadFile(keyPath); err == nil {
		k, err := token.ParsePrivateKeyPEM(keyPEM)
		if err != nil {
			return nil, err
		}
		dk, ok := k.(*token.DSAKey)
		if !ok {
			return nil, fmt.Errorf("%s is not a DSA key", keyPath)
		}
		certPEM, err := os.ReadFile(certPath)
		if err != nil {
			return nil, err
		}
		blk, _ := pem.Decode(certPEM)
		if blk == nil {
			return nil, fmt.Errorf("%s: no PEM certificate", certPath)
		}
		cert, err := x509legacy.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, err
		}
		return &softhsm.FortezzaCA{Key: dk.PrivateKey, Cert: cert, DER: blk.Bytes}, nil
	}
	var params *kea.Params
	if generateParams {
		var err error
		if params, err = kea.GenerateParams(nil); err != nil {
			return nil, err
		}
	}
	ca, err := softhsm.NewFortezzaCA(params, "tokenssl Fortezza CA")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	keyPEM, err := token.MarshalDSAPrivateKeyPEM(ca.Key)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(keyPath, keyPEM, 0o600); err != nil {
		return nil, err
	}
	return ca, os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.DER}), 0o644)
}

// fortezzaFlags select a Fortezza card for the server or client command by
// its token's label. They are shorthand for a token key: the card opens
// through pkcs11.OpenKey like any other key, its PIN through the same
// parser (-fortezza-pin* are the -pin* flags of the card's token), and
// -key 'pkcs11:token=L;object=fortezza-kea?...' names the same card.
type fortezzaFlags struct {
	module, label, store string
	pin                  pkcs11.PINSpec
	email                bool
	finalTry             *bool // -pin-final-try (keyFlags)
}

// addFortezzaFlags registers -fortezza-* on fs; -fortezza-email only on
// the server, the side that chooses the KEA mode.
func addFortezzaFlags(fs *flag.FlagSet, s side) *fortezzaFlags {
	f := &fortezzaFlags{}
	fs.StringVar(&f.label, "fortezza-label", "", "use the Fortezza card on the token with this label")
	registerPIN(fs, &f.pin, "fortezza-")
	fs.StringVar(&f.module, "fortezza-module", "", "PKCS#11 module of the card (default: SoftHSM2)")
	fs.StringVar(&f.store, "fortezza-store", "", "SoftHSM store of an emulated card (token provision-fortezza -store); also selects it for -key pkcs11:")
	if s == serverSide {
		fs.BoolVar(&f.email, "fortezza-email", false, "KEA e-mail mode (r_s = 1) instead of full mode")
	}
	return f
}

// enabled reports whether a card was asked for.
func (f *fortezzaFlags) enabled() bool { return f.label != "" }

// openStore selects the SoftHSM store of -fortezza-store for this process
// (softhsm.Env, the one place that points SoftHSM at a store); the
// returned function restores the previous selection.
func (f *fortezzaFlags) openStore() (func(), error) {
	if f.store == "" {
		return func() {}, nil
	}
	env, err := softhsm.New(f.store)
	if err != nil {
		return nil, err
	}
	return func() { env.Close() }, nil
}

// load opens the card: pkcs11.OpenFortezza decides between the token's own
// card and the emulator. The certificate is the KEA certificate (server) or
// DSS certificate (client) with the CA; roots holds the CA stored on the
// card.
func (f *fortezzaFlags) load(server bool) (*loadedKey, error) {
	module := f.module
	if module == "" {
		var err error
		if module, err = softhsm.Find(); err != nil {
			return nil, err
		}
	}
	req := pkcs11.KeyRequest{Config: pkcs11.Config{ModulePath: module, TokenLabel: f.label, PINFinalTry: f.finalTry != nil && *f.finalTry},
		PIN: pinOrPrompt(f.pin), Fortezza: true, Emulator: softhsm.EmulateFortezza}
	lk, err := openTokenKey(req, "", "", server)
	if err == nil && server {
		if err = checkPair(&lk.cert, "the Fortezza card and its KEA certificate"); err != nil {
			lk.close()
		}
	}
	return lk, err
}

// runFortezzaDemo provisions a server and a client card on the demo's
// SoftHSM store and runs each Fortezza suite, full and e-mail KEA mode,
// with client authentication; it returns the suites negotiated.
func runFortezzaDemo(env *softhsm.Env, module string) ([]string, error) {
	p, err := softhsm.ProvisionFortezzaPair(env, softhsm.FortezzaPairOptions{})
	if err != nil {
		return nil, err
	}
	defer p.Close()
	fmt.Printf("fortezza: cards emulated on SoftHSM tokens %q (server) and %q (client): KEA + DSS keys, 1024/160 group\n", p.ServerToken.Label, p.ClientToken.Label)
	names, err := fortezzaDemoSuites(ssltest.EmulatedCards(p), p.Server.SetEmailMode, "emulator")
	if err != nil {
		return names, err
	}
	if module == "" {
		fmt.Println("fortezza: card module not built (make fortezza-module): the card=pkcs11 path is skipped")
		return names, nil
	}
	mp, err := softhsm.ProvisionFortezzaModulePair(env, module, nil, "")
	if err != nil {
		return names, fmt.Errorf("card module %s: %w", module, err)
	}
	defer mp.Close()
	fmt.Printf("fortezza: cards on the PKCS#11 card module %s (tokens %q, %q): KEA keys generated on the card, SKIPJACK on the card\n", module, mp.ServerToken.Label, mp.ClientToken.Label)
	_, err = fortezzaDemoSuites(ssltest.ModuleCards(mp), mp.Server.Card.SetEmailMode, "pkcs11")
	return names, err
}

// fortezzaDemoSuites runs each Fortezza suite in full and e-mail KEA mode
// with client authentication between cards, printing which card path
// (emulator or pkcs11) served it. The server card's echo server (demoServe)
// is done with the cards when it returns.
func fortezzaDemoSuites(cards ssltest.FortezzaCards, setEmail func(bool), path string) ([]string, error) {
	ln, err := ssl.Listen("tcp", "127.0.0.1:0", cards.ServerConfig(ssltest.FortezzaSuites, true))
	if err != nil {
		return nil, err
	}
	served := make(chan struct{})
	go func() {
		demoServe(ln, log.New(os.Stdout, "server: ", 0))
		close(served)
	}()
	defer func() {
		ln.Close()
		<-served
	}()
	msg := bytes.Repeat([]byte("FORTEZZA "), 1<<10)
	var names []string
	for _, id := range ssltest.FortezzaSuites {
		for _, email := range []bool{false, true} {
			setEmail(email)
			st, err := echoExchange(ln.Addr().String(), cards.ClientConfig([]uint16{id}), msg)
			if err != nil {
				return names, fmt.Errorf("%s card=%s: %w", ssl.CipherSuiteName(id), path, err)
			}
			mode := "full KEA"
			if email {
				mode = "e-mail KEA"
			}
			fmt.Printf("client: %s mode=%s client-auth=DSS card=%s echoed=%d\n", handshakeLine(st), mode, path, len(msg))
		}
		names = append(names, ssl.CipherSuiteName(id))
	}
	return names, nil
}
