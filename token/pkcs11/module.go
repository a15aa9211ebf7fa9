package pkcs11

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	p11 "github.com/miekg/pkcs11"
)

// Module is one PKCS#11 library loaded into this process. There is at most
// one Module per library path: every Backend, the softhsm provisioner and
// raw callers share it, so the library is loaded once, C_Initialize'd once
// and each token is logged in to once (PKCS#11 login state is per
// application and token, not per session).
//
// All calls into the library run under a read lock; C_Finalize/C_Initialize
// (reconnecting after a token disappeared) take the write lock, so they
// never race an operation in flight, and bump the generation so every
// Backend knows its session and object handles died with the old one.
type Module struct {
	path string
	ctx  *p11.Ctx

	mu          sync.RWMutex // R: any call into the library; W: (re)initialisation
	initialized bool
	owner       bool      // our C_Initialize succeeded (not CKR_CRYPTOKI_ALREADY_INITIALIZED)
	gen         uint64    // bumped by every successful C_Initialize
	lastReinit  time.Time // last C_Finalize/C_Initialize attempt, for throttling
	initErr     error

	refs int // guarded by registry.Mutex

	loginMu sync.Mutex
	logins  map[string]*tokenLogin // by token key (serial, or label)
	badPINs map[[32]byte]bool      // hash(token key, PIN) of PINs a token rejected

	loginCalls atomic.Int64
	reinits    atomic.Int64
}

// tokenLogin is the process-wide login state of one token.
type tokenLogin struct {
	pin      secret // the PIN that logged in; compared, never printed
	gen      uint64 // module generation of the login; 0: not logged in
	verified bool   // false if the module answered USER_ALREADY_LOGGED_IN (PIN unchecked)
	refs     int    // Backends holding this login
}

var registry = struct {
	sync.Mutex
	m map[string]*Module
}{m: map[string]*Module{}}

// OpenModule loads (once per process) and initialises the PKCS#11 library
// at path and returns a reference to it; Close releases the reference.
//
// If something else in the process (crypto11, for instance) has already
// initialised the library, C_Initialize answers
// CKR_CRYPTOKI_ALREADY_INITIALIZED and the Module joins it as a guest: it
// never finalises a library it did not initialise.
func OpenModule(path string) (*Module, error) {
	if path == "" {
		return nil, &Error{Op: "load module", Detail: "no module path given"}
	}
	key := registryKey(path)
	registry.Lock()
	defer registry.Unlock()
	m := registry.m[key]
	if m == nil {
		if _, err := os.Stat(key); err != nil {
			return nil, &Error{Op: "load module " + path, Detail: err.Error()}
		}
		ctx := p11.New(key)
		if ctx == nil {
			return nil, &Error{Op: "load module " + path, Detail: "dlopen failed or no C_GetFunctionList"}
		}
		// The library stays loaded for the life of the process: dlclose of
		// a PKCS#11 module linked against OpenSSL 3 (SoftHSM) and a later
		// dlopen is a known source of crashes, and a load is cheap to keep.
		m = &Module{path: key, ctx: ctx, logins: map[string]*tokenLogin{}, badPINs: map[[32]byte]bool{}}
		registry.m[key] = m
	}
	if m.refs == 0 {
		m.mu.Lock()
		err := m.initLocked()
		m.mu.Unlock()
		if err != nil {
			return nil, &Error{Op: "C_Initialize", Token: path, Code: rv(err)}
		}
	}
	m.refs++
	return m, nil
}

// initLocked calls C_Initialize. Caller holds m.mu for writing.
func (m *Module) initLocked() error {
	err := m.ctx.Initialize()
	switch rv(err) {
	case 0:
		m.owner = true
	case p11.CKR_CRYPTOKI_ALREADY_INITIALIZED:
		// Shared with another user of the library in this process.
		m.owner = false
	default:
		m.initialized = false
		m.initErr = err
		return err
	}
	m.initialized = true
	m.initErr = nil
	m.gen++
	return nil
}

