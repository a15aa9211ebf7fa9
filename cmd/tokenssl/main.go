// Command tokenssl runs SSL 3.0 servers and clients whose private keys may
// live on PKCS#11 tokens, and inspects tokens.
//
//	tokenssl server -listen ADDR (-cert FILE -key FILE | token flags) [-ciphers LIST] [-cache-size N]
//	tokenssl client -connect ADDR [-ciphers LIST] [-ca FILE | -insecure] [-servername NAME] [-resume] [key flags]
//	tokenssl demo
//	tokenssl suites
//	tokenssl token list|keys|provision-fortezza
//
// Token flags: -pkcs11-module PATH, one of -slot N / -token-label L /
// -token-serial S, one of -key-label L / -key-id HEX, one of -pin /
// -pin-file / -pin-env (a prompt without echo otherwise), or -key 'pkcs11:…'.
package main

import (
	"fmt"
	"os"
)

func usage() {
	fmt.Fprint(os.Stderr, `usage: tokenssl <command> [flags]

commands:
  server   run an SSL 3.0 echo server
  client   connect, copy stdin to the server and the reply to stdout
  demo     run a server and a client locally over every implemented suite
  suites   list the SSL 3.0 cipher suites (Appendix C) and what this build implements
  token    list: slots, tokens and their SSL mechanisms; keys: objects on a token;
           provision-fortezza: provision Fortezza cards on a token

Run 'tokenssl <command> -h' for the flags of a command.
`)
}

func main() {
	if len(os.Args) < 2 {
		usage()
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
	case "-h", "-help", "--help", "help":
		usage()
		return
	default:
		fmt.Fprintf(os.Stderr, "tokenssl: unknown command %q\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tokenssl:", err)
		os.Exit(1)
	}
}
