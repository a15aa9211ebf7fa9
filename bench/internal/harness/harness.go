// Package harness measures the tokenssl server's CPU and memory with the
// client in another process: the harness starts each server (tokenssl at
// SSL 3.0, crypto/tls at TLS 1.0 on the same suites) as a child process,
// drives it from this process over loopback, reads the child's own CPU
// time around each measured phase and prints ratios against baselines of
// the same run: crypto/tls, and the raw cryptography (cipher+MAC, RSA
// decrypt, C_Decrypt on SoftHSM, RSA sign + modexps) run in the server
// process. On two shared cores an in-process benchmark would also count
// the client; the child's getrusage counts only the server.
package harness

import (
	"bufio"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tokenssl/tokenssl/softhsm"
	"github.com/tokenssl/tokenssl/ssl"
)

// Figures, by name (Options.Only).
const (
	FigBulk      = "bulk"
	FigHandshake = "handshake"
	FigResume    = "resume"
	FigToken     = "token"
	FigDHE       = "dhe"
	FigIdle      = "idle"
)

// AllFigures lists every figure in table order.
var AllFigures = []string{FigBulk, FigHandshake, FigResume, FigToken, FigDHE, FigIdle}

// Options sizes a run. Zero fields take Default's values.
type Options struct {
	Rounds       int // interleaved rounds; medians are taken over them
	RC4MiB       int // bytes echoed per RC4-SHA sample
	DES3MiB      int // per 3DES-SHA sample
	Handshakes   int // full RSA handshakes per sample
	Resumed      int // resumed handshakes per sample
	TokenHS      int // full handshakes with the key on SoftHSM per sample
	DHEHS        int // DHE_RSA handshakes per sample
	IdleConns    int // idle connections per heap sample
	Only         []string
	CPUProfile   string // written by the tokenssl server child
	MemProfile   string // its allocs profile, at exit
	ServerBinary string // the child's executable; os.Executable() if empty
	Log          io.Writer
}

// Default is a full run: about a minute on two idle cores, two to three
// when they are shared.
var Default = Options{Rounds: 5, RC4MiB: 64, DES3MiB: 16, Handshakes: 300, Resumed: 2000, TokenHS: 200,
	DHEHS: 200, IdleConns: 500}

// Quick is for a smoke run (and the package's test).
var Quick = Options{Rounds: 1, RC4MiB: 1, DES3MiB: 1, Handshakes: 3, Resumed: 3, TokenHS: 2, DHEHS: 2, IdleConns: 3}

