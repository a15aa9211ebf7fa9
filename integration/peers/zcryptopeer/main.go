//go:debug rsa1024min=0

// Command zcryptopeer is an independent SSL 3.0 peer for tokenssl's interop
// tests. It is built on github.com/zmap/zcrypto/tls at the pinned
// pseudo-version v0.0.0-20210617162039-12fab6686964, the last zcrypto that
// still speaks SSL 3.0 (later commits dropped it). It lives in its own Go
// module so that the product module never depends on zcrypto.
//
// Its command line mirrors `tokenssl server` and `tokenssl client`:
//
//	zcryptopeer server -listen ADDR -cert F -key F [-ciphers LIST]
//	                   [-close-after N] [-max-conns N] [-timeout D]
//	zcryptopeer client -connect ADDR [-ciphers LIST] [-ca F | -insecure]
//	                   [-servername N] [-resume] [-until-eof] [-plain-hello]
//	                   [-timeout D]
//	zcryptopeer suites
//
// Both sides pin the protocol to SSL 3.0 (Config.MinVersion and
// Config.MaxVersion = tls.VersionSSL30) and print one line per completed
// handshake on stderr:
//
//	handshake ok suite=NAME resumed=BOOL session=HEX
//
// A failed handshake prints "handshake failed: ERR".
//
// LIST is comma separated; each entry is a suite name (SSL_RSA_WITH_RC4_128_MD5,
// TLS_RSA_WITH_RC4_128_MD5, OpenSSL's RC4-MD5, ...) or a hex code (0x0004,
// 0004). Without -ciphers both sides use DefaultSuites.
//
// `zcryptopeer suites` probes every suite it can name at SSL 3.0, zcrypto
// against itself with an RSA-2048 certificate. With this zcrypto these work:
// RC4_128_MD5 0x0004, RC4_128_SHA 0x0005, 3DES_EDE_CBC_SHA 0x000A,
// AES_128_CBC_SHA 0x002F, AES_256_CBC_SHA 0x0035, DHE_RSA_WITH_DES_CBC_SHA
// 0x0015, DHE_RSA_WITH_3DES_EDE_CBC_SHA 0x0016, DHE_RSA_WITH_AES_128_CBC_SHA
// 0x0033, DHE_RSA_WITH_AES_256_CBC_SHA 0x0039, the export suites 0x0003,
// 0x0006, 0x0008, 0x0014, and ECDHE_RSA 0xC011-0xC014 (non-standard at
// SSL 3.0: it needs hello extensions). zcrypto has no NULL suites and no
// RSA_WITH_DES_CBC_SHA 0x0009. DefaultSuites are the non-export, non-ECDHE
// ones. Against NSS all DefaultSuites interoperate (integration/interop).
//
// Server: accepts connections, handshakes, echoes every byte back until the
// client closes (or until -close-after bytes were echoed, then it closes the
// connection itself: NSS tstclnt never half-closes, so it needs a server that
// hangs up). zcrypto's server only resumes through session tickets, which
// SSL 3.0 clients do not send, and it sends an empty session_id in every
// ServerHello: it never resumes an SSL 3.0 session (resumed=false, session=
// empty on every line). That is a limit of the library, not of this tool.
//
// Client: reads all of stdin, connects, handshakes, writes the data, reads
// the reply and copies it to stdout. By default it waits for the echo (as many
// bytes as it sent) and then closes; with -until-eof it reads until the server
// closes (NSS selfserv answers once and hangs up). With -resume it connects a
// second time offering the session of the first connection: zcrypto has no
// session-ID cache of its own, so the tool rebuilds the session (version,
// suite, master secret from zcrypto's handshake log, server certificates) and
// sends a ClientHello carrying the server's session_id via zcrypto's
// ClientFingerprintConfiguration. Resumed ClientHellos and -plain-hello ones
// carry no extensions at all (a pure RFC 6101 ClientHello); otherwise the
// first ClientHello is zcrypto's usual one, with extensions (server_name,
// status_request, renegotiation_info, curves, point formats), which an
// SSL 3.0 server must ignore.
//
// The exit status is 0 when every connection handshook and, in echo mode,
// got back exactly what it sent; 1 otherwise; 2 on usage errors.
//
// The server also holds a 512-bit RSA key for the RSA_EXPORT suites (only
// used when -ciphers names one); the go:debug rsa1024min=0 line at the top of
// this file lets Go generate it. Test-only tool, so that is fine.
package main

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/zmap/zcrypto/tls"
	"github.com/zmap/zcrypto/x509"
)

