package pkcs11

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/term"
)

// PINPrompt asks for the PIN on the terminal with echo off. It opens the
// controlling terminal itself (not stdin), so it works with redirected
// input and output, and fails cleanly without a terminal (CI, services).
type PINPrompt struct {
	Prompt string // default: "PIN for token <label>: "
	TTY    string // default: /dev/tty
}

// PIN implements PINSource.
func (p PINPrompt) PIN(label string) (string, error) {
	path := p.TTY
	if path == "" {
		path = "/dev/tty"
	}
	tty, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return "", fmt.Errorf("PIN prompt: no terminal (%s): give a PIN file or variable instead", path)
	}
	defer tty.Close()
	fd := int(tty.Fd())
	if !term.IsTerminal(fd) {
		return "", fmt.Errorf("PIN prompt: %s is not a terminal", path)
	}
	prompt := p.Prompt
	if prompt == "" {
		prompt = fmt.Sprintf("PIN for token %q: ", label)
	}
	if _, err := fmt.Fprint(tty, prompt); err != nil {
		return "", fmt.Errorf("PIN prompt: %v", err)
	}
	// ReadPassword turns echo off and restores the terminal afterwards,
	// also on error.
	b, err := term.ReadPassword(fd)
	fmt.Fprint(tty, "\n")
	if err != nil {
		return "", errors.New("PIN prompt: reading the terminal failed")
	}
	pin := strings.TrimSuffix(string(b), "\r")
	if pin == "" {
		return "", errors.New("PIN prompt: empty PIN")
	}
	return pin, nil
}
