package ssl

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"runtime"
	"sync"
	"time"
	"weak"

	"github.com/tokenssl/tokenssl/token"
)

// VersionSSL30 is the only protocol version this package speaks.
const VersionSSL30 = 0x0300

const (
	recordHeaderLen = 5
	// maxPlaintext is the SSLPlaintext.length ceiling of §7.2.1.
	maxPlaintext = 1 << 14
	// maxCiphertext is the SSLCiphertext.length ceiling of §7.2.3.
	maxCiphertext = maxPlaintext + 2048
)

type recordType uint8

const (
	recordTypeChangeCipherSpec recordType = 20
	recordTypeAlert            recordType = 21
	recordTypeHandshake        recordType = 22
	recordTypeApplicationData  recordType = 23
)

// Client certificate types of CertificateRequest (§7.6.4).
const (
	certTypeRSASign      = 1
	certTypeDSSSign      = 2
	certTypeRSAFixedDH   = 3
	certTypeDSSFixedDH   = 4
	certTypeRSAEphemeral = 5
	certTypeDSSEphemeral = 6
	certTypeFortezzaDMS  = 20
)

// ClientAuthType is the server's policy for client certificates.
type ClientAuthType int

const (
	NoClientCert               ClientAuthType = iota // never ask
	RequestClientCert                                // ask; accept no_certificate
	RequireAnyClientCert                             // ask; refuse no_certificate, do not verify
	VerifyClientCertIfGiven                          // ask; verify if given
	RequireAndVerifyClientCert                       // ask; refuse no_certificate; verify
)

// RenegotiationSupport is the policy for renegotiation.
type RenegotiationSupport int

const (
	// RenegotiateNever refuses renegotiation: a server answers a new
	// ClientHello with a fatal handshake_failure (SSL 3.0 has no
	// no_renegotiation alert); a client ignores HelloRequest.
	RenegotiateNever RenegotiationSupport = iota
	// RenegotiateSecure allows renegotiation only when the peer signalled
	// RFC 5746 support in the first handshake, binding each handshake to
	// the Finished messages of the one before.
	RenegotiateSecure
	// RenegotiateInsecure also allows renegotiation with peers that do not
	// support RFC 5746 — open to the 2009 splicing attack; legacy use only.
	RenegotiateInsecure
)

// Certificate is a certificate chain and its private key. PrivateKey is
// anything the token package accepts: crypto.Signer, crypto.Decrypter,
// token.DHAgreer — held in memory or on a token.
type Certificate struct {
	Certificate [][]byte // DER, leaf first
	PrivateKey  token.Key
	Leaf        *x509.Certificate // parsed Certificate[0]; filled lazily if nil
}

func (c *Certificate) leaf() (*x509.Certificate, error) {
	if c.Leaf != nil {
		return c.Leaf, nil
	}
	if len(c.Certificate) == 0 || len(c.Certificate[0]) == 0 {
		return nil, errors.New("ssl: certificate chain is empty")
	}
	der := c.Certificate[0]
	key := leafKey{weak.Make(&der[0]), len(der)}
	if v, ok := leafCache.Load(key); ok {
		if leaf := v.(*x509.Certificate); bytes.Equal(leaf.Raw, der) {
			return leaf, nil
		}
	}
	// Parse a copy: the cached certificate must not keep der alive, or the
	// cleanup below would never run.
	leaf, err := x509.ParseCertificate(bytes.Clone(der))
	if err != nil {
		return nil, err
	}
	if _, loaded := leafCache.Swap(key, leaf); !loaded {
		runtime.AddCleanup(&der[0], func(k leafKey) { leafCache.Delete(k) }, key)
	}
	return leaf, nil
}

// leafCache keeps the parsed leaf of a Certificate whose Leaf is unset,
// which a server otherwise parses for every candidate suite of every
// handshake (a Config is shared and must not be written to). It is keyed
// by the DER's storage, held weakly, and an entry goes with its DER.
var leafCache sync.Map // leafKey -> *x509.Certificate

