package softhsm

import (
	"crypto"
	"crypto/dsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"sync/atomic"
	"time"

	p11 "github.com/miekg/pkcs11"

	"github.com/tokenssl/tokenssl/kea"
	"github.com/tokenssl/tokenssl/ssl"
	"github.com/tokenssl/tokenssl/token"
	"github.com/tokenssl/tokenssl/token/pkcs11"
	"github.com/tokenssl/tokenssl/x509legacy"
)

// KeySource makes the private keys of an SSLPKI: on a SoftHSM token
// (TokenKeys: generated there, sensitive, never extractable) or in memory
// (SoftwareKeys), so that the same certificates can be tried both ways.
type KeySource interface {
	RSA(label string, bits int) (token.Key, error)
	DSA(label string, params dsa.Parameters) (token.Key, error)
	DH(label string, group *token.DHParams) (token.DHAgreer, error)
	// Store keeps a certificate beside the key of that label, if it can.
	Store(label string, der []byte) error
}

// SoftwareKeys makes keys in memory.
type SoftwareKeys struct{}

func (SoftwareKeys) RSA(_ string, bits int) (token.Key, error) {
	return rsa.GenerateKey(rand.Reader, bits)
}

func (SoftwareKeys) DSA(_ string, params dsa.Parameters) (token.Key, error) {
	k := &dsa.PrivateKey{PublicKey: dsa.PublicKey{Parameters: params}}
	if err := dsa.GenerateKey(k, rand.Reader); err != nil {
		return nil, err
	}
	return &token.DSAKey{PrivateKey: k}, nil
}

func (SoftwareKeys) DH(_ string, group *token.DHParams) (token.DHAgreer, error) {
	limit := group.Q
	if limit == nil {
		limit = new(big.Int).Rsh(group.P, 1)
	}
	x, err := rand.Int(rand.Reader, new(big.Int).Sub(limit, big.NewInt(2)))
	if err != nil {
		return nil, err
	}
	x.Add(x, big.NewInt(2))
	y := new(big.Int).Exp(group.G, x, group.P)
	return &token.DHKey{Pub: token.DHPublicKey{DHParams: *group, Y: y}, X: x}, nil
}

func (SoftwareKeys) Store(string, []byte) error { return nil }

// TokenKeys generates keys on tok and reaches them through backend.
type TokenKeys struct {
	Token   *Token
	Backend *pkcs11.Backend
}

func (s TokenKeys) find(ref KeyRef, err error) (token.Key, error) {
	if err != nil {
		return nil, err
	}
	return s.Backend.FindKey(ref.Spec())
}

func (s TokenKeys) RSA(label string, bits int) (token.Key, error) {
	return s.find(s.Token.GenerateRSA(label, nil, bits))
}

func (s TokenKeys) DSA(label string, params dsa.Parameters) (token.Key, error) {
	return s.find(s.Token.GenerateDSA(label, nil, params))
}

func (s TokenKeys) DH(label string, group *token.DHParams) (token.DHAgreer, error) {
	k, err := s.find(s.Token.GenerateDH(label, nil, *group))
	if err != nil {
		return nil, err
	}
	a, ok := k.(token.DHAgreer)
	if !ok {
		return nil, errors.New("softhsm: DH key is not a DHAgreer")
	}
	return a, nil
}

func (s TokenKeys) Store(label string, der []byte) error {
	o, err := s.Backend.FindObject(pkcs11.KeySpec{Label: label}, p11.CKO_PRIVATE_KEY)
	if err != nil {
		return err
	}
	return s.Token.ImportCertificate(label, o.ID(), der)
}

// SSLPKI is a throw-away RSA CA and DSA CA with the server certificates
// every non-Fortezza suite of Appendix C needs, and client certificates
// for client authentication: RSA (RSA, RSA_EXPORT, DHE_RSA), DSA
// (DHE_DSS), and DH keys in certificates signed by the RSA CA (DH_RSA) and
// the DSA CA (DH_DSS), each also in the 512-bit export group.
type SSLPKI struct {
	ServerCerts []ssl.Certificate
	ClientCerts []ssl.Certificate // RSA and DSA client certificates
	Roots       *x509.CertPool    // both CAs: RootCAs and ClientCAs
	RSACA       *x509.Certificate
	DSACA       *x509.Certificate
}

var pkiSerial atomic.Int64

