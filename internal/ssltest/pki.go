// Package ssltest is test support for the engine's users: one test PKI
// (an RSA CA and a DSA CA issuing every certificate kind Appendix C needs,
// with keys in memory or on a SoftHSM token) and ssl.Config fixtures for
// Fortezza card pairs. It sits above ssl and softhsm so that neither of
// those has to import the other; it does not import testing, so the demo
// command can use it too.
package ssltest

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
	"github.com/tokenssl/tokenssl/softhsm"
	"github.com/tokenssl/tokenssl/ssl"
	"github.com/tokenssl/tokenssl/token"
	"github.com/tokenssl/tokenssl/token/pkcs11"
	"github.com/tokenssl/tokenssl/x509legacy"
)

// KeySource makes the private keys of a PKI: on a SoftHSM token
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
	Token   *softhsm.Token
	Backend *pkcs11.Backend
}

func (s TokenKeys) find(ref softhsm.KeyRef, err error) (token.Key, error) {
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

// PKI is a throw-away RSA CA and DSA CA with the server certificates
// every non-Fortezza suite of Appendix C needs, and client certificates
// for client authentication: RSA (RSA, RSA_EXPORT, DHE_RSA), DSA
// (DHE_DSS), and DH keys in certificates signed by the RSA CA (DH_RSA) and
// the DSA CA (DH_DSS), each also in the 512-bit export group.
type PKI struct {
	ServerCerts []ssl.Certificate
	ClientCerts []ssl.Certificate // RSA and DSA client certificates
	Roots       *x509.CertPool    // both CAs: RootCAs and ClientCAs
	RSACA       *x509.Certificate
	DSACA       *x509.Certificate
	RSA, DSA    *CA // the CAs with their keys, to issue more
}

var pkiSerial atomic.Int64

// template is an end-entity (or, with isCA, a CA) certificate template
// valid from an hour ago for a day.
func template(cn string, ku x509.KeyUsage, isCA bool, eku ...x509.ExtKeyUsage) *x509legacy.Template {
	now := time.Now()
	t := &x509legacy.Template{SerialNumber: big.NewInt(pkiSerial.Add(1) + now.Unix()), Subject: pkix.Name{CommonName: cn},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), KeyUsage: ku, IsCA: isCA}
	if !isCA {
		t.DNSNames = []string{cn}
		t.ExtKeyUsage = eku
	}
	return t
}

// CA is a throw-away certificate authority in memory: RSA-2048 (NewCA) or
// DSA in the built-in 1024/160 group (NewDSACA). Roots holds it alone.
type CA struct {
	Cert  *x509.Certificate
	DER   []byte
	Key   crypto.Signer
	Roots *x509.CertPool
}

// NewCA makes a self-signed RSA CA named cn.
func NewCA(cn string) (*CA, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	return newCA(cn, spki, key)
}

// NewDSACA makes a self-signed DSA CA named cn (crypto/x509 can neither
// issue nor verify DSA; x509legacy issues, the engine verifies).
func NewDSACA(cn string) (*CA, error) {
	kp := kea.DefaultParams()
	k, err := SoftwareKeys{}.DSA("", dsa.Parameters{P: kp.P, Q: kp.Q, G: kp.G})
	if err != nil {
		return nil, err
	}
	key := k.(*token.DSAKey)
	spki, err := x509legacy.MarshalDSAPublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	return newCA(cn, spki, key)
}

func newCA(cn string, spki []byte, key crypto.Signer) (*CA, error) {
	der, err := x509legacy.CreateCertificate(rand.Reader, template(cn, x509.KeyUsageCertSign, true), nil, spki, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	return &CA{Cert: cert, DER: der, Key: key, Roots: roots}, nil
}

// IssueSPKI certifies a DER SubjectPublicKeyInfo for the host name cn.
func (ca *CA) IssueSPKI(spki []byte, cn string, ku x509.KeyUsage, eku ...x509.ExtKeyUsage) ([]byte, error) {
	return x509legacy.CreateCertificate(rand.Reader, template(cn, ku, false, eku...), ca.Cert, spki, ca.Key)
}

// Issue certifies pub (an RSA, DSA or *x509legacy.DHPublicKey) for the host name
// cn: digitalSignature, plus keyEncipherment for RSA, keyAgreement for DH.
func (ca *CA) Issue(pub crypto.PublicKey, cn string, eku ...x509.ExtKeyUsage) ([]byte, error) {
	var spki []byte
	var err error
	ku := x509.KeyUsageDigitalSignature
	switch k := pub.(type) {
	case *dsa.PublicKey:
		spki, err = x509legacy.MarshalDSAPublicKey(k)
	case *x509legacy.DHPublicKey:
		spki, err = x509legacy.MarshalDHPublicKey(k)
		ku = x509.KeyUsageKeyAgreement
	default:
		spki, err = x509.MarshalPKIXPublicKey(pub)
		ku |= x509.KeyUsageKeyEncipherment
	}
	if err != nil {
		return nil, err
	}
	return ca.IssueSPKI(spki, cn, ku, eku...)
}

// Certificate issues a certificate for key and returns the pair as the
// engine takes it (leaf parsed; the CA appended when it is DSA, since the
// engine's DSA chain check anchors in a presented CA that is in the pool).
func (ca *CA) Certificate(key crypto.Signer, cn string, eku ...x509.ExtKeyUsage) (ssl.Certificate, error) {
	der, err := ca.Issue(key.Public(), cn, eku...)
	if err != nil {
		return ssl.Certificate{}, err
	}
	return ca.pair(der, key)
}

func (ca *CA) pair(der []byte, key token.Key) (ssl.Certificate, error) {
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return ssl.Certificate{}, err
	}
	chain := [][]byte{der}
	if ca.Cert.PublicKeyAlgorithm == x509.DSA {
		chain = append(chain, ca.DER)
	}
	return ssl.Certificate{Certificate: chain, PrivateKey: key, Leaf: leaf}, nil
}

// NewPKI makes the CAs in memory and the end-entity keys with keys;
// server certificates are issued for host.
func NewPKI(keys KeySource, host string) (*PKI, error) {
	rsaCA, err := NewCA("tokenssl test RSA CA")
	if err != nil {
		return nil, err
	}
	dsaCA, err := NewDSACA("tokenssl test DSA CA")
	if err != nil {
		return nil, err
	}
	kp := kea.DefaultParams() // a 1024/160 DSA group, also the X9.42 group of DH_DSS
	dsaParams := dsa.Parameters{P: kp.P, Q: kp.Q, G: kp.G}
	p := &PKI{Roots: x509.NewCertPool(), RSACA: rsaCA.Cert, DSACA: dsaCA.Cert, RSA: rsaCA, DSA: dsaCA}
	p.Roots.AddCert(p.RSACA)
	p.Roots.AddCert(p.DSACA)

	issue := func(label, cn string, key token.Key, spki []byte, ku x509.KeyUsage, eku x509.ExtKeyUsage, byDSA bool) (ssl.Certificate, error) {
		ca := rsaCA
		if byDSA {
			ca = dsaCA
		}
		der, err := ca.IssueSPKI(spki, cn, ku, eku)
		if err != nil {
			return ssl.Certificate{}, err
		}
		if err := keys.Store(label, der); err != nil {
			return ssl.Certificate{}, err
		}
		return ca.pair(der, key)
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
