package ssl

import (
	"container/list"
	"crypto/x509"
	"sync"
	"time"
)

// SessionState is what a side remembers of a completed handshake so that a
// later connection can resume it (§7.5: session identifier, peer
// certificate, cipher spec, master secret, is resumable).
type SessionState struct {
	SessionID        []byte
	CipherSuite      uint16
	MasterSecret     []byte
	PeerCertificates []*x509.Certificate
	VerifiedChains   [][]*x509.Certificate
	Created          time.Time
}

// newSession records the session a full handshake established; the caller
// decides whether it is cached (only once the handshake completed).
func (c *Conn) newSession(id []byte, suite *cipherSuite, master []byte) *SessionState {
	c.session = &SessionState{
		SessionID:        id,
		CipherSuite:      suite.id,
		MasterSecret:     master,
		PeerCertificates: c.peerCertificates,
		VerifiedChains:   c.verifiedChains,
		Created:          c.config.time(),
	}
	return c.session
}

// SessionCache is the server's store of resumable sessions, keyed by
// session ID. Implementations must be safe for concurrent use. Plug in
// another store (shared memory, a database) by implementing it.
type SessionCache interface {
	Get(sessionID string) (*SessionState, bool)
	Put(sessionID string, s *SessionState)
	Delete(sessionID string)
}

// ClientSessionCache is the client's store, keyed by server address (or
// ServerName). Put with a nil state deletes.
type ClientSessionCache interface {
	Get(key string) (*SessionState, bool)
	Put(key string, s *SessionState)
}

// DefaultSessionCacheSize bounds the server's built-in cache.
const DefaultSessionCacheSize = 10000

type lruEntry struct {
	key   string
	state *SessionState
}

// LRUSessionCache is a bounded, expiring LRU cache. It serves as both a
// SessionCache and a ClientSessionCache.
type LRUSessionCache struct {
	mu       sync.Mutex
	m        map[string]*list.Element
	q        *list.List // front = most recently used
	capacity int
	lifetime time.Duration
	now      func() time.Time
}

// NewLRUSessionCache returns a cache holding at most capacity sessions, each
// for at most lifetime (0: no expiry).
func NewLRUSessionCache(capacity int, lifetime time.Duration) *LRUSessionCache {
	if capacity < 1 {
		capacity = DefaultSessionCacheSize
	}
	return &LRUSessionCache{m: make(map[string]*list.Element), q: list.New(), capacity: capacity, lifetime: lifetime, now: time.Now}
}

// NewLRUClientSessionCache returns a client cache of the given capacity.
func NewLRUClientSessionCache(capacity int) *LRUSessionCache {
	return NewLRUSessionCache(capacity, 24*time.Hour)
}

// Get returns an unexpired session and marks it recently used.
func (c *LRUSessionCache) Get(key string) (*SessionState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok {
		return nil, false
	}
	st := e.Value.(*lruEntry).state
	if c.lifetime > 0 && c.now().Sub(st.Created) > c.lifetime {
		c.q.Remove(e)
		delete(c.m, key)
		return nil, false
	}
	c.q.MoveToFront(e)
	return st, true
}

// Put stores s under key, evicting the least recently used entry when full.
// A nil s deletes key.
func (c *LRUSessionCache) Put(key string, s *SessionState) {
	if s == nil {
		c.Delete(key)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[key]; ok {
		e.Value.(*lruEntry).state = s
		c.q.MoveToFront(e)
		return
	}
	if c.q.Len() >= c.capacity {
		oldest := c.q.Back()
		c.q.Remove(oldest)
		delete(c.m, oldest.Value.(*lruEntry).key)
	}
	c.m[key] = c.q.PushFront(&lruEntry{key: key, state: s})
}

// Delete removes key.
func (c *LRUSessionCache) Delete(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[key]; ok {
		c.q.Remove(e)
		delete(c.m, key)
	}
}

// Len reports the number of cached sessions.
func (c *LRUSessionCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.q.Len()
}
