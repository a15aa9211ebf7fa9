package harness

import (
	"bufio"
	"crypto"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/tokenssl/tokenssl/ssl"
	"github.com/tokenssl/tokenssl/token/pkcs11"
)

// RoleEnv names the environment variable that turns the harness binary
// (or a test binary that calls MaybeServe) into the server child.
const RoleEnv = "SSLBENCH_ROLE"

// Implementations the server child runs.
const (
	ImplTokenSSL = "tokenssl"
	ImplStdTLS   = "crypto/tls"
)

// serverSetup is the first line the harness writes to the child's stdin
// (JSON): key material and the token PIN go through the pipe, never the
// command line or the environment.
type serverSetup struct {
	Impl       string
	CertDER    []byte // leaf, signed by the harness's CA
	KeyDER     []byte // PKCS#8 RSA-2048 key
	Token      *tokenSetup
	CPUProfile string
	MemProfile string
}

type tokenSetup struct {
	Module, Label, Serial, PIN string
	KeyLabel                   string
	KeyID                      []byte
	CertDER                    []byte
}

// The listeners of a server child, by name.
const (
	lnSoftware = "sw"      // software RSA key; session cache or tickets on
	lnNoCache  = "nocache" // same key, no resumption state (idle heap)
	lnToken    = "token"   // key on SoftHSM (tokenssl only)
	lnPlain    = "tcp"     // plain TCP echo: the per-connection floor
	lnPlainHS  = "tcphs"   // plain TCP, a handshake's reads and writes
	lnRawPing  = "rawping" // a raw operation per one-byte ping (tokenssl only)
	// lnPlainWork+KIND: plain TCP echo running raw bulk KIND (rc4-sha,
	// 3des-sha) on what it reads (tokenssl only).
	lnPlainWork = "tcp+"
)

// bulkSuites are the bulk figures' suites by raw kind.
var bulkSuites = map[string]uint16{"rc4-sha": ssl.SSL_RSA_WITH_RC4_128_SHA, "3des-sha": ssl.SSL_RSA_WITH_3DES_EDE_CBC_SHA}

