package main

import (
	"flag"
	"fmt"
	"io"
	"os"
)

// keyLogFlag is -keylog FILE, with $SSLKEYLOGFILE as its default (as
// browsers, curl and NSS use it): the NSS key log Wireshark and tshark read
// to decrypt a capture. It writes every master secret to a file, so it
// defeats what a token protects: off unless asked for.
type keyLogFlag struct{ path string }

func (k *keyLogFlag) register(fs *flag.FlagSet) {
	fs.StringVar(&k.path, "keylog", "", "append the NSS key log (CLIENT_RANDOM lines) to FILE for Wireshark (default: $SSLKEYLOGFILE; exposes every session's keys)")
}

// open returns the writer for ssl.Config.KeyLogWriter (nil when no key log
// was asked for) and says on warn that one is being written.
func (k *keyLogFlag) open(warn io.Writer) (io.Writer, func(), error) {
	path := k.path
	if path == "" {
		path = os.Getenv("SSLKEYLOGFILE")
	}
	if path == "" {
		return nil, func() {}, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("key log: %w", err)
	}
	fmt.Fprintf(warn, "key log: writing every session's master secret to %s (anyone with it can decrypt the traffic)\n", path)
	return f, func() { f.Close() }, nil
}
