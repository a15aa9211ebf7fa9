package ssl

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// A handshake whose peer never answers ends when its context or
// Config.HandshakeTimeout does, with an error that says so.
func TestHandshakeAbortedByContextOrTimeout(t *testing.T) {
	for _, tc := range []struct {
		name    string
		timeout time.Duration // Config.HandshakeTimeout
		ctx     func() (context.Context, context.CancelFunc)
		want    error
	}{
		{"context deadline", 0, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 50*time.Millisecond)
		}, context.DeadlineExceeded},
		{"context canceled", 0, func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(50*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled},
		{"Config.HandshakeTimeout", 50 * time.Millisecond, func() (context.Context, context.CancelFunc) {
			return context.Background(), func() {}
		}, context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, sraw := tcpPair(t) // the client end stays silent
			sc := serverConfig(t)
			sc.HandshakeTimeout = tc.timeout
			ctx, cancel := tc.ctx()
			defer cancel()
			err := Server(sraw, sc).HandshakeContext(ctx)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), "handshake aborted") {
				t.Fatalf("HandshakeContext = %v, want handshake aborted: %v", err, tc.want)
			}
		})
	}
}

// The context a handshake's callbacks see carries Config.HandshakeTimeout
// whether the caller's context can end or not (the two are built
// differently), is live during the handshake and canceled after it.
func TestHandshakeCallbackContext(t *testing.T) {
	const timeout = time.Minute
	for _, tc := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
	}{
		{"background", func() (context.Context, context.CancelFunc) { return context.Background(), func() {} }},
		{"cancelable", func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := serverConfig(t)
			sc.HandshakeTimeout = timeout
			var seen context.Context
			var deadline time.Time
			var hasDeadline bool
			var during error
			sc.GetConfigForClient = func(info *ClientHelloInfo) (*Config, error) {
				seen = info.Context()
				deadline, hasDeadline = seen.Deadline()
				during = seen.Err()
				return nil, nil
			}
			craw, sraw := tcpPair(t)
			client, server := Client(craw, clientConfig(t)), Server(sraw, sc)
			defer client.Close()
			defer server.Close()
			ctx, cancel := tc.ctx()
			defer cancel()
			start := time.Now()
			errc := make(chan error, 1)
			go func() { errc <- client.Handshake() }()
			if err := server.HandshakeContext(ctx); err != nil {
				t.Fatal(err)
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			if !hasDeadline || deadline.Before(start.Add(timeout)) || deadline.After(time.Now().Add(timeout)) {
				t.Errorf("callback context deadline %v (set %v), want start + %v", deadline, hasDeadline, timeout)
			}
			if during != nil {
				t.Errorf("callback context ended during the handshake: %v", during)
			}
			if seen == nil {
				t.Fatal("GetConfigForClient not called")
			}
			select {
			case <-seen.Done():
			default:
				t.Error("callback context not done after the handshake")
			}
			if !errors.Is(seen.Err(), context.Canceled) {
				t.Errorf("callback context after the handshake: %v, want %v", seen.Err(), context.Canceled)
			}
		})
	}
}
