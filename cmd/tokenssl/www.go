package main

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/tokenssl/tokenssl/ssl"
)

// maxRequestBytes bounds what one HTTP request may take (line, headers,
// body) before -www gives up on it.
const maxRequestBytes = 64 << 10

// serveWWW answers HTTP requests on an established connection with a
// plain-text page describing it, as `openssl s_server -www` does, so HTTP
// load tools can drive the server. It keeps the connection for further
// requests when the client asks (HTTP/1.1 default, HTTP/1.0 keep-alive).
func serveWWW(sc *countConn, st ssl.ConnectionState) error {
	lim := &requestLimit{r: sc}
	br := bufio.NewReader(lim)
	for {
		lim.n = maxRequestBytes
		req, err := http.ReadRequest(br)
		if err != nil {
			switch {
			case errors.Is(err, io.EOF) && br.Buffered() == 0:
				return nil // close_notify between requests
			case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, ssl.ErrTruncated):
				return err // the client went away mid-request
			}
			writeWWW(sc, 1, 0, "400 Bad Request", "tokenssl -www: unreadable HTTP request\n", true)
			return fmt.Errorf("www: unreadable HTTP request: %w", err)
		}
		if _, err := io.Copy(io.Discard, req.Body); err != nil {
			return fmt.Errorf("www: reading the request body: %w", err)
		}
		page := describeConnection(st, sc, req)
		if err := writeWWW(sc, req.ProtoMajor, req.ProtoMinor, "200 OK", page, req.Close); err != nil {
			return err
		}
		if req.Close {
			return nil
		}
	}
}

func writeWWW(w io.Writer, major, minor int, status, body string, close bool) error {
	conn := "keep-alive"
	if close {
		conn = "close"
	}
	if major != 1 {
		major, minor = 1, 0
	}
	_, err := fmt.Fprintf(w, "HTTP/%d.%d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: %s\r\n\r\n%s",
		major, minor, status, len(body), conn, body)
	return err
}

// describeConnection is the -www page: what an operator checks first.
func describeConnection(st ssl.ConnectionState, sc *countConn, req *http.Request) string {
	var b strings.Builder
	fmt.Fprintf(&b, "tokenssl -www\n")
	fmt.Fprintf(&b, "protocol: SSL 3.0\n")
	fmt.Fprintf(&b, "suite: %s (0x%04X)\n", ssl.CipherSuiteName(st.CipherSuite), st.CipherSuite)
	fmt.Fprintf(&b, "resumed: %t\n", st.DidResume)
	fmt.Fprintf(&b, "session id: %s\n", hex.EncodeToString(st.SessionID))
	if len(st.PeerCertificates) > 0 {
		c := st.PeerCertificates[0]
		fmt.Fprintf(&b, "client certificate: %s\n", c.Subject)
		fmt.Fprintf(&b, "client certificate issuer: %s\n", c.Issuer)
		fmt.Fprintf(&b, "client certificate verified: %t\n", len(st.VerifiedChains) > 0)
	} else {
		fmt.Fprintf(&b, "client certificate: none\n")
	}
	fmt.Fprintf(&b, "peer: %s\n", sc.RemoteAddr())
	fmt.Fprintf(&b, "request: %s %s %s\n", req.Method, req.URL.RequestURI(), req.Proto)
	return b.String()
}

// requestLimit stops reading after n bytes, so a client cannot make -www
// buffer an endless header line.
type requestLimit struct {
	r io.Reader
	n int
}

func (l *requestLimit) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errors.New("request larger than 64 KiB")
	}
	if len(p) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= n
	return n, err
}