func (o *Options) fill() {
	d := Default
	set := func(p *int, v int) {
		if *p <= 0 {
			*p = v
		}
	}
	set(&o.Rounds, d.Rounds)
	set(&o.RC4MiB, d.RC4MiB)
	set(&o.DES3MiB, d.DES3MiB)
	set(&o.Handshakes, d.Handshakes)
	set(&o.Resumed, d.Resumed)
	set(&o.TokenHS, d.TokenHS)
	set(&o.DHEHS, d.DHEHS)
	set(&o.IdleConns, d.IdleConns)
	if len(o.Only) == 0 {
		o.Only = AllFigures
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
}

func (o *Options) want(fig string) bool {
	for _, f := range o.Only {
		if f == fig {
			return true
		}
	}
	return false
}

// Result is one row of the table.
type Result struct {
	Figure  string
	Ours    string // tokenssl's figure with its ratios
	Anchors string // the same-run baselines
	Spread  string // per-round range of the headline ratio: the noise
}

// Run measures the selected figures and returns the table's rows.
func Run(o Options) ([]Result, error) {
	o.fill()
	for _, f := range o.Only {
		known := false
		for _, a := range AllFigures {
			known = known || f == a
		}
		if !known {
			return nil, fmt.Errorf("unknown figure %q (want some of %s)", f, strings.Join(AllFigures, ","))
		}
	}
	pki, err := newPKI()
	if err != nil {
		return nil, err
	}
	var tokSetup *tokenSetup
	tokenNote := ""
	if o.want(FigToken) {
		env, ts, err := provisionToken(pki)
		switch {
		case errors.Is(err, softhsm.ErrNotInstalled):
			tokenNote = "n/a: SoftHSM2 not installed (scripts/install-deps.sh)"
		case err != nil:
			return nil, fmt.Errorf("token: %w", err)
		default:
			defer env.Close()
			tokSetup = ts
		}
	}
	ours, err := startServer(o, serverSetup{Impl: ImplTokenSSL, CertDER: pki.leafDER, KeyDER: pki.keyDER,
		Token: tokSetup, CPUProfile: o.CPUProfile, MemProfile: o.MemProfile})
	if err != nil {
		return nil, err
	}
	defer ours.close()
	std, err := startServer(o, serverSetup{Impl: ImplStdTLS, CertDER: pki.leafDER, KeyDER: pki.keyDER})
	if err != nil {
		return nil, err
	}
	defer std.close()
	m := &measurer{o: o, pki: pki, ours: ours, std: std}

	var rows []Result
	add := func(r Result, err error) error {
		if err != nil {
			return fmt.Errorf("%s: %w", r.Figure, err)
		}
		rows = append(rows, r)
		fmt.Fprintf(o.Log, "done: %s\n", r.Figure)
		return nil
	}
	if o.want(FigBulk) {
		if err := add(m.bulk("bulk RC4-SHA, server CPU per MiB echoed", ssl.SSL_RSA_WITH_RC4_128_SHA, "rc4-sha", o.RC4MiB)); err != nil {
			return rows, err
		}
		if err := add(m.bulk("bulk 3DES-SHA, same", ssl.SSL_RSA_WITH_3DES_EDE_CBC_SHA, "3des-sha", o.DES3MiB)); err != nil {
			return rows, err
		}
	}
	if o.want(FigHandshake) {
		if err := add(m.fullHandshake()); err != nil {
			return rows, err
		}
	}
	if o.want(FigResume) {
		if err := add(m.resumed()); err != nil {
			return rows, err
		}
	}
	if o.want(FigToken) {
		if tokSetup == nil {
			rows = append(rows, Result{Figure: "full handshake, key on SoftHSM", Ours: tokenNote})
		} else if err := add(m.tokenHandshake()); err != nil {
			return rows, err
		}
	}
	if o.want(FigDHE) {
		if err := add(m.dhe()); err != nil {
			return rows, err
		}
	}
	if o.want(FigIdle) {
		if err := add(m.idle()); err != nil {
			return rows, err
		}
	}
	return rows, nil
}

// Table formats rows as the Markdown table of issue 15.
func Table(w io.Writer, o Options, rows []Result) {
	o.fill()
	fmt.Fprintf(w, "server CPU (getrusage of the server child), medians of %d interleaved rounds; ratios are medians of per-round ratios\n\n", o.Rounds)
	fmt.Fprintln(w, "| figure | tokenssl | anchors, same run | first ratio, per-round range |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", r.Figure, r.Ours, r.Anchors, r.Spread)
	}
}

// pki is a throw-away CA and an RSA-2048 server certificate for
// localhost and 127.0.0.1.
type pki struct {
	caKey   *rsa.PrivateKey
	ca      *x509.Certificate
	roots   *x509.CertPool
	key     *rsa.PrivateKey
	keyDER  []byte
	leafDER []byte
}

func newPKI() (*pki, error) {
	caKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sslbench CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, _ := x509.ParseCertificate(der)
	p := &pki{caKey: caKey, ca: ca, roots: x509.NewCertPool()}
	p.roots.AddCert(ca)
	if p.key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return nil, err
	}
	if p.keyDER, err = x509.MarshalPKCS8PrivateKey(p.key); err != nil {
		return nil, err
	}
	p.leafDER, err = p.issue(&p.key.PublicKey, 2)
	return p, err
}

func (p *pki) issue(pub *rsa.PublicKey, serial int64) ([]byte, error) {
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	return x509.CreateCertificate(rand.Reader, tmpl, p.ca, pub, p.caKey)
}

// provisionToken makes a throw-away SoftHSM store and token with an
// RSA-2048 key generated on it and its certificate beside it. The store
// goes away with env.Close; SOFTHSM2_CONF, set here, is inherited by the
// server child.
func provisionToken(p *pki) (*softhsm.Env, *tokenSetup, error) {
	env, err := softhsm.New("")
	if err != nil {
		return nil, nil, err
	}
	tok, err := env.InitToken("sslbench", softhsm.RandomPIN(12), softhsm.RandomPIN(8))
	if err != nil {
		env.Close()
		return nil, nil, err
	}
	ref, err := tok.GenerateRSA("server", nil, 2048)
	if err != nil {
		env.Close()
		return nil, nil, err
	}
	der, err := p.issue(ref.Public.(*rsa.PublicKey), 3)
	if err == nil {
		err = tok.ImportCertificate("server", ref.ID, der)
	}
	if err != nil {
		env.Close()
		return nil, nil, err
	}
	return env, &tokenSetup{Module: env.ModulePath, Label: tok.Label, Serial: tok.Serial, PIN: tok.UserPIN(),
		KeyLabel: ref.Label, KeyID: ref.ID, CertDER: der}, nil
}

