package integration

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tokenssl/tokenssl/internal/acceptloop"
	"github.com/tokenssl/tokenssl/softhsm/softhsmtest"
	"github.com/tokenssl/tokenssl/ssl"
	"github.com/tokenssl/tokenssl/ssl/rediscache"
	"github.com/tokenssl/tokenssl/ssl/rediscache/redistest"
	"github.com/tokenssl/tokenssl/token"
)

// roundRobin is a TCP proxy on loopback that sends each new connection to
// the next backend in turn, as a load balancer in front of a fleet.
type roundRobin struct {
	ln       net.Listener
	backends []string
	next     atomic.Int64
	mu       sync.Mutex
	chosen   []int // backend index of each connection, in order
	wg       *sync.WaitGroup
}

func newRoundRobin(t testing.TB, backends ...string) *roundRobin {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &roundRobin{ln: ln, backends: backends}
	// The tests connect one at a time, so the order of the handlers is
	// the order of the connections.
	p.wg = acceptloop.Each(ln, func(c net.Conn) {
		defer c.Close()
		i := int(p.next.Add(1)-1) % len(backends)
		p.mu.Lock()
		p.chosen = append(p.chosen, i)
		p.mu.Unlock()
		up, err := net.Dial("tcp", backends[i])
		if err != nil {
			return
		}
		defer up.Close()
		done := make(chan struct{})
		go func() { io.Copy(up, c); up.(*net.TCPConn).CloseWrite(); close(done) }()
		io.Copy(c, up)
		c.(*net.TCPConn).CloseWrite()
		<-done
	})
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

func (p *roundRobin) last() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.chosen[len(p.chosen)-1]
}

// fleetServer is one tokenssl server: its RSA key and the fleet's session
// key on its own SoftHSM token, its session cache on the shared Redis.
type fleetServer struct {
	addr  string
	cache *rediscache.Cache
}

func startFleetServer(t testing.TB, ca *testCA, redisURL string, fleetKey []byte, logf func(string, ...any)) *fleetServer {
	t.Helper()
	cert, tok, b := tokenRSA(t, ca, "localhost", x509.ExtKeyUsageServerAuth, 2)
	ref, err := tok.ImportAESKey("session-key", []byte{0x5e}, fleetKey)
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := b.FindSealer(ref.Spec())
	if err != nil {
		t.Fatal(err)
	}
	cache, err := rediscache.New(redisURL, rediscache.Options{Sealer: sealer, Prefix: "fleet:test:",
		Timeout: 200 * time.Millisecond, RetryAfter: 50 * time.Millisecond, Logf: logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cache.Close() })
	sc := &ssl.Config{Certificates: []ssl.Certificate{cert}, CipherSuites: []uint16{ssl.SSL_RSA_WITH_RC4_128_SHA}, SessionCache: cache}
	ln := serveSSL(t, sc, func(c net.Conn) { io.Copy(io.Discard, c) })
	return &fleetServer{addr: ln.Addr().String(), cache: cache}
}

