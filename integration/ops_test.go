package integration

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tokenssl/tokenssl/softhsm/softhsmtest"
	"github.com/tokenssl/tokenssl/ssl"
)

// opsToken is an RSA key with its certificate on a fresh SoftHSM token and
// the flags that select it with the PIN given on the command line (the
// test then checks the PIN never reaches the log).
type opsToken struct {
	env   []string
	flags []string
	label string
	pin   string
	caPEM string // file of the CA that issued the certificate
}

func newOpsToken(t *testing.T) opsToken {
	ca := newTestCA(t)
	_, tok, _ := tokenRSA(t, ca, "localhost", x509.ExtKeyUsageServerAuth, 2)
	env := softhsmtest.Env(t)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	writePEM(t, caFile, "CERTIFICATE", ca.Cert.Raw)
	label := tok.Config().TokenLabel
	return opsToken{
		env:   []string{"SOFTHSM2_CONF=" + env.ConfigPath},
		flags: []string{"-pkcs11-module", env.ModulePath, "-token-label", label, "-key-label", "localhost", "-pin", tok.UserPIN()},
		label: label, pin: tok.UserPIN(), caPEM: caFile,
	}
}

func opsClientConfig(t *testing.T, caFile string) *ssl.Config {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	data, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(data)
	return &ssl.Config{RootCAs: pool, ServerName: "localhost", ClientSessionCache: ssl.NewLRUClientSessionCache(4)}
}

// A plain net/http client over SSL 3.0 (ssl.Client as its TLS dialer)
// gets the -www page, twice, the second time on a resumed session; each
// connection is one JSON log line with the token, and the metrics
// endpoint counts what happened. No line carries the PIN.
func TestOpsWWWLogsAndMetrics(t *testing.T) {
	tk := newOpsToken(t)
	p := startCLIServer(t, tk.env, append([]string{"-www", "-log-format", "json",
		"-metrics-listen", "127.0.0.1:0", "-ciphers", "SSL_RSA_WITH_RC4_128_SHA"}, tk.flags...)...)
	addr := p.addr
	metricsAddr := p.loggedAddr(t, "metrics on http://") // logged before "listening on"

	config := opsClientConfig(t, tk.caPEM)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialTLSContext: func(ctx context.Context, network, a string) (net.Conn, error) {
			raw, err := (&net.Dialer{}).DialContext(ctx, network, a)
			if err != nil {
				return nil, err
			}
			c := ssl.Client(raw, config)
			if err := c.HandshakeContext(ctx); err != nil {
				raw.Close()
				return nil, err
			}
			return c, nil
		},
	}}
	for i, want := range []string{"resumed: false", "resumed: true"} {
		resp, err := client.Get("https://" + addr + "/status")
		if err != nil {
			t.Fatalf("request %d: %v\n%s", i, err, p.stderr)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Fatalf("request %d: %v %s %q", i, err, resp.Status, body)
		}
		for _, s := range []string{"suite: SSL_RSA_WITH_RC4_128_SHA (0x0005)", want, "client certificate: none", "request: GET /status HTTP/1.1"} {
			if !strings.Contains(string(body), s) {
				t.Errorf("page %d lacks %q:\n%s", i, s, body)
			}
		}
	}
	// A peer that is no SSL client: one warning with the alert sent. A
	// peer that connects and hangs up: one info line, no "truncation".
	c, _ := net.Dial("tcp", addr)
	c.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
	io.Copy(io.Discard, c)
	c.Close()
	c, _ = net.Dial("tcp", addr)
	c.Close()

	// The three connection lines come in the order the server saw each
	// connection end, which the client cannot fix: find them by content.
	conns := p.waitLines(t, "connection", 3)
	failed := p.waitLines(t, "handshake failed", 1)
	var served []map[string]any
	var hangUp map[string]any
	for _, l := range conns {
		if l["suite"] == nil {
			hangUp = l
		} else {
			served = append(served, l)
		}
	}
	if len(served) != 2 || hangUp == nil {
		t.Fatalf("connection lines: %v", conns)
	}
	if served[0]["resumed"] == true {
		served[0], served[1] = served[1], served[0]
	}
	for i, resumed := range []bool{false, true} {
		l := served[i]
		tok, _ := l["token"].(map[string]any)
		if l["level"] != "INFO" || l["suite"] != "SSL_RSA_WITH_RC4_128_SHA" || l["resumed"] != resumed || l["close"] != "close_notify" ||
			tok["label"] != tk.label || tok["slot"] == nil || l["error"] != nil || l["time"] == nil || !strings.HasPrefix(l["peer"].(string), "127.0.0.1:") {
			t.Errorf("connection line %d: %v", i, l)
		}
		if in, out := l["bytes_in"].(float64), l["bytes_out"].(float64); in < 20 || out < 100 {
			t.Errorf("connection line %d: bytes in %v out %v", i, in, out)
		}
		if _, ok := l["duration_ms"].(float64); !ok {
			t.Errorf("connection line %d: no duration", i)
		}
	}
	if l := hangUp; l["level"] != "INFO" || l["close"] != "eof_without_close_notify" || l["error"] != nil || l["suite"] != nil {
		t.Errorf("hang-up line: %v", l)
	}
	if l := failed[0]; l["level"] != "WARN" || l["alert"] == nil || l["alert_dir"] != "sent" || l["error"] == nil {
		t.Errorf("failed handshake line: %v", l)
	}
	if s := p.stderr.String(); strings.Contains(s, tk.pin) || strings.Contains(s, "truncation") {
		t.Fatalf("the log shows the PIN or a truncation warning:\n%s", s)
	}

	// The scrape, once all four connections have been logged.
	fams := scrape(t, metricsAddr)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"tokenssl_handshakes_total", map[string]string{"suite": "SSL_RSA_WITH_RC4_128_SHA", "result": "ok"}, 2},
		{"tokenssl_handshakes_resumed_total", map[string]string{"suite": "SSL_RSA_WITH_RC4_128_SHA"}, 1},
		{"tokenssl_handshakes_total", map[string]string{"suite": "none", "result": "failed"}, 2},
		{"tokenssl_handshake_duration_seconds", map[string]string{"resumed": "true"}, 1},
		{"tokenssl_token_operation_duration_seconds", map[string]string{"token": tk.label, "op": "decrypt"}, 1},
		{"tokenssl_token_pool_sessions", map[string]string{"token": tk.label}, 2},
		{"tokenssl_token_pool_in_use", map[string]string{"token": tk.label}, 0},
		{"tokenssl_token_pool_waiting", map[string]string{"token": tk.label}, 0},
		{"tokenssl_session_cache_entries", nil, 1},
		{"tokenssl_open_connections", nil, 0},
		{"tokenssl_connections_total", map[string]string{"result": "accepted"}, 4},
	} {
		if got, ok := metricValue(fams, c.name, c.labels); !ok || got != c.want {
			t.Errorf("%s%v = %v (found %t), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	if _, ok := metricValue(fams, "tokenssl_token_operation_errors_total", nil); ok {
		t.Error("token errors counted without a failure")
	}
}

type dtoFamily = dto.MetricFamily

// scrape fetches and parses the metrics endpoint.
func scrape(t *testing.T, addr string) map[string]*dtoFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("metrics do not parse: %v", err)
	}
	return fams
}