// child is a running server process and its control pipe.
type child struct {
	impl  string
	cmd   *exec.Cmd
	in    io.WriteCloser
	out   *bufio.Reader
	addrs map[string]string
}

func startServer(o Options, setup serverSetup) (*child, error) {
	exe := o.ServerBinary
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), RoleEnv+"=server")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{impl: setup.Impl, cmd: cmd, in: in, out: bufio.NewReader(outPipe), addrs: map[string]string{}}
	line, _ := json.Marshal(setup)
	if _, err := in.Write(append(line, '\n')); err != nil {
		c.close()
		return nil, err
	}
	for {
		l, err := c.out.ReadString('\n')
		if err != nil {
			c.close()
			return nil, fmt.Errorf("%s server did not start: %w", setup.Impl, err)
		}
		f := strings.Fields(l)
		if len(f) == 1 && f[0] == "ready" {
			return c, nil
		}
		if len(f) == 3 && f[0] == "listen" {
			c.addrs[f[1]] = f[2]
		}
	}
}

func (c *child) do(format string, args ...any) (int64, error) {
	if _, err := fmt.Fprintf(c.in, format+"\n", args...); err != nil {
		return 0, err
	}
	l, err := c.out.ReadString('\n')
	if err != nil {
		return 0, fmt.Errorf("%s server: %w", c.impl, err)
	}
	l = strings.TrimSpace(l)
	if v, ok := strings.CutPrefix(l, "ok "); ok {
		return strconv.ParseInt(v, 10, 64)
	}
	return 0, fmt.Errorf("%s server: %s", c.impl, l)
}

func (c *child) cpu() (int64, error) { return c.do("cpu") }

func (c *child) close() {
	fmt.Fprintln(c.in, "quit")
	c.in.Close()
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		c.cmd.Process.Kill()
		<-done
	}
}

// client dials one of the servers the way its own kind of peer would:
// tokenssl at SSL 3.0, crypto/tls at TLS 1.0, offering one suite.
type client struct {
	ssl *ssl.Config
	tls *tls.Config
	ln  string
	srv *child
}

func (m *measurer) client(srv *child, ln string, suite uint16, resume bool) *client {
	c := &client{ln: ln, srv: srv}
	if srv.impl == ImplTokenSSL {
		c.ssl = &ssl.Config{RootCAs: m.pki.roots, ServerName: "localhost", CipherSuites: []uint16{suite}}
		if resume {
			c.ssl.ClientSessionCache = ssl.NewLRUClientSessionCache(4)
		}
	} else {
		// The RSA key-exchange suites have the same code points in TLS.
		c.tls = &tls.Config{RootCAs: m.pki.roots, ServerName: "localhost", CipherSuites: []uint16{suite},
			MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10}
		if resume {
			c.tls.ClientSessionCache = tls.NewLRUClientSessionCache(4)
		}
	}
	return c
}

// dial connects and completes the handshake; it reports whether the
// session was resumed.
func (c *client) dial() (net.Conn, bool, error) {
	addr := c.srv.addrs[c.ln]
	if addr == "" {
		return nil, false, fmt.Errorf("%s server has no %q listener", c.srv.impl, c.ln)
	}
	if c.ln == lnPlain {
		conn, err := net.Dial("tcp", addr)
		return conn, false, err
	}
	if c.ssl != nil {
		conn, err := ssl.Dial("tcp", addr, c.ssl)
		if err != nil {
			return nil, false, err
		}
		return conn, conn.ConnectionState().DidResume, nil
	}
	conn, err := tls.Dial("tcp", addr, c.tls)
	if err != nil {
		return nil, false, err
	}
	return conn, conn.ConnectionState().DidResume, nil
}

// ping sends one byte and reads its echo: after it the server has
// finished the handshake and is idle.
func ping(c net.Conn) error {
	if _, err := c.Write([]byte{'p'}); err != nil {
		return err
	}
	var b [1]byte
	_, err := io.ReadFull(c, b[:])
	return err
}

type measurer struct {
	o         Options
	pki       *pki
	ours, std *child
}

