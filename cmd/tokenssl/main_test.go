package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/tokenssl/tokenssl/ssl"
	"github.com/tokenssl/tokenssl/token/pkcs11"
)

// TestMain runs the command itself when the test binary is re-executed
// with TOKENSSL_RUN_MAIN=1: -h and version exit, so they are tested as the
// operator sees them, exit status included.
func TestMain(m *testing.M) {
	if os.Getenv("TOKENSSL_RUN_MAIN") == "1" {
		os.Args = append([]string{"tokenssl"}, os.Args[1:]...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runMain runs tokenssl args in a child and returns its output and exit status.
func runMain(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "TOKENSSL_RUN_MAIN=1")
	cmd.Stdin = bytes.NewReader(nil)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return o.String(), e.String(), cmd.ProcessState.ExitCode()
}

// Every command's -h has its synopsis, what it does, an example and its
// flags, and exits 0; flags only one side takes are not shown on the other.
func TestHelpPerCommand(t *testing.T) {
	for _, tc := range []struct {
		args          []string
		shows, hidden []string
	}{
		{[]string{"server", "-h"},
			[]string{"-listen", "-cert", "-key", "-ciphers", "-verify-client", "-client-ca", "-dh-params", "-cache-size", "-pool-size", "-fortezza-email", "-fortezza-label", "-pin-file"},
			[]string{"-resume", "-servername", "-insecure", "-connect"}},
		{[]string{"client", "-h"},
			[]string{"-connect", "-ca", "-insecure", "-resume", "-servername", "-cert", "-key", "-key-label", "-fortezza-label", "-pin-file"},
			[]string{"-verify-client", "-client-ca", "-dh-params", "-cache-size", "-pool-size", "-fortezza-email", "-session-cache"}},
		{[]string{"token", "keys", "-h"},
			[]string{"-pkcs11-module", "-token-label", "-slot", "-pin-file"},
			[]string{"-cert", "-key", "-key-label", "-key-id", "-pool-size"}},
		{[]string{"token", "list", "-h"}, []string{"-pkcs11-module"}, []string{"-key"}},
		{[]string{"token", "provision-fortezza", "-h"}, []string{"-store", "-label", "-role", "-pin-file", "-pin-env", "-pin-source"}, nil},
		{[]string{"demo", "-h"}, nil, nil},
		{[]string{"suites", "-h"}, nil, nil},
		{[]string{"version", "-h"}, nil, nil},
	} {
		name := strings.Join(tc.args[:len(tc.args)-1], " ")
		t.Run(name, func(t *testing.T) {
			stdout, stderr, code := runMain(t, tc.args...)
			out := stdout + stderr
			if code != 0 {
				t.Fatalf("exit %d\n%s", code, out)
			}
			c := lookupCommand(name)
			if c.example == "" {
				t.Fatalf("command %q has no help entry", name)
			}
			for _, want := range []string{"usage: tokenssl " + c.synopsis, c.about, "example:\n  " + c.example} {
				if !strings.Contains(out, want) {
					t.Errorf("-h lacks %q:\n%s", want, out)
				}
			}
			if !strings.HasPrefix(c.synopsis, name) || !strings.HasPrefix(c.example, "tokenssl "+name) && !strings.Contains(c.example, "| tokenssl "+name) {
				t.Errorf("synopsis %q / example %q are not of %q", c.synopsis, c.example, name)
			}
			for _, f := range tc.shows {
				if !strings.Contains(out, "  "+f+" ") && !strings.Contains(out, "  "+f+"\n") {
					t.Errorf("-h does not show %s:\n%s", f, out)
				}
			}
			for _, f := range tc.hidden {
				if strings.Contains(out, "  "+f+" ") || strings.Contains(out, "  "+f+"\n") {
					t.Errorf("-h shows %s, a flag of the other side", f)
				}
			}
		})
	}
}

func TestUsageAndUnknownCommand(t *testing.T) {
	stdout, _, code := runMain(t, "-h")
	if code != 0 || !strings.Contains(stdout, "version  print the version") {
		t.Errorf("tokenssl -h: exit %d\n%s", code, stdout)
	}
	_, stderr, code := runMain(t, "serve")
	if code != 2 || !strings.HasPrefix(stderr, `tokenssl: unknown command "serve"`) {
		t.Errorf("unknown command: exit %d\n%s", code, stderr)
	}
	_, stderr, code = runMain(t, "server", "-no-such-flag")
	if code != 2 || !strings.Contains(stderr, "flag provided but not defined: -no-such-flag") || !strings.Contains(stderr, "usage: tokenssl server") {
		t.Errorf("bad flag: exit %d\n%s", code, stderr)
	}
	_, stderr, code = runMain(t, "token")
	if code != 1 || stderr != "tokenssl: token: give a subcommand: list, keys, provision-fortezza\n" {
		t.Errorf("token: exit %d %q", code, stderr)
	}
}

func TestVersion(t *testing.T) {
	stdout, _, code := runMain(t, "version")
	want := runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
	if code != 0 || !strings.HasPrefix(stdout, "tokenssl ") || !strings.HasSuffix(stdout, want) || strings.Count(stdout, "\n") != 1 {
		t.Errorf("version: exit %d %q; want tokenssl VERSION ... %q", code, stdout, want)
	}
	if versionLine()+"\n" != stdout {
		t.Errorf("version line %q differs from versionLine() %q", stdout, versionLine())
	}
}

// -ciphers takes Appendix C names (with or without SSL_), OpenSSL names and
// hex codes, in one list.
func TestParseCiphers(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []uint16
		err  string
	}{
		{"RC4-MD5", []uint16{ssl.SSL_RSA_WITH_RC4_128_MD5}, ""},
		{"DES-CBC3-SHA,EDH-RSA-DES-CBC3-SHA", []uint16{ssl.SSL_RSA_WITH_3DES_EDE_CBC_SHA, ssl.SSL_DHE_RSA_WITH_3DES_EDE_CBC_SHA}, ""},
		{"EXP-RC4-MD5, ADH-RC4-MD5", []uint16{ssl.SSL_RSA_EXPORT_WITH_RC4_40_MD5, ssl.SSL_DH_anon_WITH_RC4_128_MD5}, ""},
		{"SSL_RSA_WITH_RC4_128_SHA,rsa_with_idea_cbc_sha,0x0009", []uint16{ssl.SSL_RSA_WITH_RC4_128_SHA, ssl.SSL_RSA_WITH_IDEA_CBC_SHA, ssl.SSL_RSA_WITH_DES_CBC_SHA}, ""},
		{"RC4-MD4", nil, `-ciphers: unknown cipher suite "RC4-MD4" (tokenssl suites lists the names)`},
		{"0x0100", nil, `-ciphers: "0x0100" is not an SSL 3.0 cipher suite (tokenssl suites lists the names)`},
		{" , ", nil, "-ciphers: empty cipher suite list (tokenssl suites lists the names)"},
	} {
		got, err := parseCiphers(tt.in)
		if tt.err != "" {
			if err == nil || operatorMessage(err) != tt.err {
				t.Errorf("parseCiphers(%q) = %v, %v; want error %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("parseCiphers(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestOperatorMessage(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"server: ssl: ssl: unknown cipher suite", "server: unknown cipher suite"},
		{`pkcs11: pkcs11: token "web": login: PIN incorrect`, `token "web": login: PIN incorrect`},
		{"server: token: /k.pem: x509legacy: encrypted private key", "server: /k.pem: encrypted private key"},
		{"server: server: -verify-client require needs -client-ca", "server: -verify-client require needs -client-ca"},
		{"client: give -ca FILE or -insecure", "client: give -ca FILE or -insecure"},
		{"token keys: no PKCS#11 module found", "token keys: no PKCS#11 module found"},
	} {
		if got := operatorMessage(errors.New(tt.in)); got != tt.want {
			t.Errorf("operatorMessage(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// Key IDs: printed as a URI writes them, read back either way.
func TestKeyIDForms(t *testing.T) {
	id := []byte{0x01, 0x05, 0xAB}
	if got := pkcs11.FormatID(id); got != "%01%05%AB" {
		t.Errorf("uriID = %q", got)
	}
	for _, in := range []string{"0105ab", "01:05:AB", "%01%05%AB", "%01%05%ab"} {
		got, err := parseKeyID(in)
		if err != nil || !bytes.Equal(got, id) {
			t.Errorf("parseKeyID(%q) = %x, %v", in, got, err)
		}
	}
	for _, in := range []string{"xyz", "%0", "%01%zz", ""} {
		if _, err := parseKeyID(in); err == nil || !strings.Contains(err.Error(), "want hex (0105) or percent-escaped bytes (%01%05)") {
			t.Errorf("parseKeyID(%q): %v", in, err)
		}
	}
	// What token keys prints as the URI column names the object again, and
	// an upper-case scheme is a URI too.
	row := objectRow(pkcs11.ObjectInfo{Class: "private", KeyType: "RSA", Label: "web", ID: "0105", KeySize: 2048, Token: true, Private: true, Sensitive: true}, "tok")
	if want := "private\tRSA\t2048\tweb\t%01%05\ttoken,private,sensitive\tpkcs11:token=tok;object=web;type=private;id=%01%05"; row != want {
		t.Errorf("objectRow = %q\nwant %q", row, want)
	}
	for _, s := range []string{"pkcs11:token=tok;object=web", "PKCS11:token=tok;object=web", "Pkcs11:id=%01"} {
		if !pkcs11.IsURI(s) {
			t.Errorf("IsURI(%q) = false", s)
		}
		if _, err := pkcs11.ParseURI(s); err != nil {
			t.Errorf("ParseURI(%q): %v", s, err)
		}
	}
}
