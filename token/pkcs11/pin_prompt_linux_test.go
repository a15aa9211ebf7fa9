package pkcs11_test

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/tokenssl/tokenssl/token/pkcs11"
)

func ioctl(fd uintptr, req uintptr, arg unsafe.Pointer) error {
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, req, uintptr(arg)); e != 0 {
		return e
	}
	return nil
}

// openPTY returns the master side and the path of the slave of a new
// pseudo-terminal.
func openPTY(t *testing.T) (*os.File, string) {
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	unlock := int32(0)
	if err := ioctl(master.Fd(), syscall.TIOCSPTLCK, unsafe.Pointer(&unlock)); err != nil {
		t.Skipf("unlockpt: %v", err)
	}
	var n uint32
	if err := ioctl(master.Fd(), syscall.TIOCGPTN, unsafe.Pointer(&n)); err != nil {
		t.Skipf("ptsname: %v", err)
	}
	return master, fmt.Sprintf("/dev/pts/%d", n)
}

// The prompt turns echo off: what the user types never reaches the screen.
func TestPINPromptNoEcho(t *testing.T) {
	master, slave := openPTY(t)
	// A second handle on the slave to watch its termios.
	watch, err := os.OpenFile(slave, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("open %s: %v", slave, err)
	}
	defer watch.Close()

	type result struct {
		pin string
		err error
	}
	done := make(chan result, 1)
	go func() {
		pin, err := pkcs11.PINPrompt{TTY: slave}.PIN("web")
		done <- result{pin, err}
	}()

	var screen bytes.Buffer
	readUntil := func(want string) {
		buf := make([]byte, 256)
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(screen.String(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("terminal shows %q, waiting for %q", screen.String(), want)
			}
			master.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			n, _ := master.Read(buf)
			screen.Write(buf[:n])
		}
	}
	readUntil(`PIN for token "web": `)
	// Type only once echo is off, as a person would after the prompt.
	for deadline := time.Now().Add(5 * time.Second); ; {
		var tio syscall.Termios
		if err := ioctl(watch.Fd(), syscall.TCGETS, unsafe.Pointer(&tio)); err != nil {
			t.Fatal(err)
		}
		if tio.Lflag&syscall.ECHO == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("echo never turned off")
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := master.Write([]byte("4321-secret\n")); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || r.pin != "4321-secret" {
		t.Fatalf("prompt returned %q, %v", r.pin, r.err)
	}
	readUntil("\n")
	if strings.Contains(screen.String(), "4321") {
		t.Fatalf("the PIN was echoed: %q", screen.String())
	}
	// Echo is restored afterwards.
	var tio syscall.Termios
	if err := ioctl(watch.Fd(), syscall.TCGETS, unsafe.Pointer(&tio)); err != nil || tio.Lflag&syscall.ECHO == 0 {
		t.Fatalf("echo not restored (%v)", err)
	}
}
