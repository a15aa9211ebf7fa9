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
			return "", fmt.Errorf("PIN file %s: %v", string(p), pe.Err)
		}
		return "", fmt.Errorf("PIN file %s: cannot read", string(p))
	}
	pin := strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
	if pin == "" {
		return "", fmt.Errorf("PIN file %s is empty", string(p))
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

// PINSpec is a PIN as a user gives it, on a command line (-pin, -pin-file,
// -pin-env, -pin-source) or in an RFC 7512 URI (pin-value, pin-source).
// Every PIN goes through Resolve, the one place that turns these forms
// into a PINSource. At most one field may be set; none means no login.
type PINSpec struct {
	Value  string // the PIN itself (-pin, pin-value)
	File   string // a file holding it (-pin-file)
	Env    string // an environment variable holding it (-pin-env)
	Source string // pass:PIN, file:PATH, env:NAME or prompt (-pin-source, pin-source)
	Prompt bool   // ask on the terminal without echo
}

// Resolve returns the PINSource the spec names, or nil for an empty spec.
// Its errors never contain the PIN.
func (s PINSpec) Resolve() (PINSource, error) {
	n := 0
	for _, set := range []bool{s.Value != "", s.File != "", s.Env != "", s.Source != "", s.Prompt} {
		if set {
			n++
		}
	}
	switch {
	case n > 1:
		return nil, errors.New("PIN: give only one of a PIN value, a PIN file, a PIN variable, a PIN source or a prompt")
	case s.Value != "":
		return PINString(s.Value), nil
	case s.File != "":
		return PINFile(s.File), nil
	case s.Env != "":
		return PINEnv(s.Env), nil
	case s.Source != "":
		return ParsePINSource(s.Source)
	case s.Prompt:
		return PINPrompt{}, nil
	}
	return nil, nil
}

// String is redacted: a spec may hold the PIN itself.
func (s PINSpec) String() string   { return "PINSpec(redacted)" }
func (s PINSpec) GoString() string { return "PINSpec(redacted)" }

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
	// Not even the scheme is quoted: "1234:5678" may be a mistyped PIN.
	return nil, errors.New("PIN source: unknown scheme: want pass:PIN, file:PATH, env:NAME or prompt")
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
