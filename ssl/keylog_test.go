package ssl

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

var keyLogLine = regexp.MustCompile(`^CLIENT_RANDOM ([0-9a-f]{64}) ([0-9a-f]{96})$`)

func keyLogLines(t *testing.T, b *bytes.Buffer) [][]string {
	t.Helper()
	var out [][]string
	for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		m := keyLogLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("key log line %q is not CLIENT_RANDOM <64 hex> <96 hex>", line)
		}
		out = append(out, m[1:])
	}
	return out
}

// TestKeyLogEveryKeyExchange: both ends log the same line, once per
// handshake, the master secret of the session, for every kind of key
// exchange: RSA, DHE (RSA and DSS), fixed DH, anonymous DH, Fortezza KEA.
func TestKeyLogEveryKeyExchange(t *testing.T) {
	for _, id := range []uint16{
		SSL_RSA_WITH_3DES_EDE_CBC_SHA, SSL_RSA_EXPORT_WITH_RC4_40_MD5, SSL_DHE_RSA_WITH_3DES_EDE_CBC_SHA,
		SSL_DHE_DSS_WITH_3DES_EDE_CBC_SHA, SSL_DH_RSA_WITH_3DES_EDE_CBC_SHA, SSL_DH_anon_WITH_RC4_128_MD5,
		SSL_FORTEZZA_KEA_WITH_RC4_128_SHA, SSL_FORTEZZA_KEA_WITH_FORTEZZA_CBC_SHA,
	} {
		t.Run(CipherSuiteName(id), func(t *testing.T) {
			cc, sc := clientConfig(t), serverConfig(t)
			if suiteByID(id).auth == authFortezza {
				cc, sc = fortezzaConfigs(t, id, false)
			}
			var clientLog, serverLog bytes.Buffer
			cc.CipherSuites, sc.CipherSuites = []uint16{id}, []uint16{id}
			cc.KeyLogWriter, sc.KeyLogWriter = &clientLog, &serverLog
			client, server := mustHandshake(t, cc, sc)
			if clientLog.String() != serverLog.String() {
				t.Fatalf("client logged %q, server %q", clientLog.String(), serverLog.String())
			}
			lines := keyLogLines(t, &clientLog)
			if len(lines) != 1 {
				t.Fatalf("%d lines for one handshake", len(lines))
			}
			if want := fmt.Sprintf("%x", server.session.MasterSecret); lines[0][1] != want {
				t.Fatal("logged master secret is not the session's")
			}
			echoCheck(t, client, server, []byte("after the key log"))
		})
	}
}

// TestKeyLogResumption: a resumed handshake logs its own line (its own
// client random, the session's master secret), so that a capture of only
// the resumed connection decrypts too.
func TestKeyLogResumption(t *testing.T) {
	var serverLog, clientLog bytes.Buffer
	sc := serverConfig(t)
	sc.KeyLogWriter = &serverLog
	sc.SessionCache = NewLRUSessionCache(4, time.Hour)
	addr, results := sslServer(t, sc)
	cc := clientConfig(t)
	cc.CipherSuites = []uint16{SSL_RSA_WITH_RC4_128_SHA}
	cc.ClientSessionCache = NewLRUClientSessionCache(4)
	cc.KeyLogWriter = &clientLog
	for i, wantResumed := range []bool{false, true} {
		conn, err := Dial("tcp", addr, cc)
		if err != nil {
			t.Fatal(err)
		}
		if err := <-results; err != nil {
			t.Fatal(err)
		}
		if got := conn.ConnectionState().DidResume; got != wantResumed {
			t.Fatalf("handshake %d: DidResume = %v", i, got)
		}
		conn.Close()
	}
	// The server goroutine wrote its log before the result it sent.
	if clientLog.String() != serverLog.String() {
		t.Fatalf("client logged %q, server %q", clientLog.String(), serverLog.String())
	}
	lines := keyLogLines(t, &clientLog)
	if len(lines) != 2 || lines[0][0] == lines[1][0] || lines[0][1] != lines[1][1] {
		t.Fatalf("key log %q: want two lines, different client randoms, one master secret", lines)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestKeyLogWriteFailureFailsHandshake: an operator who asked for a key
// log gets it or no connection.
func TestKeyLogWriteFailureFailsHandshake(t *testing.T) {
	for _, side := range []string{"client", "server"} {
		t.Run(side, func(t *testing.T) {
			cc, sc := clientConfig(t), serverConfig(t)
			failed := cc
			if side == "server" {
				failed = sc
			}
			failed.KeyLogWriter = failingWriter{}
			_, _, cerr, serr := handshakePair(t, cc, sc)
			err := cerr
			if side == "server" {
				err = serr
			}
			var ae *AlertError
			if !errors.As(err, &ae) || !ae.Sent || ae.Alert != uint8(alertHandshakeFailure) || !strings.Contains(err.Error(), "key log") {
				t.Fatalf("%s handshake: %v; want a sent handshake_failure naming the key log", side, err)
			}
		})
	}
}
