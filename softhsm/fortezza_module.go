package softhsm

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"

	p11 "github.com/miekg/pkcs11"

	"github.com/tokenssl/tokenssl/kea"
	"github.com/tokenssl/tokenssl/token/pkcs11"
)

// Fortezza cards on the card module (internal/fortezzacard, built by `make
// fortezza-module` as bin/libfortezzacard.so): the same SoftHSM tokens,
// reached through a PKCS#11 module that has CKM_KEA_* and CKM_SKIPJACK_*,
// so the engine uses token/pkcs11's FortezzaCard, the code a real card
// uses, instead of the emulator.

// FortezzaModuleEnv names the environment of the card module.
const (
	FortezzaModuleDirEnv   = "FORTEZZA_CARD_DIR"       // PIN counters, removal markers
	FortezzaModuleTriesEnv = "FORTEZZA_CARD_PIN_TRIES" // wrong PINs before the card locks
	FortezzaModuleStatsEnv = "FORTEZZA_CARD_STATS"     // call counters file
)

// ModuleConfig is t.Config() on another module over the same SoftHSM
// store (the card module).
func (t *Token) ModuleConfig(modulePath string) pkcs11.Config {
	c := t.Config()
	c.ModulePath = modulePath
	return c
}

// ProvisionFortezzaModuleCard makes a card on t the way a card is
// personalised, through the card module at modulePath: the KEA key pair
// generated on the card (CKM_KEA_KEY_PAIR_GEN, CKK_KEA with
// CKA_PRIME/SUBPRIME/BASE), the DSS key pair, their certificates from ca
// and ca's certificate, under the emulator's labels. It returns the DSS
// certificate (the client's authentication certificate).
func (t *Token) ProvisionFortezzaModuleCard(modulePath string, ca *FortezzaCA, opts FortezzaCardOptions) ([]byte, error) {
	return t.provisionCard(ca, opts, func(params *kea.Params) (*big.Int, []byte, error) {
		return t.generateModuleKEA(modulePath, params)
	})
}

// generateModuleKEA generates the static KEA pair on the card through the
// card module (CKM_KEA_KEY_PAIR_GEN) and names it by its Y.
func (t *Token) generateModuleKEA(modulePath string, params *kea.Params) (*big.Int, []byte, error) {
	b, err := pkcs11.Open(t.ModuleConfig(modulePath))
	if err != nil {
		return nil, nil, err
	}
	defer b.Close()
	var y *big.Int
	var id []byte
	err = b.WithSession(context.Background(), func(c *p11.Ctx, sh p11.SessionHandle) error {
		var err error
		y, id, err = generateKEAPair(c, sh, params, keaPairGen{
			mechanism: p11.CKM_KEA_KEY_PAIR_GEN, keyType: p11.CKK_KEA,
			public: []*p11.Attribute{mkAttr(p11.CKA_PRIME, params.P.Bytes()),
				mkAttr(p11.CKA_SUBPRIME, params.Q.Bytes()), mkAttr(p11.CKA_BASE, params.G.Bytes())},
			where: " on the card",
		})
		return err
	})
	return y, id, err
}

// FortezzaModuleCard is a card opened through the card module.
type FortezzaModuleCard struct {
	Token   *Token
	Backend *pkcs11.Backend
	Card    *pkcs11.FortezzaCard
	DSSCert []byte
}

// OpenFortezzaModuleCard opens the card on t through the module, full or
// e-mail KEA mode as a server.
func (t *Token) OpenFortezzaModuleCard(modulePath string, cfg func(*pkcs11.Config)) (*FortezzaModuleCard, error) {
	c := t.ModuleConfig(modulePath)
	if cfg != nil {
		cfg(&c)
	}
	b, err := pkcs11.Open(c)
	if err != nil {
		return nil, err
	}
	card, err := pkcs11.OpenFortezzaCard(b, pkcs11.FortezzaCardSpec{
		KEA: pkcs11.KeySpec{Label: FortezzaKEALabel}, DSS: pkcs11.KeySpec{Label: FortezzaDSSLabel}, FullMode: true,
	})
	if err != nil {
		b.Close()
		return nil, err
	}
	dss, _ := b.FindCertificate(pkcs11.KeySpec{Label: FortezzaDSSLabel})
	return &FortezzaModuleCard{Token: t, Backend: b, Card: card, DSSCert: dss}, nil
}

