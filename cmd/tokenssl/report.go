package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/tokenssl/tokenssl/ssl"
)

// handshakeLine is the one-line report both commands print per handshake.
func handshakeLine(st ssl.ConnectionState) string {
	return fmt.Sprintf("handshake ok suite=%s resumed=%t session=%s",
		ssl.CipherSuiteName(st.CipherSuite), st.DidResume, hex.EncodeToString(st.SessionID))
}

// failureLine names the alert when there was one.
func failureLine(err error) string {
	var ae *ssl.AlertError
	if errors.As(err, &ae) {
		return fmt.Sprintf("handshake failed: %v alert=%s (%s)", err, ae.AlertName(), alertDirection(ae))
	}
	return fmt.Sprintf("handshake failed: %v", err)
}

// alertDirection says whether we sent the alert or received it.
func alertDirection(ae *ssl.AlertError) string {
	if ae.Sent {
		return "sent"
	}
	return "received"
}

func runSuites(args []string) error {
	fs := commandFlagSet("suites")
	fs.Parse(args)
	for _, s := range ssl.CipherSuites() {
		var flags string
		if s.Exportable {
			flags += " export"
		}
		if s.Anonymous {
			flags += " anonymous"
		}
		if s.Null {
			flags += " null-cipher"
		}
		state := "implemented"
		if !s.Implemented {
			state = "not implemented"
		}
		openssl := ssl.OpenSSLCipherSuiteName(s.ID)
		if openssl == "" {
			openssl = "-"
		}
		peers := "none seen"
		if len(s.Peers) > 0 {
			peers = strings.Join(s.Peers, ",")
		}
		fmt.Printf("0x%04X %-40s %-24s %s%s source=%q peers=%s\n", s.ID, s.Name, openssl, state, flags, s.Source, peers)
	}
	return nil
}
