//go:build linux

package integration

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/tokenssl/tokenssl/integration/interop"
	"github.com/tokenssl/tokenssl/internal/acceptloop"
	"github.com/tokenssl/tokenssl/ssl"
)

// serverMode says how our in-process server treats a connection.
type serverMode int

const (
	// echoUntilEOF copies everything back until the client closes.
	echoUntilEOF serverMode = iota
	// answerRequest reads up to the first empty line, echoes it and closes:
	// what NSS tstclnt needs, since it never closes first.
	answerRequest
)

// ourServer is an ssl server running in-process inside a namespace.
type ourServer struct {
	Addr   string
	States chan ssl.ConnectionState // one per completed handshake
	Errs   chan error               // one per failed handshake
	Final  chan ssl.ConnectionState // one per connection served, at its end
}

func startOurServer(t *testing.T, ns *interop.Namespace, config *ssl.Config, mode serverMode) *ourServer {
	t.Helper()
	ln, err := ns.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &ourServer{Addr: ln.Addr().String(), States: make(chan ssl.ConnectionState, 64), Errs: make(chan error, 64), Final: make(chan ssl.ConnectionState, 64)}
	acceptloop.Each(ln, func(raw net.Conn) {
		raw.SetDeadline(time.Now().Add(30 * time.Second))
		c := ssl.Server(raw, config)
		defer c.Close()
		if err := c.Handshake(); err != nil {
			s.Errs <- err
			return
		}
		s.States <- c.ConnectionState()
		defer func() { s.Final <- c.ConnectionState() }()
		switch mode {
		case echoUntilEOF:
			io.Copy(c, c)
		case answerRequest:
			var req []byte
			buf := make([]byte, 4096)
			for !bytes.Contains(req, []byte("\r\n\r\n")) {
				n, err := c.Read(buf)
				req = append(req, buf[:n]...)
				if err != nil {
					return
				}
			}
			c.Write(req)
		}
	})
	return s
}

// nsTokenssl runs `tokenssl cmd -listen ADDR args...` in ns on a free
// port and waits for its "listening on" line; the error says why it did
// not come.
func nsTokenssl(t *testing.T, ns *interop.Namespace, opts interop.ProcOptions, cmd string, args ...string) (*interop.Proc, string, error) {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", ns.FreePort(t))
	p := ns.Start(t, opts, interop.BuildTokenssl(t), append([]string{cmd, "-listen", addr}, args...)...)
	return p, addr, p.WaitOutput("listening on", 20*time.Second)
}

// next returns the next handshake outcome of the server.
func (s *ourServer) next(t *testing.T) (ssl.ConnectionState, error) {
	t.Helper()
	select {
	case st := <-s.States:
		return st, nil
	case err := <-s.Errs:
		return ssl.ConnectionState{}, err
	case <-time.After(30 * time.Second):
		t.Fatal("our server reported no handshake within 30s")
	}
	return ssl.ConnectionState{}, nil
}

// ourClientExchange connects from inside ns, sends payload and reads the
// answer: len(payload) bytes for an echo server, or until EOF.
func ourClientExchange(ns *interop.Namespace, addr string, config *ssl.Config, payload []byte, untilEOF bool) (ssl.ConnectionState, []byte, error) {
	raw, err := ns.Dial("tcp", addr)
	if err != nil {
		return ssl.ConnectionState{}, nil, err
	}
	raw.SetDeadline(time.Now().Add(30 * time.Second))
	c := ssl.Client(raw, config)
	defer c.Close()
	if err := c.Handshake(); err != nil {
		return ssl.ConnectionState{}, nil, err
	}
	st := c.ConnectionState()
	if _, err := c.Write(payload); err != nil {
		return st, nil, err
	}
	var answer []byte
	if untilEOF {
		answer, err = io.ReadAll(c)
		// selfserv closes without close_notify; the data is complete.
		if errors.Is(err, ssl.ErrTruncated) {
			err = nil
		}
	} else {
		answer = make([]byte, len(payload))
		_, err = io.ReadFull(c, answer)
	}
	return st, answer, err
}

// rootsOf returns a pool holding cert.
func rootsOf(cert *x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(cert)
	return p
}

// softCertificate turns an interop test certificate into an ssl.Certificate
// with its key in memory.
func softCertificate(tc *interop.TestCert) ssl.Certificate {
	return ssl.Certificate{Certificate: [][]byte{tc.Cert.Raw}, PrivateKey: tc.Key, Leaf: tc.Cert}
}

var _ net.Conn
