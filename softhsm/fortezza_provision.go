package softhsm

import (
	"crypto/dsa"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"time"

	p11 "github.com/miekg/pkcs11"

	"github.com/tokenssl/tokenssl/kea"
	"github.com/tokenssl/tokenssl/x509legacy"
)

// Provisioning of Fortezza "cards" on SoftHSM tokens: a KEA key pair and a
// DSS key pair in one 1024/160 domain, generated on the token, and their
// certificates from a DSA CA, stored beside them.

// FortezzaCA is a throw-away DSA certificate authority for Fortezza
// certificates (crypto/x509 cannot issue DSA-signed certificates; x509legacy
// does).
type FortezzaCA struct {
	Key  *dsa.PrivateKey
	Cert *x509legacy.Certificate
	DER  []byte
}

// NewFortezzaCA makes a CA whose DSA key is in params (nil: the built-in
// KEA group), valid for a year.
func NewFortezzaCA(params *kea.Params, cn string) (*FortezzaCA, error) {
	if params == nil {
		params = kea.DefaultParams()
	}
	key := &dsa.PrivateKey{PublicKey: dsa.PublicKey{Parameters: dsa.Parameters{P: params.P, Q: params.Q, G: params.G}}}
	if err := dsa.GenerateKey(key, rand.Reader); err != nil {
		return nil, err
	}
	der, err := x509legacy.CreateCACertificate(nil, &x509legacy.Template{Subject: pkix.Name{CommonName: cn}}, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509legacy.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &FortezzaCA{Key: key, Cert: cert, DER: der}, nil
}

// FortezzaCardOptions say how to make one card.
type FortezzaCardOptions struct {
	// CommonName of both certificates (a server's host name).
	CommonName string
	// Params is the KEA/DSS domain; nil: the CA's group.
	Params *kea.Params
	// KEAKey, if set, is imported as the static KEA key instead of one
	// generated on the token (tests that must know x).
	KEAKey *kea.PrivateKey
	// ParamsEncoding of the KEA certificate (default: RFC 3279 id).
	ParamsEncoding x509legacy.KEAParamsEncoding
	// Validity of the certificates; zero: one year from now.
	NotAfter time.Time
}

// ProvisionFortezzaCard creates a card on t: the KEA key pair (label
// FortezzaKEALabel, CKK_DH in the KEA group, 160-bit private value
// generated on the token), the DSS key pair (FortezzaDSSLabel, generated on
// the token in the same domain), their certificates issued by ca, and ca's
// certificate (FortezzaCALabel).
func (t *Token) ProvisionFortezzaCard(ca *FortezzaCA, opts FortezzaCardOptions) error {
	_, err := t.provisionCard(ca, opts, func(params *kea.Params) (*big.Int, []byte, error) {
		if opts.KEAKey == nil {
			return t.generateKEA(params)
		}
		if !opts.KEAKey.Params.Equal(params) {
			return nil, nil, errors.New("softhsm: the KEA key is not in the card's domain")
		}
		id, err := t.importKEA(opts.KEAKey)
		if err != nil {
			return nil, nil, err
		}
		return opts.KEAKey.Y, id, nil
	})
	return err
}

// provisionCard makes a card on t in the domain of opts (default: ca's
// group): the KEA pair by keaPair, which returns its Y and CKA_ID; the DSS
// pair generated on the token; their certificates issued by ca (common
// name opts.CommonName, default t.Label) and ca's certificate, under the
// card layout's labels. It returns the DSS certificate.
func (t *Token) provisionCard(ca *FortezzaCA, opts FortezzaCardOptions, keaPair func(params *kea.Params) (*big.Int, []byte, error)) ([]byte, error) {
	if ca == nil {
		return nil, errors.New("softhsm: no CA")
	}
	params := opts.Params
	if params == nil {
		params = &kea.Params{P: ca.Key.P, Q: ca.Key.Q, G: ca.Key.G}
	}
	if opts.CommonName == "" {
		opts.CommonName = t.Label
	}
	keaY, keaID, err := keaPair(params)
	if err != nil {
		return nil, err
	}
	dss, err := t.GenerateDSA(FortezzaDSSLabel, nil, dsa.Parameters{P: params.P, Q: params.Q, G: params.G})
	if err != nil {
		return nil, err
	}
	tmpl := &x509legacy.Template{Subject: pkix.Name{CommonName: opts.CommonName}, NotAfter: opts.NotAfter, KEAParams: opts.ParamsEncoding}
	keaDER, err := x509legacy.CreateKEACertificate(nil, tmpl, params.DSAParameters(), keaY, ca.Cert, ca.Key)
	if err != nil {
		return nil, err
	}
	dssDER, err := x509legacy.CreateDSACertificate(nil, tmpl, dss.Public.(*dsa.PublicKey), ca.Cert, ca.Key)
	if err != nil {
		return nil, err
	}
	for _, c := range []struct {
		label string
		id    []byte
		der   []byte
	}{{FortezzaKEALabel, keaID, keaDER}, {FortezzaDSSLabel, dss.ID, dssDER}, {FortezzaCALabel, []byte("fortezza-ca"), ca.DER}} {
		if err := t.ImportCertificate(c.label, c.id, c.der); err != nil {
			return nil, err
		}
	}
	return dssDER, nil
}

// fzKeyAttrs are the attributes of the card's KEA key objects of keyType
// (CKK_DH on the emulator's tokens, CKK_KEA through the card module): a
// key pair under FortezzaKEALabel, the private half for derivation only.
func fzKeyAttrs(keyType, class uint, id []byte) []*p11.Attribute {
	if class == p11.CKO_PRIVATE_KEY {
		return append(privateAttrs(keyType, FortezzaKEALabel, id), mkAttr(p11.CKA_DERIVE, true))
	}
	return publicAttrs(keyType, FortezzaKEALabel, id)
}

// generateKEA generates the static KEA pair on the token as a CKK_DH pair
// with a 160-bit private value.
func (t *Token) generateKEA(params *kea.Params) (*big.Int, []byte, error) {
	var y *big.Int
	var id []byte
	err := t.withSession(func(c *p11.Ctx, sh p11.SessionHandle) error {
		var err error
		y, id, err = generateKEAPair(c, sh, params, keaPairGen{
			mechanism: p11.CKM_DH_PKCS_KEY_PAIR_GEN, keyType: p11.CKK_DH,
			public:  []*p11.Attribute{mkAttr(p11.CKA_PRIME, params.P.Bytes()), mkAttr(p11.CKA_BASE, params.G.Bytes())},
			private: []*p11.Attribute{mkAttr(p11.CKA_VALUE_BITS, kea.SubprimeBits)},
		})
		return err
	})
	return y, id, err
}

// keaPairGen says how one token generates a KEA pair: SoftHSM as a DH pair
// with a short private value, the card module with its own KEA mechanism.
type keaPairGen struct {
	mechanism, keyType uint
	public, private    []*p11.Attribute // beyond fzKeyAttrs
	where              string           // " on the card", for errors
}

// generateKEAPair generates a KEA pair under a placeholder CKA_ID and then
// names it by its public value (fzNameKEAPair), returning Y and the ID.
func generateKEAPair(c *p11.Ctx, sh p11.SessionHandle, params *kea.Params, g keaPairGen) (*big.Int, []byte, error) {
	pendingID := []byte("fortezza-pending")
	pubT := append(fzKeyAttrs(g.keyType, p11.CKO_PUBLIC_KEY, pendingID), g.public...)
	privT := append(fzKeyAttrs(g.keyType, p11.CKO_PRIVATE_KEY, pendingID), g.private...)
	pubH, privH, err := c.GenerateKeyPair(sh, []*p11.Mechanism{p11.NewMechanism(g.mechanism, nil)}, pubT, privT)
	if err != nil {
		return nil, nil, fmt.Errorf("softhsm: KEA key generation%s: %w", g.where, err)
	}
	return fzNameKEAPair(c, sh, params, pubH, privH, "the KEA public value generated"+g.where)
}

// importKEA stores a known KEA key pair; its CKA_ID is SHA-1 of Y.
func (t *Token) importKEA(k *kea.PrivateKey) ([]byte, error) {
	id := keyID(nil, k.Y)
	pg := func(a []*p11.Attribute) []*p11.Attribute {
		return append(a, mkAttr(p11.CKA_PRIME, k.P.Bytes()), mkAttr(p11.CKA_BASE, k.G.Bytes()))
	}
	priv := append(pg(fzKeyAttrs(p11.CKK_DH, p11.CKO_PRIVATE_KEY, id)), mkAttr(p11.CKA_VALUE, k.X.Bytes()))
	pub := append(pg(fzKeyAttrs(p11.CKK_DH, p11.CKO_PUBLIC_KEY, id)), mkAttr(p11.CKA_VALUE, k.Y.Bytes()))
	return id, t.create(priv, pub)
}

// OpenFortezzaCard opens a Backend on t and the card on it; Close on the
// card closes the Backend.
func (t *Token) OpenFortezzaCard(params *kea.Params) (*FortezzaCard, error) {
	b, err := t.Open()
	if err != nil {
		return nil, err
	}
	c, err := OpenFortezzaCard(b, params)
	if err != nil {
		b.Close()
		return nil, err
	}
	c.ownsB = true
	return c, nil
}

// FortezzaPairOptions configure ProvisionFortezzaPair.
type FortezzaPairOptions struct {
	// Params is the KEA domain: nil means the built-in 1024/160 group,
	// unless GenerateParams asks for a fresh one (about a second).
	Params         *kea.Params
	GenerateParams bool
	// EmailMode makes the server use KEA e-mail mode (r_s = 1).
	EmailMode bool
	// ServerName is the server certificate's common name (default
	// "fortezza.test").
	ServerName string
	// ServerKEAKey / ClientKEAKey import known static KEA keys (tests).
	ServerKEAKey, ClientKEAKey *kea.PrivateKey
}

// FortezzaPair is a server card and a client card on two SoftHSM tokens.
// internal/ssltest turns it into ssl.Config fixtures (this package stays
// below the engine and does not import it).
type FortezzaPair struct {
	CA                       *FortezzaCA
	Params                   *kea.Params
	ServerToken, ClientToken *Token
	Server, Client           *FortezzaCard
	// ServerChain is the server card's KEA certificate and the CA;
	// ClientChain the client card's DSS certificate and the CA.
	ServerChain, ClientChain [][]byte
	// Roots holds the CA (for RootCAs and ClientCAs).
	Roots      *x509.CertPool
	ServerName string

	env *Env // owned (ProvisionFortezzaDemo), closed by Close
}

// ProvisionFortezzaPair provisions a server and a client card as two new
// tokens of env, with a throw-away CA.
func ProvisionFortezzaPair(env *Env, opts FortezzaPairOptions) (*FortezzaPair, error) {
	params := opts.Params
	if params == nil && opts.GenerateParams {
		var err error
		if params, err = kea.GenerateParams(nil); err != nil {
			return nil, err
		}
	}
	if params == nil {
		params = kea.DefaultParams()
	}
	if opts.ServerName == "" {
		opts.ServerName = "fortezza.test"
	}
	ca, err := NewFortezzaCA(params, "tokenssl Fortezza test CA")
	if err != nil {
		return nil, err
	}
	p := &FortezzaPair{CA: ca, Params: params, ServerName: opts.ServerName}
	suffix := RandomPIN(8)
	ok := false
	defer func() {
		if !ok {
			p.Close()
		}
	}()
	for _, side := range []struct {
		role string
		cn   string
		key  *kea.PrivateKey
		tok  **Token
		card **FortezzaCard
	}{
		{"server", opts.ServerName, opts.ServerKEAKey, &p.ServerToken, &p.Server},
		{"client", "fortezza client " + suffix, opts.ClientKEAKey, &p.ClientToken, &p.Client},
	} {
		tok, err := env.InitToken("fortezza-"+side.role+"-"+suffix, RandomPIN(12), RandomPIN(8))
		if err != nil {
			return nil, err
		}
		*side.tok = tok
		if err := tok.ProvisionFortezzaCard(ca, FortezzaCardOptions{CommonName: side.cn, Params: params, KEAKey: side.key}); err != nil {
			return nil, fmt.Errorf("softhsm: provisioning the %s card: %w", side.role, err)
		}
		card, err := tok.OpenFortezzaCard(params)
		if err != nil {
			return nil, err
		}
		*side.card = card
	}
	p.Server.SetEmailMode(opts.EmailMode)
	caX, err := x509.ParseCertificate(ca.DER)
	if err != nil {
		return nil, err
	}
	p.Roots = x509.NewCertPool()
	p.Roots.AddCert(caX)
	p.ServerChain = [][]byte{p.Server.KEACertificate(), ca.DER}
	p.ClientChain = [][]byte{p.Client.DSSCertificate(), ca.DER}
	ok = true
	return p, nil
}

// ProvisionFortezzaDemo is ProvisionFortezzaPair on a throw-away SoftHSM
// environment of its own (the demo's and the CLI's entry point); Close
// removes it. It fails if another environment is active in the process.
func ProvisionFortezzaDemo(opts FortezzaPairOptions) (*FortezzaPair, error) {
	env, err := New("")
	if err != nil {
		return nil, err
	}
	p, err := ProvisionFortezzaPair(env, opts)
	if err != nil {
		env.Close()
		return nil, err
	}
	p.env = env
	return p, nil
}

// Close closes both cards' Backends, deletes the tokens and, for
// ProvisionFortezzaDemo, the environment.
func (p *FortezzaPair) Close() error {
	// A demo's tokens go with its environment.
	errs := closePair(p.Server, p.Client, p.ServerToken, p.ClientToken, p.env == nil)
	if p.env != nil {
		errs = append(errs, p.env.Close())
		p.env = nil
	}
	p.Server, p.Client, p.ServerToken, p.ClientToken = nil, nil, nil, nil
	return errors.Join(errs...)
}

// closePair closes a pair's cards that are set and, if deleteTokens,
// deletes its tokens that are set.
func closePair[C interface {
	comparable
	Close() error
}](server, client C, serverToken, clientToken *Token, deleteTokens bool) []error {
	var errs []error
	var none C
	for _, c := range []C{server, client} {
		if c != none {
			errs = append(errs, c.Close())
		}
	}
	for _, t := range []*Token{serverToken, clientToken} {
		if t != nil && deleteTokens {
			errs = append(errs, t.Delete())
		}
	}
	return errs
}

// fzNameKEAPair reads the public value of a freshly generated KEA pair,
// checks it (what names it in the error) and gives both halves the CKA_ID
// derived from it; on any failure it destroys the pair.
func fzNameKEAPair(c *p11.Ctx, sh p11.SessionHandle, params *kea.Params, pubH, privH p11.ObjectHandle, what string) (*big.Int, []byte, error) {
	var y *big.Int
	var id []byte
	v, err := objectValue(c, sh, pubH)
	if err == nil {
		y = new(big.Int).SetBytes(v)
		if err = kea.CheckPublic(params, y); err != nil {
			err = fmt.Errorf("softhsm: %s: %w", what, err)
		}
	}
	if err == nil {
		id, err = setID(c, sh, nil, y, pubH, privH)
	}
	if err != nil {
		c.DestroyObject(sh, pubH)
		c.DestroyObject(sh, privH)
		return nil, nil, err
	}
	return y, id, nil
}
