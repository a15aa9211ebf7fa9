package pkcs11

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
)

// PINSource supplies a token's user PIN. Backends ask once, at Open, and
// keep the PIN in memory to log in again after a reconnect. Sources never
// print the PIN: their String and GoString methods are redacted, and their
// errors name the file or variable, not its content.
type PINSource interface {
	// PIN returns the PIN; label is the token label, for prompts.
	PIN(label string) (string, error)
}

// PINString is a literal PIN (from a config struct or an RFC 7512
// pin-value). Prefer a file or the environment: command-line arguments
// show up in ps.
type PINString string

// PIN implements PINSource.
func (p PINString) PIN(string) (string, error) {
	if p == "" {
		return "", errors.New("empty PIN")
	}
	return string(p), nil
}

func (PINString) String() string   { return "PINString(redacted)" }
func (PINString) GoString() string { return "PINString(redacted)" }

// PINFile reads the PIN from a file; one trailing newline (LF or CRLF) is
// removed, nothing else, so PINs may contain blanks.
type PINFile string

// PIN implements PINSource.
func (p PINFile) PIN(string) (string, error) {
	data, err := os.ReadFile(string(p))
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return "", fmt.Errorf("PIN file %s: %v", p, pe.Err)
		}
		return "", fmt.Errorf("PIN file %s: cannot read", p)
	}
	pin := strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
	if pin == "" {
		return "", fmt.Errorf("PIN file %s is empty", p)
	}
	return pin, nil
}

func (p PINFile) String() string { return "PINFile(" + string(p) + ")" }

// PINEnv reads the PIN from an environment variable.
type PINEnv string

// PIN implements PINSource.
func (p PINEnv) PIN(string) (string, error) {
	v, ok := os.LookupEnv(string(p))
	if !ok {
		return "", fmt.Errorf("PIN environment variable %s is not set", string(p))
	}
	if v == "" {
		return "", fmt.Errorf("PIN environment variable %s is empty", string(p))
	}
	return v, nil
}

func (p PINEnv) String() string { return "PINEnv(" + string(p) + ")" }

// ParsePINSource parses a PIN source as users write it:
//
//	pass:PIN      literal (visible in ps when given as an argument)
//	file:PATH     file, also file:///abs/path (RFC 7512 pin-source)
//	env:NAME      environment variable
//	prompt        ask on the controlling terminal without echo
//	/abs/path     file (RFC 7512 pin-source without a scheme)
func ParsePINSource(spec string) (PINSource, error) {
	scheme, rest, found := strings.Cut(spec, ":")
	switch {
	case spec == "prompt":
		return PINPrompt{}, nil
	case strings.HasPrefix(spec, "/"), strings.HasPrefix(spec, "./"):
		return PINFile(spec), nil
	case !found:
		return nil, fmt.Errorf("PIN source %q: want pass:PIN, file:PATH, env:NAME or prompt", redactSpec(spec))
	}
	switch strings.ToLower(scheme) {
	case "pass":
		if rest == "" {
			return nil, errors.New("PIN source pass: is empty")
		}
		return PINString(rest), nil
	case "file":
		path := rest
		if strings.HasPrefix(rest, "//") {
			u, err := url.Parse(spec)
			if err != nil || (u.Host != "" && u.Host != "localhost") || u.Path == "" {
				return nil, fmt.Errorf("PIN source %q: want file:PATH or file:///PATH", spec)
			}
			path = u.Path
		}
		if path == "" {
			return nil, errors.New("PIN source file: names no file")
		}
		return PINFile(path), nil
	case "env":
		if rest == "" {
			return nil, errors.New("PIN source env: names no variable")
		}
		return PINEnv(rest), nil
	case "prompt":
		return PINPrompt{Prompt: rest}, nil
	}
	return nil, fmt.Errorf("PIN source %q: unknown scheme %q", redactSpec(spec), scheme)
}

// redactSpec hides whatever follows the scheme of an unparseable PIN
// source: it might be the PIN itself, mistyped.
func redactSpec(spec string) string {
	if i := strings.IndexByte(spec, ':'); i >= 0 {
		return spec[:i+1] + "…"
	}
	if len(spec) > 0 {
		return "…"
	}
	return spec
}