// samples collects one value per round for each variant.
type samples map[string][]float64

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// ratio is the median over rounds of a[i]/b[i]: pairs from one round saw
// the same machine load.
func ratio(a, b []float64) float64 {
	r := make([]float64, 0, len(a))
	for i := range a {
		if i < len(b) && b[i] > 0 {
			r = append(r, a[i]/b[i])
		}
	}
	return median(r)
}

// spread is the range of the per-round ratios a[i]/b[i].
func spread(a, b []float64) string {
	lo, hi := 0.0, 0.0
	for i := range a {
		if i >= len(b) || b[i] <= 0 {
			continue
		}
		r := a[i] / b[i]
		if lo == 0 || r < lo {
			lo = r
		}
		if r > hi {
			hi = r
		}
	}
	return fmt.Sprintf("%.2f–%.2f", lo, hi)
}

// rounds runs each variant once per round, in the given order, so that
// A, B, C, A, B, C ... share the machine's state.
func (m *measurer) rounds(order []string, run func(variant string) (float64, error)) (samples, error) {
	s := samples{}
	for r := 0; r < m.o.Rounds; r++ {
		for _, v := range order {
			x, err := run(v)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", v, err)
			}
			s[v] = append(s[v], x)
		}
	}
	return s, nil
}

func (m *measurer) server(variant string) *child {
	if variant == ImplStdTLS {
		return m.std
	}
	return m.ours
}

// raw runs a raw baseline in the tokenssl server process and returns its
// CPU ns divided by div.
func (m *measurer) raw(kind string, n int, div float64) (float64, error) {
	ns, err := m.ours.do("raw %s %d", kind, n)
	return float64(ns) / div, err
}

const (
	vOurs = ImplTokenSSL
	vStd  = ImplStdTLS
	vRaw  = "raw"
)

func (m *measurer) bulk(figure string, suite uint16, rawKind string, mib int) (Result, error) {
	res := Result{Figure: figure}
	total := mib << 20
	wall := samples{}
	// The transport floor: the same echo over plain TCP costs the server
	// the system calls (and, on loopback, the kernel's receive path for
	// what it sends) that no record layer can avoid.
	const vTCP = "tcp"
	s, err := m.rounds([]string{vOurs, vStd, vRaw, vTCP}, func(v string) (float64, error) {
		if v == vRaw {
			return m.raw(rawKind, total, float64(mib))
		}
		srv, ln := m.server(v), lnSoftware
		if v == vTCP {
			ln = lnPlain
		}
		conn, _, err := m.client(srv, ln, suite, false).dial()
		if err != nil {
			return 0, err
		}
		defer conn.Close()
		if err := ping(conn); err != nil {
			return 0, err
		}
		c0, err := srv.cpu()
		if err != nil {
			return 0, err
		}
		start := time.Now()
		if err := echo(conn, total); err != nil {
			return 0, err
		}
		el := time.Since(start)
		c1, err := srv.cpu()
		wall[v] = append(wall[v], float64(mib)/el.Seconds())
		return float64(c1-c0) / float64(mib), err
	})
	if err != nil {
		return res, err
	}
	res.Spread = spread(s[vOurs], s[vRaw])
	res.Ours = fmt.Sprintf("%.0f µs/MiB: %.2f× raw cipher+MAC; **%.2f× crypto/tls** (MB/s %.2f×)",
		median(s[vOurs])/1e3, ratio(s[vOurs], s[vRaw]), ratio(s[vOurs], s[vStd]), ratio(wall[vOurs], wall[vStd]))
	res.Anchors = fmt.Sprintf("crypto/tls %.2f× raw (%.0f µs/MiB); raw %.0f µs/MiB; plain TCP echo %.0f µs/MiB (raw + TCP echo = %.2f× raw)",
		ratio(s[vStd], s[vRaw]), median(s[vStd])/1e3, median(s[vRaw])/1e3, median(s[vTCP])/1e3,
		(median(s[vRaw])+median(s[vTCP]))/median(s[vRaw]))
	return res, nil
}

