package ssl

import (
	"bytes"
	"container/list"
	"crypto/x509"
	"sync"
	"time"
)

// SessionState is what a side remembers of a completed handshake so that a
// later connection can resume it (§7.5: session identifier, peer
// certificate, cipher spec, master secret, is resumable).
//
// It keeps only what a resumed connection reports: the peer's leaf and,
// when the chain was verified, the verified chains. Certificates the peer
// sent that took no part in a verified chain authenticate nothing, so a
// resumed connection's PeerCertificates holds the leaf followed by the
// peer's certificates that appear in VerifiedChains (in the order sent),
// not every certificate of the original Certificate message. Without this
// a client padding its chain up to the Certificate caps made every cache
// entry cost half a megabyte.
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
	peer, chains := sessionCertificates(c.peerCertificates, c.verifiedChains)
	c.session = &SessionState{
		SessionID:        id,
		CipherSuite:      suite.id,
		MasterSecret:     master,
		PeerCertificates: peer,
		VerifiedChains:   chains,
		Created:          c.config.time(),
	}
	return c.session
}

// sessionCertificates trims a connection's peer certificates to what a
// session keeps (see SessionState) and gives each kept peer certificate its
// own copy of its DER: the parsed certificates of a connection are slices
// of the Certificate message they came in, and one of them held by the
// cache would keep the whole message alive. Certificates of the chains that
// are not the peer's (the roots, from the configured pool) are shared with
// the pool and kept as they are.
func sessionCertificates(peer []*x509.Certificate, chains [][]*x509.Certificate) ([]*x509.Certificate, [][]*x509.Certificate) {
	if len(peer) == 0 {
		return nil, nil
	}
	used := make(map[*x509.Certificate]bool)
	for _, ch := range chains {
		for _, c := range ch {
			used[c] = true
		}
	}
	copies := make(map[*x509.Certificate]*x509.Certificate)
	var kept []*x509.Certificate
	for i, c := range peer {
		if i > 0 && !used[c] {
			continue
		}
		cp, err := x509.ParseCertificate(bytes.Clone(c.Raw))
		if err != nil {
			cp = c // cannot happen: it parsed once already
		}
		copies[c] = cp
		kept = append(kept, cp)
	}
	var outChains [][]*x509.Certificate
	for _, ch := range chains {
		out := make([]*x509.Certificate, len(ch))
		for i, c := range ch {
			if cp, ok := copies[c]; ok {
				out[i] = cp
			} else {
				out[i] = c
			}
		}
		outChains = append(outChains, out)
	}
	return kept, outChains
}

// Accounting of a cached session's memory. The figures are upper bounds
// measured with Go 1.26 on amd64 (TestSessionCacheHeapBounded checks the
// heap against them): an entry's fixed cost (list element, map slot, key,
// the SessionState) and a parsed certificate's cost beyond its DER (its
// fields, names, public key and extensions are about the DER's size again,
// plus a fixed part).
const (
	sessionEntryOverhead = 512
	certFixedOverhead    = 2048
)

// size is the memory a cached s is accounted for: every distinct
// certificate it references is counted, those shared with a CertPool too,
// so the figure errs high.
func (s *SessionState) size() int64 {
	n := int64(sessionEntryOverhead + len(s.SessionID) + len(s.MasterSecret))
	seen := make(map[*x509.Certificate]bool)
	count := func(c *x509.Certificate) {
		if c == nil || seen[c] {
			return
		}
		seen[c] = true
		n += int64(certFixedOverhead + 2*len(c.Raw))
	}
	for _, c := range s.PeerCertificates {
		count(c)
	}
	for _, ch := range s.VerifiedChains {
		n += int64(24 + 8*len(ch))
		for _, c := range ch {
			count(c)
		}
	}
	return n
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

// DefaultSessionCacheSize bounds the number of sessions in the server's
// built-in cache, DefaultSessionCacheBytes their memory. A session without
// client certificates is accounted about 600 bytes, so the entry bound is
// what limits an ordinary server; the byte bound stops a client that
// authenticates with large certificates (each accounted up to ~66 KiB, the
// per-certificate cap being 32 KiB) from growing the cache to gigabytes.
const (
	DefaultSessionCacheSize  = 10000
	DefaultSessionCacheBytes = 64 << 20
)

type lruEntry struct {
	key   string
	state *SessionState
	size  int64
}

// LRUSessionCache is a bounded, expiring LRU cache. It serves as both a
// SessionCache and a ClientSessionCache. It is bounded in entries and in
// accounted bytes (SessionState memory, certificates included): whichever
// bound is reached first evicts the least recently used entries.
type LRUSessionCache struct {
	mu       sync.Mutex
	m        map[string]*list.Element
	q        *list.List // front = most recently used
	capacity int
	maxBytes int64
	bytes    int64
	lifetime time.Duration
	now      func() time.Time
}

// NewLRUSessionCache returns a cache holding at most capacity sessions and
// DefaultSessionCacheBytes of them, each for at most lifetime (0: no
// expiry).
func NewLRUSessionCache(capacity int, lifetime time.Duration) *LRUSessionCache {
	return NewLRUSessionCacheBytes(capacity, DefaultSessionCacheBytes, lifetime)
}

// NewLRUSessionCacheBytes is NewLRUSessionCache with a bound on the
// accounted bytes too (maxBytes < 1: DefaultSessionCacheBytes). A session
// larger than maxBytes on its own is not cached.
func NewLRUSessionCacheBytes(capacity int, maxBytes int64, lifetime time.Duration) *LRUSessionCache {
	if capacity < 1 {
		capacity = DefaultSessionCacheSize
	}
	if maxBytes < 1 {
		maxBytes = DefaultSessionCacheBytes
	}
	return &LRUSessionCache{m: make(map[string]*list.Element), q: list.New(), capacity: capacity,
		maxBytes: maxBytes, lifetime: lifetime, now: time.Now}
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
		c.removeLocked(e)
		return nil, false
	}
	c.q.MoveToFront(e)
	return st, true
}

// Put stores s under key, evicting least recently used entries until both
// bounds hold. A nil s deletes key.
func (c *LRUSessionCache) Put(key string, s *SessionState) {
	if s == nil {
		c.Delete(key)
		return
	}
	size := s.size() + int64(len(key))
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[key]; ok {
		c.removeLocked(e)
	}
	if size > c.maxBytes {
		return
	}
	for c.q.Len() > 0 && (c.q.Len() >= c.capacity || c.bytes+size > c.maxBytes) {
		c.removeLocked(c.q.Back())
	}
	c.m[key] = c.q.PushFront(&lruEntry{key: key, state: s, size: size})
	c.bytes += size
}

func (c *LRUSessionCache) removeLocked(e *list.Element) {
	le := e.Value.(*lruEntry)
	c.q.Remove(e)
	delete(c.m, le.key)
	c.bytes -= le.size
}

// Delete removes key.
func (c *LRUSessionCache) Delete(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[key]; ok {
		c.removeLocked(e)
	}
}

// Len reports the number of cached sessions.
func (c *LRUSessionCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.q.Len()
}

// Bytes reports the accounted bytes of the cached sessions; it never
// exceeds the cache's byte bound.
func (c *LRUSessionCache) Bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}
