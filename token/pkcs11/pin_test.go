package pkcs11_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenssl/tokenssl/token/pkcs11"
	"github.com/tokenssl/tokenssl/token/tokentest"
)

func TestPINSources(t *testing.T) {
	dir := t.TempDir()
	lf := tokentest.SecretFile(t, dir, "lf", "1234\n")
	crlf := tokentest.SecretFile(t, dir, "crlf", "12 34\r\n")
	bare := tokentest.SecretFile(t, dir, "bare", "5678")
	empty := tokentest.SecretFile(t, dir, "empty", "\n")
	t.Setenv("TOKENSSL_PIN_SET", "9999")
	t.Setenv("TOKENSSL_PIN_EMPTY", "")

	tests := []struct {
		spec    string
		want    string
		wantErr string
	}{
		{spec: "pass:1234", want: "1234"},
		{spec: "pass:a:b", want: "a:b"},
		{spec: "file:" + lf, want: "1234"},
		{spec: "file:" + crlf, want: "12 34"},
		{spec: "file://" + bare, want: "5678"},
		{spec: "file://localhost" + bare, want: "5678"},
		{spec: bare, want: "5678"},
		{spec: "env:TOKENSSL_PIN_SET", want: "9999"},
		{spec: "file:" + empty, wantErr: "empty"},
		{spec: "file:" + filepath.Join(dir, "missing"), wantErr: "no such file"},
		{spec: "env:TOKENSSL_PIN_UNSET", wantErr: "not set"},
		{spec: "env:TOKENSSL_PIN_EMPTY", wantErr: "empty"},
		{spec: "pass:", wantErr: "empty"},
		{spec: "env:", wantErr: "no variable"},
		{spec: "file:", wantErr: "no file"},
		{spec: "file://otherhost/x", wantErr: "file:///PATH"},
		{spec: "1234", wantErr: "want pass:PIN"},
		{spec: "pin:1234", wantErr: "unknown scheme"},
	}
	for _, tc := range tests {
		src, err := pkcs11.ParsePINSource(tc.spec)
		var pin string
		if err == nil {
			pin, err = src.PIN("label")
		}
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: error %v, want %q", tc.spec, err, tc.wantErr)
			}
			// No error quotes a PIN, even a mistyped one.
			if err != nil && (strings.Contains(err.Error(), "1234") || strings.Contains(err.Error(), "5678")) {
				t.Errorf("%s: error reveals a PIN: %v", tc.spec, err)
			}
			continue
		}
		if err != nil || pin != tc.want {
			t.Errorf("%s: got %q, %v; want %q", tc.spec, pin, err, tc.want)
		}
	}
	for _, src := range []pkcs11.PINSource{pkcs11.PINString("1234")} {
		for _, format := range []string{"%v", "%s", "%+v", "%#v"} {
			if s := fmt.Sprintf(format, src); strings.Contains(s, "1234") {
				t.Errorf("%s of a PINString shows the PIN: %s", format, s)
			}
		}
	}
	if _, err := (pkcs11.PINPrompt{TTY: filepath.Join(dir, "no-tty")}).PIN("x"); err == nil || !strings.Contains(err.Error(), "no terminal") {
		t.Errorf("prompt without a terminal: %v", err)
	}
	if _, err := (pkcs11.PINPrompt{TTY: lf}).PIN("x"); err == nil || !strings.Contains(err.Error(), "not a terminal") {
		t.Errorf("prompt on a regular file: %v", err)
	}
}