// TestRedisSharedSessionCacheFleet is issue 14's demonstration: two
// servers, each with its key on its own SoftHSM token, behind a round-robin
// proxy, share sessions through a real Redis. A session made on A resumes
// on B; the entry in Redis does not hold the master secret; with Redis
// stopped handshakes go on (full), and when it is back resumption returns.
func TestRedisSharedSessionCacheFleet(t *testing.T) {
	srv := redistest.Start(t)
	ca := newTestCA(t)
	fleetKey := bytes.Repeat([]byte{0x42}, 32) // imported on both tokens
	var logMu sync.Mutex
	var logs []string
	logf := func(f string, a ...any) { logMu.Lock(); logs = append(logs, fmt.Sprintf(f, a...)); logMu.Unlock() }
	servers := []*fleetServer{startFleetServer(t, ca, srv.URL(), fleetKey, logf), startFleetServer(t, ca, srv.URL(), fleetKey, logf)}
	proxy := newRoundRobin(t, servers[0].addr, servers[1].addr)
	clientCache := ssl.NewLRUClientSessionCache(4)
	cc := &ssl.Config{RootCAs: ca.Roots, ServerName: "localhost", CipherSuites: []uint16{ssl.SSL_RSA_WITH_RC4_128_SHA},
		ClientSessionCache: clientCache}
	cacheKey := "localhost|" + proxy.ln.Addr().String()
	handshake := func() (ssl.ConnectionState, int) {
		t.Helper()
		c, err := ssl.Dial("tcp", proxy.ln.Addr().String(), cc)
		if err != nil {
			t.Fatalf("handshake through the proxy: %v", err)
		}
		defer c.Close()
		// A byte each way: the server's handshake (and its cache Put) is
		// over once the client's Finished was answered and data flows.
		if _, err := c.Write([]byte{1}); err != nil {
			t.Fatal(err)
		}
		return c.ConnectionState(), proxy.last()
	}

	first, onA := handshake()
	if first.DidResume {
		t.Fatal("first handshake resumed")
	}
	sess, ok := clientCache.Get(cacheKey)
	if !ok || !bytes.Equal(sess.SessionID, first.SessionID) {
		t.Fatal("client did not keep the session")
	}
	master := bytes.Clone(sess.MasterSecret)
	// The Put of server A may still be on its way: wait for the entry.
	r := redis.NewClient(&redis.Options{Addr: srv.Addr, Protocol: 2})
	defer r.Close()
	key := fmt.Sprintf("fleet:test:%x", first.SessionID)
	var val []byte
	for i := 0; i < 200; i++ {
		if val, _ = r.Get(context.Background(), key).Bytes(); val != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if val == nil {
		t.Fatalf("server %d stored no entry %s in Redis", onA, key)
	}
	if bytes.Contains(val, master) || bytes.Contains(val, master[:16]) {
		t.Fatal("the Redis entry holds the master secret in clear")
	}
	second, onB := handshake()
	if onB == onA {
		t.Fatalf("the proxy sent both connections to server %d", onA)
	}
	if !second.DidResume || !bytes.Equal(second.SessionID, first.SessionID) {
		t.Fatalf("server %d did not resume server %d's session (%+v / %+v)", onB, onA,
			servers[0].cache.Stats(), servers[1].cache.Stats())
	}
	t.Logf("session %x made on server %d resumed on server %d; Redis value %d bytes, sealed", first.SessionID[:4], onA, onB, len(val))

	// Redis stops: every handshake still completes, in full.
	srv.Stop()
	for i := 0; i < 6; i++ {
		st, _ := handshake()
		if st.DidResume {
			t.Fatal("resumed with Redis stopped (the servers have no other cache)")
		}
	}
	errs := servers[0].cache.Stats().Errors + servers[1].cache.Stats().Errors
	if errs == 0 {
		t.Fatal("no cache error counted with Redis stopped")
	}
	// Redis is back (empty, as after a restart): resumption returns, across
	// servers, without touching the servers.
	srv.Restart()
	resumedAcross := false
	creator := -1 // the server that made the client's current session
	for i := 0; i < 100 && !resumedAcross; i++ {
		st, on := handshake()
		if !st.DidResume {
			creator = on
		}
		resumedAcross = st.DidResume && creator >= 0 && on != creator
		time.Sleep(20 * time.Millisecond)
	}
	if !resumedAcross {
		t.Fatalf("resumption did not return after Redis restarted: %+v / %+v", servers[0].cache.Stats(), servers[1].cache.Stats())
	}
	logMu.Lock()
	defer logMu.Unlock()
	t.Logf("cache stats A %+v, B %+v; log:\n%s", servers[0].cache.Stats(), servers[1].cache.Stats(), joinLines(logs))
	// Each server logged the outage once and the recovery once.
	if len(logs) != 4 {
		t.Fatalf("want 4 log lines (outage and recovery, per server), got %d", len(logs))
	}
}

func joinLines(l []string) string {
	var b bytes.Buffer
	for _, s := range l {
		b.WriteString("  " + s + "\n")
	}
	return b.String()
}

// timedCache records the latency of every Get and Put of the cache it wraps.
type timedCache struct {
	ssl.SessionCache
	mu       sync.Mutex
	get, put []time.Duration
}

func (c *timedCache) Get(id string) (*ssl.SessionState, bool) {
	start := time.Now()
	s, ok := c.SessionCache.Get(id)
	d := time.Since(start)
	c.mu.Lock()
	c.get = append(c.get, d)
	c.mu.Unlock()
	return s, ok
}

func (c *timedCache) Put(id string, s *ssl.SessionState) {
	start := time.Now()
	c.SessionCache.Put(id, s)
	d := time.Since(start)
	c.mu.Lock()
	c.put = append(c.put, d)
	c.mu.Unlock()
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(p*float64(len(s)-1))]
}

