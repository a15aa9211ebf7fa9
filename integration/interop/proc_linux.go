//go:build linux

package interop

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ProcOptions tunes Namespace.Start and Namespace.Run.
type ProcOptions struct {
	// Stdin is fed to the process; nil means an empty stdin (/dev/null).
	Stdin []byte
	// Env is added to the test process's environment.
	Env []string
	// Dir is the working directory (default: the test's).
	Dir string
	// MergeOutput makes stdout and stderr one pipe, so Output keeps the
	// exact order in which the program wrote to both; Stderr is then empty
	// and Stdout holds everything.
	MergeOutput bool
	// StopSignal is what Stop sends first (default SIGTERM).
	StopSignal syscall.Signal
}

// Proc is a program started inside a Namespace, with its output captured.
// It is killed when the test ends; if the test failed, its output is logged.
type Proc struct {
	Name string
	Cmd  *exec.Cmd

	stopSig syscall.Signal

	mu       sync.Mutex
	stdout   bytes.Buffer
	stderr   bytes.Buffer
	combined bytes.Buffer

	done     chan struct{}
	exitCode int
	waitErr  error
}

type procWriter struct {
	p      *Proc
	stream *bytes.Buffer
}

func (w procWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	w.stream.Write(b)
	w.p.combined.Write(b)
	return len(b), nil
}

// Start starts name with args inside the namespace and returns at once.
func (ns *Namespace) Start(t testing.TB, opts ProcOptions, name string, args ...string) *Proc {
	t.Helper()
	p, err := ns.start(opts, name, args...)
	if err != nil {
		t.Fatalf("interop: starting %s: %v", name, err)
	}
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("interop: %s %s\n--- output (exit %d) ---\n%s", name, strings.Join(args, " "), p.ExitCode(), tail(p.Output(), 6000))
		}
	})
	return p
}

func (ns *Namespace) start(opts ProcOptions, name string, args ...string) (*Proc, error) {
	cmd := exec.Command(name, args...)
	p := &Proc{Name: name, Cmd: cmd, done: make(chan struct{}), exitCode: -1, stopSig: opts.StopSignal}
	if p.stopSig == 0 {
		p.stopSig = syscall.SIGTERM
	}
	cmd.Dir = opts.Dir
	cmd.Env = append(os.Environ(), opts.Env...)
	if opts.Stdin != nil {
		cmd.Stdin = bytes.NewReader(opts.Stdin)
	}
	if opts.MergeOutput {
		w := procWriter{p, &p.stdout}
		cmd.Stdout, cmd.Stderr = w, w // same writer: exec gives both fds one pipe
	} else {
		cmd.Stdout = procWriter{p, &p.stdout}
		cmd.Stderr = procWriter{p, &p.stderr}
	}
	cmd.SysProcAttr = procAttr()
	cmd.WaitDelay = 2 * time.Second // don't hang on pipes held by grandchildren
	if err := ns.Do(cmd.Start); err != nil {
		return nil, err
	}
	ns.add(p)
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.waitErr = err
		if cmd.ProcessState != nil {
			p.exitCode = cmd.ProcessState.ExitCode()
		}
		p.mu.Unlock()
		close(p.done)
	}()
	return p, nil
}