// Path returns the resolved library path.
func (m *Module) Path() string { return m.path }

// Close releases a reference from OpenModule. The last reference finalises
// the library (if this package initialised it), logging every token out.
func (m *Module) Close() error {
	registry.Lock()
	defer registry.Unlock()
	if m.refs <= 0 {
		return errors.New("pkcs11: module closed too often")
	}
	m.refs--
	if m.refs > 0 {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.initialized && m.owner {
		_ = m.ctx.Finalize()
	}
	m.initialized = false
	m.loginMu.Lock()
	m.logins = map[string]*tokenLogin{}
	m.loginMu.Unlock()
	return nil
}

// Do runs fn with the raw miekg/pkcs11 context under the module's read
// lock. fn must not call C_Initialize/C_Finalize, must not log tokens in or
// out, and must not call back into a Backend (the lock is not reentrant
// once a re-initialisation is waiting). Use Backend.WithSession for work on
// a token.
func (m *Module) Do(fn func(ctx *p11.Ctx) error) error {
	m.mu.RLock()
	if !m.initialized {
		m.mu.RUnlock()
		if err := m.reinit(m.generation(), time.Second); err != nil {
			return err
		}
		m.mu.RLock()
	}
	defer m.mu.RUnlock()
	if !m.initialized {
		return &Error{Op: "module", Token: m.path, Kind: ErrTokenUnavailable, Detail: "module not initialised"}
	}
	return fn(m.ctx)
}

// IsModuleOpen reports whether the library at path is currently
// initialised by this package in this process (some reference is open).
// softhsm uses it to refuse switching SOFTHSM2_CONF under a live module.
func IsModuleOpen(path string) bool {
	registry.Lock()
	defer registry.Unlock()
	m := registry.m[registryKey(path)]
	return m != nil && m.refs > 0
}

// registryKey names a library by its absolute, symlink-free path (as far
// as it resolves), so that two spellings of one file share one Module.
func registryKey(path string) string {
	key := path
	if abs, err := filepath.Abs(path); err == nil {
		key = abs
		if real, err := filepath.EvalSymlinks(abs); err == nil {
			key = real
		}
	}
	return key
}

func (m *Module) generation() uint64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.gen
}

var errReinitThrottled = errors.New("re-initialisation throttled")

// reinit runs C_Finalize + C_Initialize, the only way SoftHSM (and many
// network HSM clients) notice a token store that came back. It is a no-op
// if someone else already re-initialised since observedGen, and throttled
// to one attempt per minInterval because it costs every other Backend on
// this module its sessions (they reconnect transparently).
func (m *Module) reinit(observedGen uint64, minInterval time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.initialized && m.gen != observedGen {
		return nil
	}
	if !m.lastReinit.IsZero() && time.Since(m.lastReinit) < minInterval {
		return errReinitThrottled
	}
	m.lastReinit = time.Now()
	m.reinits.Add(1)
	if m.initialized {
		_ = m.ctx.Finalize()
		m.initialized = false
	}
	if err := m.initLocked(); err != nil {
		return &Error{Op: "C_Initialize", Token: m.path, Kind: ErrTokenUnavailable, Code: rv(err)}
	}
	// The fresh library instance has nobody logged in; C_Initialize also
	// re-reads a reappeared token store. Ours is the owner now either way.
	m.owner = true
	return nil
}