type leafKey struct {
	der weak.Pointer[byte]
	n   int
}

// ConnectionState describes a connection, as crypto/tls's does for what
// SSL 3.0 has. Absent because SSL 3.0 has no such thing: the negotiated
// application protocol (ALPN), signed certificate timestamps and stapled
// OCSP responses (extensions SSL 3.0 peers do not send), and
// ExportKeyingMaterial (RFC 5705 is defined on the TLS PRF only).
type ConnectionState struct {
	Version           uint16 // VersionSSL30
	HandshakeComplete bool
	DidResume         bool
	CipherSuite       uint16
	// ServerName is the name the client asked for: on a client
	// Config.ServerName, on a server the client's server_name extension
	// (empty when it sent none, as most SSL 3.0 clients do).
	ServerName       string
	SessionID        []byte
	PeerCertificates []*x509.Certificate
	// VerifiedChains are the chains the peer certificate was verified
	// with; nil when it was not verified.
	VerifiedChains [][]*x509.Certificate
	// TLSUnique is the RFC 5929 "tls-unique" channel binding carried over
	// to SSL 3.0: the first Finished message (its 36 bytes of verify_data)
	// of the latest handshake. Nil on a resumed handshake, as crypto/tls
	// has it without extended master secret (which SSL 3.0 lacks): the
	// value is then not unique to the connection (the triple handshake).
	TLSUnique []byte
	// Renegotiations counts the handshakes completed after the first.
	Renegotiations int
}

// ClientHelloInfo is what a server knows of a client when it receives its
// ClientHello: the arguments of GetCertificate and GetConfigForClient.
type ClientHelloInfo struct {
	// CipherSuites are the suites the client offers, in its order (the
	// signalling values among them).
	CipherSuites []uint16
	// ServerName is the client's server_name extension (RFC 6066); empty
	// when it sent none.
	ServerName string
	// SupportedVersions lists the versions the client can speak, highest
	// first, from its client_version down to SSL 3.0.
	SupportedVersions []uint16
	// Extensions lists the types of the extensions the client sent.
	Extensions []uint16
	// Conn is the underlying connection; do not read from or write to it.
	Conn net.Conn

	ctx    context.Context
	config *Config
}

// Context returns the context of the handshake.
func (i *ClientHelloInfo) Context() context.Context { return i.ctx }

// SupportsCertificate returns nil if the server could serve one of the
// client's suites that it enables with c, or an error saying why not.
func (i *ClientHelloInfo) SupportsCertificate(c *Certificate) error {
	config := i.config
	if config == nil {
		config = &Config{}
	}
	for _, id := range config.cipherSuites() {
		if !containsSuite(i.CipherSuites, id) {
			continue
		}
		if s := suiteByID(id); s != nil && s.implemented() && !s.anonymous() && s.ka(s).certificateFits(c) {
			return nil
		}
	}
	return errors.New("ssl: the certificate serves none of the cipher suites the client offers and the server enables")
}

// CertificateRequestInfo is the server's CertificateRequest (§7.6.4), the
// argument of GetClientCertificate.
type CertificateRequestInfo struct {
	// AcceptableCAs are the DER distinguished names of the authorities
	// the server accepts; empty means any.
	AcceptableCAs [][]byte
	// CertificateTypes are the ClientCertificateType values the server
	// accepts (rsa_sign 1, dss_sign 2, rsa_fixed_dh 3, dss_fixed_dh 4,
	// fortezza_dms 20, ...).
	CertificateTypes []byte
	// Version is the negotiated version, VersionSSL30.
	Version uint16

	ctx     context.Context
	dhGroup *token.DHParams
}

// Context returns the context of the handshake.
func (i *CertificateRequestInfo) Context() context.Context { return i.ctx }

