// Package rediscache is an ssl.SessionCache shared by a fleet of servers
// through Redis, so that a client the load balancer sends to another
// server still resumes its session (a resumed handshake costs the token no
// private-key operation).
//
// Each session is one Redis key, Prefix + hex(session ID), whose value is
// the session (ssl.SessionState.MarshalBinary) sealed with an AEAD under a
// key the fleet shares (token.Sealer: a key file, or an AES key on each
// server's token), the session ID as associated data: the master secret is
// never in Redis in clear, and an entry moved to another key does not open.
// Keys expire with the session lifetime.
//
// Redis is an optimisation, never a dependency of the handshake: every
// call is bounded by Options.Timeout (a few milliseconds), any failure is
// a miss (a full handshake), a failing Redis is left alone for
// Options.RetryAfter before the next try, and the first error of an
// outage and the recovery are logged once each.
//
// Kept apart from package ssl so that ssl does not import a Redis client.
package rediscache

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/tokenssl/tokenssl/ssl"
	"github.com/tokenssl/tokenssl/token"
)

// Defaults of Options.
const (
	DefaultPrefix     = "tokenssl:session:"
	DefaultLifetime   = 24 * time.Hour // ssl.Config's default SessionLifetime
	DefaultTimeout    = 5 * time.Millisecond
	DefaultRetryAfter = time.Second
)

// entryVersion is the first byte of every value: the sealed-entry format.
const entryVersion = 1

// MaxEntryLen bounds a value in Redis: a serialized session at its limit,
// sealed. Larger values are neither written nor read.
const MaxEntryLen = 1 + ssl.MaxSessionStateLen + token.GCMNonceSize + token.GCMTagSize

// Options configure a Cache. Sealer is required.
type Options struct {
	// Sealer seals new entries and opens entries; OldSealer, during a key
	// rotation, only opens. To rotate without dropping every session at
	// once: give every server the new key as OldSealer; then make it the
	// Sealer with the previous key as OldSealer; once a session lifetime
	// has passed, drop the previous key.
	Sealer, OldSealer token.Sealer
	// Prefix of every key, shared by the fleet (default DefaultPrefix).
	Prefix string
	// Lifetime of an entry from the session's creation; set it to the
	// servers' ssl.Config.SessionLifetime (default DefaultLifetime).
	Lifetime time.Duration
	// Timeout bounds each Redis call, dialing included (default
	// DefaultTimeout): the most a handshake waits for the cache.
	Timeout time.Duration
	// RetryAfter is how long a failing Redis is not asked again (default
	// DefaultRetryAfter): during an outage handshakes do not even wait
	// Timeout.
	RetryAfter time.Duration
	// Logf receives the two messages of an outage (default log.Printf).
	Logf func(format string, args ...any)
}

// Stats are counters for operators and tests.
type Stats struct {
	Hits, Misses int64 // Get found an entry that opened / found none
	Puts         int64 // entries written
	Unopened     int64 // entries that did not open or parse (a miss)
	Oversize     int64 // sessions too large to share (kept out of Redis)
	Errors       int64 // Redis calls that failed or timed out
	Skipped      int64 // calls not made while Redis was failing
}

// Cache is an ssl.SessionCache on Redis. Safe for concurrent use.
type Cache struct {
	client     *redis.Client
	opts       Options
	now        func() time.Time
	downUntil  atomic.Int64 // UnixNano before which Redis is not asked
	failing    atomic.Bool
	errorsOnce sync.Mutex // orders the outage/recovery log lines

	hits, misses, puts, unopened, oversize, errs, skipped atomic.Int64
}

var _ ssl.SessionCache = (*Cache)(nil)

// New returns a Cache on the Redis at rawURL: redis://[user:password@]
// HOST:PORT/DB (or rediss:// for TLS), optionally ?prefix=KEYPREFIX, which
// overrides opts.Prefix. No connection is made here; the first call dials.
func New(rawURL string, opts Options) (*Cache, error) {
	if opts.Sealer == nil {
		return nil, errors.New("rediscache: a Sealer is required: session entries are never stored in clear")
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
		return nil, fmt.Errorf("rediscache: session cache URL must be redis://HOST:PORT/DB")
	}
	q := u.Query()
	if p := q.Get("prefix"); p != "" {
		opts.Prefix = p
	}
	q.Del("prefix")
	u.RawQuery = q.Encode()
	ropts, err := redis.ParseURL(u.String())
	if err != nil {
		// The URL may hold a password: say what is wrong, not what it was.
		return nil, fmt.Errorf("rediscache: session cache URL: %v", redactURLError(err, u))
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.Lifetime <= 0 {
		opts.Lifetime = DefaultLifetime
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = DefaultRetryAfter
	}
	if opts.Logf == nil {
		opts.Logf = log.Printf
	}
	// One try per call, each step bounded by Timeout: no retries, no
	// dialer back-off, the context's deadline on the socket.
	ropts.MaxRetries = -1
	ropts.DialerRetries = 1
	ropts.DialTimeout = opts.Timeout
	ropts.ReadTimeout = opts.Timeout
	ropts.WriteTimeout = opts.Timeout
	ropts.PoolTimeout = opts.Timeout
	ropts.ContextTimeoutEnabled = true
	ropts.Protocol = 2 // no HELLO, no push notifications
	ropts.DisableIdentity = true
	ropts.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	quietOnce.Do(func() { redis.SetLogger(quiet{}) })
	return &Cache{client: redis.NewClient(ropts), opts: opts, now: time.Now}, nil
}

// go-redis logs every failed dial of its pool; during an outage that is a
// line per handshake. The Cache logs an outage once and its end once, so
// the client library's own logger (process-wide) is silenced.
var quietOnce sync.Once

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

func redactURLError(err error, u *url.URL) string {
	s := err.Error()
	if u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			return "malformed (not quoted: it holds a password)"
		}
	}
	return s
}