// BenchmarkRedisResumption: resumed handshakes per second with the server
// cache in memory, on Redis with the fleet key in software, and on Redis
// with the fleet key on the server's SoftHSM token; the ratio to memory;
// and the latency percentiles of the cache's Get (the call a resumption
// waits for). The server key is on SoftHSM, but a resumption never uses it.
//
//	go test ./integration/ -run '^$' -bench BenchmarkRedisResumption -benchtime 2000x
func BenchmarkRedisResumption(b *testing.B) {
	srv := redistest.Start(b)
	ca := newTestCA(b)
	cert, tok, be := tokenRSA(b, ca, "localhost", x509.ExtKeyUsageServerAuth, 2)
	fleetKey := bytes.Repeat([]byte{0x42}, 32)
	ref, err := tok.ImportAESKey("session-key", nil, fleetKey)
	if err != nil {
		b.Fatal(err)
	}
	hwSealer, err := be.FindSealer(ref.Spec())
	if err != nil {
		b.Fatal(err)
	}
	swSealer, _ := token.NewAESGCMSealer(fleetKey)
	// redisCache makes a cache on srv whose entries sealer seals.
	redisCache := func(sealer token.Sealer) func() ssl.SessionCache {
		return func() ssl.SessionCache {
			c, err := rediscache.New(srv.URL(), rediscache.Options{Sealer: sealer, Logf: b.Logf})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { c.Close() })
			return c
		}
	}
	caches := []struct {
		name string
		make func() ssl.SessionCache
	}{
		{"memory", func() ssl.SessionCache { return ssl.NewLRUSessionCache(0, time.Hour) }},
		{"redis-key-in-software", redisCache(swSealer)},
		{"redis-key-on-token", redisCache(hwSealer)},
	}
	var memRate float64
	for _, cs := range caches {
		b.Run(cs.name, func(b *testing.B) {
			cache := &timedCache{SessionCache: cs.make()}
			sc := &ssl.Config{Certificates: []ssl.Certificate{cert}, CipherSuites: []uint16{ssl.SSL_RSA_WITH_RC4_128_SHA}, SessionCache: cache}
			ln := serveSSL(b, sc, func(c net.Conn) { io.Copy(io.Discard, c) })
			cc := &ssl.Config{RootCAs: ca.Roots, ServerName: "localhost", CipherSuites: sc.CipherSuites,
				ClientSessionCache: ssl.NewLRUClientSessionCache(4)}
			dial := func() (bool, error) {
				c, err := ssl.Dial("tcp", ln.Addr().String(), cc)
				if err != nil {
					return false, err
				}
				defer c.Close()
				return c.ConnectionState().DidResume, nil
			}
			for resumed := false; !resumed; { // one full handshake to make the session
				if resumed, err = dial(); err != nil {
					b.Fatal(err)
				}
			}
			cache.mu.Lock()
			cache.get, cache.put = nil, nil
			cache.mu.Unlock()
			resumed := 0
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				r, err := dial()
				if err != nil {
					b.Fatal(err)
				}
				if r {
					resumed++
				}
			}
			elapsed := time.Since(start)
			b.StopTimer()
			rate := float64(resumed) / elapsed.Seconds()
			b.ReportMetric(rate, "resumed/s")
			b.ReportMetric(float64(resumed)/float64(b.N), "resumed-fraction")
			cache.mu.Lock()
			p50, p99 := percentile(cache.get, 0.50), percentile(cache.get, 0.99)
			cache.mu.Unlock()
			b.ReportMetric(p50.Seconds()*1e6, "get-p50-µs")
			b.ReportMetric(p99.Seconds()*1e6, "get-p99-µs")
			if cs.name == "memory" {
				memRate = rate
			} else if memRate > 0 {
				b.ReportMetric(rate/memRate, "ratio-to-memory")
			}
		})
	}
}

