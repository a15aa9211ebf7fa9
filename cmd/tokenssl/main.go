// Command tokenssl runs SSL 3.0 servers and clients whose private keys may
// live on PKCS#11 tokens, and inspects tokens.
//
//	tokenssl server -listen ADDR -cert FILE -key FILE [-ciphers LIST] [-cache-size N]
//	tokenssl client -connect ADDR [-ciphers LIST] [-ca FILE | -insecure] [-servername NAME] [-resume]
//	tokenssl demo
//	tokenssl suites
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
