// Command tokenssl runs SSL 3.0 servers and clients whose private keys may
// live on PKCS#11 tokens, and inspects tokens.
//
//	tokenssl server -listen ADDR (-cert FILE -key FILE | token flags) [-ciphers LIST] [-cache-size N]
//	tokenssl client -connect ADDR [-ciphers LIST] [-ca FILE | -insecure] [-servername NAME] [-resume] [key flags]
//	tokenssl demo
//	tokenssl suites
//	tokenssl token list|keys|provision-fortezza
//	tokenssl version
//
// Token flags: -pkcs11-module PATH, one of -slot N / -token-label L /
// -token-serial S, one of -key-label L / -key-id HEX, one of -pin /
// -pin-file / -pin-env (a prompt without echo otherwise), or -key 'pkcs11:…'.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
)

// command is one subcommand's help: what it does and an example.
type command struct {
	name     string // as typed: "server", "token list"
	synopsis string // the usage line after "tokenssl "
	about    string
	example  string
}

var commands = []command{
	{"server", "server [-listen ADDR] (-cert FILE -key FILE | token flags | -fortezza-label L) [flags]",
		"Run an SSL 3.0 echo server; its private key may live on a PKCS#11 token.",
		"tokenssl server -listen 127.0.0.1:4433 -pkcs11-module /usr/lib/softhsm/libsofthsm2.so -token-label web -key-label server -pin-file /etc/tokenssl/pin -ciphers EDH-RSA-DES-CBC3-SHA,DES-CBC3-SHA"},
	{"client", "client [-connect ADDR] (-ca FILE | -insecure) [-servername NAME] [-resume] [-cert FILE -key FILE | token flags] [flags]",
		"Connect over SSL 3.0, copy stdin to the server and its reply to stdout.",
		"echo hello | tokenssl client -connect 127.0.0.1:4433 -ca ca.pem -servername localhost -ciphers RC4-SHA"},
	{"demo", "demo",
		"Provision a throw-away SoftHSM token and run a server and a client locally over every implemented suite.",
		"tokenssl demo"},
	{"suites", "suites",
		"List the SSL 3.0 cipher suites (Appendix C) with their OpenSSL names and what this build implements.",
		"tokenssl suites"},
	{"token list", "token list [-pkcs11-module PATH] [-pin-file FILE]",
		"List the module's slots and tokens, their flags and SSL mechanisms.",
		"tokenssl token list -pkcs11-module /usr/lib/softhsm/libsofthsm2.so"},
	{"token keys", "token keys [-pkcs11-module PATH] (-token-label L | -slot N | -token-serial S) [-pin-file FILE]",
		"List the objects on a token; private keys are shown only after a login.",
		"tokenssl token keys -token-label web -pin-file /etc/tokenssl/pin"},
	{"token provision-fortezza", "token provision-fortezza -store DIR -label L -pin-file FILE -role server|client [-cn NAME] [-ca-dir DIR]",
		"Provision an emulated Fortezza card (KEA and DSS keys, certificates, CA) on a SoftHSM token.",
		"tokenssl token provision-fortezza -store ./cards -label fz-server -pin-file pin -role server -cn localhost"},
	{"version", "version", "Print the module version and the Go version it was built with.", "tokenssl version"},
}

func lookupCommand(name string) command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return command{name: name, synopsis: name + " [flags]"}
}

// commandFlagSet is the flag set of a subcommand: -h prints its synopsis,
// what it does, an example and its flags, and exits 0; a bad flag exits 2.
func commandFlagSet(name string) *flag.FlagSet {
	return newCommandFlagSet(name, flag.ExitOnError)
}

func newCommandFlagSet(name string, h flag.ErrorHandling) *flag.FlagSet {
	fs := flag.NewFlagSet(name, h)
	c := lookupCommand(name)
	fs.Usage = func() { printCommandUsage(fs.Output(), c, fs) }
	return fs
}

func printCommandUsage(w io.Writer, c command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: tokenssl %s\n", c.synopsis)
	if c.about != "" {
		fmt.Fprintf(w, "\n%s\n", c.about)
	}
	if c.example != "" {
		fmt.Fprintf(w, "\nexample:\n  %s\n", c.example)
	}
	if fs != nil {
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintf(w, "\nflags:\n")
			fs.PrintDefaults()
		}
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: tokenssl <command> [flags]

commands:
  server   run an SSL 3.0 echo server
  client   connect, copy stdin to the server and the reply to stdout
  demo     run a server and a client locally over every implemented suite
  suites   list the SSL 3.0 cipher suites (Appendix C) and what this build implements
  token    list: slots, tokens and their SSL mechanisms; keys: objects on a token;
           provision-fortezza: provision Fortezza cards on a token
  version  print the version

Run 'tokenssl <command> -h' for the synopsis, an example and the flags of a command.
`)
}

func main() {
	if len(os.Args) < 2 {
		usage(os.Stderr)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "server":
		err = runServer(os.Args[2:])
	case "client":
		err = runClient(os.Args[2:])
	case "demo":
		err = runDemo(os.Args[2:])
	case "suites":
		err = runSuites(os.Args[2:])
	case "token":
		err = runToken(os.Args[2:])
	case "version", "-version", "--version":
		err = runVersion(os.Args[2:])
	case "-h", "-help", "--help", "help":
		usage(os.Stdout)
		return
	default:
		fmt.Fprintf(os.Stderr, "tokenssl: unknown command %q\n", os.Args[1])
		usage(os.Stderr)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tokenssl:", operatorMessage(err))
		os.Exit(1)
	}
}

// runVersion prints the module version (a tag, or "(devel)" with the VCS
// revision for a build from a checkout) and the Go toolchain.
func runVersion(args []string) error {
	fs := commandFlagSet("version")
	fs.Parse(args)
	fmt.Println(versionLine())
	return nil
}

func versionLine() string {
	v, rev := "(unknown)", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		v = bi.Main.Version
		var modified bool
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" && modified {
			rev += "+modified"
		}
	}
	line := "tokenssl " + v
	if rev != "" {
		line += " (" + rev + ")"
	}
	return line + " " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
}

// goPrefixes are the package prefixes library errors carry ("ssl: …",
// "pkcs11: …"). An operator reads "tokenssl: server: …" and the words
// after it; the package names say nothing to them and, nested, double up.
// Package token's "token: " is stripped only inside a message: at its
// start it is the token command's own prefix.
var goPrefixes = []string{"ssl: ", "pkcs11: ", "token: ", "x509legacy: ", "softhsm: ", "rediscache: "}

// operatorMessage is err's text without Go package prefixes (anywhere a
// wrapped error starts) and without a repeated "X: X: ".
func operatorMessage(err error) string {
	msg := err.Error()
	for changed := true; changed; {
		changed = false
		for _, p := range goPrefixes {
			if strings.HasPrefix(msg, p) && p != "token: " {
				msg, changed = msg[len(p):], true
			}
			if strings.Contains(msg, ": "+p) {
				msg, changed = strings.ReplaceAll(msg, ": "+p, ": "), true
			}
		}
	}
	// A wrapping layer that repeats its inner one ("server: server: …").
	parts := strings.Split(msg, ": ")
	out := parts[:0]
	for i, p := range parts {
		if i > 0 && p == parts[i-1] {
			continue
		}
		out = append(out, p)
	}
	return strings.Join(out, ": ")
}
