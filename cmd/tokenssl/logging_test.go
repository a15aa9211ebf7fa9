package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/tokenssl/tokenssl/ssl"
)

// How a connection ended decides its close word, level and error field.
func TestConnRecordOutcome(t *testing.T) {
	alert := &ssl.AlertError{Alert: 40, Sent: true, Err: errors.New("no shared cipher suite")}
	for _, c := range []struct {
		name      string
		err       error
		endedBy   string
		close     string
		level     string
		wantAlert string
	}{
		{"clean", nil, "", "close_notify", "INFO", ""},
		{"close_notify", io.EOF, "", "close_notify", "INFO", ""},
		{"hang-up", fmt.Errorf("copy: %w", ssl.ErrTruncated), "", "eof_without_close_notify", "INFO", ""},
		{"shutdown", net.ErrClosed, "shutdown", "shutdown", "INFO", ""},
		{"idle", errors.New("read: use of closed connection"), "idle timeout", "idle timeout", "INFO", ""},
		{"alert", alert, "", "error", "WARN", "handshake_failure"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			l, err := newLogger(&buf, "json", "info")
			if err != nil {
				t.Fatal(err)
			}
			r := &connRecord{start: time.Now(), peer: "127.0.0.1:1"}
			if c.endedBy != "" {
				r.endedBy(c.endedBy)
			}
			r.fail(c.err)
			r.log(l)
			var line map[string]any
			if err := json.Unmarshal(buf.Bytes(), &line); err != nil || bytes.Count(buf.Bytes(), []byte("\n")) != 1 {
				t.Fatalf("not one JSON line: %q", buf.String())
			}
			if line["close"] != c.close || line["level"] != c.level || (line["error"] != nil) != (c.level == "WARN") {
				t.Fatalf("line: %v", line)
			}
			if c.wantAlert != "" && (line["alert"] != c.wantAlert || line["alert_dir"] != "sent" || line["msg"] != "handshake failed") {
				t.Fatalf("alert line: %v", line)
			}
			if bytes.Contains(buf.Bytes(), []byte("truncation")) {
				t.Fatalf("truncation in %q", buf.String())
			}
		})
	}
}

func TestNewLoggerFlags(t *testing.T) {
	for _, c := range []struct {
		format, level string
		ok            bool
	}{
		{"text", "info", true}, {"json", "debug", true}, {"json", "WARN", true},
		{"xml", "info", false}, {"text", "loud", false},
	} {
		if _, err := newLogger(io.Discard, c.format, c.level); (err == nil) != c.ok {
			t.Errorf("newLogger(%q, %q): %v", c.format, c.level, err)
		}
	}
}
