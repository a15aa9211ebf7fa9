package rediscache_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tokenssl/tokenssl/ssl"
	"github.com/tokenssl/tokenssl/ssl/rediscache"
	"github.com/tokenssl/tokenssl/ssl/rediscache/redistest"
	"github.com/tokenssl/tokenssl/token"
)

func sealer(t testing.TB, b byte) token.Sealer {
	s, err := token.NewAESGCMSealer(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// logLines collects what a Cache logs.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logLines) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

func newCache(t testing.TB, url string, opts rediscache.Options) *rediscache.Cache {
	t.Helper()
	if opts.Sealer == nil {
		opts.Sealer = sealer(t, 1)
	}
	if opts.Timeout == 0 {
		// Generous: the machine running the tests is shared.
		opts.Timeout = 500 * time.Millisecond
	}
	c, err := rediscache.New(url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func session(t testing.TB, id byte) *ssl.SessionState {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "client"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return &ssl.SessionState{SessionID: bytes.Repeat([]byte{id}, 32), CipherSuite: ssl.SSL_RSA_WITH_RC4_128_SHA,
		MasterSecret: bytes.Repeat([]byte{0x4d, id}, 24), PeerCertificates: []*x509.Certificate{leaf}, Created: time.Now()}
}

func raw(t testing.TB, srv *redistest.Server) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, Protocol: 2})
	t.Cleanup(func() { c.Close() })
	return c
}

// TestRedisCacheSealedEntries: what one server puts another resumes; in
// Redis the entry is one key under the prefix, expiring with the session,
// and holds neither the master secret nor the plain serialization.
func TestRedisCacheSealedEntries(t *testing.T) {
	srv := redistest.Start(t)
	a := newCache(t, srv.URL()+"?prefix=fleet1:", rediscache.Options{Lifetime: time.Hour})
	b := newCache(t, srv.URL()+"?prefix=fleet1:", rediscache.Options{Lifetime: time.Hour})
	s := session(t, 7)
	a.Put(string(s.SessionID), s)
	got, ok := b.Get(string(s.SessionID))
	if !ok || !bytes.Equal(got.MasterSecret, s.MasterSecret) || !got.PeerCertificates[0].Equal(s.PeerCertificates[0]) {
		t.Fatalf("server B did not get server A's session (%v)", b.Stats())
	}
	r := raw(t, srv)
	keys, err := r.Keys(context.Background(), "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	wantKey := fmt.Sprintf("fleet1:%x", s.SessionID)
	if len(keys) != 1 || keys[0] != wantKey {
		t.Fatalf("keys %q, want [%s]", keys, wantKey)
	}
	val, _ := r.Get(context.Background(), wantKey).Bytes()
	plain, _ := s.MarshalBinary()
	if bytes.Contains(val, s.MasterSecret) || bytes.Contains(val, plain[:40]) || bytes.Contains(val, s.PeerCertificates[0].Raw[:32]) {
		t.Fatal("the Redis value holds the session in clear")
	}
	ttl, _ := r.TTL(context.Background(), wantKey).Result()
	if ttl <= 0 || ttl > time.Hour {
		t.Fatalf("TTL %v, want within the session lifetime of 1h", ttl)
	}
	b.Delete(string(s.SessionID))
	if _, ok := a.Get(string(s.SessionID)); ok {
		t.Fatal("deleted session still found")
	}
	// An expired session is not written.
	old := session(t, 8)
	old.Created = time.Now().Add(-2 * time.Hour)
	a.Put(string(old.SessionID), old)
	if n, _ := r.DBSize(context.Background()).Result(); n != 0 {
		t.Fatalf("%d keys after putting an expired session", n)
	}
}

// TestRedisCacheEntriesThatDoNotOpen: another key, another session ID
// (a value moved to another key), garbage, an oversized value: each is a
// miss, counted, never a panic.
func TestRedisCacheEntriesThatDoNotOpen(t *testing.T) {
	srv := redistest.Start(t)
	r := raw(t, srv)
	oldKey, newKey := sealer(t, 1), sealer(t, 2)
	before := newCache(t, srv.URL(), rediscache.Options{Sealer: oldKey})
	rotating := newCache(t, srv.URL(), rediscache.Options{Sealer: newKey, OldSealer: oldKey})
	after := newCache(t, srv.URL(), rediscache.Options{Sealer: newKey})
	s1, s2 := session(t, 1), session(t, 2)
	before.Put(string(s1.SessionID), s1)
	if _, ok := rotating.Get(string(s1.SessionID)); !ok {
		t.Fatal("during rotation, a session sealed under the old key did not open")
	}
	rotating.Put(string(s2.SessionID), s2)
	if _, ok := before.Get(string(s2.SessionID)); ok {
		t.Fatal("a server without the new key opened a session sealed under it")
	}
	if _, ok := after.Get(string(s2.SessionID)); !ok {
		t.Fatal("the new key did not open its own session")
	}
	if _, ok := after.Get(string(s1.SessionID)); ok {
		t.Fatal("after rotation, the old key's session still opened")
	}
	ctx := context.Background()
	k1, k2 := fmt.Sprintf("%s%x", rediscache.DefaultPrefix, s1.SessionID), fmt.Sprintf("%s%x", rediscache.DefaultPrefix, s2.SessionID)
	v1, _ := r.Get(ctx, k1).Bytes()
	for name, val := range map[string][]byte{
		"moved to another ID": v1,
		"garbage":             []byte("not an entry"),
		"empty":               {},
		"other version":       append([]byte{9}, v1[1:]...),
		"truncated":           v1[:len(v1)-1],
		"oversized":           make([]byte, rediscache.MaxEntryLen+1),
	} {
		r.Set(ctx, k2, val, time.Minute)
		st0 := before.Stats()
		if _, ok := before.Get(string(s2.SessionID)); ok {
			t.Fatalf("%s: opened", name)
		}
		if st := before.Stats(); st.Unopened != st0.Unopened+1 {
			t.Fatalf("%s: not counted as unopened (%+v)", name, st)
		}
	}
	// Too large to share: not written, counted.
	big := session(t, 3)
	for i := 0; i < 3; i++ {
		big.PeerCertificates = append(big.PeerCertificates, &x509.Certificate{Raw: make([]byte, 30000)})
	}
	before.Put(string(big.SessionID), big)
	if st := before.Stats(); st.Oversize != 1 {
		t.Fatalf("oversized session: %+v", st)
	}
}

// TestRedisCacheFaults: Redis stopped, paused (slow) and restarted. Every
// call returns (a miss) instead of waiting, the outage is logged once and
// the recovery once, the cache works again by itself, and no goroutine is
// left behind.
func TestRedisCacheFaults(t *testing.T) {
	srv := redistest.Start(t)
	goroutines := runtime.NumGoroutine()
	var logs logLines
	c, err := rediscache.New(srv.URL(), rediscache.Options{Sealer: sealer(t, 1), Timeout: 50 * time.Millisecond,
		RetryAfter: 100 * time.Millisecond, Logf: logs.logf})
	if err != nil {
		t.Fatal(err)
	}
	s := session(t, 5)
	id := string(s.SessionID)
	c.Put(id, s)
	if _, ok := c.Get(id); !ok {
		t.Fatalf("no hit with Redis up: %+v", c.Stats())
	}
	// A call that never returns would hang the test; report how long they
	// took (no assertion on time: the machine is shared).
	timed := func(what string, n int) {
		start := time.Now()
		for i := 0; i < n; i++ {
			if _, ok := c.Get(id); ok {
				t.Fatalf("%s: hit", what)
			}
			c.Put(id, s)
			time.Sleep(5 * time.Millisecond)
		}
		t.Logf("%s: %d Get+Put in %v (%+v)", what, n, time.Since(start), c.Stats())
	}
	// resumes reports whether a Put is read back within 200 tries.
	resumes := func() bool {
		for i := 0; i < 200; i++ {
			c.Put(id, s)
			_, ok := c.Get(id)
			time.Sleep(10 * time.Millisecond)
			if ok {
				return true
			}
		}
		return false
	}
	srv.Stop()
	timed("Redis stopped", 50)
	srv.Restart() // empty: the sessions are gone, as after a crash
	if !resumes() {
		t.Fatalf("the cache did not resume after Redis came back: %+v", c.Stats())
	}
	srv.Pause()
	timed("Redis paused", 20)
	srv.Resume()
	if !resumes() {
		t.Fatalf("the cache did not resume after Redis was paused: %+v", c.Stats())
	}
	st := c.Stats()
	if st.Errors == 0 || st.Skipped == 0 {
		t.Fatalf("errors not counted, or calls not skipped during the outage: %+v", st)
	}
	lines := logs.get()
	var down, up int
	for _, l := range lines {
		switch {
		case strings.Contains(l, "Redis failing"):
			down++
		case strings.Contains(l, "answers again"):
			up++
		}
	}
	// Two outages (stopped, paused): one line each way per outage.
	if down != 2 || up != 2 || len(lines) != 4 {
		t.Fatalf("want 2 outage and 2 recovery lines, got:\n%s", strings.Join(lines, "\n"))
	}
	for _, l := range lines {
		if strings.Contains(l, string(s.MasterSecret)) {
			t.Fatal("a log line holds the master secret")
		}
	}
	c.Close()
	var now int
	for i := 0; i < 100; i++ {
		if now = runtime.NumGoroutine(); now <= goroutines {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if now > goroutines {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines after Close, %d before:\n%s", now, goroutines, buf[:runtime.Stack(buf, true)])
	}
}

func TestRedisCacheConfig(t *testing.T) {
	if _, err := rediscache.New("redis://127.0.0.1:1/0", rediscache.Options{}); err == nil {
		t.Fatal("accepted no Sealer")
	}
	for _, bad := range []string{"http://127.0.0.1/0", "redis://127.0.0.1:1/notadb", "redis://:hunter2@127.0.0.1:1/x"} {
		_, err := rediscache.New(bad, rediscache.Options{Sealer: sealer(t, 1)})
		if err == nil {
			t.Fatalf("%s accepted", bad)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Fatalf("error quotes the password: %v", err)
		}
	}
}
