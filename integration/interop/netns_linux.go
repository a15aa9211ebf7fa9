//go:build linux

package interop

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// Namespace is a private network namespace holding only an up loopback
// interface. Nothing outside it can reach a socket inside it, so servers that
// bind every address (NSS selfserv binds INADDR_ANY) are safe to run there.
//
// The namespace belongs to one OS thread of the test process: a goroutine
// locked to that thread calls unshare(CLONE_NEWNET), brings lo up and then
// runs every request made through Do. Programs started with Start or Run are
// forked from that thread, so they inherit the namespace; sockets made by
// Dial and Listen are created there too and keep working from any goroutine.
// Children get SIGKILL when that thread ends (Pdeathsig), so nothing outlives
// the test, and the namespace disappears with its last process. No named
// namespace (/run/netns) is created, so a crashed test leaves nothing behind.
//
// It needs CAP_SYS_ADMIN (the tests run as root); NewNamespace skips the test
// otherwise.
type Namespace struct {
	reqs chan func()
	done chan struct{}

	mu      sync.Mutex
	closing bool // Close has started
	closed  bool // reqs is closed
	procs   []*Proc
}

// NewNamespace creates a private network namespace for the test and tears it
// down (killing every process started in it) when the test ends.
func NewNamespace(t testing.TB) *Namespace {
	t.Helper()
	ns := &Namespace{reqs: make(chan func()), done: make(chan struct{})}
	ready := make(chan error, 1)
	go ns.loop(ready)
	if err := <-ready; err != nil {
		if errors.Is(err, syscall.EPERM) {
			t.Skipf("interop: cannot create a network namespace (need root / CAP_SYS_ADMIN): %v", err)
		}
		t.Fatalf("interop: creating network namespace: %v", err)
	}
	t.Cleanup(ns.Close)
	return ns
}

func (ns *Namespace) loop(ready chan<- error) {
	// Never unlocked: when this goroutine returns, the Go runtime ends the
	// thread, and with it the namespace membership and the children's
	// parent-death signal.
	runtime.LockOSThread()
	defer close(ns.done)
	if err := syscall.Unshare(syscall.CLONE_NEWNET); err != nil {
		ready <- fmt.Errorf("unshare(CLONE_NEWNET): %w", err)
		return
	}
	if err := loopbackUp(); err != nil {
		ready <- fmt.Errorf("bringing lo up: %w", err)
		return
	}
	ready <- nil
	for fn := range ns.reqs {
		fn()
	}
}

// loopbackUp sets IFF_UP on lo with SIOCGIFFLAGS/SIOCSIFFLAGS, so no ip(8)
// is needed.
func loopbackUp() error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	var ifr [40]byte // struct ifreq: char name[16]; union {short flags; ...}
	copy(ifr[:], "lo")
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCGIFFLAGS, uintptr(unsafe.Pointer(&ifr[0]))); e != 0 {
		return e
	}
	flags := binary.NativeEndian.Uint16(ifr[16:]) | syscall.IFF_UP
	binary.NativeEndian.PutUint16(ifr[16:], flags)
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCSIFFLAGS, uintptr(unsafe.Pointer(&ifr[0]))); e != 0 {
		return e
	}
	return nil
}

// Do runs fn on the namespace's thread: sockets fn creates and processes it
// forks belong to the namespace. fn must not start goroutines that create
// sockets (they would run on other threads, outside the namespace).
func (ns *Namespace) Do(fn func() error) error {
	errc := make(chan error, 1)
	ns.mu.Lock()
	if ns.closed {
		ns.mu.Unlock()
		return errors.New("interop: namespace closed")
	}
	// Sent under mu: Close closes reqs only under mu, after setting closed.
	ns.reqs <- func() { errc <- fn() }
	ns.mu.Unlock()
	return <-errc
}

// Close kills every process started in the namespace and ends its thread.
// It is registered with t.Cleanup by NewNamespace.
func (ns *Namespace) Close() {
	ns.mu.Lock()
	if ns.closing {
		ns.mu.Unlock()
		return
	}
	ns.closing = true
	procs := append([]*Proc(nil), ns.procs...)
	ns.mu.Unlock()
	for _, p := range procs {
		p.Kill()
	}
	ns.mu.Lock()
	ns.closed = true
	close(ns.reqs)
	ns.mu.Unlock()
	<-ns.done // the thread ends; stragglers get their Pdeathsig
}