// SupportsCertificate returns nil if c is a certificate this client would
// send in answer to the request: of an asked-for type, and issued by an
// acceptable authority when the server named some.
func (i *CertificateRequestInfo) SupportsCertificate(c *Certificate) error {
	req := &certificateRequestMsg{certificateTypes: i.CertificateTypes, certificateAuthorities: i.AcceptableCAs}
	if chooseClientCertificate(&Config{Certificates: []Certificate{*c}}, req, i.dhGroup) == nil {
		return errors.New("ssl: the certificate is not of a type or from an authority the server asked for")
	}
	return nil
}

// Config configures a client or server, in the manner of crypto/tls.Config.
// A Config may be shared by many connections and must not be modified once
// in use.
type Config struct {
	// Rand is the entropy source; crypto/rand.Reader if nil.
	Rand io.Reader
	// Time returns the current time; time.Now if nil.
	Time func() time.Time

	// Certificates holds our chain(s). The server uses the first one whose
	// key fits the negotiated suite; a client offers the first one that
	// matches a CertificateRequest.
	Certificates []Certificate

	// RootCAs verifies server chains; the system pool if nil.
	RootCAs *x509.CertPool
	// ServerName is checked against the server certificate by the client.
	ServerName string
	// InsecureSkipVerify disables chain and hostname checks on the client.
	// For tests only.
	InsecureSkipVerify bool

	// ClientAuth is the server's policy; ClientCAs verifies client chains.
	ClientAuth ClientAuthType
	ClientCAs  *x509.CertPool

	// CipherSuites lists enabled suites in preference order; nil means
	// DefaultCipherSuites(). NULL, export and anonymous suites run only when
	// listed here explicitly.
	CipherSuites []uint16
	// PreferClientCipherSuites makes the server follow the client's order.
	PreferClientCipherSuites bool

	// SessionCache stores server sessions for resumption; nil uses a
	// private LRU of DefaultSessionCacheSize entries. Set
	// SessionTicketsDisabled-like behaviour with DisableSessionCache.
	SessionCache        SessionCache
	DisableSessionCache bool
	// SessionLifetime bounds how long a session may be resumed (default
	// 24 hours, the ceiling §7.5 recommends).
	SessionLifetime time.Duration
	// ClientSessionCache lets a client resume; nil disables resumption.
	ClientSessionCache ClientSessionCache

	// HandshakeTimeout bounds a handshake's duration on the wire: 0 means
	// DefaultHandshakeTimeout, a negative value no bound. Without one a
	// peer that sends nothing (or only what is ignored) holds the
	// connection for ever.
	HandshakeTimeout time.Duration

	// Renegotiation says whether a new handshake may run on an established
	// connection (§7.6.1.1): never (the default), only when both sides bind
	// it to the previous one with RFC 5746, or even without that binding.
	Renegotiation RenegotiationSupport
	// MaxRenegotiations bounds the renegotiations one connection runs,
	// whichever side asks: 0 means DefaultMaxRenegotiations, a negative
	// value no bound. Each full handshake costs a private-key operation, so
	// a peer must not be able to ask for them without limit.
	MaxRenegotiations int
	// RenegotiationInterval bounds the rate of renegotiations the peer
	// starts (a ClientHello the server did not ask for, a HelloRequest to
	// a client): after a burst of RenegotiationBurst, one per interval.
	// 0 means DefaultRenegotiationInterval, a negative value no bound. It
	// is measured with Config.Time.
	RenegotiationInterval time.Duration

	// SendSSL2Hello makes the client open with an SSL 2.0-compatible
	// CLIENT-HELLO (Appendix E) offering SSL 3.0, for servers that expect
	// one. A resumption offer always uses an SSL 3.0 ClientHello (E.1).
	SendSSL2Hello bool

	// SendServerName adds the server_name extension (RFC 6066) naming
	// ServerName to the ClientHello (not for an IP address), for servers
	// that choose among certificates by name, as crypto/tls always does.
	// Off by default: SSL 3.0 servers predate extensions, and though the
	// protocol tells them to ignore trailing ClientHello bytes (§7.6.1.2),
	// some refuse them.
	SendServerName bool

	// SendFallbackSCSV adds TLS_FALLBACK_SCSV (RFC 7507) to the client's
	// suites: set it when this SSL 3.0 attempt is a fallback from a failed
	// TLS attempt, so a server that speaks TLS can refuse the downgrade.
	SendFallbackSCSV bool

	// DisableRecordSplitting turns off the 1/n-1 split of application data
	// on CBC suites (a BEAST countermeasure: the first record carries one
	// byte so the IV of the next is unpredictable to an attacker).
	DisableRecordSplitting bool

	// DHParameters is the group a server uses for DHE and DH_anon suites;
	// nil means RFC3526Group14() (2048 bits; dh_groups.go says why).
	// ExportDHParameters is the group of their _EXPORT variants, at most
	// 512 bits; nil means the built-in ExportDHGroup512().
	DHParameters       *token.DHParams
	ExportDHParameters *token.DHParams
	// MinDHBits is the smallest Diffie-Hellman group a client accepts
	// (ServerKeyExchange or fixed-DH certificate); 0 means 1024. On export
	// suites a client accepts groups of min(MinDHBits, 512) to 512 bits.
	MinDHBits int

	// GetCertificate, if set, returns the server's certificate for a
	// ClientHello; the server then chooses suites for that one chain. It
	// is called when Certificates is empty or the client named a server
	// (server_name, which SSL 3.0 clients may send in the extensions
	// block); returning (nil, nil) falls back to Certificates.
	GetCertificate func(*ClientHelloInfo) (*Certificate, error)
	// GetClientCertificate, if set, returns the client's certificate when
	// the server asks for one, instead of a choice from Certificates. A nil
	// or empty Certificate sends no_certificate (§7.6.6); an error ends the
	// handshake with handshake_failure.
	GetClientCertificate func(*CertificateRequestInfo) (*Certificate, error)
	// GetConfigForClient, if set, returns the Config for a ClientHello, in
	// place of this one for the rest of the handshake (nil: keep this one).
	GetConfigForClient func(*ClientHelloInfo) (*Config, error)
	// VerifyPeerCertificate, if set, is called after the usual chain
	// checks (or in their place with InsecureSkipVerify or a policy that
	// does not verify) with the peer's DER chain and the verified chains;
	// an error ends the handshake with bad_certificate.
	VerifyPeerCertificate func(rawCerts [][]byte, verifiedChains [][]*x509.Certificate) error
	// VerifyConnection, if set, is called once per handshake, full or
	// resumed, after the peer's certificate is checked and before this
	// side sends its Finished; an error ends the handshake with
	// bad_certificate.
	VerifyConnection func(ConnectionState) error

	// KeyLogWriter, if set, receives the master secret of every handshake
	// (full and resumed) in the NSS key log format, which Wireshark reads to
	// decrypt captures. It defeats the protection a token gives the key:
	// anyone with the log reads the traffic. For debugging only.
	KeyLogWriter io.Writer

	serverCacheOnce sync.Once
	serverCache     SessionCache
	// exportRSA is the temporary RSA_EXPORT key shared by the handshakes
	// of this Config (Appendix D.1).
	exportRSA exportRSAKeyCache
}

