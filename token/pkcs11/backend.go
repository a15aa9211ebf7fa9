package pkcs11

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	p11 "github.com/miekg/pkcs11"
)

// Config selects a token and says how to use it.
type Config struct {
	// ModulePath is the PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so.
	ModulePath string

	// Token selection. Every selector given must match; with none, the
	// module must hold exactly one initialised token.
	SlotID      *uint  // the slot ID as C_GetSlotList reports it
	TokenLabel  string // CKA token label (trailing blanks ignored)
	TokenSerial string // token serial number

	// PIN for CKU_USER. Nil: no login (only public objects are visible).
	// It is resolved once, at Open; reconnects reuse the PIN held in memory.
	PIN PINSource

	// PINFinalTry lets C_Login spend a token's final PIN try (the token
	// reports CKF_USER_PIN_FINAL_TRY). Off, such a login is refused with
	// ErrPINFinalTry before C_Login.
	PINFinalTry bool

	// PoolSize bounds the PKCS#11 sessions (and so concurrent operations)
	// of this Backend; callers beyond it wait. Default: GOMAXPROCS, at
	// least 2, at most what the token allows.
	PoolSize int

	// WaitTimeout bounds the wait for a session in calls that take no
	// context (crypto.Signer, crypto.Decrypter, DHAgreer). 0: no bound.
	WaitTimeout time.Duration

	// ReconnectInterval is the least time between two C_Finalize/
	// C_Initialize cycles this Backend asks for while its token is gone.
	// Default 1s. A re-initialisation costs every Backend on the module its
	// sessions, which is why it is throttled.
	ReconnectInterval time.Duration
}

// Backend is an open, logged-in token: a bounded pool of sessions, the PIN
// it logged in with (for reconnecting) and the key objects found on it.
// It is safe for concurrent use.
type Backend struct {
	m        *Module
	label    string // token label as found
	serial   string
	tokenKey string
	pin      secret // nil: no login
	finalTry bool   // Config.PINFinalTry

	poolSize  int
	wait      time.Duration
	reconnect time.Duration
	sem       chan struct{}

	mu     sync.Mutex // guards the fields below
	slot   uint
	gen    uint64 // module generation of our handles
	epoch  uint64 // bumped by every resync; stale sessions are closed, not reused
	idle   []session
	broken error // set by a failure that means the token went away
	fatal  error // re-login failed for good (PIN changed or locked): no more tries
	closed bool
	keys   map[string]*objectRef // by class, label and id

	logins, opened, reconnects atomic.Int64
	waiting                    atomic.Int64 // operations blocked in acquire (PoolStats)
}

type session struct {
	h          p11.SessionHandle
	gen, epoch uint64
}

// objectRef remembers how to find a token object again after a reconnect.
type objectRef struct {
	template []*p11.Attribute
	handle   atomic.Uint64
}

// Stats are counters for operators and tests.
type Stats struct {
	PoolSize       int   // session bound
	IdleSessions   int   // sessions open and idle now
	SessionsOpened int64 // C_OpenSession calls by this Backend
	Logins         int64 // C_Login calls by this Backend (CKR_USER_ALREADY_LOGGED_IN included)
	Reconnects     int64 // times this Backend re-established sessions, login and objects
	ModuleReinits  int64 // C_Finalize/C_Initialize cycles of the module, process-wide
}

// Open loads the module (once per process), finds the token, resolves the
// PIN and logs in (once per process and token). A wrong PIN costs exactly
// one C_Login and yields ErrPINIncorrect.
func Open(cfg Config) (*Backend, error) {
	if cfg.ModulePath == "" {
		return nil, &Error{Op: "open", Detail: "no PKCS#11 module path given"}
	}
	m, err := OpenModule(cfg.ModulePath)
	if err != nil {
		return nil, err
	}
	b, err := open(m, cfg)
	if err != nil {
		m.Close()
		return nil, err
	}
	return b, nil
}

