package ssltest

import (
	"github.com/tokenssl/tokenssl/softhsm"
	"github.com/tokenssl/tokenssl/ssl"
)

// FortezzaSuites are the three FORTEZZA_KEA suites.
var FortezzaSuites = []uint16{
	ssl.SSL_FORTEZZA_KEA_WITH_NULL_SHA,
	ssl.SSL_FORTEZZA_KEA_WITH_FORTEZZA_CBC_SHA,
	ssl.SSL_FORTEZZA_KEA_WITH_RC4_128_SHA,
}

// FortezzaServerCert is the server card with its KEA certificate and the CA.
func FortezzaServerCert(p *softhsm.FortezzaPair) ssl.Certificate {
	return ssl.Certificate{Certificate: p.ServerChain, PrivateKey: p.Server}
}

// FortezzaClientCert is the client card with its DSS certificate and the CA.
func FortezzaClientCert(p *softhsm.FortezzaPair) ssl.Certificate {
	return ssl.Certificate{Certificate: p.ClientChain, PrivateKey: p.Client}
}

// FortezzaServerConfig returns a server configuration using p's server
// card for suites (nil: the three Fortezza suites), requiring and verifying
// a client certificate from p's CA if clientAuth.
func FortezzaServerConfig(p *softhsm.FortezzaPair, suites []uint16, clientAuth bool) *ssl.Config {
	if suites == nil {
		suites = FortezzaSuites
	}
	c := &ssl.Config{Certificates: []ssl.Certificate{FortezzaServerCert(p)}, CipherSuites: suites}
	if clientAuth {
		c.ClientAuth = ssl.RequireAndVerifyClientCert
		c.ClientCAs = p.Roots
	}
	return c
}

// FortezzaClientConfig returns a client configuration with p's client card
// (used for KEA always, and as the client certificate when the server asks).
func FortezzaClientConfig(p *softhsm.FortezzaPair, suites []uint16) *ssl.Config {
	if suites == nil {
		suites = FortezzaSuites
	}
	return &ssl.Config{
		Certificates: []ssl.Certificate{FortezzaClientCert(p)},
		RootCAs:      p.Roots, ServerName: p.ServerName, CipherSuites: suites,
	}
}
