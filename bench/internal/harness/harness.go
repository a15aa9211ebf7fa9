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
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tokenssl/tokenssl/internal/ssltest"
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
	// The handshake figures again with Options.Load clients at once.
	FigHandshakeLoaded = "handshake-loaded"
	FigResumeLoaded    = "resume-loaded"
	FigTokenLoaded     = "token-loaded"
	FigDHELoaded       = "dhe-loaded"
)

// AllFigures lists every figure in table order.
var AllFigures = []string{FigBulk, FigHandshake, FigHandshakeLoaded, FigResume, FigResumeLoaded,
	FigToken, FigTokenLoaded, FigDHE, FigDHELoaded, FigIdle}

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
	Load         int // concurrent clients of the loaded handshake figures
	Only         []string
	CPUProfile   string // written by the tokenssl server child
	MemProfile   string // its allocs profile, at exit
	ServerBinary string // the child's executable; os.Executable() if empty
	Log          io.Writer
}

// Default is a full run: about two minutes on two idle cores, three to four
// when they are shared.
var Default = Options{Rounds: 5, RC4MiB: 64, DES3MiB: 16, Handshakes: 300, Resumed: 2000, TokenHS: 200,
	DHEHS: 200, IdleConns: 500, Load: 2}

// Quick is for a smoke run (and the package's test).
var Quick = Options{Rounds: 1, RC4MiB: 1, DES3MiB: 1, Handshakes: 3, Resumed: 3, TokenHS: 2, DHEHS: 2, IdleConns: 3, Load: 2}

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
	set(&o.Load, d.Load)
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
	if o.want(FigToken) || o.want(FigTokenLoaded) {
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
	// Each handshake figure twice: one client (the server idles between
	// flights), then Load clients at once (it always has one queued).
	for _, f := range []struct {
		fig  string
		conc int
	}{{FigHandshake, 1}, {FigHandshakeLoaded, o.Load}, {FigResume, 1}, {FigResumeLoaded, o.Load},
		{FigToken, 1}, {FigTokenLoaded, o.Load}, {FigDHE, 1}, {FigDHELoaded, o.Load}} {
		if !o.want(f.fig) {
			continue
		}
		var err error
		switch f.fig {
		case FigHandshake, FigHandshakeLoaded:
			err = add(m.fullHandshake(f.conc))
		case FigResume, FigResumeLoaded:
			err = add(m.resumed(f.conc))
		case FigToken, FigTokenLoaded:
			if tokSetup == nil {
				rows = append(rows, Result{Figure: loadTitle("full handshake, key on SoftHSM", f.conc), Ours: tokenNote})
			} else {
				err = add(m.tokenHandshake(f.conc))
			}
		case FigDHE, FigDHELoaded:
			err = add(m.dhe(f.conc))
		}
		if err != nil {
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

// pki is a throw-away CA (internal/ssltest's) and an RSA-2048 server
// certificate for localhost.
type pki struct {
	ca      *ssltest.CA
	key     *rsa.PrivateKey
	keyDER  []byte
	leafDER []byte
}

func newPKI() (*pki, error) {
	ca, err := ssltest.NewCA("sslbench CA")
	if err != nil {
		return nil, err
	}
	p := &pki{ca: ca}
	if p.key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return nil, err
	}
	if p.keyDER, err = x509.MarshalPKCS8PrivateKey(p.key); err != nil {
		return nil, err
	}
	p.leafDER, err = p.issue(&p.key.PublicKey)
	return p, err
}

// issue certifies pub for localhost as a server.
func (p *pki) issue(pub *rsa.PublicKey) ([]byte, error) {
	return p.ca.Issue(pub, "localhost", x509.ExtKeyUsageServerAuth)
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
	der, err := p.issue(ref.Public.(*rsa.PublicKey))
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

// doN sends one control command and returns the numbers of its reply.
func (c *child) doN(format string, args ...any) ([]int64, error) {
	if _, err := fmt.Fprintf(c.in, format+"\n", args...); err != nil {
		return nil, err
	}
	l, err := c.out.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("%s server: %w", c.impl, err)
	}
	f := strings.Fields(l)
	if len(f) < 2 || f[0] != "ok" {
		return nil, fmt.Errorf("%s server: %s", c.impl, strings.TrimSpace(l))
	}
	v := make([]int64, len(f)-1)
	for i := range v {
		if v[i], err = strconv.ParseInt(f[i+1], 10, 64); err != nil {
			return nil, fmt.Errorf("%s server: %q: %w", c.impl, l, err)
		}
	}
	return v, nil
}

// do sends a command whose reply is one number.
func (c *child) do(format string, args ...any) (int64, error) {
	v, err := c.doN(format, args...)
	if err != nil {
		return 0, err
	}
	return v[0], nil
}

// usage is a snapshot of the server child's CPU time (ns) and of what its
// connections asked of their transport.
type usage struct {
	user, sys                     int64
	reads, writes, rbytes, wbytes int64
}

func (c *child) usage() (usage, error) {
	cpu, err := c.doN("cpu")
	if err != nil {
		return usage{}, err
	}
	io, err := c.doN("io")
	if err != nil {
		return usage{}, err
	}
	if len(cpu) != 2 || len(io) != 4 {
		return usage{}, fmt.Errorf("%s server: malformed cpu/io reply", c.impl)
	}
	return usage{user: cpu[0], sys: cpu[1], reads: io[0], writes: io[1], rbytes: io[2], wbytes: io[3]}, nil
}

// meas is one sample: the server's CPU ns (total, user, system) and its
// transport calls and bytes, all per unit (MiB, handshake, operation);
// for handshakes also the client's (this process's) CPU ns per unit and
// how many cores the server kept busy (its CPU time over the wall time).
type meas struct {
	total, user, sys              float64
	reads, writes, rbytes, wbytes float64
	client, busy                  float64
}

// since is the usage between u0 and u1, divided by div units.
func since(u0, u1 usage, div float64) meas {
	f := func(a, b int64) float64 { return float64(b-a) / div }
	return meas{total: f(u0.user+u0.sys, u1.user+u1.sys), user: f(u0.user, u1.user), sys: f(u0.sys, u1.sys),
		reads: f(u0.reads, u1.reads), writes: f(u0.writes, u1.writes), rbytes: f(u0.rbytes, u1.rbytes), wbytes: f(u0.wbytes, u1.wbytes)}
}

// minus is x with floor's CPU and transport figures taken away: an
// operation measured with a fixed cost around it, less that cost.
func (x meas) minus(floor meas) meas {
	return meas{total: x.total - floor.total, user: x.user - floor.user, sys: x.sys - floor.sys,
		reads: x.reads - floor.reads, writes: x.writes - floor.writes, rbytes: x.rbytes - floor.rbytes, wbytes: x.wbytes - floor.wbytes}
}

// loadSplit formats the medians of the server's busy cores and of the
// client's CPU as a share of the server's: a client that used a core of
// its own would leave the server waiting, and the load would not be one.
func loadSplit(d []meas) string {
	var b, c, t []float64
	for _, x := range d {
		b, c, t = append(b, x.busy), append(c, x.client), append(t, x.total)
	}
	return fmt.Sprintf("server busy %.2f cores, client CPU %.2f× server's", median(b), ratio(c, t))
}

// cpuSplit formats the medians of user and system CPU in µs, with the
// system share.
func cpuSplit(d []meas) string {
	var u, sy, t []float64
	for _, x := range d {
		u, sy, t = append(u, x.user), append(sy, x.sys), append(t, x.total)
	}
	return fmt.Sprintf("user %.0f + sys %.0f µs, sys %.0f%%", median(u)/1e3, median(sy)/1e3, 100*ratio(sy, t))
}

// ioSplit formats the medians of transport calls and bytes per unit.
func ioSplit(d []meas) string {
	var r, w, rb, wb []float64
	for _, x := range d {
		r, w, rb, wb = append(r, x.reads), append(w, x.writes), append(rb, x.rbytes), append(wb, x.wbytes)
	}
	perRead := 0.0
	if median(r) > 0 {
		perRead = ratio(rb, r)
	}
	return fmt.Sprintf("%.1f reads (%.0f B each) + %.1f writes (%.0f B out)", median(r), perRead, median(w), median(wb))
}

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
		c.ssl = &ssl.Config{RootCAs: m.pki.ca.Roots, ServerName: "localhost", CipherSuites: []uint16{suite}}
		if resume {
			c.ssl.ClientSessionCache = ssl.NewLRUClientSessionCache(4)
		}
	} else {
		// The RSA key-exchange suites have the same code points in TLS.
		c.tls = &tls.Config{RootCAs: m.pki.ca.Roots, ServerName: "localhost", CipherSuites: []uint16{suite},
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
	if c.ln == lnPlain || strings.HasPrefix(c.ln, lnPlainWork) {
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
// A, B, C, A, B, C ... share the machine's state. It returns the totals
// (CPU ns per unit) and the full samples.
func (m *measurer) rounds(order []string, run func(variant string) (meas, error)) (samples, map[string][]meas, error) {
	s, d := samples{}, map[string][]meas{}
	for r := 0; r < m.o.Rounds; r++ {
		for _, v := range order {
			x, err := run(v)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", v, err)
			}
			s[v] = append(s[v], x.total)
			d[v] = append(d[v], x)
		}
	}
	return s, d, nil
}

func (m *measurer) server(variant string) *child {
	if variant == ImplStdTLS {
		return m.std
	}
	return m.ours
}

// raw runs a raw baseline in the tokenssl server process and returns its
// CPU ns divided by div.
func (m *measurer) raw(kind string, n int, div float64) (meas, error) {
	v, err := m.ours.doN("raw %s %d", kind, n)
	if err != nil {
		return meas{}, err
	}
	if len(v) != 2 {
		return meas{}, errors.New("malformed raw reply")
	}
	return meas{total: float64(v[0]+v[1]) / div, user: float64(v[0]) / div, sys: float64(v[1]) / div}, nil
}

const (
	vOurs = ImplTokenSSL
	vStd  = ImplStdTLS
	vRaw  = "raw"
	vTCP  = "tcp"
	// vTCPWork: the plain TCP echo with the raw cipher+MAC in its handler.
	vTCPWork = "tcp+raw"
)

func (m *measurer) bulk(figure string, suite uint16, rawKind string, mib int) (Result, error) {
	res := Result{Figure: figure}
	total := mib << 20
	wall := samples{}
	// The transport floor: the same echo over plain TCP costs the server
	// the system calls (and, on loopback, the kernel's receive path for
	// what it sends) that no record layer can avoid; with the raw
	// cipher+MAC in its handler, also the kernel's share of keeping a
	// core that busy per MiB (context switches and wake-ups on cores it
	// shares with the client), which grows with the CPU time.
	s, d, err := m.rounds([]string{vOurs, vStd, vRaw, vTCP, vTCPWork}, func(v string) (meas, error) {
		if v == vRaw {
			return m.raw(rawKind, total, float64(mib))
		}
		srv, ln := m.server(v), lnSoftware
		switch v {
		case vTCP:
			ln = lnPlain
		case vTCPWork:
			ln = lnPlainWork + rawKind
		}
		conn, _, err := m.client(srv, ln, suite, false).dial()
		if err != nil {
			return meas{}, err
		}
		defer conn.Close()
		if err := ping(conn); err != nil {
			return meas{}, err
		}
		u0, err := srv.usage()
		if err != nil {
			return meas{}, err
		}
		start := time.Now()
		if err := echo(conn, total); err != nil {
			return meas{}, err
		}
		el := time.Since(start)
		u1, err := srv.usage()
		wall[v] = append(wall[v], float64(mib)/el.Seconds())
		return since(u0, u1, float64(mib)), err
	})
	if err != nil {
		return res, err
	}
	res.Spread = spread(s[vOurs], s[vRaw])
	res.Ours = fmt.Sprintf("%.0f µs/MiB: %.2f× raw cipher+MAC; **%.2f× crypto/tls** (MB/s %.2f×); %.2f× TCP echo with raw cipher+MAC; %s; per MiB %s",
		median(s[vOurs])/1e3, ratio(s[vOurs], s[vRaw]), ratio(s[vOurs], s[vStd]), ratio(wall[vOurs], wall[vStd]),
		ratio(s[vOurs], s[vTCPWork]), cpuSplit(d[vOurs]), ioSplit(d[vOurs]))
	res.Anchors = fmt.Sprintf("crypto/tls %.2f× raw (%.0f µs/MiB; %s; per MiB %s); raw %.0f µs/MiB; "+
		"plain TCP echo %.0f µs/MiB (%s; per MiB %s; raw + TCP echo = %.2f× raw); "+
		"TCP echo running the raw cipher+MAC on what it reads %.0f µs/MiB (%s; per MiB %s)",
		ratio(s[vStd], s[vRaw]), median(s[vStd])/1e3, cpuSplit(d[vStd]), ioSplit(d[vStd]), median(s[vRaw])/1e3,
		median(s[vTCP])/1e3, cpuSplit(d[vTCP]), ioSplit(d[vTCP]),
		(median(s[vRaw])+median(s[vTCP]))/median(s[vRaw]),
		median(s[vTCPWork])/1e3, cpuSplit(d[vTCPWork]), ioSplit(d[vTCPWork]))
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

// handshakes runs n handshakes from conc fresh clients at once (each
// primed with one full handshake when resume is set), each client's one
// after another, and returns the server's usage per handshake.
func (m *measurer) handshakes(srv *child, ln string, suite uint16, n, conc int, resume bool) (meas, error) {
	parts := shares(n, conc)
	clients := make([]*client, len(parts))
	for i := range clients {
		clients[i] = m.client(srv, ln, suite, resume)
		if resume {
			conn, _, err := clients[i].dial()
			if err != nil {
				return meas{}, err
			}
			if err := ping(conn); err != nil {
				return meas{}, err
			}
			conn.Close()
		}
	}
	return concurrently(srv, n, parts, func(worker, k int) error {
		for i := 0; i < k; i++ {
			conn, resumed, err := clients[worker].dial()
			if err != nil {
				return err
			}
			conn.Close()
			if resumed != resume {
				return fmt.Errorf("handshake %d: resumed=%v, want %v", i, resumed, resume)
			}
		}
		return nil
	})
}

// concurrently runs work(worker, parts[worker]) for every worker at once
// and returns the server's usage per unit of the n units they share, with
// this process's CPU as the client's and the server's busy cores.
func concurrently(srv *child, n int, parts []int, work func(worker, k int) error) (meas, error) {
	u0, err := srv.usage()
	if err != nil {
		return meas{}, err
	}
	cu0, cs0 := cpuNanos()
	start := time.Now()
	errc := make(chan error, len(parts))
	for w, k := range parts {
		go func() { errc <- work(w, k) }()
	}
	var first error
	for range parts {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		return meas{}, first
	}
	wall := time.Since(start)
	cu1, cs1 := cpuNanos()
	if err := waitIdle(srv); err != nil { // the server's side of the last close
		return meas{}, err
	}
	u1, err := srv.usage()
	x := since(u0, u1, float64(n))
	x.client = float64(cu1+cs1-cu0-cs0) / float64(n)
	x.busy = x.total * float64(n) / float64(wall.Nanoseconds())
	return x, err
}

// shares splits n units among c workers (at most n of them) as evenly as
// possible.
func shares(n, c int) []int {
	c = max(1, min(c, n))
	parts := make([]int, c)
	for i := range parts {
		parts[i] = n / c
		if i < n%c {
			parts[i]++
		}
	}
	return parts
}

// rawPinged runs n raw operations of kind in the tokenssl server, each
// triggered by a one-byte ping over loopback (so the core idles between
// them for a round trip, as between a sequential client's flights), and n
// pings with no operation; it returns the operations' cost less the
// pings' (per operation) and the pings' floor.
func (m *measurer) rawPinged(kind string, n int) (op, floor meas, err error) {
	code, err := pingCode(kind)
	if err != nil {
		return meas{}, meas{}, err
	}
	conn, err := net.Dial("tcp", m.ours.addrs[lnRawPing])
	if err != nil {
		return meas{}, meas{}, err
	}
	defer conn.Close()
	pings := func(code byte) (meas, error) {
		u0, err := m.ours.usage()
		if err != nil {
			return meas{}, err
		}
		b := []byte{code}
		for i := 0; i < n; i++ {
			if _, err := conn.Write(b[:1]); err != nil {
				return meas{}, err
			}
			var r [1]byte
			if _, err := io.ReadFull(conn, r[:]); err != nil {
				return meas{}, err
			}
			if r[0] != 0 {
				return meas{}, fmt.Errorf("pinged %s failed in the server", kind)
			}
		}
		u1, err := m.ours.usage()
		return since(u0, u1, float64(n)), err
	}
	if floor, err = pings(0); err != nil {
		return meas{}, meas{}, err
	}
	with, err := pings(code)
	return with.minus(floor), floor, err
}

// A flight of the plain-TCP handshake floor: the client writes send
// bytes and the server answers with one write of reply bytes. Every
// flight has a reply, so that two flights never reach the server in one
// read.
type flight struct{ send, reply int }

// Flight sizes of an SSL 3.0 RSA handshake with the harness's
// certificate, and of a resumption; each ends with the close_notify
// exchange (the server answers the client's). The resumption's client
// Finished and close_notify are one flight here.
func fullFlights(certLen int) []flight {
	return []flight{{70, certLen + 90}, {330, 70}, {30, 30}}
}

var resumedFlights = []flight{{100, 140}, {100, 30}}

// tcpHandshakes runs n plain-TCP exchanges of the given flights against
// the server's floor listener from conc clients at once: connect, each
// flight and its reply, close.
func (m *measurer) tcpHandshakes(srv *child, plan []flight, n, conc int) (meas, error) {
	addr := srv.addrs[lnPlainHS]
	parts := shares(n, conc)
	return concurrently(srv, n, parts, func(_, k int) error {
		buf := make([]byte, 4096)
		for i := 0; i < k; i++ {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				return err
			}
			for _, f := range plan {
				msg := buf[:f.send]
				msg[0], msg[1] = byte(f.reply>>8), byte(f.reply)
				if _, err := conn.Write(msg); err == nil && f.reply > 0 {
					_, err = io.ReadFull(conn, buf[:f.reply])
				}
				if err != nil {
					conn.Close()
					return err
				}
			}
			conn.Close()
		}
		return nil
	})
}

// loadTitle names a handshake figure measured with conc clients at once.
func loadTitle(figure string, conc int) string {
	if conc <= 1 {
		return figure
	}
	return fmt.Sprintf("%s, loaded: %d clients at once", figure, conc)
}

// vPinged is the idle-interleaved raw baseline (rawPinged) of a
// sequential figure; vPing its ping floor.
const vPinged, vPing = "pinged", "ping"

// pingedVariant runs the idle-interleaved raw baseline as a variant of
// rounds, keeping the ping floor of each round in d[vPing].
func (m *measurer) pingedVariant(kind string, n int, d map[string][]meas) (meas, error) {
	op, floor, err := m.rawPinged(kind, n)
	d[vPing] = append(d[vPing], floor)
	return op, err
}

// pingedNote formats the sequential figure against the pinged raw
// baseline: the like-with-like ratio, its per-round range and the floor.
func pingedNote(s samples, d map[string][]meas, hs, what string) string {
	var floor []float64
	for _, x := range d[vPing] {
		floor = append(floor, x.total)
	}
	return fmt.Sprintf("%.2f× %s pinged (each raw op after a loopback ping, core idle in between: %.0f µs; %s; ping floor %.0f µs subtracted), per-round %s",
		ratio(s[hs], s[vPinged]), what, median(s[vPinged])/1e3, cpuSplit(d[vPinged]), median(floor)/1e3, spread(s[hs], s[vPinged]))
}

// vRawBusy is the raw loop of a loaded figure run while a goroutine of
// this process signs without pause: under load the client runs beside the
// server's big-number work (never more than that), so if a busy second
// core slowed that work (virtual cores may share a physical core or a
// clock budget on the host), this baseline would show it where the plain
// raw loop, run with the other core idle, does not.
const vRawBusy = "raw, neighbour busy"

// rawBusy is m.raw with a goroutine of this process signing until it
// returns.
func (m *measurer) rawBusy(kind string, n int, div float64) (meas, error) {
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		digest := make([]byte, 36)
		for {
			select {
			case <-stop:
				return
			default:
				rsa.SignPKCS1v15(nil, m.pki.key, crypto.MD5SHA1, digest)
			}
		}
	}()
	x, err := m.raw(kind, n, div)
	close(stop)
	<-done
	return x, err
}

// hsRounds runs the rounds of a handshake figure: order's variants and,
// when rawKind is set, the raw baseline of the figure's condition: the
// idle-interleaved one (vPinged) when conc is 1, with the pings' floor in
// d[vPing]; the raw loop beside a busy core (vRawBusy) when loaded.
func (m *measurer) hsRounds(order []string, rawKind string, n, conc int, run func(v string) (meas, error)) (samples, map[string][]meas, error) {
	switch {
	case rawKind != "" && conc <= 1:
		order = append(order, vPinged)
	case rawKind != "":
		order = append(order, vRawBusy)
	}
	floor := map[string][]meas{}
	s, d, err := m.rounds(order, func(v string) (meas, error) {
		switch v {
		case vPinged:
			return m.pingedVariant(rawKind, n, floor)
		case vRawBusy:
			return m.rawBusy(rawKind, n, float64(n))
		}
		return run(v)
	})
	if d != nil {
		d[vPing] = floor[vPing]
	}
	return s, d, err
}

// condition formats what a handshake figure's condition adds: against the
// pinged raw baseline when sequential, the load when loaded.
func condition(s samples, d map[string][]meas, hs, what string, conc int) string {
	if conc > 1 && len(d[vRawBusy]) > 0 {
		return fmt.Sprintf("%s; %.2f× %s in a raw loop with the other core busy (a goroutine of the client process signing: %.0f µs; %s), per-round %s",
			loadSplit(d[hs]), ratio(s[hs], s[vRawBusy]), what, median(s[vRawBusy])/1e3, cpuSplit(d[vRawBusy]), spread(s[hs], s[vRawBusy]))
	}
	if conc > 1 {
		return loadSplit(d[hs])
	}
	if len(d[vPinged]) == 0 {
		return "one client, handshakes one after another"
	}
	return pingedNote(s, d, hs, what)
}

// sameLoad notes crypto/tls's load in a loaded figure.
func sameLoad(d []meas, conc int) string {
	if conc <= 1 {
		return ""
	}
	return "; same load, " + loadSplit(d)
}

func (m *measurer) fullHandshake(conc int) (Result, error) {
	res := Result{Figure: loadTitle("full RSA-2048 handshake, server CPU", conc)}
	n := m.o.Handshakes
	s, d, err := m.hsRounds([]string{vOurs, vStd, vRaw, vTCP}, "rsa-decrypt", n, conc, func(v string) (meas, error) {
		switch v {
		case vRaw:
			return m.raw("rsa-decrypt", n, float64(n))
		case vTCP:
			return m.tcpHandshakes(m.ours, fullFlights(len(m.pki.leafDER)), n, conc)
		}
		return m.handshakes(m.server(v), lnSoftware, ssl.SSL_RSA_WITH_RC4_128_SHA, n, conc, false)
	})
	if err != nil {
		return res, err
	}
	res.Spread = spread(s[vOurs], s[vRaw])
	res.Ours = fmt.Sprintf("%.0f µs: %.2f× one RSA decrypt (raw loop); %.3f× crypto/tls; %s; %s; (hs − TCP floor) %.2f× decrypt; %s",
		median(s[vOurs])/1e3, ratio(s[vOurs], s[vRaw]), ratio(s[vOurs], s[vStd]), cpuSplit(d[vOurs]), ioSplit(d[vOurs]),
		(median(s[vOurs])-median(s[vTCP]))/median(s[vRaw]), condition(s, d, vOurs, "one RSA decrypt", conc))
	res.Anchors = fmt.Sprintf("crypto/tls %.0f µs (%.2f× decrypt; %s; %s%s); RSA-2048 decrypt loop %.0f µs (%s); "+
		"plain TCP accept + handshake-sized flights + close %.0f µs (%.2f× decrypt; %s; %s)",
		median(s[vStd])/1e3, ratio(s[vStd], s[vRaw]), cpuSplit(d[vStd]), ioSplit(d[vStd]), sameLoad(d[vStd], conc),
		median(s[vRaw])/1e3, cpuSplit(d[vRaw]),
		median(s[vTCP])/1e3, ratio(s[vTCP], s[vRaw]), cpuSplit(d[vTCP]), ioSplit(d[vTCP]))
	return res, nil
}

func (m *measurer) resumed(conc int) (Result, error) {
	res := Result{Figure: loadTitle("resumed handshake, server CPU", conc)}
	n := m.o.Resumed
	s, d, err := m.hsRounds([]string{vOurs, vStd, vTCP}, "", n, conc, func(v string) (meas, error) {
		if v == vTCP {
			return m.tcpHandshakes(m.ours, resumedFlights, n, conc)
		}
		return m.handshakes(m.server(v), lnSoftware, ssl.SSL_RSA_WITH_RC4_128_SHA, n, conc, true)
	})
	if err != nil {
		return res, err
	}
	res.Spread = spread(s[vOurs], s[vStd])
	res.Ours = fmt.Sprintf("%.0f µs; %.2f× crypto/tls (tickets); %s; %s; above the TCP floor %.2f× crypto/tls's; %s",
		median(s[vOurs])/1e3, ratio(s[vOurs], s[vStd]), cpuSplit(d[vOurs]), ioSplit(d[vOurs]),
		(median(s[vOurs])-median(s[vTCP]))/(median(s[vStd])-median(s[vTCP])), condition(s, d, vOurs, "", conc))
	res.Anchors = fmt.Sprintf("crypto/tls TLS 1.0 ticket resumption %.0f µs (%s; %s%s); plain TCP accept + resumption-sized flights + close %.0f µs (%s; %s)",
		median(s[vStd])/1e3, cpuSplit(d[vStd]), ioSplit(d[vStd]), sameLoad(d[vStd], conc),
		median(s[vTCP])/1e3, cpuSplit(d[vTCP]), ioSplit(d[vTCP]))
	return res, nil
}

func (m *measurer) tokenHandshake(conc int) (Result, error) {
	res := Result{Figure: loadTitle("full handshake, key on SoftHSM: server CPU ÷ raw C_Decrypt CPU", conc)}
	n := m.o.TokenHS
	const vTok, vDec, vSw, vRSA = "token", "C_Decrypt", "software", "rsa"
	wall := samples{}
	s, d, err := m.hsRounds([]string{vTok, vDec, vSw, vRSA, vTCP}, "c-decrypt", n, conc, func(v string) (meas, error) {
		start := time.Now()
		var x meas
		var err error
		switch v {
		case vTok:
			x, err = m.handshakes(m.ours, lnToken, ssl.SSL_RSA_WITH_RC4_128_SHA, n, conc, false)
		case vDec:
			x, err = m.raw("c-decrypt", n, float64(n))
		case vSw:
			x, err = m.handshakes(m.ours, lnSoftware, ssl.SSL_RSA_WITH_RC4_128_SHA, n, conc, false)
		case vRSA:
			x, err = m.raw("rsa-decrypt", n, float64(n))
		case vTCP:
			x, err = m.tcpHandshakes(m.ours, fullFlights(len(m.pki.leafDER)), n, conc)
		}
		wall[v] = append(wall[v], float64(n)/time.Since(start).Seconds())
		return x, err
	})
	if err != nil {
		return res, err
	}
	res.Spread = spread(s[vTok], s[vDec])
	res.Ours = fmt.Sprintf("%.2f× (%.0f µs, %s, vs C_Decrypt loop %.0f µs, %s; hs/s %.2f× raw C_Decrypt rate); %s",
		ratio(s[vTok], s[vDec]), median(s[vTok])/1e3, cpuSplit(d[vTok]), median(s[vDec])/1e3, cpuSplit(d[vDec]), ratio(wall[vTok], wall[vDec]),
		condition(s, d, vTok, "C_Decrypt", conc))
	res.Anchors = fmt.Sprintf("software key %.2f× its RSA decrypt (%.0f µs); token hs %.2f× software hs; "+
		"token hs − C_Decrypt = %.0f µs, software hs − decrypt = %.0f µs; plain TCP floor %.0f µs",
		ratio(s[vSw], s[vRSA]), median(s[vSw])/1e3, ratio(s[vTok], s[vSw]),
		(median(s[vTok])-median(s[vDec]))/1e3, (median(s[vSw])-median(s[vRSA]))/1e3, median(s[vTCP])/1e3)
	return res, nil
}

func (m *measurer) dhe(conc int) (Result, error) {
	res := Result{Figure: loadTitle("DHE_RSA 3DES, server CPU ÷ (RSA sign + 2 modexps)", conc)}
	n := m.o.DHEHS
	s, d, err := m.hsRounds([]string{vOurs, vRaw, vTCP}, "dhe", n, conc, func(v string) (meas, error) {
		switch v {
		case vRaw:
			return m.raw("dhe", n, float64(n))
		case vTCP:
			return m.tcpHandshakes(m.ours, dheFlights(len(m.pki.leafDER)), n, conc)
		}
		return m.handshakes(m.ours, lnSoftware, ssl.SSL_DHE_RSA_WITH_3DES_EDE_CBC_SHA, n, conc, false)
	})
	if err != nil {
		return res, err
	}
	res.Spread = spread(s[vOurs], s[vRaw])
	res.Ours = fmt.Sprintf("%.2f× (%.0f µs; %s; %s); (hs − TCP floor) %.2f×; %s",
		ratio(s[vOurs], s[vRaw]), median(s[vOurs])/1e3, cpuSplit(d[vOurs]), ioSplit(d[vOurs]),
		(median(s[vOurs])-median(s[vTCP]))/median(s[vRaw]), condition(s, d, vOurs, "sign + 2 modexps", conc))
	res.Anchors = fmt.Sprintf("RSA-2048 sign + 2 modexps loop, group 14, 256-bit exponent: %.0f µs (%s); plain TCP floor %.0f µs (%s)",
		median(s[vRaw])/1e3, cpuSplit(d[vRaw]), median(s[vTCP])/1e3, cpuSplit(d[vTCP]))
	return res, nil
}

// dheFlights are fullFlights with a ServerKeyExchange (group 14, its
// public value and an RSA-2048 signature) in the server's first flight and
// a 256-byte public value for the RSA ciphertext.
func dheFlights(certLen int) []flight {
	return []flight{{70, certLen + 90 + 790}, {340, 70}, {30, 30}}
}

// idle opens IdleConns connections and returns the server's HeapInuse
// growth per connection while they sit idle: after a one-byte echo, and
// after a 16 KiB echo (a full-size record each way: what a connection
// keeps of its record buffers once traffic stops).
func (m *measurer) idle() (Result, error) {
	res := Result{Figure: "idle established connection, heap"}
	n := m.o.IdleConns
	const ours1, std1, ours16, std16 = "tokenssl/1B", "crypto/tls/1B", "tokenssl/16KiB", "crypto/tls/16KiB"
	s, _, err := m.rounds([]string{ours1, std1, ours16, std16}, func(v string) (meas, error) {
		cut := strings.LastIndex(v, "/")
		impl, size := v[:cut], v[cut+1:]
		msg := 1
		if size == "16KiB" {
			msg = 16384
		}
		srv := m.server(impl)
		if err := waitIdle(srv); err != nil {
			return meas{}, err
		}
		h0, err := srv.do("heap")
		if err != nil {
			return meas{}, err
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
				return meas{}, err
			}
			conns = append(conns, c)
			if err := echo(c, msg); err != nil {
				return meas{}, err
			}
		}
		h1, err := srv.do("heap")
		if err == nil && v == ours16 && m.o.MemProfile != "" {
			_, err = srv.do("heapprofile")
		}
		return meas{total: float64(h1-h0) / float64(n)}, err
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