// suite describes one cipher suite this tool can name.
type suite struct {
	id      uint16
	name    string // RFC 6101 style name for SSL 3.0 era suites, TLS_ otherwise
	openssl string // OpenSSL's name
}

// knownSuites lists every suite whose name the tool understands. Whether a
// suite works at SSL 3.0 is what DefaultSuites and `zcryptopeer suites` say.
var knownSuites = []suite{
	{0x0001, "SSL_RSA_WITH_NULL_MD5", "NULL-MD5"},
	{0x0002, "SSL_RSA_WITH_NULL_SHA", "NULL-SHA"},
	{0x0003, "SSL_RSA_EXPORT_WITH_RC4_40_MD5", "EXP-RC4-MD5"},
	{0x0004, "SSL_RSA_WITH_RC4_128_MD5", "RC4-MD5"},
	{0x0005, "SSL_RSA_WITH_RC4_128_SHA", "RC4-SHA"},
	{0x0006, "SSL_RSA_EXPORT_WITH_RC2_CBC_40_MD5", "EXP-RC2-CBC-MD5"},
	{0x0008, "SSL_RSA_EXPORT_WITH_DES40_CBC_SHA", "EXP-DES-CBC-SHA"},
	{0x0009, "SSL_RSA_WITH_DES_CBC_SHA", "DES-CBC-SHA"},
	{0x000A, "SSL_RSA_WITH_3DES_EDE_CBC_SHA", "DES-CBC3-SHA"},
	{0x0014, "SSL_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA", "EXP-EDH-RSA-DES-CBC-SHA"},
	{0x0015, "SSL_DHE_RSA_WITH_DES_CBC_SHA", "EDH-RSA-DES-CBC-SHA"},
	{0x0016, "SSL_DHE_RSA_WITH_3DES_EDE_CBC_SHA", "EDH-RSA-DES-CBC3-SHA"},
	{0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA"},
	{0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA", "DHE-RSA-AES128-SHA"},
	{0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA"},
	{0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", "DHE-RSA-AES256-SHA"},
	{0xC011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA", "ECDHE-RSA-RC4-SHA"},
	{0xC012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", "ECDHE-RSA-DES-CBC3-SHA"},
	{0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"},
	{0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA"},
}

// DefaultSuites are the suites both modes use without -ciphers: those that
// zcrypto, pinned to SSL 3.0 with an RSA certificate, completes a handshake
// with against itself (see `zcryptopeer suites`), in preference order.
var DefaultSuites = []uint16{
	0x0005, 0x0004, 0x000A, 0x002F, 0x0035, // RSA key exchange
	0x0016, 0x0033, 0x0039, 0x0015, // DHE_RSA
}

func suiteName(id uint16) string {
	for _, s := range knownSuites {
		if s.id == id {
			return s.name
		}
	}
	return fmt.Sprintf("0x%04X", id)
}

// parseSuites turns "RC4-MD5,0x000A,SSL_RSA_WITH_RC4_128_SHA" into codes.
func parseSuites(list string) ([]uint16, error) {
	var out []uint16
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		id, err := parseSuite(f)
		if err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	if len(out) == 0 {
		return nil, errors.New("empty cipher list")
	}
	return out, nil
}

func parseSuite(f string) (uint16, error) {
	u := strings.ToUpper(f)
	for _, s := range knownSuites {
		bare := strings.TrimPrefix(s.name, "SSL_")
		bare = strings.TrimPrefix(bare, "TLS_")
		if u == s.name || u == "SSL_"+bare || u == "TLS_"+bare || u == bare || u == s.openssl {
			return s.id, nil
		}
	}
	h := strings.TrimPrefix(strings.TrimPrefix(u, "0X"), ":")
	if len(h) == 4 {
		if v, err := strconv.ParseUint(h, 16, 16); err == nil {
			return uint16(v), nil
		}
	}
	return 0, fmt.Errorf("unknown cipher suite %q", f)
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: zcryptopeer server|client|suites [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "server":
		err = runServer(os.Args[2:])
	case "client":
		err = runClient(os.Args[2:])
	case "suites":
		err = runSuites()
	default:
		fmt.Fprintf(os.Stderr, "zcryptopeer: unknown mode %q\n", os.Args[1])
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "zcryptopeer:", err)
		os.Exit(1)
	}
}

func handshakeLine(c *tls.Conn) string {
	st := c.ConnectionState()
	var sid []byte
	if log := c.GetHandshakeLog(); log != nil && log.ServerHello != nil {
		sid = log.ServerHello.SessionID
	}
	ver := ""
	if st.Version != tls.VersionSSL30 {
		// Never expected: both sides pin SSL 3.0. Make it visible.
		ver = fmt.Sprintf(" version=0x%04X", st.Version)
	}
	return fmt.Sprintf("handshake ok suite=%s resumed=%t session=%s%s",
		suiteName(st.CipherSuite), st.DidResume, hex.EncodeToString(sid), ver)
}

// stderrMu keeps lines from concurrent connections whole.
var stderrMu sync.Mutex

func logf(format string, args ...any) {
	stderrMu.Lock()
	defer stderrMu.Unlock()
	fmt.Fprintf(os.Stderr, format+"\n", args...)
}

func runServer(args []string) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:4433", "address to listen on")
	certFile := fs.String("cert", "", "server certificate chain, PEM")
	keyFile := fs.String("key", "", "server private key, PEM (PKCS#1 or PKCS#8 RSA)")
	ciphers := fs.String("ciphers", "", "comma separated cipher suites (default: all SSL 3.0 suites zcrypto supports)")
	closeAfter := fs.Int("close-after", 0, "close a connection after echoing this many bytes (0: echo until the client closes)")
	maxConns := fs.Int("max-conns", 0, "exit after this many connections (0: serve until killed)")
	timeout := fs.Duration("timeout", 30*time.Second, "per-connection idle timeout")
	if err := fs.Parse(args); err != nil {
		os.Exit(2)
	}
	if *certFile == "" || *keyFile == "" {
		return errors.New("server: -cert and -key are required")
	}
	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		return fmt.Errorf("loading key pair: %w", err)
	}
	suites := DefaultSuites
	if *ciphers != "" {
		if suites, err = parseSuites(*ciphers); err != nil {
			return err
		}
	}
	exportKey, err := rsa.GenerateKey(rand.Reader, 512)
	if err != nil {
		return err
	}
	cfg := &tls.Config{
		Certificates: []tls.Certificate{cert},
		ExportRSAKey: exportKey,
		MinVersion:   tls.VersionSSL30,
		MaxVersion:   tls.VersionSSL30,
		CipherSuites: suites,
		// Honour the server's order, as NSS selfserv does by default.
		PreferServerCipherSuites: true,
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	defer ln.Close()
	logf("listening on %s", ln.Addr())

	var wg sync.WaitGroup
	for n := 0; *maxConns == 0 || n < *maxConns; n++ {
		raw, err := ln.Accept()
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			serveConn(tls.Server(raw, cfg), *closeAfter, *timeout)
		}()
	}
	wg.Wait()
	return nil
}

func serveConn(c *tls.Conn, closeAfter int, timeout time.Duration) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if err := c.Handshake(); err != nil {
		logf("handshake failed: %v", err)
		return
	}
	logf("%s", handshakeLine(c))
	buf := make([]byte, 16384)
	echoed := 0
	for closeAfter == 0 || echoed < closeAfter {
		c.SetDeadline(time.Now().Add(timeout))
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				logf("echo write: %v", werr)
				return
			}
			echoed += n
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				logf("echo read: %v", err)
			}
			return
		}
	}
}

// sessionCache is a one-entry ClientSessionCache for the resumed connection.
type sessionCache struct {
	mu sync.Mutex
	m  map[string]*tls.ClientSessionState
}

func (s *sessionCache) Get(k string) (*tls.ClientSessionState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[k]
	return v, ok
}

func (s *sessionCache) Put(k string, v *tls.ClientSessionState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[k] = v
}

type fixedKey string

func (k fixedKey) Key(net.Addr) string { return string(k) }

// setField writes an unexported field of a zcrypto struct. zcrypto keeps
// ClientSessionState opaque and only fills it from session tickets, so this
// is the one way to hand it an SSL 3.0 session-ID session.
func setField(v reflect.Value, name string, val any) {
	f := v.FieldByName(name)
	if !f.IsValid() {
		panic("zcrypto ClientSessionState has no field " + name)
	}
	reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Set(reflect.ValueOf(val))
}

func sessionFrom(c *tls.Conn) (*tls.ClientSessionState, []byte, error) {
	log := c.GetHandshakeLog()
	if log == nil || log.ServerHello == nil {
		return nil, nil, errors.New("no handshake log")
	}
	sid := log.ServerHello.SessionID
	if len(sid) == 0 {
		return nil, nil, nil // server made the session unresumable
	}
	if log.KeyMaterial == nil || log.KeyMaterial.MasterSecret == nil || len(log.KeyMaterial.MasterSecret.Value) != 48 {
		return nil, nil, errors.New("no master secret in zcrypto's handshake log")
	}
	st := c.ConnectionState()
	s := new(tls.ClientSessionState)
	v := reflect.ValueOf(s).Elem()
	setField(v, "vers", st.Version)
	setField(v, "cipherSuite", st.CipherSuite)
	setField(v, "masterSecret", append([]byte(nil), log.KeyMaterial.MasterSecret.Value...))
	setField(v, "serverCertificates", st.PeerCertificates)
	return s, append([]byte(nil), sid...), nil
}

type clientOpts struct {
	addr       string
	suites     []uint16
	roots      *x509.CertPool
	insecure   bool
	serverName string
	untilEOF   bool
	plainHello bool
	timeout    time.Duration
}

func runClient(args []string) error {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	connect := fs.String("connect", "", "server address host:port")
	ciphers := fs.String("ciphers", "", "comma separated cipher suites (default: all SSL 3.0 suites zcrypto supports)")
	caFile := fs.String("ca", "", "PEM file of trusted roots")
	insecure := fs.Bool("insecure", false, "do not verify the server certificate")
	serverName := fs.String("servername", "", "name to verify the server certificate against (default: host of -connect)")
	resume := fs.Bool("resume", false, "connect a second time, offering the first connection's session")
	untilEOF := fs.Bool("until-eof", false, "read the reply until the server closes instead of until the echo is complete")
	plainHello := fs.Bool("plain-hello", false, "send a ClientHello without extensions on the first connection too")
	timeout := fs.Duration("timeout", 20*time.Second, "deadline for each connection")
	if err := fs.Parse(args); err != nil {
		os.Exit(2)
	}
	if *connect == "" {
		return errors.New("client: -connect is required")
	}
	o := clientOpts{addr: *connect, insecure: *insecure, serverName: *serverName,
		untilEOF: *untilEOF, plainHello: *plainHello, timeout: *timeout, suites: DefaultSuites}
	var err error
	if *ciphers != "" {
		if o.suites, err = parseSuites(*ciphers); err != nil {
			return err
		}
	}
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			return err
		}
		o.roots = x509.NewCertPool()
		if !o.roots.AppendCertsFromPEM(pem) {
			return fmt.Errorf("no certificates in %s", *caFile)
		}
	} else if !*insecure {
		return errors.New("client: need -ca FILE or -insecure")
	}
	if o.serverName == "" {
		if h, _, err := net.SplitHostPort(o.addr); err == nil {
			o.serverName = h
		}
	}
	payload, err := io.ReadAll(os.Stdin)
	if err != nil {
		return err
	}

	sess, sid, err := clientConn(o, payload, nil, nil)
	if err != nil {
		return err
	}
	if !*resume {
		return nil
	}
	if sess == nil {
		logf("resume: first session is not resumable (empty session_id); doing a full handshake")
	}
	_, _, err = clientConn(o, payload, sess, sid)
	return err
}