// CommandLine renders the command for messages.
func (p *Proc) CommandLine() string {
	q := make([]string, len(p.Cmd.Args))
	for i, a := range p.Cmd.Args {
		if a == "" || strings.ContainsAny(a, " \t'\"\\") {
			a = strconv.Quote(a)
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}

// Stdout returns what the process wrote to stdout so far.
func (p *Proc) Stdout() string { p.mu.Lock(); defer p.mu.Unlock(); return p.stdout.String() }

// Stderr returns what the process wrote to stderr so far.
func (p *Proc) Stderr() string { p.mu.Lock(); defer p.mu.Unlock(); return p.stderr.String() }

// Output returns stdout and stderr interleaved in arrival order.
func (p *Proc) Output() string { p.mu.Lock(); defer p.mu.Unlock(); return p.combined.String() }

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// ExitCode is the exit status, or -1 while running or after a signal.
func (p *Proc) ExitCode() int { p.mu.Lock(); defer p.mu.Unlock(); return p.exitCode }

// WaitOutput waits until Output contains substr, the process exits, or
// timeout passes.
func (p *Proc) WaitOutput(substr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if strings.Contains(p.Output(), substr) {
			return nil
		}
		if p.Exited() {
			if strings.Contains(p.Output(), substr) {
				return nil
			}
			return fmt.Errorf("interop: %s exited (code %d) before printing %q", p.Name, p.ExitCode(), substr)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("interop: %s did not print %q within %v", p.Name, substr, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// WaitHandshakes waits until the process printed at least n handshake lines
// (see ParseHandshakes) and returns them.
func (p *Proc) WaitHandshakes(n int, timeout time.Duration) ([]Handshake, error) {
	hs, ok := pollHandshakes(n, timeout, p.Handshakes, p.Exited)
	if !ok {
		return hs, fmt.Errorf("interop: %s printed %d of %d handshake lines", p.Name, len(hs), n)
	}
	return hs, nil
}

// pollHandshakes re-reads a peer's handshakes until there are n, the peer
// exited or timeout passed; ok says whether n were reached.
func pollHandshakes(n int, timeout time.Duration, handshakes func() []Handshake, exited func() bool) (hs []Handshake, ok bool) {
	deadline := time.Now().Add(timeout)
	for {
		hs = handshakes()
		if len(hs) >= n {
			return hs, true
		}
		if exited() || time.Now().After(deadline) {
			return hs, false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Handshakes parses the "handshake ok" lines printed so far.
func (p *Proc) Handshakes() []Handshake { return ParseHandshakes(p.Output()) }

// WaitExit waits for the process to end and returns its exit code.
func (p *Proc) WaitExit(timeout time.Duration) (int, error) {
	select {
	case <-p.done:
		return p.ExitCode(), nil
	case <-time.After(timeout):
		return -1, fmt.Errorf("interop: %s still running after %v", p.Name, timeout)
	}
}

// Stop sends StopSignal, waits up to 3s, then kills the process group.
func (p *Proc) Stop() {
	if p.Exited() {
		return
	}
	p.Cmd.Process.Signal(p.stopSig)
	select {
	case <-p.done:
	case <-time.After(3 * time.Second):
		p.Kill()
	}
}

// Kill sends SIGKILL to the process group and waits for the process to end.
func (p *Proc) Kill() {
	if p.Exited() {
		return
	}
	if err := syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL); err != nil {
		p.Cmd.Process.Kill()
	}
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
	}
}

// Result is what Namespace.Run returns.
type Result struct {
	// Command is the command line that ran.
	Command        string
	Stdout, Stderr string
	// ExitCode is the exit status; -1 if the process was killed.
	ExitCode int
	// TimedOut is set when Run killed the process at its timeout.
	TimedOut bool
	// Handshakes are the parsed handshake lines of stdout and stderr.
	Handshakes []Handshake
}

// Run runs name with args inside the namespace to completion, killing it
// after timeout. It fails the test only if the program cannot be started.
func (ns *Namespace) Run(t testing.TB, timeout time.Duration, opts ProcOptions, name string, args ...string) *Result {
	t.Helper()
	p := ns.Start(t, opts, name, args...)
	_, err := p.WaitExit(timeout)
	r := &Result{Command: p.CommandLine()}
	if err != nil {
		p.Kill()
		r.TimedOut = true
	}
	r.Stdout, r.Stderr, r.ExitCode = p.Stdout(), p.Stderr(), p.ExitCode()
	r.Handshakes = ParseHandshakes(p.Output())
	return r
}

// String summarises a Result for test failure messages.
func (r *Result) String() string {
	return fmt.Sprintf("%s\nexit=%d timedout=%t\n--- stdout ---\n%s\n--- stderr ---\n%s", r.Command, r.ExitCode, r.TimedOut, tail(r.Stdout, 4000), tail(r.Stderr, 6000))
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "...\n" + s[len(s)-n:]
}