// Close closes the connections to Redis.
func (c *Cache) Close() error { return c.client.Close() }

// Stats returns the counters.
func (c *Cache) Stats() Stats {
	return Stats{Hits: c.hits.Load(), Misses: c.misses.Load(), Puts: c.puts.Load(), Unopened: c.unopened.Load(),
		Oversize: c.oversize.Load(), Errors: c.errs.Load(), Skipped: c.skipped.Load()}
}

func (c *Cache) key(sessionID string) string {
	return c.opts.Prefix + hex.EncodeToString([]byte(sessionID))
}

// call runs fn with the call timeout unless Redis is failing, and keeps
// the failure state: err is nil, redis.Nil, or the failure.
func (c *Cache) call(fn func(ctx context.Context) error) error {
	if time.Now().UnixNano() < c.downUntil.Load() {
		c.skipped.Add(1)
		return errSkipped
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.Timeout)
	defer cancel()
	err := fn(ctx)
	if err == nil || errors.Is(err, redis.Nil) {
		if c.failing.Load() {
			c.errorsOnce.Lock()
			if c.failing.Swap(false) {
				c.opts.Logf("rediscache: Redis answers again after %d failed calls; sessions are shared again", c.errs.Load())
			}
			c.errorsOnce.Unlock()
		}
		return err
	}
	c.errs.Add(1)
	c.downUntil.Store(time.Now().Add(c.opts.RetryAfter).UnixNano())
	c.errorsOnce.Lock()
	if !c.failing.Swap(true) {
		c.opts.Logf("rediscache: Redis failing (%v); handshakes go on without shared resumption, next try in %v", err, c.opts.RetryAfter)
	}
	c.errorsOnce.Unlock()
	return err
}

var errSkipped = errors.New("rediscache: Redis failing, call skipped")

// Get implements ssl.SessionCache.
func (c *Cache) Get(sessionID string) (*ssl.SessionState, bool) {
	var val []byte
	err := c.call(func(ctx context.Context) error {
		var err error
		val, err = c.client.Get(ctx, c.key(sessionID)).Bytes()
		return err
	})
	if err != nil {
		c.misses.Add(1)
		return nil, false
	}
	s, ok := c.open(sessionID, val)
	if !ok {
		c.unopened.Add(1)
		c.misses.Add(1)
		return nil, false
	}
	c.hits.Add(1)
	return s, true
}

// open unseals and parses one value; any failure is a miss.
func (c *Cache) open(sessionID string, val []byte) (*ssl.SessionState, bool) {
	if len(val) < 1 || len(val) > MaxEntryLen || val[0] != entryVersion {
		return nil, false
	}
	ad := []byte(sessionID)
	pt, err := c.opts.Sealer.Open(val[1:], ad)
	if err != nil && c.opts.OldSealer != nil {
		pt, err = c.opts.OldSealer.Open(val[1:], ad)
	}
	if err != nil {
		return nil, false
	}
	s, err := ssl.ParseSessionState(pt)
	clear(pt) // ParseSessionState copied what it keeps
	if err != nil || string(s.SessionID) != sessionID {
		return nil, false
	}
	return s, true
}

// Put implements ssl.SessionCache. A session too large to share, or
// already expired, is not written.
func (c *Cache) Put(sessionID string, s *ssl.SessionState) {
	if s == nil {
		c.Delete(sessionID)
		return
	}
	ttl := c.opts.Lifetime - c.now().Sub(s.Created)
	if ttl <= 0 {
		return
	}
	pt, err := s.MarshalBinary()
	if err != nil {
		c.oversize.Add(1)
		return
	}
	sealed, err := c.opts.Sealer.Seal(pt, []byte(sessionID))
	clear(pt)
	if err != nil {
		c.errs.Add(1)
		return
	}
	val := append([]byte{entryVersion}, sealed...)
	if c.call(func(ctx context.Context) error { return c.client.Set(ctx, c.key(sessionID), val, ttl).Err() }) == nil {
		c.puts.Add(1)
	}
}

// Delete implements ssl.SessionCache.
func (c *Cache) Delete(sessionID string) {
	c.call(func(ctx context.Context) error { return c.client.Del(ctx, c.key(sessionID)).Err() })
}