func open(m *Module, cfg Config) (*Backend, error) {
	sel := tokenSel{slot: cfg.SlotID, label: cfg.TokenLabel, serial: cfg.TokenSerial}
	m.mu.RLock()
	slot, ti, err := findToken(m, sel)
	m.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	if ti.Flags&p11.CKF_USER_PIN_LOCKED != 0 && cfg.PIN != nil {
		return nil, &Error{Op: "open", Token: ti.Label, Kind: ErrPINLocked, Detail: "token reports CKF_USER_PIN_LOCKED; C_Login not attempted"}
	}
	b := &Backend{
		m: m, label: ti.Label, serial: ti.SerialNumber,
		tokenKey:  ti.SerialNumber + "\x00" + ti.Label,
		finalTry:  cfg.PINFinalTry,
		wait:      cfg.WaitTimeout,
		reconnect: cfg.ReconnectInterval,
	}
	if b.reconnect <= 0 {
		b.reconnect = time.Second
	}
	b.poolSize = cfg.PoolSize
	if b.poolSize <= 0 {
		b.poolSize = max(runtime.GOMAXPROCS(0), 2)
	}
	if n := ti.MaxRwSessionCount; n != p11.CK_EFFECTIVELY_INFINITE && n != p11.CK_UNAVAILABLE_INFORMATION && n > 0 && uint(b.poolSize) > n {
		b.poolSize = int(n)
	}
	b.sem = make(chan struct{}, b.poolSize)

	if cfg.PIN != nil {
		// Resolved outside the module lock: a prompt may take a while.
		pin, err := cfg.PIN.PIN(ti.Label)
		if err != nil {
			return nil, &Error{Op: "read PIN", Token: ti.Label, Detail: err.Error()}
		}
		b.pin = newSecret(pin)
		if err := m.checkPIN(b.tokenKey, b.label, pin); err != nil {
			return nil, err
		}
	}

	m.mu.RLock()
	defer m.mu.RUnlock()
	if !m.initialized {
		return nil, unavailable("open", b.label, 0, "module not initialised")
	}
	// The slot may have moved if the module was re-initialised meanwhile.
	if slot, _, err = findToken(m, b.resel()); err != nil {
		return nil, err
	}
	sh, err := m.ctx.OpenSession(slot, p11.CKF_SERIAL_SESSION|p11.CKF_RW_SESSION)
	if err != nil {
		return nil, &Error{Op: "C_OpenSession", Token: b.label, Code: rv(err)}
	}
	b.opened.Add(1)
	if b.pin != nil {
		called, err := m.login(sh, b.tokenKey, b.label, b.pin(), false, b.finalTry)
		if called {
			b.logins.Add(1)
		}
		if err != nil {
			_ = m.ctx.CloseSession(sh)
			return nil, err
		}
		m.holdLogin(b.tokenKey)
	}
	b.slot, b.gen = slot, m.gen
	b.idle = []session{{h: sh, gen: m.gen}}
	return b, nil
}

// resel is how the token is found again after a reconnect: by serial and
// label, never by slot ID (SoftHSM renumbers slots on C_Initialize).
func (b *Backend) resel() tokenSel {
	if b.serial == "" && b.label == "" {
		s := b.slot
		return tokenSel{slot: &s}
	}
	return tokenSel{label: b.label, serial: b.serial}
}

// secret holds a PIN inside a closure: fmt prints a func as an address
// whatever the verb and nesting, while a string field (or a pointer to
// one) shows up in %+v or a %s of the enclosing struct.
type secret func() string

func newSecret(s string) secret { return func() string { return s } }

// String describes the Backend without secrets.
func (b *Backend) String() string {
	return fmt.Sprintf("pkcs11.Backend{token %q, serial %s, module %s, pool %d}", b.label, b.serial, b.m.path, b.poolSize)
}

// GoString is String: the default would print the PIN's holder.
func (b *Backend) GoString() string { return b.String() }

// Label returns the token label.
func (b *Backend) Label() string { return b.label }

// Serial returns the token serial number.
func (b *Backend) Serial() string { return b.serial }

// Module returns the shared module.
func (b *Backend) Module() *Module { return b.m }

// Stats returns counters.
func (b *Backend) Stats() Stats {
	b.mu.Lock()
	idle := len(b.idle)
	b.mu.Unlock()
	return Stats{
		PoolSize: b.poolSize, IdleSessions: idle,
		SessionsOpened: b.opened.Load(), Logins: b.logins.Load(), Reconnects: b.reconnects.Load(),
		ModuleReinits: b.m.reinits.Load(),
	}
}