// metricValue is the counter, gauge or histogram count of the series of
// name whose labels include labels.
func metricValue(fams map[string]*dtoFamily, name string, labels map[string]string) (float64, bool) {
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, lp := range m.Label {
			have[lp.GetName()] = lp.GetValue()
		}
		for k, v := range labels {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

// -forward to a plain TCP backend: the request goes through, the answer
// comes back, and half-closes pass both ways: the backend's FIN reaches
// the client as close_notify, the client's close_notify reaches the
// backend as EOF.
func TestOpsForwardHalfClose(t *testing.T) {
	tk := newOpsToken(t)
	backend, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Close()
	sawEOF := serveOne(backend, func(c net.Conn) error {
		req, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			return err
		}
		c.Write([]byte("BACKEND " + strings.ToUpper(req)))
		c.(*net.TCPConn).CloseWrite()
		_, err = io.Copy(io.Discard, c) // returns nil at EOF
		return err
	})
	p := startCLIServer(t, tk.env, append([]string{"-forward", backend.Addr().String(), "-log-format", "json"}, tk.flags...)...)
	c, err := ssl.Dial("tcp", p.addr, opsClientConfig(t, tk.caPEM))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("hello backend\n"))
	got, err := io.ReadAll(c) // nil error: the answer ended in close_notify
	if err != nil || string(got) != "BACKEND HELLO BACKEND\n" {
		t.Fatalf("through the forwarder: %q, %v\n%s", got, err, p.stderr)
	}
	select {
	case err := <-sawEOF:
		if err != nil {
			t.Fatalf("backend: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the backend never saw the client's close")
	}
	l := p.waitLines(t, "connection", 1)[0]
	if l["backend"] != backend.Addr().String() || l["close"] != "close_notify" || l["bytes_in"] != float64(14) || l["bytes_out"] != float64(22) {
		t.Fatalf("forward line: %v", l)
	}
}

// SIGTERM: no new connections, the open one keeps working through the
// grace period and ends when its client leaves; then the process exits 0
// with nothing worse than info in its log. With a short grace, a client
// that stays gets close_notify (a clean EOF, not a truncation).
func TestOpsShutdown(t *testing.T) {
	tk := newOpsToken(t)
	echo := func(t *testing.T, c *ssl.Conn, msg string) {
		t.Helper()
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != msg {
			t.Fatalf("echo %q: %q %v", msg, buf, err)
		}
	}
	// terminated starts a server with -grace grace, echoes once over a
	// client connection and sends the server SIGTERM.
	terminated := func(t *testing.T, grace string) (*cliProc, *ssl.Conn) {
		t.Helper()
		p := startCLIServer(t, tk.env, append([]string{"-log-format", "json", "-grace", grace}, tk.flags...)...)
		c, err := ssl.Dial("tcp", p.addr, opsClientConfig(t, tk.caPEM))
		if err != nil {
			t.Fatal(err)
		}
		echo(t, c, "before")
		p.cmd.Process.Signal(syscall.SIGTERM)
		return p, c
	}
	t.Run("in flight finish", func(t *testing.T) {
		p, c := terminated(t, "5m")
		p.waitLines(t, "shutting down: no new connections", 1)
		if nc, err := net.Dial("tcp", p.addr); err == nil {
			nc.Close()
			t.Fatal("a new connection was accepted after SIGTERM")
		}
		echo(t, c, "during the grace period")
		c.Close()
		if code := p.wait(t); code != 0 {
			t.Fatalf("exit %d\n%s", code, p.stderr)
		}
		checkCalmLog(t, p)
		if l := p.waitLines(t, "connection", 1)[0]; l["close"] != "close_notify" {
			t.Fatalf("line: %v", l)
		}
	})
	t.Run("grace runs out", func(t *testing.T) {
		p, c := terminated(t, "100ms")
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		if n, err := c.Read(make([]byte, 10)); n != 0 || err != io.EOF {
			t.Fatalf("after the grace period: %d bytes, %v (want close_notify)", n, err)
		}
		if code := p.wait(t); code != 0 {
			t.Fatalf("exit %d\n%s", code, p.stderr)
		}
		checkCalmLog(t, p)
		if l := p.waitLines(t, "connection", 1)[0]; l["close"] != "shutdown" || l["error"] != nil {
			t.Fatalf("line: %v", l)
		}
	})
}

// checkCalmLog fails t on any log line above info.
func checkCalmLog(t *testing.T, p *cliProc) {
	t.Helper()
	for _, l := range p.lines(t) {
		if l["level"] != "INFO" {
			t.Errorf("shutdown logged %v", l)
		}
	}
}

// -max-conns refuses what exceeds the cap (and serves again once a
// connection ends); -idle-timeout ends a silent connection with
// close_notify.
func TestOpsMaxConnsAndIdleTimeout(t *testing.T) {
	tk := newOpsToken(t)
	p := startCLIServer(t, tk.env, append([]string{"-log-format", "json", "-max-conns", "1", "-idle-timeout", "1s"}, tk.flags...)...)
	addr := p.addr
	config := opsClientConfig(t, tk.caPEM)
	first, err := ssl.Dial("tcp", addr, config)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if _, err := ssl.Dial("tcp", addr, config); err == nil {
		t.Fatal("a second connection was served beyond -max-conns 1")
	}
	refused := p.waitLines(t, "connection refused", 1)[0]
	if refused["level"] != "WARN" || refused["reason"] != "-max-conns 1 reached" {
		t.Fatalf("refusal line: %v", refused)
	}
	// The first connection stays silent: the server ends it.
	first.SetReadDeadline(time.Now().Add(30 * time.Second))
	if n, err := first.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("idle connection: %d bytes, %v (want close_notify)", n, err)
	}
	if l := p.waitLines(t, "connection", 1)[0]; l["close"] != "idle timeout" || l["level"] != "INFO" {
		t.Fatalf("idle line: %v", l)
	}
	again, err := ssl.Dial("tcp", addr, config)
	if err != nil {
		t.Fatalf("after the first connection ended: %v", err)
	}
	again.Close()
}

// The bad service flags are refused at start with one line and exit 1.
func TestOpsBadServiceFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"server", "-log-format", "xml"}, "tokenssl: server: -log-format must be text or json, not \"xml\"\n"},
		{[]string{"server", "-log-level", "loud"}, "tokenssl: server: -log-level must be debug, info, warn or error, not \"loud\"\n"},
		{[]string{"server", "-forward", "127.0.0.1:1", "-www"}, "tokenssl: server: -forward and -www exclude each other\n"},
	} {
		cmd := cliCommand(t, nil, c.args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || out.String() != c.want {
			t.Errorf("%v: %v %q, want exit 1 %q", c.args, err, out.String(), c.want)
		}
	}
}

// serveOne accepts one connection on ln, runs serve on it and closes it;
// the channel gets serve's error, or Accept's.
func serveOne(ln net.Listener, serve func(net.Conn) error) <-chan error {
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		done <- serve(c)
	}()
	return done
}
