//go:build linux

package interop

import (
	"fmt"
	"strconv"
	"testing"
	"time"
)

// ZcryptoServerConfig configures StartZcryptoServer.
type ZcryptoServerConfig struct {
	// CertFile and KeyFile are PEM files (TestCert has them).
	CertFile, KeyFile string
	// Port on 127.0.0.1; 0 picks a free one.
	Port int
	// Suites restricts the server; empty means zcryptopeer's defaults (all
	// SSL 3.0 suites zcrypto completes with an RSA certificate).
	Suites []uint16
	// CloseAfter makes the server close a connection after echoing that
	// many bytes (needed by tstclnt, which never hangs up); 0 echoes until
	// the client closes.
	CloseAfter int
	// Args are appended to the command line.
	Args []string
}

// ZcryptoServer is a running `zcryptopeer server`.
type ZcryptoServer struct {
	*Proc
	Port int
	Addr string
}

// StartZcryptoServer starts the zcrypto peer as an SSL 3.0 echo server in ns:
//
//	zcryptopeer server -listen 127.0.0.1:PORT -cert F -key F [-ciphers LIST] [-close-after N]
//
// and waits for its "listening on" line. It prints one "handshake ok" line
// per handshake (Proc.Handshakes). It never resumes: zcrypto's server only
// resumes with session tickets, which do not exist in SSL 3.0, and it sends
// an empty session_id (resumed=false session= on every line).
func StartZcryptoServer(t testing.TB, ns *Namespace, cfg ZcryptoServerConfig) *ZcryptoServer {
	t.Helper()
	bin := BuildZcryptoPeer(t)
	if cfg.Port == 0 {
		cfg.Port = ns.FreePort(t)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", cfg.Port)
	args := []string{"server", "-listen", addr, "-cert", cfg.CertFile, "-key", cfg.KeyFile}
	if len(cfg.Suites) > 0 {
		args = append(args, "-ciphers", SuiteCodes(cfg.Suites...))
	}
	if cfg.CloseAfter > 0 {
		args = append(args, "-close-after", strconv.Itoa(cfg.CloseAfter))
	}
	args = append(args, cfg.Args...)
	p := ns.Start(t, ProcOptions{}, bin, args...)
	if err := p.WaitOutput("listening on", 10*time.Second); err != nil {
		t.Fatalf("%v\n%s", err, p.Output())
	}
	return &ZcryptoServer{Proc: p, Port: cfg.Port, Addr: addr}
}

// ZcryptoClientConfig configures RunZcryptoClient.
type ZcryptoClientConfig struct {
	// Addr is the server, IP:port inside the namespace.
	Addr string
	// Suites the client offers, in order; empty means zcryptopeer's defaults.
	Suites []uint16
	// Payload is written on each connection (fed as stdin).
	Payload []byte
	// Resume makes a second connection offering the first one's session.
	Resume bool
	// UntilEOF reads until the server closes (for selfserv) instead of
	// until Payload came back (echo servers).
	UntilEOF bool
	// PlainHello sends an extension-less ClientHello on the first
	// connection too (the resumed one never has extensions).
	PlainHello bool
	// CAFile verifies the server against these roots (and ServerName);
	// empty means -insecure.
	CAFile, ServerName string
	// Timeout bounds the whole run (default 20s).
	Timeout time.Duration
	// Args are appended to the command line.
	Args []string
}

// RunZcryptoClient runs the zcrypto peer as an SSL 3.0 client in ns:
//
//	zcryptopeer client -connect ADDR (-ca F [-servername N] | -insecure)
//	                   [-ciphers LIST] [-resume] [-until-eof] [-plain-hello]
//
// Stdout is what the server sent back (on both connections with Resume);
// Handshakes has one entry per connection, with the session id the server
// chose. Exit code 0 means every connection handshook and, unless UntilEOF,
// got its payload echoed exactly.
func RunZcryptoClient(t testing.TB, ns *Namespace, cfg ZcryptoClientConfig) *Result {
	t.Helper()
	bin := BuildZcryptoPeer(t)
	if cfg.Timeout == 0 {
		cfg.Timeout = 20 * time.Second
	}
	args := []string{"client", "-connect", cfg.Addr, "-timeout", (cfg.Timeout / 2).String()}
	if cfg.CAFile != "" {
		args = append(args, "-ca", cfg.CAFile)
		if cfg.ServerName != "" {
			args = append(args, "-servername", cfg.ServerName)
		}
	} else {
		args = append(args, "-insecure")
	}
	if len(cfg.Suites) > 0 {
		args = append(args, "-ciphers", SuiteCodes(cfg.Suites...))
	}
	if cfg.Resume {
		args = append(args, "-resume")
	}
	if cfg.UntilEOF {
		args = append(args, "-until-eof")
	}
	if cfg.PlainHello {
		args = append(args, "-plain-hello")
	}
	args = append(args, cfg.Args...)
	payload := cfg.Payload
	if payload == nil {
		payload = []byte{}
	}
	return ns.Run(t, cfg.Timeout, ProcOptions{Stdin: payload}, bin, args...)
}