// Close waits for operations in flight, closes the sessions and releases
// the module. Keys found on the Backend stop working.
func (b *Backend) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.mu.Unlock()
	// Take every pool slot: operations in flight finish first.
	for i := 0; i < b.poolSize; i++ {
		b.sem <- struct{}{}
	}
	b.m.mu.RLock()
	b.mu.Lock()
	if b.m.initialized && b.gen == b.m.gen {
		for _, s := range b.idle {
			_ = b.m.ctx.CloseSession(s.h)
		}
	}
	b.idle = nil
	b.mu.Unlock()
	b.m.mu.RUnlock()
	// Give the slots back: callers still waiting get one and then ErrClosed.
	for i := 0; i < b.poolSize; i++ {
		<-b.sem
	}
	if b.pin != nil {
		b.m.releaseLogin(b.tokenKey)
	}
	return b.m.Close()
}

func (b *Backend) acquire(ctx context.Context) error {
	select {
	case b.sem <- struct{}{}:
		return nil
	default:
	}
	b.waiting.Add(1)
	defer b.waiting.Add(-1)
	select {
	case b.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return &Error{Op: "wait for session", Token: b.label, Detail: ctx.Err().Error()}
	}
}

// opCtx is the context for calls without one (crypto.Signer & co).
func (b *Backend) opCtx() (context.Context, context.CancelFunc) {
	if b.wait > 0 {
		return context.WithTimeout(context.Background(), b.wait)
	}
	return context.Background(), func() {}
}

// run runs fn as op on a pooled session, waiting for one no longer than
// the Backend allows (see opCtx).
func (b *Backend) run(op string, fn func(c *p11.Ctx, sh p11.SessionHandle) error) error {
	ctx, cancel := b.opCtx()
	defer cancel()
	return b.do(ctx, op, probeGeneral, fn)
}

// runFor is run for an fn that makes a value: the result, a signature,
// a ciphertext.
func runFor[T any](b *Backend, op string, fn func(c *p11.Ctx, sh p11.SessionHandle) (T, error)) (T, error) {
	var v T
	err := b.run(op, func(c *p11.Ctx, sh p11.SessionHandle) error {
		var err error
		v, err = fn(c, sh)
		return err
	})
	return v, err
}

// needReinit tells do that only a module re-initialisation can help.
type needReinit struct {
	gen   uint64
	cause error
}

func (e *needReinit) Error() string { return e.cause.Error() }

// causeDetail renders why a reconnect failed without repeating the token
// label and kind that the outer error states.
func causeDetail(err error) string {
	var e *Error
	if !errors.As(err, &e) {
		return trimPrefix(err.Error())
	}
	var parts []string
	if e.Op != "" {
		parts = append(parts, e.Op)
	}
	if e.Kind != nil && e.Kind != ErrTokenUnavailable {
		parts = append(parts, trimPrefix(e.Kind.Error()))
	}
	if e.Detail != "" {
		parts = append(parts, e.Detail)
	}
	return strings.Join(parts, ": ")
}

// opFlags tune failure classification per operation.
type opFlags int

const (
	// probeGeneral: on an ambiguous code (CKR_GENERAL_ERROR,
	// CKR_DEVICE_ERROR, see classify) ask C_GetTokenInfo whether the token
	// is still there (SoftHSM's only sign of a deleted store). Not used for
	// decryption, where those codes may depend on the ciphertext and an
	// extra call would only add a timing difference.
	probeGeneral opFlags = 1 << iota
)

// do runs fn on a pooled, logged-in session. It waits for a free session
// (honouring ctx), reconnects first if the token went away earlier, and
// classifies fn's error: a vanished token marks the Backend for reconnect
// and is returned as ErrTokenUnavailable; other errors are returned as is.
func (b *Backend) do(ctx context.Context, op string, flags opFlags, fn func(c *p11.Ctx, sh p11.SessionHandle) error) error {
	if err := b.acquire(ctx); err != nil {
		return err
	}
	defer func() { <-b.sem }()
	for attempt := 0; ; attempt++ {
		m := b.m
		m.mu.RLock()
		s, err := b.take()
		if err != nil {
			m.mu.RUnlock()
			var nr *needReinit
			if errors.As(err, &nr) {
				if attempt == 0 {
					if rerr := m.reinit(nr.gen, b.reconnect); rerr == nil {
						continue
					}
				}
				return unavailable(op, b.label, rv(nr.cause), causeDetail(nr.cause))
			}
			return err
		}
		err = fn(m.ctx, s.h)
		err = b.put(s, op, flags, err)
		m.mu.RUnlock()
		return err
	}
}

