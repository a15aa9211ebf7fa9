// Command sslbench measures the tokenssl server's CPU per MiB and per
// handshake, and its heap per idle connection, beside crypto/tls at
// TLS 1.0 and the raw cryptography, with the server in a child process
// (this binary re-executed) and the client in this one. See
// bench/internal/harness.
//
//	go run ./bench/cmd/sslbench [-quick] [-rounds 5] [-load 2] [-only bulk,handshake,handshake-loaded] [-cpuprofile cpu.out -memprofile mem.out]
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tokenssl/tokenssl/bench/internal/harness"
)

func main() {
	harness.MaybeServe() // the server child returns only by exiting

	o := harness.Default
	quick := flag.Bool("quick", false, "a smoke run with tiny sizes (figures are noise)")
	flag.IntVar(&o.Rounds, "rounds", o.Rounds, "interleaved rounds (medians over them)")
	flag.IntVar(&o.RC4MiB, "rc4-mib", o.RC4MiB, "MiB echoed per RC4-SHA sample")
	flag.IntVar(&o.DES3MiB, "3des-mib", o.DES3MiB, "MiB echoed per 3DES-SHA sample")
	flag.IntVar(&o.Handshakes, "handshakes", o.Handshakes, "full RSA handshakes per sample")
	flag.IntVar(&o.Resumed, "resumed", o.Resumed, "resumed handshakes per sample")
	flag.IntVar(&o.TokenHS, "token-handshakes", o.TokenHS, "handshakes with the key on SoftHSM per sample")
	flag.IntVar(&o.DHEHS, "dhe-handshakes", o.DHEHS, "DHE_RSA handshakes per sample")
	flag.IntVar(&o.IdleConns, "idle-conns", o.IdleConns, "idle connections per heap sample")
	flag.IntVar(&o.Load, "load", o.Load, "clients at once in the loaded handshake figures")
	only := flag.String("only", strings.Join(harness.AllFigures, ","), "figures to measure")
	cpuProf := flag.String("cpuprofile", "", "write the tokenssl server's CPU profile to `file`")
	memProf := flag.String("memprofile", "", "write the tokenssl server's allocation profile to `file` at exit")
	verbose := flag.Bool("v", false, "log progress to stderr")
	flag.Parse()
	if *quick {
		q := harness.Quick
		o.Rounds, o.RC4MiB, o.DES3MiB, o.Handshakes, o.Resumed, o.TokenHS, o.DHEHS, o.IdleConns =
			q.Rounds, q.RC4MiB, q.DES3MiB, q.Handshakes, q.Resumed, q.TokenHS, q.DHEHS, q.IdleConns
	}
	o.Only = strings.Split(*only, ",")
	for _, p := range []*string{cpuProf, memProf} {
		if *p != "" {
			abs, err := filepath.Abs(*p)
			if err != nil {
				fail(err)
			}
			*p = abs
		}
	}
	o.CPUProfile, o.MemProfile = *cpuProf, *memProf
	if *verbose {
		o.Log = os.Stderr
	}
	start := time.Now()
	rows, err := harness.Run(o)
	harness.Table(os.Stdout, o, rows)
	if err != nil {
		fail(err)
	}
	fmt.Printf("\n(%s, %s)\n", time.Since(start).Round(time.Second), harness.Machine())
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "sslbench:", err)
	os.Exit(1)
}
