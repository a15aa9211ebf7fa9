package pkcs11_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenssl/tokenssl/token/pkcs11"
)

// Issue 10 item 8: no error of the URI parser or of a PIN source contains
// any part of a PIN. PINs with the URI's and PIN sources' delimiters are
// written raw (unescaped, as a user would paste them) into every place a
// PIN can go, and every error on the way to a PINSource is checked for
// every fragment of the PIN that a split at a delimiter could produce.
func TestNoPINFragmentInErrors(t *testing.T) {
	// Distinctive letters, so that a fragment found in an error is the
	// PIN's and not part of an ordinary word.
	pins := []string{
		"Qx7&Wv8", "Qx7;Wv8", "Qx7%zz", "Qx7%4", "Qx7=Wv8", "Qx7?Wv8", "Qx7&Wv8=Jk9", "Qx7&x-y=Jk9", "Qx7&pin-value=Wv8",
		"Qx7&module-path=Jk9", "Qx7&module-name=Jk9", "Qx7&&Wv8", "Qx7&W v8", "&;%=?", "Qx7;type=Jk9", "Qx7?Wv8&Jk9;Zp4=Yb3%",
		"Qx7&slot-id=Jk9", "Qx7&pin-source=file:Jk9", "Qx7&Wv8&Jk9&Zp4", "Qx7=&=Wv8", "Qx7%zz&Wv8", "Qx7:Wv8", "Qx7&id=%Wv8",
	}
	dir := t.TempDir()
	templates := []string{
		"pkcs11:token=t;object=k?pin-value=%s",
		"pkcs11:token=t;object=k?module-path=/x&pin-value=%s",
		"pkcs11:token=t;object=k?pin-value=%s&module-path=/x",
		"pkcs11:token=t;object=k?pin-value=%s&pin-source=file:/p",
		"pkcs11:object=k?pin-source=pass:%s",
		"pkcs11:object=k?pin-source=PASS:%s&module-name=zz-none",
		"pkcs11:token=t;pin-value=%s", // misplaced in the path
		"pkcs11:token=t;object=k;pin-value=%s?module-path=/x",
		"pkcs11:object=k?pin-value=%s&module-name=zz-none",
		"pkcs11:object=k?pin-value=%s&pin-value=%s",
	}
	checked := 0
	for _, pin := range pins {
		frags := fragments(pin)
		check := func(where string, err error) {
			t.Helper()
			if err == nil {
				return
			}
			checked++
			for _, f := range frags {
				if strings.Contains(err.Error(), f) {
					t.Errorf("PIN %q, %s: error contains %q: %v", pin, where, f, err)
				}
			}
		}
		for _, tmpl := range templates {
			uri := strings.ReplaceAll(tmpl, "%s", pin)
			u, err := pkcs11.ParseURI(uri)
			check("ParseURI("+tmpl+")", err)
			if err == nil {
				_, err = u.Config(pkcs11.Config{})
				check("Config("+tmpl+")", err)
				if s := u.String(); strings.Contains(s, "pin-value") && !strings.Contains(s, "REDACTED") {
					t.Errorf("String of %s shows the pin-value", tmpl)
				}
			}
			_, err = pkcs11.OpenKeyURI(uri, pkcs11.KeyRequest{Config: pkcs11.Config{ModulePath: filepath.Join(dir, "no-module.so")}})
			check("OpenKeyURI("+tmpl+")", err)
		}
		// Every PIN source, with the PIN in each form a user can give it.
		pinFile := filepath.Join(dir, "pin")
		os.WriteFile(pinFile, []byte(pin+"\n"), 0o600)
		t.Setenv("TOKENSSL_LEAK_PIN", pin)
		for _, spec := range []pkcs11.PINSpec{
			// (A PIN written where a file or variable name belongs is a
			// name to the parser, and names are quoted: not tested.)
			{Value: pin}, {Source: "pass:" + pin}, {Source: pin}, {Source: "file:" + pinFile}, {Env: "TOKENSSL_LEAK_PIN"},
			{File: pinFile}, {Value: pin, File: pinFile}, {Value: pin, Source: "pass:" + pin}, {Source: "pass:" + pin, Env: "X"},
			{Source: "PASS:" + pin}, {Value: pin, Prompt: true},
		} {
			src, err := spec.Resolve()
			check("PINSpec.Resolve", err)
			if err == nil && src != nil {
				if _, ok := src.(pkcs11.PINPrompt); ok {
					continue // would open the terminal
				}
				_, err := src.PIN("label")
				check("PINSource.PIN", err)
			}
		}
		_, err := pkcs11.ParsePINSource(pin)
		check("ParsePINSource(PIN)", err)
	}
	if checked < 100 {
		t.Fatalf("only %d errors checked: the table does not reach the error paths", checked)
	}
	t.Logf("%d errors checked, none quotes a PIN fragment", checked)
}

// fragments are the pieces a PIN splits into at URI and source delimiters,
// at least three bytes long (shorter ones occur in messages by chance).
func fragments(pin string) []string {
	out := map[string]bool{pin: true}
	for _, sep := range []string{"&", ";", "=", "?", "%", ":"} {
		for _, f := range strings.Split(pin, sep) {
			for _, g := range strings.FieldsFunc(f, func(r rune) bool { return strings.ContainsRune("&;=?%: ", r) }) {
				if len(g) >= 3 && !commonWord[g] {
					out[g] = true
				}
			}
		}
	}
	var list []string
	for f := range out {
		list = append(list, f)
	}
	return list
}

// commonWord are attribute names a PIN in the table borrows: an error may
// name the attribute it expected without quoting the PIN.
var commonWord = map[string]bool{"pin-value": true, "module-path": true, "module-name": true, "pin-source": true,
	"type": true, "slot-id": true, "file": true, "x-y": true}