// MaybeServe runs the server child and exits if RoleEnv says so; it
// returns at once otherwise. Call it first in main (or TestMain).
func MaybeServe() {
	if os.Getenv(RoleEnv) != "server" {
		return
	}
	if err := serve(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "sslbench server:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// server is the child's state: its keys and the connections it holds.
type server struct {
	active atomic.Int64
	io     ioCounts // on every accepted connection, below the TLS layer
	key    *rsa.PrivateKey
	token  crypto.Decrypter // nil without a token
	tokPub *rsa.PublicKey
	closer func()
	// memProfile is -memprofile's path; the idle figure adds ".idle".
	memProfile string
}

func serve(in io.Reader, out io.Writer) error {
	r := bufio.NewReader(in)
	line, err := r.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("reading setup: %w", err)
	}
	var setup serverSetup
	if err := json.Unmarshal(line, &setup); err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	k, err := x509.ParsePKCS8PrivateKey(setup.KeyDER)
	if err != nil {
		return err
	}
	s := &server{key: k.(*rsa.PrivateKey), closer: func() {}, memProfile: setup.MemProfile}
	leaf, err := x509.ParseCertificate(setup.CertDER)
	if err != nil {
		return err
	}
	// What each listener serves, by name.
	serves := map[string]func(net.Listener){
		lnPlain:   func(ln net.Listener) { s.accept(ln, true, func(c net.Conn) net.Conn { return c }) }, // the bulk figures' transport floor
		lnPlainHS: s.acceptFlights,                                                                      // the handshake figures' transport floor
	}
	switch setup.Impl {
	case ImplTokenSSL:
		cert := ssl.Certificate{Certificate: [][]byte{setup.CertDER}, PrivateKey: s.key, Leaf: leaf}
		suites := []uint16{ssl.SSL_RSA_WITH_RC4_128_SHA, ssl.SSL_RSA_WITH_3DES_EDE_CBC_SHA, ssl.SSL_DHE_RSA_WITH_3DES_EDE_CBC_SHA}
		configs := map[string]*ssl.Config{
			lnSoftware: {Certificates: []ssl.Certificate{cert}, CipherSuites: suites},
			lnNoCache:  {Certificates: []ssl.Certificate{cert}, CipherSuites: suites, DisableSessionCache: true},
		}
		if t := setup.Token; t != nil {
			tc, err := s.openToken(t)
			if err != nil {
				return err
			}
			configs[lnToken] = &ssl.Config{Certificates: []ssl.Certificate{tc}, CipherSuites: suites}
		}
		for name, cfg := range configs {
			serves[name] = func(ln net.Listener) {
				s.accept(ln, name != lnNoCache, func(c net.Conn) net.Conn { return ssl.Server(c, cfg) })
			}
		}
		serves[lnRawPing] = s.acceptPings
		for kind, suite := range bulkSuites {
			serves[lnPlainWork+kind] = func(ln net.Listener) {
				s.accept(ln, true, func(c net.Conn) net.Conn { return &workConn{Conn: c, suite: suite} })
			}
		}
	case ImplStdTLS:
		cert := tls.Certificate{Certificate: [][]byte{setup.CertDER}, PrivateKey: s.key, Leaf: leaf}
		base := &tls.Config{Certificates: []tls.Certificate{cert},
			MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10,
			CipherSuites: []uint16{tls.TLS_RSA_WITH_RC4_128_SHA, tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA}}
		noCache := base.Clone()
		noCache.SessionTicketsDisabled = true
		for name, cfg := range map[string]*tls.Config{lnSoftware: base, lnNoCache: noCache} {
			serves[name] = func(ln net.Listener) {
				s.accept(ln, name != lnNoCache, func(c net.Conn) net.Conn { return tls.Server(c, cfg) })
			}
		}
	default:
		return fmt.Errorf("unknown implementation %q", setup.Impl)
	}
	listeners := map[string]net.Listener{}
	for name, serve := range serves {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		listeners[name] = ln
		go serve(ln)
	}
	defer s.closer()

	if setup.CPUProfile != "" {
		f, err := os.Create(setup.CPUProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	if setup.MemProfile != "" {
		runtime.MemProfileRate = 64 << 10
		defer writeHeapProfile(setup.MemProfile)
	}

	w := bufio.NewWriter(out)
	for name, ln := range listeners {
		fmt.Fprintf(w, "listen %s %s\n", name, ln.Addr())
	}
	fmt.Fprintln(w, "ready")
	w.Flush()
	for {
		line, err := r.ReadString('\n')
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		reply, err := s.command(strings.Fields(line))
		if errors.Is(err, errQuit) {
			return nil
		}
		if err != nil {
			fmt.Fprintf(w, "err %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
		} else {
			fmt.Fprint(w, "ok")
			for _, v := range reply {
				fmt.Fprintf(w, " %d", v)
			}
			fmt.Fprintln(w)
		}
		w.Flush()
	}
}

func writeHeapProfile(path string) {
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sslbench server:", err)
		return
	}
	defer f.Close()
	// The allocs profile (all allocations since start) is what says
	// where the garbage comes from; pprof -sample_index=inuse_space shows
	// what is held.
	pprof.Lookup("allocs").WriteTo(f, 0)
}

// openToken finds the server key on the token and returns the
// certificate that goes with it.
func (s *server) openToken(t *tokenSetup) (ssl.Certificate, error) {
	b, err := pkcs11.Open(pkcs11.Config{ModulePath: t.Module, TokenLabel: t.Label, TokenSerial: t.Serial,
		PIN: pkcs11.PINString(t.PIN)})
	if err != nil {
		return ssl.Certificate{}, err
	}
	s.closer = func() { b.Close() }
	k, err := b.FindKey(pkcs11.KeySpec{Label: t.KeyLabel, ID: t.KeyID})
	if err != nil {
		return ssl.Certificate{}, err
	}
	dec, ok := k.(crypto.Decrypter)
	if !ok {
		return ssl.Certificate{}, errors.New("token key is not a crypto.Decrypter")
	}
	pub, ok := dec.Public().(*rsa.PublicKey)
	if !ok {
		return ssl.Certificate{}, errors.New("token key is not RSA")
	}
	s.token, s.tokPub = dec, pub
	leaf, err := x509.ParseCertificate(t.CertDER)
	if err != nil {
		return ssl.Certificate{}, err
	}
	return ssl.Certificate{Certificate: [][]byte{t.CertDER}, PrivateKey: k, Leaf: leaf}, nil
}

// accept serves every connection as an echo: read what arrives, write it
// back, until EOF. The same loop and buffer for both implementations. The
// buffer starts at 256 bytes and grows to 32 KiB once a read fills it, so
// that handshake-only and idle connections do not charge the server (its
// allocation, GC and idle heap figures) for the handler's bulk buffer; on
// the idle listener it never grows.
func (s *server) accept(ln net.Listener, grow bool, wrap func(net.Conn) net.Conn) {
	s.serveEach(ln, func(raw net.Conn) {
		c := wrap(&countingConn{Conn: raw, n: &s.io})
		defer c.Close()
		buf := make([]byte, 256)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				if _, werr := c.Write(buf[:n]); werr != nil {
					return
				}
			}
			if grow && n == len(buf) && n < 32<<10 {
				buf = make([]byte, 32<<10)
			}
			if err != nil {
				return
			}
		}
	})
}

// serveEach accepts connections on ln until it is closed and serves each
// with handle in a goroutine of its own, counted in s.active meanwhile
// (waitIdle), and closed after.
func (s *server) serveEach(ln net.Listener, handle func(net.Conn)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s.active.Add(1)
		go func() {
			defer s.active.Add(-1)
			defer c.Close()
			handle(c)
		}()
	}
}

