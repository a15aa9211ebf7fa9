package ssltest

import (
	"crypto/x509"
	"slices"

	"github.com/tokenssl/tokenssl/softhsm"
	"github.com/tokenssl/tokenssl/ssl"
	"github.com/tokenssl/tokenssl/token"
)

// FortezzaSuites are the three FORTEZZA_KEA suites.
var FortezzaSuites = []uint16{
	ssl.SSL_FORTEZZA_KEA_WITH_NULL_SHA,
	ssl.SSL_FORTEZZA_KEA_WITH_FORTEZZA_CBC_SHA,
	ssl.SSL_FORTEZZA_KEA_WITH_RC4_128_SHA,
}

// CertificateSuites are the implemented suites that run on ordinary
// certificates and keys: all but the FORTEZZA_KEA suites, which need cards.
func CertificateSuites() []uint16 {
	return slices.DeleteFunc(ssl.ImplementedCipherSuites(), func(id uint16) bool {
		return slices.Contains(FortezzaSuites, id)
	})
}

// FortezzaCards is a server and a client card with their chains, from an
// emulated pair (softhsm.FortezzaPair) or a pair on the card module
// (softhsm.FortezzaModulePair), as the engine's fixtures take them.
type FortezzaCards struct {
	Server, Client           token.FortezzaCard
	ServerChain, ClientChain [][]byte
	Roots                    *x509.CertPool
	ServerName               string
}

// EmulatedCards is the emulated pair p as FortezzaCards.
func EmulatedCards(p *softhsm.FortezzaPair) FortezzaCards {
	return FortezzaCards{p.Server, p.Client, p.ServerChain, p.ClientChain, p.Roots, p.ServerName}
}

// ModuleCards is the card-module pair p as FortezzaCards.
func ModuleCards(p *softhsm.FortezzaModulePair) FortezzaCards {
	return FortezzaCards{p.Server.Card, p.Client.Card, p.ServerChain, p.ClientChain, p.Roots, p.ServerName}
}

// ServerCert is the server card with its KEA certificate and the CA.
func (f FortezzaCards) ServerCert() ssl.Certificate {
	return ssl.Certificate{Certificate: f.ServerChain, PrivateKey: f.Server}
}

// ClientCert is the client card with its DSS certificate and the CA.
func (f FortezzaCards) ClientCert() ssl.Certificate {
	return ssl.Certificate{Certificate: f.ClientChain, PrivateKey: f.Client}
}

// ServerConfig returns a server configuration using the server card for
// suites (nil: the three Fortezza suites), requiring and verifying a
// client certificate from the pair's CA if clientAuth.
func (f FortezzaCards) ServerConfig(suites []uint16, clientAuth bool) *ssl.Config {
	if suites == nil {
		suites = FortezzaSuites
	}
	c := &ssl.Config{Certificates: []ssl.Certificate{f.ServerCert()}, CipherSuites: suites}
	if clientAuth {
		c.ClientAuth = ssl.RequireAndVerifyClientCert
		c.ClientCAs = f.Roots
	}
	return c
}

// ClientConfig returns a client configuration with the client card (used
// for KEA always, and as the client certificate when the server asks).
func (f FortezzaCards) ClientConfig(suites []uint16) *ssl.Config {
	if suites == nil {
		suites = FortezzaSuites
	}
	return &ssl.Config{
		Certificates: []ssl.Certificate{f.ClientCert()},
		RootCAs:      f.Roots, ServerName: f.ServerName, CipherSuites: suites,
	}
}

// FortezzaServerCert is EmulatedCards(p).ServerCert().
func FortezzaServerCert(p *softhsm.FortezzaPair) ssl.Certificate {
	return EmulatedCards(p).ServerCert()
}

// FortezzaClientCert is EmulatedCards(p).ClientCert().
func FortezzaClientCert(p *softhsm.FortezzaPair) ssl.Certificate {
	return EmulatedCards(p).ClientCert()
}

// FortezzaServerConfig is EmulatedCards(p).ServerConfig(suites, clientAuth).
func FortezzaServerConfig(p *softhsm.FortezzaPair, suites []uint16, clientAuth bool) *ssl.Config {
	return EmulatedCards(p).ServerConfig(suites, clientAuth)
}

// FortezzaClientConfig is EmulatedCards(p).ClientConfig(suites).
func FortezzaClientConfig(p *softhsm.FortezzaPair, suites []uint16) *ssl.Config {
	return EmulatedCards(p).ClientConfig(suites)
}