// NewSSLPKI makes the CAs in memory and the end-entity keys with keys;
// server certificates are issued for host.
func NewSSLPKI(keys KeySource, host string) (*SSLPKI, error) {
	now := time.Now()
	tmpl := func(cn string, ku x509.KeyUsage, isCA bool, eku x509.ExtKeyUsage) *x509legacy.Template {
		t := &x509legacy.Template{SerialNumber: big.NewInt(pkiSerial.Add(1) + now.Unix()), Subject: pkix.Name{CommonName: cn},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), KeyUsage: ku, IsCA: isCA}
		if !isCA {
			t.DNSNames = []string{cn}
			t.ExtKeyUsage = []x509.ExtKeyUsage{eku}
		}
		return t
	}
	rsaCAKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	spki, _ := x509.MarshalPKIXPublicKey(&rsaCAKey.PublicKey)
	rsaCADER, err := x509legacy.CreateCertificate(rand.Reader, tmpl("tokenssl test RSA CA", x509.KeyUsageCertSign, true, 0), nil, spki, rsaCAKey)
	if err != nil {
		return nil, err
	}
	kp := kea.DefaultParams() // a 1024/160 DSA group, also the X9.42 group of DH_DSS
	dsaParams := dsa.Parameters{P: kp.P, Q: kp.Q, G: kp.G}
	caSoft, _ := SoftwareKeys{}.DSA("", dsaParams)
	dsaCAKey := caSoft.(*token.DSAKey)
	spki, _ = x509legacy.MarshalDSAPublicKey(&dsaCAKey.PublicKey)
	dsaCADER, err := x509legacy.CreateCertificate(rand.Reader, tmpl("tokenssl test DSA CA", x509.KeyUsageCertSign, true, 0), nil, spki, dsaCAKey)
	if err != nil {
		return nil, err
	}
	p := &SSLPKI{Roots: x509.NewCertPool()}
	if p.RSACA, err = x509.ParseCertificate(rsaCADER); err != nil {
		return nil, err
	}
	if p.DSACA, err = x509.ParseCertificate(dsaCADER); err != nil {
		return nil, err
	}
	p.Roots.AddCert(p.RSACA)
	p.Roots.AddCert(p.DSACA)

	issue := func(label, cn string, key token.Key, spki []byte, ku x509.KeyUsage, eku x509.ExtKeyUsage, byDSA bool) (ssl.Certificate, error) {
		caCert, caKey := p.RSACA, crypto.Signer(rsaCAKey)
		if byDSA {
			caCert, caKey = p.DSACA, dsaCAKey
		}
		der, err := x509legacy.CreateCertificate(rand.Reader, tmpl(cn, ku, false, eku), caCert, spki, caKey)
		if err != nil {
			return ssl.Certificate{}, err
		}
		if err := keys.Store(label, der); err != nil {
			return ssl.Certificate{}, err
		}
		leaf, err := x509.ParseCertificate(der)
		if err != nil {
			return ssl.Certificate{}, err
		}
		chain := [][]byte{der}
		if byDSA {
			// crypto/x509 cannot verify DSA; ssl's fallback anchors the
			// chain in a presented CA certificate that is in the pool.
			chain = append(chain, dsaCADER)
		}
		return ssl.Certificate{Certificate: chain, PrivateKey: key, Leaf: leaf}, nil
	}
	signing := x509.KeyUsageDigitalSignature
	server, client := x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth

	for _, role := range []struct {
		prefix, cn string
		eku        x509.ExtKeyUsage
		out        *[]ssl.Certificate
	}{{"server", host, server, &p.ServerCerts}, {"client", "client", client, &p.ClientCerts}} {
		rk, err := keys.RSA(role.prefix+"-rsa", 2048)
		if err != nil {
			return nil, err
		}
		spki, _ := x509.MarshalPKIXPublicKey(rk.(crypto.Signer).Public())
		c, err := issue(role.prefix+"-rsa", role.cn, rk, spki, signing|x509.KeyUsageKeyEncipherment, role.eku, false)
		if err != nil {
			return nil, err
		}
		*role.out = append(*role.out, c)
		dk, err := keys.DSA(role.prefix+"-dsa", dsaParams)
		if err != nil {
			return nil, err
		}
		spki, _ = x509legacy.MarshalDSAPublicKey(dk.(crypto.Signer).Public().(*dsa.PublicKey))
		if c, err = issue(role.prefix+"-dsa", role.cn, dk, spki, signing, role.eku, true); err != nil {
			return nil, err
		}
		*role.out = append(*role.out, c)
	}
	x942 := &token.DHParams{P: kp.P, G: kp.G, Q: kp.Q}
	for _, d := range []struct {
		label string
		group *token.DHParams
		byDSA bool
	}{
		{"server-dh-rsa", ssl.RFC2409Group2(), false},
		{"server-dh-dss", x942, true},
		{"server-dh-rsa-export", ssl.ExportDHGroup512(), false},
		{"server-dh-dss-export", ssl.ExportDHGroup512(), true},
	} {
		k, err := keys.DH(d.label, d.group)
		if err != nil {
			return nil, err
		}
		spki, err := x509legacy.MarshalDHPublicKey(&x509legacy.DHPublicKey{P: d.group.P, G: d.group.G, Q: d.group.Q, Y: k.DHPublic().Y})
		if err != nil {
			return nil, err
		}
		c, err := issue(d.label, host, k, spki, x509.KeyUsageKeyAgreement, server, d.byDSA)
		if err != nil {
			return nil, err
		}
		p.ServerCerts = append(p.ServerCerts, c)
	}
	return p, nil
}