// Close closes the card's Backend.
func (c *FortezzaModuleCard) Close() error { return c.Backend.Close() }

// FortezzaModulePair is a server and a client card on the card module:
// FortezzaPair's twin for the PKCS#11 path (internal/ssltest turns it into
// ssl.Config fixtures).
type FortezzaModulePair struct {
	Module                   string
	CA                       *FortezzaCA
	Params                   *kea.Params
	ServerToken, ClientToken *Token
	Server, Client           *FortezzaModuleCard
	ServerChain, ClientChain [][]byte // KEA (server) or DSS (client) certificate, then the CA
	Roots                    *x509.CertPool
	ServerName               string
}

// FindFortezzaModule returns the card module: $FORTEZZA_MODULE, else
// bin/libfortezzacard.so in the repository root above dir.
func FindFortezzaModule(dir string) (string, error) {
	if p := os.Getenv("FORTEZZA_MODULE"); p != "" {
		return p, nil
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			p := filepath.Join(d, "bin", "libfortezzacard.so")
			if _, err := os.Stat(p); err != nil {
				return p, fmt.Errorf("softhsm: the Fortezza card module %s is not built (make fortezza-module): %w", p, err)
			}
			return p, nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("softhsm: no repository root (go.mod) above " + dir)
		}
	}
}

// ProvisionFortezzaModulePair provisions a server and a client card on
// two new tokens of env through the card module at modulePath (which must
// see env's store: it reads SOFTHSM2_CONF, which env sets) and opens them.
// The module must not be open yet in this process (see below).
// ca nil: a new throw-away CA in the built-in group.
func ProvisionFortezzaModulePair(env *Env, modulePath string, ca *FortezzaCA, serverName string) (*FortezzaModulePair, error) {
	if ca == nil {
		var err error
		if ca, err = NewFortezzaCA(nil, "tokenssl Fortezza module test CA"); err != nil {
			return nil, err
		}
	}
	if serverName == "" {
		serverName = "fortezza.test"
	}
	params := &kea.Params{P: ca.Key.P, Q: ca.Key.Q, G: ca.Key.G}
	p := &FortezzaModulePair{Module: modulePath, CA: ca, Params: params, ServerName: serverName}
	ok := false
	defer func() {
		if !ok {
			p.Close()
		}
	}()
	suffix := RandomPIN(8)
	sides := []struct {
		role, cn string
		tok      **Token
		card     **FortezzaModuleCard
	}{
		{"server", serverName, &p.ServerToken, &p.Server},
		{"client", "fortezza client " + suffix, &p.ClientToken, &p.Client},
	}
	// Both tokens first: the module's SoftHSM instance lists the tokens
	// the store holds at its C_Initialize (as SoftHSM does), so a token
	// made while the module is open appears only after it was closed.
	for _, side := range sides {
		tok, err := env.InitToken("fzcard-"+side.role+"-"+suffix, RandomPIN(12), RandomPIN(8))
		if err != nil {
			return nil, err
		}
		*side.tok = tok
	}
	for _, side := range sides {
		tok := *side.tok
		if _, err := tok.ProvisionFortezzaModuleCard(modulePath, ca, FortezzaCardOptions{CommonName: side.cn, Params: params}); err != nil {
			return nil, fmt.Errorf("softhsm: provisioning the %s card on the module: %w", side.role, err)
		}
		card, err := tok.OpenFortezzaModuleCard(modulePath, nil)
		if err != nil {
			return nil, err
		}
		*side.card = card
	}
	caX, err := x509.ParseCertificate(ca.DER)
	if err != nil {
		return nil, err
	}
	p.Roots = x509.NewCertPool()
	p.Roots.AddCert(caX)
	p.ServerChain = [][]byte{p.Server.Card.KEACertificate(), ca.DER}
	p.ClientChain = [][]byte{p.Client.DSSCert, ca.DER}
	ok = true
	return p, nil
}

// Close closes both cards and deletes their tokens.
func (p *FortezzaModulePair) Close() error {
	errs := closePair(p.Server, p.Client, p.ServerToken, p.ClientToken, true)
	p.Server, p.Client, p.ServerToken, p.ClientToken = nil, nil, nil, nil
	return errors.Join(errs...)
}