// take returns an idle session or opens one, reconnecting first if needed.
// Caller holds b.m.mu for reading.
func (b *Backend) take() (session, error) {
	m := b.m
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return session{}, ErrClosed
	}
	if b.fatal != nil {
		return session{}, b.fatal
	}
	if !m.initialized {
		return session{}, &needReinit{gen: m.gen, cause: &Error{Code: rv(m.initErr), Detail: "module not initialised"}}
	}
	if b.gen != m.gen || b.broken != nil {
		if err := b.resyncLocked(); err != nil {
			return session{}, err
		}
	}
	if n := len(b.idle); n > 0 {
		s := b.idle[n-1]
		b.idle = b.idle[:n-1]
		return s, nil
	}
	h, err := m.ctx.OpenSession(b.slot, p11.CKF_SERIAL_SESSION|p11.CKF_RW_SESSION)
	if err != nil {
		code := rv(err)
		if isGone(code) || classify(code) == classAmbiguous {
			b.broken = err
			return session{}, unavailable("C_OpenSession", b.label, code, "")
		}
		return session{}, &Error{Op: "C_OpenSession", Token: b.label, Code: code}
	}
	b.opened.Add(1)
	return session{h: h, gen: m.gen, epoch: b.epoch}, nil
}

// put returns s to the pool after fn ran and classifies fn's error.
// Caller holds b.m.mu for reading, so the generation cannot change here.
func (b *Backend) put(s session, op string, flags opFlags, err error) error {
	m := b.m
	code := rv(err)
	gone := isGone(code)
	if !gone && classify(code) == classAmbiguous && flags&probeGeneral != 0 {
		if _, perr := m.ctx.GetTokenInfo(b.slot); perr != nil {
			gone = true
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	current := s.gen == m.gen && s.epoch == b.epoch
	switch {
	case gone:
		if current {
			b.broken = err
		}
		if s.gen == m.gen {
			_ = m.ctx.CloseSession(s.h)
		}
		return unavailable(op, b.label, code, "")
	case b.closed || !current:
		// Same generation: the handle is ours to close. Older generation:
		// it died with C_Finalize and its number may belong to a new
		// session now, so it must not be touched.
		if s.gen == m.gen {
			_ = m.ctx.CloseSession(s.h)
		}
	case code == p11.CKR_OPERATION_ACTIVE:
		// A session left mid-operation is not reusable.
		_ = m.ctx.CloseSession(s.h)
	default:
		b.idle = append(b.idle, s)
	}
	return err
}

// resyncLocked re-establishes the Backend after the token went away or the
// module was re-initialised: fresh session, login with the PIN held in
// memory, key objects found again. Caller holds b.m.mu (read) and b.mu.
func (b *Backend) resyncLocked() error {
	m := b.m
	wasBroken := b.broken != nil
	if b.gen == m.gen {
		for _, s := range b.idle {
			_ = m.ctx.CloseSession(s.h)
		}
	}
	b.idle = nil
	b.epoch++
	slot, _, err := findToken(m, b.resel())
	if err != nil {
		if b.broken == nil {
			b.broken = err
		}
		return &needReinit{gen: m.gen, cause: err}
	}
	sh, err := m.ctx.OpenSession(slot, p11.CKF_SERIAL_SESSION|p11.CKF_RW_SESSION)
	if err != nil {
		return &needReinit{gen: m.gen, cause: &Error{Op: "C_OpenSession", Token: b.label, Code: rv(err)}}
	}
	b.opened.Add(1)
	if b.pin != nil {
		called, err := m.login(sh, b.tokenKey, b.label, b.pin(), wasBroken && b.gen == m.gen, b.finalTry)
		if called {
			b.logins.Add(1)
		}
		if err != nil {
			_ = m.ctx.CloseSession(sh)
			if errors.Is(err, ErrPINIncorrect) || errors.Is(err, ErrPINLocked) {
				// The PIN changed or got locked while the token was away:
				// never try it again.
				b.fatal = err
			}
			return err
		}
	}
	for _, ref := range b.keys {
		h, err := findOne(m.ctx, sh, ref.template)
		if err != nil {
			_ = m.ctx.CloseSession(sh)
			if errors.Is(err, ErrKeyNotFound) {
				return err
			}
			return &needReinit{gen: m.gen, cause: err}
		}
		ref.handle.Store(uint64(h))
	}
	b.slot, b.gen, b.broken = slot, m.gen, nil
	b.idle = append(b.idle, session{h: sh, gen: m.gen, epoch: b.epoch})
	b.reconnects.Add(1)
	return nil
}

// WithSession runs fn on a pooled, logged-in session of this token: the
// hook for mechanisms this package does not wrap (KEA, SKIPJACK). fn may
// create session objects (destroy them before returning) and use any
// mechanism, but must not close the session, log in or out, finalise the
// module or call back into this Backend. Errors are classified like the
// Backend's own: a vanished token comes back as ErrTokenUnavailable and the
// Backend reconnects on its next use.
func (b *Backend) WithSession(ctx context.Context, fn func(ctx *p11.Ctx, s p11.SessionHandle) error) error {
	return b.do(ctx, "session", probeGeneral, fn)
}

// tokenSel selects a token; every non-empty field must match.
type tokenSel struct {
	slot          *uint
	label, serial string
}

func (s tokenSel) String() string {
	var parts []string
	if s.label != "" {
		parts = append(parts, fmt.Sprintf("label %q", s.label))
	}
	if s.serial != "" {
		parts = append(parts, fmt.Sprintf("serial %q", s.serial))
	}
	if s.slot != nil {
		parts = append(parts, fmt.Sprintf("slot %d", *s.slot))
	}
	if len(parts) == 0 {
		return "any initialised token"
	}
	return strings.Join(parts, ", ")
}

// findToken scans the slots for the selected token. Unlike crypto11 it
// does not give up on the first slot whose C_GetTokenInfo fails (SoftHSM
// answers CKR_GENERAL_ERROR for a token whose store was deleted): that slot
// is skipped and named in the error if nothing matches. Caller holds m.mu.
func findToken(m *Module, sel tokenSel) (uint, p11.TokenInfo, error) {
	slots, err := m.ctx.GetSlotList(true)
	if err != nil {
		return 0, p11.TokenInfo{}, unavailable("C_GetSlotList", sel.label, rv(err), "")
	}
	var (
		matches []uint
		infos   []p11.TokenInfo
		present []string
		broken  []string
	)
	for _, s := range slots {
		ti, err := m.ctx.GetTokenInfo(s)
		if err != nil {
			broken = append(broken, fmt.Sprintf("slot %d (%s)", s, codeName(rv(err))))
			continue
		}
		if ti.Flags&p11.CKF_TOKEN_INITIALIZED == 0 {
			continue
		}
		present = append(present, fmt.Sprintf("%q (serial %s, slot %d)", ti.Label, ti.SerialNumber, s))
		if (sel.slot == nil || *sel.slot == s) &&
			(sel.label == "" || ti.Label == strings.TrimRight(sel.label, " ")) &&
			(sel.serial == "" || ti.SerialNumber == sel.serial) {
			matches = append(matches, s)
			infos = append(infos, ti)
		}
	}
	switch len(matches) {
	case 1:
		return matches[0], infos[0], nil
	case 0:
		sort.Strings(present)
		detail := fmt.Sprintf("no token with %s in %s; tokens present: ", sel, m.path)
		if len(present) == 0 {
			detail += "none"
		} else {
			detail += strings.Join(present, ", ")
		}
		if len(broken) > 0 {
			detail += "; unreadable: " + strings.Join(broken, ", ")
		}
		return 0, p11.TokenInfo{}, &Error{Op: "find token", Kind: ErrTokenNotFound, Detail: detail}
	}
	return 0, p11.TokenInfo{}, &Error{Op: "find token", Kind: ErrTokenNotFound,
		Detail: fmt.Sprintf("%d tokens match %s; select by serial or slot", len(matches), sel)}
}