// literalAddr refuses host names other than localhost: resolving a name can
// make the net package dial from helper goroutines, i.e. from threads outside
// the namespace.
func literalAddr(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	switch {
	case host == "localhost":
		host = "127.0.0.1"
	case host == "":
	case net.ParseIP(host) == nil:
		return "", fmt.Errorf("interop: %q: use an IP literal inside a namespace", addr)
	}
	return net.JoinHostPort(host, port), nil
}

// Dial connects from inside the namespace (addr must be an IP literal, e.g.
// 127.0.0.1:4433). The connection is usable from any goroutine.
func (ns *Namespace) Dial(network, addr string) (net.Conn, error) {
	return inNamespace(ns, addr, func(addr string) (net.Conn, error) {
		return net.DialTimeout(network, addr, 5*time.Second)
	})
}

// Listen opens a listener inside the namespace, e.g. to run an in-process
// server that NSS tstclnt connects to. The listener is usable from any
// goroutine; close it yourself (or let the test end).
func (ns *Namespace) Listen(network, addr string) (net.Listener, error) {
	return inNamespace(ns, addr, func(addr string) (net.Listener, error) {
		return net.Listen(network, addr)
	})
}

// inNamespace runs open on addr (which must be an IP literal) inside ns:
// the socket Dial and Listen make belongs to the namespace it was made in.
func inNamespace[T any](ns *Namespace, addr string, open func(addr string) (T, error)) (T, error) {
	var v T
	addr, err := literalAddr(addr)
	if err != nil {
		return v, err
	}
	err = ns.Do(func() error {
		var err error
		v, err = open(addr)
		return err
	})
	return v, err
}

// FreePort returns a TCP port nobody listens on in the namespace (in a fresh
// namespace every port is free; this also skips ports used earlier in the
// test, which may sit in TIME_WAIT).
func (ns *Namespace) FreePort(t testing.TB) int {
	t.Helper()
	l, err := ns.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("interop: FreePort: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Listening reports whether some socket in the namespace listens on TCP port
// (any address, IPv4 or IPv6). It reads /proc/thread-self/net/tcp{,6} on the
// namespace's thread, so probing never opens a connection to the server.
func (ns *Namespace) Listening(port int) (bool, error) {
	var found bool
	err := ns.Do(func() error {
		for _, f := range []string{"/proc/thread-self/net/tcp", "/proc/thread-self/net/tcp6"} {
			ok, err := procNetListens(f, port)
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			if ok {
				found = true
				return nil
			}
		}
		return nil
	})
	return found, err
}

// WaitListening polls Listening until port is open or timeout passes.
func (ns *Namespace) WaitListening(port int, timeout time.Duration) error {
	return ns.waitListening(nil, port, timeout)
}

// waitListening is WaitListening that, given the process p meant to
// listen, also gives up as soon as p has exited and names p in errors.
func (ns *Namespace) waitListening(p *Proc, port int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := ns.Listening(port)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if p != nil && p.Exited() {
			return fmt.Errorf("%s exited (code %d) before listening on %d", p.Name, p.ExitCode(), port)
		}
		if time.Now().After(deadline) {
			if p != nil {
				return fmt.Errorf("%s not listening on %d after %v", p.Name, port, timeout)
			}
			return fmt.Errorf("interop: nothing listens on port %d after %v", port, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func procNetListens(path string, port int) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	want := fmt.Sprintf(":%04X", port)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		// sl local_address rem_address st ...; st 0A is LISTEN.
		if len(fields) < 4 || fields[3] != "0A" {
			continue
		}
		if strings.HasSuffix(fields[1], want) {
			return true, nil
		}
	}
	return false, sc.Err()
}

// add records a process so Close can kill it.
func (ns *Namespace) add(p *Proc) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	ns.procs = append(ns.procs, p)
}

// procAttr is the SysProcAttr for processes started in a namespace: their own
// process group (so Kill reaches helpers they fork) and SIGKILL when the
// namespace thread ends.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
