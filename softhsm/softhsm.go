// Package softhsm provisions SoftHSM2 tokens for tests, the demo and
// manual use: a private configuration and token store (never the
// system's), tokens initialised through PKCS#11 (C_InitToken/C_InitPIN,
// so no PIN ever appears on a command line), keys generated or imported
// as sensitive, non-extractable objects, and certificates stored beside
// them.
//
// # One environment per process
//
// SoftHSM reads SOFTHSM2_CONF, a process-wide variable, when the module is
// C_Initialize'd, and the module is loaded once per process (token/pkcs11
// shares it). So a process has at most one active Env, selected by
// SOFTHSM2_CONF, and hosts several throw-away tokens as several labelled
// tokens inside it. New refuses to start a second Env, or to switch
// SOFTHSM2_CONF while the module is initialised with another one. An Env
// holds no module reference between calls: when every Backend is closed
// the module is finalised, and the next Env (e.g. the next test) starts
// from a fresh C_Initialize with its own store. softhsmtest builds a
// reference-counted per-process Env on this for parallel tests.
package softhsm

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	p11 "github.com/miekg/pkcs11"

	"github.com/tokenssl/tokenssl/token/pkcs11"
)

// ModuleCandidates are where Debian, Fedora and source builds put the module.
var ModuleCandidates = []string{
	"/usr/lib/softhsm/libsofthsm2.so",
	"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/lib64/pkcs11/libsofthsm2.so",
	"/usr/lib/pkcs11/libsofthsm2.so",
	"/usr/local/lib/softhsm/libsofthsm2.so",
}

// ErrNotInstalled is returned by Find when no SoftHSM2 module exists.
var ErrNotInstalled = errors.New("softhsm: SoftHSM2 is not installed (run scripts/install-deps.sh)")

// Find returns the path of the SoftHSM2 PKCS#11 module. $SOFTHSM2_MODULE
// overrides the search.
func Find() (string, error) {
	if p := os.Getenv("SOFTHSM2_MODULE"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("softhsm: SOFTHSM2_MODULE=%s: %w", p, err)
		}
		return p, nil
	}
	for _, p := range ModuleCandidates {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", ErrNotInstalled
}

// Env is a private SoftHSM2 configuration and token store.
type Env struct {
	Dir        string // root: holds softhsm2.conf and tokens/
	ConfigPath string // what SOFTHSM2_CONF points to
	TokenDir   string // directories.tokendir
	ModulePath string

	temp    bool
	prevSet bool
	prev    string
	closed  bool
}

var active struct {
	sync.Mutex
	env *Env
}

// New creates (or reuses) the environment in dir and selects it with
// SOFTHSM2_CONF. With dir == "" it makes a temporary directory that Close
// removes; a named dir is kept (provision-token.sh's persistent store).
func New(dir string) (*Env, error) {
	module, err := Find()
	if err != nil {
		return nil, err
	}
	active.Lock()
	defer active.Unlock()
	if active.env != nil {
		return nil, fmt.Errorf("softhsm: an environment (%s) is already active in this process; SOFTHSM2_CONF is process-wide, so put several tokens in one Env", active.env.Dir)
	}
	if pkcs11.IsModuleOpen(module) {
		return nil, fmt.Errorf("softhsm: %s is already initialised in this process (SOFTHSM2_CONF=%q); close its Backends first", module, os.Getenv("SOFTHSM2_CONF"))
	}
	e := &Env{ModulePath: module}
	if dir == "" {
		if dir, err = os.MkdirTemp("", "tokenssl-softhsm-"); err != nil {
			return nil, err
		}
		e.temp = true
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, err
	}
	e.Dir = dir
	e.TokenDir = filepath.Join(dir, "tokens")
	e.ConfigPath = filepath.Join(dir, "softhsm2.conf")
	// The token directory must exist before C_Initialize, else SoftHSM
	// fails with CKR_GENERAL_ERROR.
	if err := os.MkdirAll(e.TokenDir, 0o700); err != nil {
		e.cleanup()
		return nil, err
	}
	conf := "# tokenssl: a private SoftHSM2 store; never the system's\n" +
		"directories.tokendir = " + e.TokenDir + "\n" +
		"objectstore.backend = file\n" +
		"log.level = ERROR\n" +
		"slots.removable = false\n"
	if err := os.WriteFile(e.ConfigPath, []byte(conf), 0o600); err != nil {
		e.cleanup()
		return nil, err
	}
	e.prev, e.prevSet = os.LookupEnv("SOFTHSM2_CONF")
	os.Setenv("SOFTHSM2_CONF", e.ConfigPath)
	active.env = e
	return e, nil
}

func (e *Env) cleanup() {
	if e.temp {
		os.RemoveAll(e.Dir)
	}
}

// Close restores SOFTHSM2_CONF and, for a temporary Env, removes the store.
// It reports Backends still open on the module (they would keep using a
// deleted store and block the next Env).
func (e *Env) Close() error {
	active.Lock()
	defer active.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	var err error
	if pkcs11.IsModuleOpen(e.ModulePath) {
		err = errors.New("softhsm: closing the environment while PKCS#11 Backends on it are still open")
	}
	e.cleanup()
	if e.prevSet {
		os.Setenv("SOFTHSM2_CONF", e.prev)
	} else {
		os.Unsetenv("SOFTHSM2_CONF")
	}
	if active.env == e {
		active.env = nil
	}
	return err
}

// Token is an initialised token in an Env.
type Token struct {
	Env    *Env
	Label  string
	Serial string
	pin    func() string
}