// clientConn runs one connection. With sess != nil it offers that session.
// It returns the session the connection established (nil if unresumable).
func clientConn(o clientOpts, payload []byte, sess *tls.ClientSessionState, sid []byte) (*tls.ClientSessionState, []byte, error) {
	raw, err := net.DialTimeout("tcp", o.addr, o.timeout)
	if err != nil {
		return nil, nil, err
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(o.timeout))

	cfg := &tls.Config{
		MinVersion:             tls.VersionSSL30,
		MaxVersion:             tls.VersionSSL30,
		CipherSuites:           append([]uint16(nil), o.suites...),
		InsecureSkipVerify:     o.insecure,
		RootCAs:                o.roots,
		ServerName:             o.serverName,
		SessionTicketsDisabled: true,
	}
	if sess != nil || o.plainHello {
		cache := &sessionCache{m: map[string]*tls.ClientSessionState{}}
		if sess != nil {
			cache.Put("peer", sess)
		}
		cfg.ClientFingerprintConfiguration = &tls.ClientFingerprintConfiguration{
			HandshakeVersion:   tls.VersionSSL30,
			SessionID:          sid,
			CipherSuites:       append([]uint16(nil), o.suites...),
			CompressionMethods: []uint8{0},
			SessionCache:       cache,
			CacheKey:           fixedKey("peer"),
		}
	}
	c := tls.Client(raw, cfg)
	if err := c.Handshake(); err != nil {
		logf("handshake failed: %v", err)
		return nil, nil, err
	}
	logf("%s", handshakeLine(c))
	next, nextSID, err := sessionFrom(c)
	if err != nil {
		return nil, nil, err
	}

	if len(payload) > 0 {
		if _, err := c.Write(payload); err != nil {
			return nil, nil, fmt.Errorf("write: %w", err)
		}
	}
	var got bytes.Buffer
	buf := make([]byte, 16384)
	for o.untilEOF || got.Len() < len(payload) {
		n, err := c.Read(buf)
		got.Write(buf[:n])
		if err != nil {
			if errors.Is(err, io.EOF) && o.untilEOF {
				break
			}
			os.Stdout.Write(got.Bytes())
			return nil, nil, fmt.Errorf("read after %d bytes: %w", got.Len(), err)
		}
	}
	os.Stdout.Write(got.Bytes())
	c.Close()
	if !o.untilEOF && !bytes.Equal(got.Bytes(), payload) {
		return nil, nil, fmt.Errorf("echo mismatch: sent %d bytes, got %d different bytes", len(payload), got.Len())
	}
	return next, nextSID, nil
}