func pinHash(tokenKey, pin string) [32]byte {
	h := sha256.New()
	h.Write([]byte("tokenssl pin\x00"))
	h.Write([]byte(tokenKey))
	h.Write([]byte{0})
	h.Write([]byte(pin))
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

// checkPIN rejects, without calling C_Login, a PIN that cannot be right:
// one that differs from the PIN this process is logged in with, or one the
// token already rejected in this process. Smartcards count every wrong try.
func (m *Module) checkPIN(tokenKey, label, pin string) error {
	m.loginMu.Lock()
	defer m.loginMu.Unlock()
	return m.checkPINLocked(tokenKey, label, pin)
}

func (m *Module) checkPINLocked(tokenKey, label, pin string) error {
	if tl := m.logins[tokenKey]; tl != nil && tl.pin != nil &&
		subtle.ConstantTimeCompare([]byte(tl.pin()), []byte(pin)) != 1 {
		return &Error{Op: "login", Token: label, Kind: ErrPINIncorrect,
			Detail: "differs from the PIN this process is already logged in with; C_Login not attempted"}
	}
	if m.badPINs[pinHash(tokenKey, pin)] {
		return &Error{Op: "login", Token: label, Kind: ErrPINIncorrect,
			Detail: "this PIN was already rejected by the token; C_Login not retried"}
	}
	return nil
}

// login logs the token in on session sh unless this process already did so
// in the current module generation. force makes it call C_Login anyway
// (the login may have been lost without a re-initialisation); the module
// answering CKR_USER_ALREADY_LOGGED_IN is success. The caller holds m.mu
// for reading. It returns whether C_Login was called.
//
// Before every C_Login it reads the token's flags, as a card's PIN counter
// shows there: a locked PIN is not tried, and the final try is spent only
// if finalTry says so (Config.PINFinalTry), so a server restarted in a
// loop with a wrong PIN can never lock the card.
func (m *Module) login(sh p11.SessionHandle, tokenKey, label, pin string, force, finalTry bool) (bool, error) {
	m.loginMu.Lock()
	defer m.loginMu.Unlock()
	if err := m.checkPINLocked(tokenKey, label, pin); err != nil {
		return false, err
	}
	tl := m.logins[tokenKey]
	if tl != nil && tl.gen == m.gen && !force {
		return false, nil
	}
	if err := m.checkPINCounter(sh, label, finalTry); err != nil {
		return false, err
	}
	m.loginCalls.Add(1)
	err := m.ctx.Login(sh, p11.CKU_USER, pin)
	code := rv(err)
	switch code {
	case 0, p11.CKR_USER_ALREADY_LOGGED_IN:
		if tl == nil {
			tl = &tokenLogin{}
			m.logins[tokenKey] = tl
		}
		tl.pin, tl.gen = newSecret(pin), m.gen
		// SoftHSM does not check the PIN when already logged in; remember
		// whether this PIN was really verified.
		tl.verified = tl.verified || code == 0
		return true, nil
	case p11.CKR_PIN_INCORRECT, p11.CKR_PIN_INVALID, p11.CKR_PIN_LEN_RANGE, p11.CKR_ARGUMENTS_BAD:
		m.badPINs[pinHash(tokenKey, pin)] = true
		return true, &Error{Op: "login", Token: label, Kind: ErrPINIncorrect, Code: code}
	case p11.CKR_PIN_LOCKED:
		return true, &Error{Op: "login", Token: label, Kind: ErrPINLocked, Code: code}
	}
	if isGone(code) || code == p11.CKR_GENERAL_ERROR {
		return true, unavailable("login", label, code, "")
	}
	return true, &Error{Op: "login", Token: label, Code: code}
}

// holdLogin / releaseLogin count the Backends using a token's login, so the
// record (and the PIN it holds) is dropped with the last one.
func (m *Module) holdLogin(tokenKey string) {
	m.loginMu.Lock()
	defer m.loginMu.Unlock()
	if tl := m.logins[tokenKey]; tl != nil {
		tl.refs++
	}
}

func (m *Module) releaseLogin(tokenKey string) {
	m.loginMu.Lock()
	defer m.loginMu.Unlock()
	if tl := m.logins[tokenKey]; tl != nil {
		tl.refs--
		if tl.refs <= 0 {
			delete(m.logins, tokenKey)
		}
	}
}

func (m *Module) String() string { return fmt.Sprintf("pkcs11 module %s", m.path) }