func (c *Config) rand() io.Reader {
	if c == nil || c.Rand == nil {
		return rand.Reader
	}
	return c.Rand
}

func (c *Config) time() time.Time {
	if c == nil || c.Time == nil {
		return time.Now()
	}
	return c.Time()
}

// Defaults of the Config fields whose zero value means "the default".
const (
	// DefaultHandshakeTimeout is long enough for a person to type a token
	// PIN on a protected authentication path, short enough that an idle or
	// trickling peer cannot hold a connection (crypto/tls has no default).
	DefaultHandshakeTimeout = 60 * time.Second
	// DefaultMaxRenegotiations allows the occasional re-key or late client
	// authentication, not a loop of private-key operations.
	DefaultMaxRenegotiations = 4
	// DefaultRenegotiationInterval refills one peer-initiated renegotiation.
	DefaultRenegotiationInterval = 10 * time.Second
	// RenegotiationBurst is how many peer-initiated renegotiations may run
	// back to back before RenegotiationInterval applies.
	RenegotiationBurst = 3
)

// handshakeTimeout is the effective HandshakeTimeout (0: none).
func (c *Config) handshakeTimeout() time.Duration {
	return effective(c.HandshakeTimeout, DefaultHandshakeTimeout, 0)
}

// maxRenegotiations is the effective MaxRenegotiations (-1: no bound).
func (c *Config) maxRenegotiations() int {
	return effective(c.MaxRenegotiations, DefaultMaxRenegotiations, -1)
}