// runSuites probes, in process over a 127.0.0.1 TCP connection, which suites zcrypto
// completes an SSL 3.0 handshake with against itself, using a throwaway RSA
// certificate, and prints one line per known suite.
func runSuites() error {
	cert, err := throwawayCert()
	if err != nil {
		return err
	}
	// The RSA_EXPORT suites need a 512-bit key for the ephemeral
	// ServerKeyExchange; zcrypto only uses it when configured.
	exportKey, err := rsa.GenerateKey(rand.Reader, 512)
	if err != nil {
		return err
	}
	for _, s := range knownSuites {
		a, b, err := tcpPair()
		if err != nil {
			return err
		}
		srv := tls.Server(a, &tls.Config{Certificates: []tls.Certificate{cert}, ExportRSAKey: exportKey,
			MinVersion: tls.VersionSSL30, MaxVersion: tls.VersionSSL30, CipherSuites: []uint16{s.id}})
		cli := tls.Client(b, &tls.Config{InsecureSkipVerify: true, SessionTicketsDisabled: true,
			MinVersion: tls.VersionSSL30, MaxVersion: tls.VersionSSL30, CipherSuites: []uint16{s.id}})
		deadline := time.Now().Add(5 * time.Second)
		a.SetDeadline(deadline)
		b.SetDeadline(deadline)
		errc := make(chan error, 1)
		go func() {
			err := srv.Handshake()
			if err == nil {
				_, err = io.Copy(srv, io.LimitReader(srv, 5))
			}
			errc <- err
			srv.Close()
		}()
		res := "ok"
		if err := cli.Handshake(); err != nil {
			res = "FAIL " + err.Error()
		} else if _, err := cli.Write([]byte("hello")); err != nil {
			res = "FAIL write " + err.Error()
		} else if buf, err := io.ReadAll(io.LimitReader(cli, 5)); err != nil || string(buf) != "hello" {
			res = fmt.Sprintf("FAIL echo %q %v", buf, err)
		} else if v := cli.ConnectionState().Version; v != tls.VersionSSL30 {
			res = fmt.Sprintf("FAIL version 0x%04X", v)
		}
		cli.Close()
		if serr := <-errc; serr != nil && res == "ok" {
			res = "FAIL server " + serr.Error()
		}
		fmt.Printf("0x%04X %-40s %s\n", s.id, s.name, res)
	}
	return nil
}

// tcpPair returns the two ends of a fresh 127.0.0.1 TCP connection.
func tcpPair() (net.Conn, net.Conn, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	defer ln.Close()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		ch <- res{c, err}
	}()
	b, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return nil, nil, err
	}
	r := <-ch
	if r.err != nil {
		b.Close()
		return nil, nil, r.err
	}
	return r.c, b, nil
}