// TestRedisCLIFleet: the same through `tokenssl server -session-cache
// redis://… -session-key …`: server A seals with the fleet key on its
// token (a pkcs11: URI), server B with the same key from a key file; a
// session made on one resumes on the other (default 5 ms cache timeout).
func TestRedisCLIFleet(t *testing.T) {
	srv := redistest.Start(t)
	ca := newTestCA(t)
	env := softhsmtest.Env(t)
	dir := t.TempDir()
	fleetKey := bytes.Repeat([]byte{0x42}, 32)
	keyFile := filepath.Join(dir, "session.key")
	os.WriteFile(keyFile, []byte(hex.EncodeToString(fleetKey)+"\n"), 0o600)
	childEnv := []string{"SOFTHSM2_CONF=" + env.ConfigPath}
	var addrs []string
	var stderrs []func() string
	for i, sessionKey := range []string{"token", "file"} {
		_, tok, _ := tokenRSA(t, ca, "localhost", x509.ExtKeyUsageServerAuth, 2)
		pinFile := filepath.Join(dir, fmt.Sprintf("pin%d", i))
		os.WriteFile(pinFile, []byte(tok.UserPIN()+"\n"), 0o600)
		label := tok.Config().TokenLabel
		q := fmt.Sprintf("?module-path=%s&pin-source=file:%s", env.ModulePath, pinFile)
		args := []string{"-key", fmt.Sprintf("pkcs11:token=%s;object=localhost;type=private%s", label, q),
			"-session-cache", srv.URL() + "?prefix=cli:"}
		if sessionKey == "token" {
			if _, err := tok.ImportAESKey("fleet-session", nil, fleetKey); err != nil {
				t.Fatal(err)
			}
			args = append(args, "-session-key", fmt.Sprintf("pkcs11:token=%s;object=fleet-session;type=secret-key%s", label, q))
		} else {
			args = append(args, "-session-key", keyFile)
		}
		addr, stderr := cliServer(t, childEnv, args...)
		addrs, stderrs = append(addrs, addr), append(stderrs, stderr)
	}
	proxy := newRoundRobin(t, addrs...)
	cc := &ssl.Config{RootCAs: ca.Roots, ServerName: "localhost", CipherSuites: []uint16{ssl.SSL_RSA_WITH_RC4_128_SHA},
		ClientSessionCache: ssl.NewLRUClientSessionCache(4)}
	dial := func(addr string, cc *ssl.Config) (ssl.ConnectionState, error) {
		c, err := ssl.Dial("tcp", addr, cc)
		if err != nil {
			return ssl.ConnectionState{}, fmt.Errorf("handshake: %v\nA:\n%s\nB:\n%s", err, stderrs[0](), stderrs[1]())
		}
		defer c.Close()
		c.Write([]byte("x\n"))
		io.ReadFull(c, make([]byte, 2)) // the echo: the server's handshake is over
		return c.ConnectionState(), nil
	}
	// Through the proxy: a session made on one server resumes on the other.
	// A cache call over 5 ms on this shared machine is a miss, so a few
	// tries are allowed.
	creator, across := -1, false
	for i := 0; i < 40 && !across; i++ {
		st, err := dial(proxy.ln.Addr().String(), cc)
		if err != nil {
			t.Fatal(err)
		}
		on := proxy.last()
		if !st.DidResume {
			creator = on
		}
		across = st.DidResume && on != creator
	}
	if !across {
		t.Fatalf("no cross-server resumption through the proxy\nA:\n%s\nB:\n%s", stderrs[0](), stderrs[1]())
	}
	// Both directions by name: sealed with the key file on B, opened on A's
	// token, and sealed on A's token, opened from the key file on B.
	for _, dir := range [][2]int{{1, 0}, {0, 1}} {
		ok := false
		for i := 0; i < 10 && !ok; i++ {
			one := cc.Clone()
			one.ClientSessionCache = &oneSession{} // offers the session whatever the address
			if st, err := dial(addrs[dir[0]], one); err != nil || st.DidResume {
				t.Fatalf("full handshake on server %d: %v", dir[0], err)
			}
			st, err := dial(addrs[dir[1]], one)
			if err != nil {
				t.Fatal(err)
			}
			ok = st.DidResume
		}
		if !ok {
			t.Fatalf("a session made on server %d did not resume on server %d", dir[0], dir[1])
		}
	}
	r := redis.NewClient(&redis.Options{Addr: srv.Addr, Protocol: 2})
	defer r.Close()
	keys, _ := r.Keys(context.Background(), "cli:*").Result()
	if len(keys) == 0 {
		t.Fatal("no entry under the prefix given in the URL")
	}
}
