package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenssl/tokenssl/softhsm/softhsmtest"
)

// provisionCLICard runs `tokenssl token provision-fortezza` with the PIN
// given by pinFlags (any of the PIN sources every command takes) and env.
func provisionCLICard(t *testing.T, env, pinFlags []string, store, label, role, caDir string) {
	t.Helper()
	args := append([]string{"token", "provision-fortezza", "-store", store, "-label", label,
		"-role", role, "-cn", "localhost", "-ca-dir", caDir}, pinFlags...)
	cmd := cliCommand(t, env, args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("provision-fortezza %s: %v\n%s", label, err, out)
	}
}

// Issue 10 item 7: the Fortezza server's -verify-client must check client
// certificates against the CA stored on its card. Before, the policy was
// chosen before the card's CA was known: `request` accepted a client card
// from any CA and `require` would not start. Cards are emulated on SoftHSM
// stores made by the CLI itself; the server's card is named both by
// -fortezza-* flags and by an RFC 7512 URI.
func TestCLIFortezzaVerifiesClientCards(t *testing.T) {
	softhsmtest.Require(t)
	dir := t.TempDir()
	pin := filepath.Join(dir, "pin")
	os.WriteFile(pin, []byte("fz-cli-pin-4417\n"), 0o600)
	serverStore, clientStore, rogueCA := filepath.Join(dir, "srv"), filepath.Join(dir, "cli"), filepath.Join(dir, "rogue-ca")
	// The three cards take their PIN three ways: provisioning reads PINs
	// through the same sources as the server and the client.
	provisionCLICard(t, nil, []string{"-pin-file", pin}, serverStore, "srv", "server", serverStore)
	provisionCLICard(t, []string{"FZ_CLI_PIN=fz-cli-pin-4417"}, []string{"-pin-env", "FZ_CLI_PIN"},
		clientStore, "good", "client", serverStore) // the server's CA
	provisionCLICard(t, nil, []string{"-pin-source", "file:" + pin}, clientStore, "rogue", "client", rogueCA) // a CA the server does not know
	caPEM := filepath.Join(serverStore, "fortezza-ca.pem")
	const suite = "SSL_FORTEZZA_KEA_WITH_RC4_128_SHA"

	client := func(t *testing.T, addr, label string) (string, string, error) {
		return runCLIClient(t, nil, []byte("fortezza hello\n"), "-connect", addr, "-servername", "localhost", "-ca", caPEM,
			"-fortezza-store", clientStore, "-fortezza-label", label, "-fortezza-pin-file", pin, "-ciphers", suite)
	}
	uri := "pkcs11:token=srv;object=fortezza-kea;type=private?pin-source=file:" + pin
	servers := map[string][]string{
		"flags": {"-fortezza-store", serverStore, "-fortezza-label", "srv", "-fortezza-pin-file", pin},
		"uri":   {"-fortezza-store", serverStore, "-key", uri},
	}
	for name, serverArgs := range servers {
		for _, mode := range []string{"request", "require"} {
			t.Run(name+"/"+mode, func(t *testing.T) {
				addr, serverErr := cliServer(t, nil, append(serverArgs, "-ciphers", suite, "-verify-client", mode)...)
				if !strings.Contains(serverErr(), "Fortezza card=emulator") {
					t.Errorf("server does not say which card serves it:\n%s", serverErr())
				}
				out, errOut, err := client(t, addr, "good")
				if err != nil || out != "fortezza hello\n" {
					t.Fatalf("client card from the server's CA: %v %q\n%s\nserver:\n%s", err, out, errOut, serverErr())
				}
				if !strings.Contains(errOut, "handshake ok suite="+suite) {
					t.Fatalf("client:\n%s", errOut)
				}
				out, errOut, err = client(t, addr, "rogue")
				if err == nil || out != "" {
					t.Fatalf("client card from an unknown CA was accepted (%s): %q\n%s\nserver:\n%s", mode, out, errOut, serverErr())
				}
				// The client may exit before the server has written its line.
				for deadline := time.Now().Add(10 * time.Second); !strings.Contains(serverErr(), "handshake failed"); time.Sleep(20 * time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatalf("server did not report the refused client:\n%s", serverErr())
					}
				}
				t.Logf("rogue client: %s", strings.TrimSpace(errOut))
			})
		}
	}
}

// Issue 10 item 16: a server asked only for anonymous suites needs no
// certificate or key.
func TestCLIAnonymousOnlyServerNeedsNoKey(t *testing.T) {
	const suites = "SSL_DH_anon_WITH_RC4_128_MD5,SSL_DH_anon_WITH_3DES_EDE_CBC_SHA"
	addr, serverErr := cliServer(t, nil, "-ciphers", suites)
	out, errOut, err := runCLIClient(t, nil, []byte("anonymous\n"), "-connect", addr, "-insecure", "-ciphers", suites)
	if err != nil || out != "anonymous\n" || !strings.Contains(errOut, "handshake ok suite=SSL_DH_anon_") {
		t.Fatalf("client: %v %q\n%s\nserver:\n%s", err, out, errOut, serverErr())
	}
	// A server asked for any suite that needs a certificate still wants one.
	cmd := cliCommand(t, nil, "server", "-listen", "127.0.0.1:0", "-ciphers", suites+",SSL_RSA_WITH_RC4_128_SHA")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "give -cert and -key") {
		t.Fatalf("server without a key for an RSA suite: %v\n%s", err, out)
	}
}
