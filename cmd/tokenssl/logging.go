package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tokenssl/tokenssl/ssl"
)

// newLogger is the service logger on stderr: -log-format text|json,
// -log-level debug|info|warn|error.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("-log-level must be debug, info, warn or error, not %q", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("-log-format must be text or json, not %q", format)
}

// tokenID names the token holding a key, for the connection line.
type tokenID struct {
	label string
	slot  uint
}

// connRecord gathers what the one line per connection reports. The
// handler fills it while the connection runs; log writes it at the end.
type connRecord struct {
	start   time.Time
	peer    string
	backend string // -forward / -connect target, if any
	// peerIsServer: the SSL peer is a server (the tunnel), so its
	// certificate is logged as server_subject, not client_subject.
	peerIsServer bool
	state        *ssl.ConnectionState
	token        *tokenID
	in, out      atomic.Int64 // application bytes from and to the SSL peer
	mu           sync.Mutex
	err          error
	closedBy     string // set when we ended the connection: "shutdown", "idle timeout"
}

// handshake runs c's handshake and records it: the state here, the time
// and result in m, a failure as the error that ended the connection.
func (r *connRecord) handshake(c *ssl.Conn, m *metrics) (ssl.ConnectionState, error) {
	start := time.Now()
	err := c.Handshake()
	st := c.ConnectionState()
	r.state = &st
	m.handshake(st, err, time.Since(start))
	if err != nil {
		r.fail(err)
	}
	return st, err
}

// fail records the first error that ended the connection.
func (r *connRecord) fail(err error) {
	if err == nil {
		return
	}
	r.mu.Lock()
	if r.err == nil {
		r.err = err
	}
	r.mu.Unlock()
}

// endedBy marks the connection as ended on our side (first reason wins):
// the errors its goroutines see afterwards are consequences, not failures.
func (r *connRecord) endedBy(reason string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closedBy != "" {
		return false
	}
	r.closedBy = reason
	return true
}

// outcome classifies how the connection ended: close is a word for the
// log, err is non-nil only for a real failure.
func (r *connRecord) outcome() (close string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.closedBy != "":
		return r.closedBy, nil
	case r.err == nil || errors.Is(r.err, io.EOF):
		return "close_notify", nil
	case errors.Is(r.err, ssl.ErrTruncated):
		// Most clients just hang up; SSL 3.0 calls that a truncation,
		// which only matters to an application that cannot tell where
		// its data ends. The session is already unresumable.
		return "eof_without_close_notify", nil
	case errors.Is(r.err, net.ErrClosed):
		return "closed", nil
	}
	return "error", r.err
}

// log writes the connection's one line: info when it went well, warn when
// it failed (with the alert sent or received).
func (r *connRecord) log(l *slog.Logger) {
	close, err := r.outcome()
	attrs := []slog.Attr{slog.String("peer", r.peer)}
	if r.backend != "" {
		attrs = append(attrs, slog.String("backend", r.backend))
	}
	msg := "connection"
	if st := r.state; st != nil && st.HandshakeComplete {
		attrs = append(attrs, slog.String("suite", ssl.CipherSuiteName(st.CipherSuite)), slog.Bool("resumed", st.DidResume))
		if len(st.PeerCertificates) > 0 {
			key := "client_subject"
			if r.peerIsServer {
				key = "server_subject"
			}
			attrs = append(attrs, slog.String(key, st.PeerCertificates[0].Subject.String()))
		}
	} else if close == "error" {
		msg = "handshake failed"
	}
	if r.token != nil {
		attrs = append(attrs, slog.Group("token", slog.String("label", r.token.label), slog.Uint64("slot", uint64(r.token.slot))))
	}
	attrs = append(attrs,
		slog.Int64("bytes_in", r.in.Load()), slog.Int64("bytes_out", r.out.Load()),
		slog.Float64("duration_ms", float64(time.Since(r.start).Microseconds())/1000),
		slog.String("close", close))
	level := slog.LevelInfo
	if err != nil {
		level = slog.LevelWarn
		attrs = append(attrs, slog.String("error", strings.TrimPrefix(err.Error(), "ssl: ")))
		var ae *ssl.AlertError
		if errors.As(err, &ae) {
			attrs = append(attrs, slog.String("alert", ae.AlertName()), slog.String("alert_dir", alertDirection(ae)))
		}
	}
	l.LogAttrs(context.Background(), level, msg, attrs...)
}

// countConn counts application bytes on an SSL connection and reports
// activity to the idle timer.
type countConn struct {
	*ssl.Conn
	rec   *connRecord
	touch func()
}

// count adds n bytes moved to total; any bytes at all are activity.
func (c *countConn) count(total *atomic.Int64, n int) {
	if n > 0 {
		total.Add(int64(n))
		c.touch()
	}
}

func (c *countConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.count(&c.rec.in, n)
	return n, err
}

func (c *countConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.count(&c.rec.out, n)
	return n, err
}