// hide keeps a PIN in a closure: fmt prints a func as an address, so a
// Token printed with any verb does not show its PIN.
func hide(pin string) func() string { return func() string { return pin } }

// UserPIN returns the user PIN the token was set up with (tests and the
// provisioner need it to write PIN files; it is never logged).
func (t *Token) UserPIN() string { return t.pin() }

// Config returns a token/pkcs11 configuration selecting this token by
// label and serial, logging in with the user PIN.
func (t *Token) Config() pkcs11.Config {
	return pkcs11.Config{
		ModulePath: t.Env.ModulePath, TokenLabel: t.Label, TokenSerial: t.Serial,
		PIN: pkcs11.PINString(t.pin()),
	}
}

// Open opens a Backend on the token.
func (t *Token) Open() (*pkcs11.Backend, error) { return pkcs11.Open(t.Config()) }

// Dir returns the token's directory in the store. SoftHSM names it after a
// UUID whose last 16 hex digits are the serial number.
func (t *Token) Dir() (string, error) {
	ents, err := os.ReadDir(t.Env.TokenDir)
	if err != nil {
		return "", err
	}
	for _, ent := range ents {
		if ent.IsDir() && strings.HasSuffix(strings.ReplaceAll(ent.Name(), "-", ""), t.Serial) {
			return filepath.Join(t.Env.TokenDir, ent.Name()), nil
		}
	}
	return "", fmt.Errorf("softhsm: no directory for token serial %s in %s", t.Serial, t.Env.TokenDir)
}

// Delete removes the token from the store (what softhsm2-util
// --delete-token does). A running module sees it vanish.
func (t *Token) Delete() error {
	dir, err := t.Dir()
	if err != nil {
		return err
	}
	return os.RemoveAll(dir)
}

// RandomPIN returns n random hex digits, for throw-away tokens.
func RandomPIN(n int) string {
	b := make([]byte, (n+1)/2)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)[:n]
}

// InitToken initialises a new token in the spare slot with C_InitToken,
// then sets the user PIN with C_InitPIN in an SO session — no PIN on a
// command line.
func (e *Env) InitToken(label, soPIN, userPIN string) (*Token, error) {
	if label == "" || len(label) > 32 {
		return nil, fmt.Errorf("softhsm: token label %q: want 1 to 32 bytes", label)
	}
	if len(soPIN) < 4 || len(userPIN) < 4 {
		return nil, errors.New("softhsm: PINs need at least 4 characters")
	}
	if e.closed {
		return nil, errors.New("softhsm: environment closed")
	}
	return e.withToken(label, userPIN, func(c *p11.Ctx, t *Token, slots []uint) error {
		spare, found := uint(0), false
		for _, s := range slots {
			ti, err := c.GetTokenInfo(s)
			if err != nil {
				continue // a deleted token's slot
			}
			if ti.Flags&p11.CKF_TOKEN_INITIALIZED != 0 {
				if ti.Label == label {
					return fmt.Errorf("softhsm: a token labelled %q exists already", label)
				}
				continue
			}
			if !found {
				spare, found = s, true
			}
		}
		if !found {
			return errors.New("softhsm: no uninitialised slot left")
		}
		if err := c.InitToken(spare, soPIN, label); err != nil {
			return fmt.Errorf("softhsm: C_InitToken: %w", err)
		}
		slots, err := c.GetSlotList(true)
		if err != nil {
			return fmt.Errorf("softhsm: C_GetSlotList: %w", err)
		}
		slot := ^uint(0)
		for _, s := range slots {
			if ti, err := c.GetTokenInfo(s); err == nil && ti.Label == label {
				slot, t.Serial = s, ti.SerialNumber
			}
		}
		if slot == ^uint(0) {
			return errors.New("softhsm: the new token is not visible")
		}
		sh, err := c.OpenSession(slot, p11.CKF_SERIAL_SESSION|p11.CKF_RW_SESSION)
		if err != nil {
			return fmt.Errorf("softhsm: C_OpenSession: %w", err)
		}
		defer c.CloseSession(sh)
		if err := c.Login(sh, p11.CKU_SO, soPIN); err != nil {
			return fmt.Errorf("softhsm: SO login: %w", err)
		}
		defer c.Logout(sh)
		if err := c.InitPIN(sh, userPIN); err != nil {
			return fmt.Errorf("softhsm: C_InitPIN: %w", err)
		}
		return nil
	})
}

// Token returns an existing token of the environment by label, for a
// persistent store (the PIN is not stored by SoftHSM; give it).
func (e *Env) Token(label, userPIN string) (*Token, error) {
	return e.withToken(label, userPIN, func(c *p11.Ctx, t *Token, slots []uint) error {
		for _, s := range slots {
			if ti, err := c.GetTokenInfo(s); err == nil && ti.Label == label && ti.Flags&p11.CKF_TOKEN_INITIALIZED != 0 {
				t.Serial = ti.SerialNumber
				return nil
			}
		}
		return fmt.Errorf("softhsm: no token labelled %q in %s", label, e.Dir)
	})
}

// withToken opens the module of the environment and runs f with the
// token-to-be (label and PIN set) and the list of slots with a token; it
// returns the token once f has filled it in.
func (e *Env) withToken(label, userPIN string, f func(c *p11.Ctx, t *Token, slots []uint) error) (*Token, error) {
	m, err := pkcs11.OpenModule(e.ModulePath)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	t := &Token{Env: e, Label: label, pin: hide(userPIN)}
	err = m.Do(func(c *p11.Ctx) error {
		slots, err := c.GetSlotList(true)
		if err != nil {
			return fmt.Errorf("softhsm: C_GetSlotList: %w", err)
		}
		return f(c, t, slots)
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}
