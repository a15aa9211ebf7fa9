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