// renegotiationInterval is the effective RenegotiationInterval (0: none).
func (c *Config) renegotiationInterval() time.Duration {
	return effective(c.RenegotiationInterval, DefaultRenegotiationInterval, 0)
}

// effective is a Config field whose zero value means def and whose negative
// values mean off.
func effective[T ~int | ~int64](v, def, off T) T {
	switch {
	case v < 0:
		return off
	case v == 0:
		return def
	}
	return v
}

func (c *Config) sessionLifetime() time.Duration {
	if c.SessionLifetime > 0 {
		return c.SessionLifetime
	}
	return 24 * time.Hour
}

func (c *Config) serverSessionCache() SessionCache {
	if c.DisableSessionCache {
		return nil
	}
	if c.SessionCache != nil {
		return c.SessionCache
	}
	c.serverCacheOnce.Do(func() {
		c.serverCache = NewLRUSessionCache(DefaultSessionCacheSize, c.sessionLifetime())
	})
	return c.serverCache
}

func (c *Config) cipherSuites() []uint16 {
	if c.CipherSuites != nil {
		return c.CipherSuites
	}
	return DefaultCipherSuites()
}

// Clone returns a shallow copy of c safe to modify.
func (c *Config) Clone() *Config {
	if c == nil {
		return nil
	}
	return &Config{
		Rand: c.Rand, Time: c.Time, Certificates: c.Certificates,
		RootCAs: c.RootCAs, ServerName: c.ServerName, InsecureSkipVerify: c.InsecureSkipVerify,
		ClientAuth: c.ClientAuth, ClientCAs: c.ClientCAs,
		CipherSuites: c.CipherSuites, PreferClientCipherSuites: c.PreferClientCipherSuites,
		SessionCache: c.SessionCache, DisableSessionCache: c.DisableSessionCache,
		SessionLifetime: c.SessionLifetime, ClientSessionCache: c.ClientSessionCache,
		DHParameters: c.DHParameters, ExportDHParameters: c.ExportDHParameters, MinDHBits: c.MinDHBits,
		HandshakeTimeout: c.HandshakeTimeout, Renegotiation: c.Renegotiation,
		MaxRenegotiations: c.MaxRenegotiations, RenegotiationInterval: c.RenegotiationInterval,
		SendSSL2Hello: c.SendSSL2Hello, SendFallbackSCSV: c.SendFallbackSCSV, SendServerName: c.SendServerName,
		DisableRecordSplitting: c.DisableRecordSplitting,
		GetCertificate:         c.GetCertificate, GetClientCertificate: c.GetClientCertificate,
		GetConfigForClient: c.GetConfigForClient, VerifyPeerCertificate: c.VerifyPeerCertificate,
		VerifyConnection: c.VerifyConnection, KeyLogWriter: c.KeyLogWriter,
	}
}

// signerOf returns the crypto.Signer view of a private key.
func signerOf(k token.Key) (crypto.Signer, bool) {
	s, ok := k.(crypto.Signer)
	return s, ok
}