// acceptFlights serves the plain-TCP handshake floor: to each flight a
// client sends, one write of the size its first two bytes name
// (big-endian); then EOF and close. It is the system-call
// pattern of a TLS server's handshake (accept, a read and a write per
// flight, the final read of EOF, close) with no cryptography: what no
// handshake avoids.
func (s *server) acceptFlights(ln net.Listener) {
	s.serveEach(ln, func(raw net.Conn) {
		c := &countingConn{Conn: raw, n: &s.io}
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if n >= 2 {
				size := int(buf[0])<<8 | int(buf[1])
				if _, err := c.Write(make([]byte, min(size, 1<<16))); err != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	})
}

// ioCounts counts what the server's connections ask of their transport:
// each Read and Write of a net.Conn is one read(2) or write(2) when data
// is there (a Read that finds none costs an EAGAIN read and a netpoll wait
// more), so they are the system calls a TLS layer controls.
type ioCounts struct {
	reads, writes, rbytes, wbytes atomic.Int64
}

type countingConn struct {
	net.Conn
	n *ioCounts
}

func (c *countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.n.reads.Add(1)
	c.n.rbytes.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.n.writes.Add(1)
	c.n.wbytes.Add(int64(n))
	return n, err
}

// workConn is a plain TCP connection that runs the raw cipher+MAC of its
// suite (bulkWork) on every byte it reads: an echo over it costs the
// server the cryptography and the system calls of a record layer, with no
// record layer, and keeps a core as busy per MiB as one.
type workConn struct {
	net.Conn
	suite uint16
	work  func(int) error
}

func (c *workConn) Read(b []byte) (int, error) {
	if c.work == nil {
		w, err := bulkWork(c.suite)
		if err != nil {
			return 0, err
		}
		c.work = w
	}
	n, err := c.Conn.Read(b)
	if werr := c.work(n); err == nil {
		err = werr
	}
	return n, err
}

var errQuit = errors.New("quit")

// command runs one control command and returns its number:
//
//	cpu              this process's user and system CPU time so far, ns
//	io               reads, writes, bytes read, bytes written on the server's connections
//	heap             HeapInuse after two forced collections, bytes
//	conns            connections being served
//	heapprofile      write the in-use heap profile to MemProfile+".idle"
//	raw KIND N       user and system CPU ns of N raw operations (or N bytes for bulk)
//	quit
func (s *server) command(f []string) ([]int64, error) {
	if len(f) == 0 {
		return nil, errors.New("empty command")
	}
	switch f[0] {
	case "cpu":
		u, sy := cpuNanos()
		return []int64{u, sy}, nil
	case "io":
		return []int64{s.io.reads.Load(), s.io.writes.Load(), s.io.rbytes.Load(), s.io.wbytes.Load()}, nil
	case "heap":
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return []int64{int64(ms.HeapInuse)}, nil
	case "heapprofile":
		// What the idle connections hold: the in-use heap, now.
		if s.memProfile == "" {
			return nil, errors.New("no -memprofile")
		}
		runtime.GC()
		f, err := os.Create(s.memProfile + ".idle")
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return []int64{0}, pprof.Lookup("heap").WriteTo(f, 0)
	case "conns":
		return []int64{s.active.Load()}, nil
	case "quit":
		return nil, errQuit
	case "raw":
		if len(f) != 3 {
			return nil, errors.New("usage: raw KIND N")
		}
		n, err := strconv.Atoi(f[2])
		if err != nil {
			return nil, err
		}
		var op func() error
		if suite, ok := bulkSuites[f[1]]; ok {
			op = func() error { return rawBulk(suite, n) }
		} else {
			one, err := s.rawOp(f[1])
			if err != nil {
				return nil, err
			}
			op = func() error { return repeat(one, n) }
		}
		u0, s0 := cpuNanos()
		if err := op(); err != nil {
			return nil, err
		}
		u1, s1 := cpuNanos()
		return []int64{u1 - u0, s1 - s0}, nil
	}
	return nil, fmt.Errorf("unknown command %q", f[0])
}

// rawOp prepares one raw public-key operation of the given kind (its
// inputs made once, outside what is measured).
func (s *server) rawOp(kind string) (func() error, error) {
	switch kind {
	case "rsa-decrypt":
		return rsaDecryptOp(s.key, &s.key.PublicKey)
	case "c-decrypt":
		if s.token == nil {
			return nil, errors.New("no token")
		}
		return rsaDecryptOp(s.token, s.tokPub)
	case "dhe":
		return dheOp(s.key)
	}
	return nil, fmt.Errorf("unknown raw operation %q", kind)
}

// pingKinds are the raw operations the ping listener runs, indexed by the
// byte that asks for one; 0 asks for none (the ping's own floor).
var pingKinds = []string{"", "rsa-decrypt", "c-decrypt", "dhe"}

// pingCode is the byte that asks the ping listener for kind.
func pingCode(kind string) (byte, error) {
	for i, k := range pingKinds {
		if k == kind {
			return byte(i), nil
		}
	}
	return 0, fmt.Errorf("no ping code for raw operation %q", kind)
}

// acceptPings serves the idle-interleaved raw baseline: for each byte a
// client sends, the raw operation it names (pingKinds) once, then a
// one-byte answer (0, or 1 and close on error). The core idles between
// operations for a loopback round trip, as it does between a sequential
// client's handshake flights, where the raw loop keeps it busy.
func (s *server) acceptPings(ln net.Listener) {
	s.serveEach(ln, func(c net.Conn) {
		ops := map[byte]func() error{0: func() error { return nil }}
		var b [1]byte
		for {
			if _, err := io.ReadFull(c, b[:]); err != nil {
				return
			}
			op, ok := ops[b[0]]
			if !ok && int(b[0]) < len(pingKinds) {
				var err error
				if op, err = s.rawOp(pingKinds[b[0]]); err == nil {
					ops[b[0]], ok = op, true
				}
			}
			if ok && op() != nil {
				ok = false
			}
			if !ok {
				c.Write([]byte{1})
				return
			}
			if _, err := c.Write([]byte{0}); err != nil {
				return
			}
		}
	})
}

// cpuNanos is this process's user and system CPU time, all threads
// (getrusage: microsecond resolution, where /proc/<pid>/stat counts
// clock ticks of 10 ms). System time is the kernel working for the
// process: its system calls, and the loopback receive path the kernel runs
// in the sender's context.
func cpuNanos() (user, sys int64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	return ru.Utime.Nano(), ru.Stime.Nano()
}