// echo writes total bytes in 16 KiB writes and reads the echo back.
func echo(conn net.Conn, total int) error {
	errc := make(chan error, 1)
	go func() {
		buf := make([]byte, 16384)
		rand.Read(buf)
		for n := total; n > 0; n -= len(buf) {
			if _, err := conn.Write(buf[:min(n, len(buf))]); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	buf := make([]byte, 32<<10)
	for got := 0; got < total; {
		n, err := conn.Read(buf)
		got += n
		if err != nil && got < total {
			return err
		}
	}
	return <-errc
}

// handshakes runs n handshakes from a fresh client (primed with one full
// handshake when resume is set) and returns the server's CPU ns per
// handshake.
func (m *measurer) handshakes(srv *child, ln string, suite uint16, n int, resume bool) (float64, error) {
	cl := m.client(srv, ln, suite, resume)
	if resume {
		conn, _, err := cl.dial()
		if err != nil {
			return 0, err
		}
		if err := ping(conn); err != nil {
			return 0, err
		}
		conn.Close()
	}
	c0, err := srv.cpu()
	if err != nil {
		return 0, err
	}
	for i := 0; i < n; i++ {
		conn, resumed, err := cl.dial()
		if err != nil {
			return 0, err
		}
		conn.Close()
		if resumed != resume {
			return 0, fmt.Errorf("handshake %d: resumed=%v, want %v", i, resumed, resume)
		}
	}
	c1, err := srv.cpu()
	return float64(c1-c0) / float64(n), err
}

func (m *measurer) fullHandshake() (Result, error) {
	res := Result{Figure: "full RSA-2048 handshake, server CPU"}
	n := m.o.Handshakes
	const vTCP = "tcp"
	s, err := m.rounds([]string{vOurs, vStd, vRaw, vTCP}, func(v string) (float64, error) {
		switch v {
		case vRaw:
			return m.raw("rsa-decrypt", n, float64(n))
		case vTCP:
			return m.handshakes(m.ours, lnPlain, 0, n, false)
		}
		return m.handshakes(m.server(v), lnSoftware, ssl.SSL_RSA_WITH_RC4_128_SHA, n, false)
	})
	if err != nil {
		return res, err
	}
	res.Spread = spread(s[vOurs], s[vRaw])
	res.Ours = fmt.Sprintf("%.0f µs: %.2f× one RSA decrypt; %.3f× crypto/tls", median(s[vOurs])/1e3,
		ratio(s[vOurs], s[vRaw]), ratio(s[vOurs], s[vStd]))
	res.Anchors = fmt.Sprintf("crypto/tls %.0f µs (%.2f× decrypt); RSA-2048 decrypt %.0f µs; plain TCP accept+close %.0f µs (%.2f× decrypt)",
		median(s[vStd])/1e3, ratio(s[vStd], s[vRaw]), median(s[vRaw])/1e3, median(s[vTCP])/1e3, ratio(s[vTCP], s[vRaw]))
	return res, nil
}

func (m *measurer) resumed() (Result, error) {
	res := Result{Figure: "resumed handshake, server CPU"}
	n := m.o.Resumed
	const vTCP = "tcp"
	s, err := m.rounds([]string{vOurs, vStd, vTCP}, func(v string) (float64, error) {
		if v == vTCP {
			return m.handshakes(m.ours, lnPlain, 0, n, false)
		}
		return m.handshakes(m.server(v), lnSoftware, ssl.SSL_RSA_WITH_RC4_128_SHA, n, true)
	})
	if err != nil {
		return res, err
	}
	res.Spread = spread(s[vOurs], s[vStd])
	res.Ours = fmt.Sprintf("%.0f µs; %.2f× crypto/tls (tickets)", median(s[vOurs])/1e3, ratio(s[vOurs], s[vStd]))
	res.Anchors = fmt.Sprintf("crypto/tls TLS 1.0 ticket resumption %.0f µs; plain TCP accept+close %.0f µs", median(s[vStd])/1e3, median(s[vTCP])/1e3)
	return res, nil
}

func (m *measurer) tokenHandshake() (Result, error) {
	res := Result{Figure: "full handshake, key on SoftHSM: server CPU ÷ raw C_Decrypt CPU"}
	n := m.o.TokenHS
	const vTok, vDec, vSw, vRSA = "token", "C_Decrypt", "software", "rsa"
	wall := samples{}
	s, err := m.rounds([]string{vTok, vDec, vSw, vRSA}, func(v string) (float64, error) {
		start := time.Now()
		var x float64
		var err error
		switch v {
		case vTok:
			x, err = m.handshakes(m.ours, lnToken, ssl.SSL_RSA_WITH_RC4_128_SHA, n, false)
		case vDec:
			x, err = m.raw("c-decrypt", n, float64(n))
		case vSw:
			x, err = m.handshakes(m.ours, lnSoftware, ssl.SSL_RSA_WITH_RC4_128_SHA, n, false)
		case vRSA:
			x, err = m.raw("rsa-decrypt", n, float64(n))
		}
		wall[v] = append(wall[v], float64(n)/time.Since(start).Seconds())
		return x, err
	})
	if err != nil {
		return res, err
	}
	res.Spread = spread(s[vTok], s[vDec])
	res.Ours = fmt.Sprintf("%.2f× (%.0f µs vs C_Decrypt %.0f µs; hs/s %.2f× raw C_Decrypt rate)",
		ratio(s[vTok], s[vDec]), median(s[vTok])/1e3, median(s[vDec])/1e3, ratio(wall[vTok], wall[vDec]))
	res.Anchors = fmt.Sprintf("software key %.2f× its RSA decrypt (%.0f µs); token hs %.2f× software hs",
		ratio(s[vSw], s[vRSA]), median(s[vSw])/1e3, ratio(s[vTok], s[vSw]))
	return res, nil
}

func (m *measurer) dhe() (Result, error) {
	res := Result{Figure: "DHE_RSA 3DES, server CPU ÷ (RSA sign + 2 modexps)"}
	n := m.o.DHEHS
	s, err := m.rounds([]string{vOurs, vRaw}, func(v string) (float64, error) {
		if v == vRaw {
			return m.raw("dhe", n, float64(n))
		}
		return m.handshakes(m.ours, lnSoftware, ssl.SSL_DHE_RSA_WITH_3DES_EDE_CBC_SHA, n, false)
	})
	if err != nil {
		return res, err
	}
	res.Spread = spread(s[vOurs], s[vRaw])
	res.Ours = fmt.Sprintf("%.2f× (%.0f µs)", ratio(s[vOurs], s[vRaw]), median(s[vOurs])/1e3)
	res.Anchors = fmt.Sprintf("RSA-2048 sign + 2 modexps, group 14, 256-bit exponent: %.0f µs", median(s[vRaw])/1e3)
	return res, nil
}

// idle opens IdleConns connections and returns the server's HeapInuse
// growth per connection while they sit idle: after a one-byte echo, and
// after a 16 KiB echo (a full-size record each way: what a connection
// keeps of its record buffers once traffic stops).
func (m *measurer) idle() (Result, error) {
	res := Result{Figure: "idle established connection, heap"}
	n := m.o.IdleConns
	const ours1, std1, ours16, std16 = "tokenssl/1B", "crypto/tls/1B", "tokenssl/16KiB", "crypto/tls/16KiB"
	s, err := m.rounds([]string{ours1, std1, ours16, std16}, func(v string) (float64, error) {
		cut := strings.LastIndex(v, "/")
		impl, size := v[:cut], v[cut+1:]
		msg := 1
		if size == "16KiB" {
			msg = 16384
		}
		srv := m.server(impl)
		if err := waitIdle(srv); err != nil {
			return 0, err
		}
		h0, err := srv.do("heap")
		if err != nil {
			return 0, err
		}
		cl := m.client(srv, lnNoCache, ssl.SSL_RSA_WITH_RC4_128_SHA, false)
		conns := make([]net.Conn, 0, n)
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for i := 0; i < n; i++ {
			c, _, err := cl.dial()
			if err != nil {
				return 0, err
			}
			conns = append(conns, c)
			if err := echo(c, msg); err != nil {
				return 0, err
			}
		}
		h1, err := srv.do("heap")
		if err == nil && v == ours16 && m.o.MemProfile != "" {
			_, err = srv.do("heapprofile")
		}
		return float64(h1-h0) / float64(n), err
	})
	if err != nil {
		return res, err
	}
	res.Spread = spread(s[ours1], s[std1])
	res.Ours = fmt.Sprintf("%.1f KB (%.2f× crypto/tls) after a 1-byte echo; %.1f KB (%.2f× crypto/tls) after a 16 KiB echo",
		median(s[ours1])/1e3, ratio(s[ours1], s[std1]), median(s[ours16])/1e3, ratio(s[ours16], s[std16]))
	res.Anchors = fmt.Sprintf("crypto/tls %.1f KB; %.1f KB", median(s[std1])/1e3, median(s[std16])/1e3)
	return res, nil
}

// waitIdle waits until the server has let go of every connection of the
// previous sample, so that its heap baseline does not include them.
func waitIdle(srv *child) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := srv.do("conns")
		if err != nil || n == 0 {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s server still holds %d connections", srv.impl, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Machine describes where the figures were taken: Go version, CPUs and the
// load average at the end (the machine may be shared).
func Machine() string {
	load := "?"
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			load = strings.Join(f[:3], " ")
		}
	}
	return fmt.Sprintf("%s, %d CPUs, load %s", runtime.Version(), runtime.NumCPU(), load)
}
