package integration

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokenssl/tokenssl/ssl"
)

// TestKeyLogDecryptsCapture shows that Config.KeyLogWriter is enough for
// Wireshark: a real SSL 3.0 connection over loopback, its server key on a
// SoftHSM token, is captured by tcpdump, and Debian's tshark decrypts the
// application data of both directions with the key log alone. Once with
// RSA key transport (the token decrypts the pre-master secret) and the
// server's key log, once with DHE_RSA (the token signs) and the client's.
func TestKeyLogDecryptsCapture(t *testing.T) {
	tcpdump, tshark := captureTools(t)
	ca := newTestCA(t)
	cert, _, _ := tokenRSA(t, ca, "localhost", x509.ExtKeyUsageServerAuth, 1)
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)

	for _, tc := range []struct {
		suite     uint16
		serverLog bool // the server writes the key log, else the client
	}{
		{ssl.SSL_RSA_WITH_3DES_EDE_CBC_SHA, true},
		{ssl.SSL_DHE_RSA_WITH_3DES_EDE_CBC_SHA, false},
	} {
		t.Run(ssl.CipherSuiteName(tc.suite), func(t *testing.T) {
			dir := t.TempDir()
			keyLogPath := filepath.Join(dir, "keys.txt")
			keyLog, err := os.Create(keyLogPath)
			if err != nil {
				t.Fatal(err)
			}
			defer keyLog.Close()
			serverConfig := &ssl.Config{Certificates: []ssl.Certificate{cert}, CipherSuites: []uint16{tc.suite}}
			clientConfig := &ssl.Config{RootCAs: roots, ServerName: "localhost", CipherSuites: []uint16{tc.suite}}
			if tc.serverLog {
				serverConfig.KeyLogWriter = keyLog
			} else {
				clientConfig.KeyLogWriter = keyLog
			}
			ln, err := ssl.Listen("tcp", "127.0.0.1:0", serverConfig)
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			port := ln.Addr().(*net.TCPAddr).Port

			pcap := filepath.Join(dir, "cap.pcap")
			stop := startCapture(t, tcpdump, pcap, port)

			nonce := make([]byte, 8)
			rand.Read(nonce)
			request := "request " + hex.EncodeToString(nonce) + " from the client, in SSL 3.0"
			reply := "reply " + hex.EncodeToString(nonce) + " from the server on a token key"
			served := serveOne(ln, func(c net.Conn) error {
				buf := make([]byte, len(request))
				if _, err := io.ReadFull(c, buf); err != nil {
					return err
				}
				_, err := c.Write([]byte(reply))
				return err
			})
			conn, err := ssl.Dial("tcp", ln.Addr().String(), clientConfig)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := conn.Write([]byte(request)); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, len(reply))
			if _, err := io.ReadFull(conn, got); err != nil {
				t.Fatal(err)
			}
			if st := conn.ConnectionState(); st.CipherSuite != tc.suite {
				t.Fatalf("negotiated %s", ssl.CipherSuiteName(st.CipherSuite))
			}
			conn.Close()
			if err := <-served; err != nil {
				t.Fatal(err)
			}
			stop()

			lines := readLines(t, keyLogPath)
			if len(lines) != 1 || !regexp.MustCompile(`^CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}$`).MatchString(lines[0]) {
				t.Fatalf("key log = %q, want one NSS CLIENT_RANDOM line", lines)
			}

			// Without the key log tshark sees only ciphertext: the test
			// can fail.
			if text := decrypted(t, tshark, pcap, "", port); strings.Contains(text, request) || strings.Contains(text, reply) {
				t.Fatalf("tshark shows the plaintext without a key log: %q", text)
			}
			text := decrypted(t, tshark, pcap, keyLogPath, port)
			for _, want := range []string{request, reply} {
				if !strings.Contains(text, want) {
					t.Errorf("tshark's decrypted application data %q lacks %q", text, want)
				}
			}
		})
	}
}

// captureTools returns the paths of tcpdump and tshark, installing them
// with scripts/install-capture.sh when missing; the test is skipped only
// when they cannot be installed.
func captureTools(t *testing.T) (tcpdump, tshark string) {
	t.Helper()
	find := func() error {
		var err error
		if tcpdump, err = exec.LookPath("tcpdump"); err != nil {
			return err
		}
		tshark, err = exec.LookPath("tshark")
		return err
	}
	if find() != nil {
		out, err := exec.Command("bash", filepath.Join("..", "scripts", "install-capture.sh")).CombinedOutput()
		if err != nil || find() != nil {
			t.Skipf("tcpdump and tshark cannot be installed (scripts/install-capture.sh: %v): %s", err, out)
		}
	}
	if os.Geteuid() != 0 {
		t.Skip("capturing on loopback needs root (or CAP_NET_RAW for tcpdump)")
	}
	return tcpdump, tshark
}

// startCapture runs tcpdump on lo for the test's port until the returned
// function is called; it returns once tcpdump is capturing.
func startCapture(t *testing.T, tcpdump, pcap string, port int) (stop func()) {
	t.Helper()
	// --immediate-mode hands each packet over as it comes (not a buffer
	// block at a time) and -U writes it at once; -s 0 keeps packets whole.
	cmd := exec.Command(tcpdump, "-i", "lo", "-n", "--immediate-mode", "-U", "-s", "0", "-w", pcap, "tcp", "port", fmt.Sprint(port))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	var log bytes.Buffer
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "listening on") {
				ready <- sc.Text()
			}
		}
		close(ready)
	}()
	done := false
	stop = func() {
		if done {
			return
		}
		done = true
		// tcpdump may still hold the last packets when interrupted: wait
		// (at most a while) until the file holds the end of the
		// connection, a FIN each way or an RST (a side that gets data after
		// its close resets, and a reset side sends no FIN). Packets are
		// written in order, so everything before the end is in the file.
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			out, _ := exec.Command(tcpdump, "-r", pcap, "-n", "tcp[tcpflags] & (tcp-fin|tcp-rst) != 0").Output()
			toServer := fmt.Sprintf(" > 127.0.0.1.%d:", port)
			var finTo, finFrom, rst bool
			for _, line := range strings.Split(string(out), "\n") {
				switch {
				case strings.Contains(line, "Flags [R"):
					rst = true
				case strings.Contains(line, "Flags [F") && strings.Contains(line, toServer):
					finTo = true
				case strings.Contains(line, "Flags [F"):
					finFrom = true
				}
			}
			if rst || finTo && finFrom {
				break
			}
		}
		cmd.Process.Signal(syscall.SIGINT)
		cmd.Wait()
	}
	t.Cleanup(stop)
	select {
	case _, ok := <-ready:
		if !ok {
			stop()
			t.Fatalf("tcpdump did not start: %s", log.String())
		}
	case <-time.After(30 * time.Second):
		stop()
		t.Fatal("tcpdump did not start capturing")
	}
	return stop
}

// decrypted returns the application data tshark decrypts from the capture
// with the key log (none: keyLog ""), both directions in capture order.
// Decrypted SSL 3.0 application data of no known protocol is dissected as
// "data": its bytes are data.data, one hex field per record.
func decrypted(t *testing.T, tshark, pcap, keyLog string, port int) string {
	t.Helper()
	args := []string{"-r", pcap, "-n", "-d", fmt.Sprintf("tcp.port==%d,tls", port)}
	if keyLog != "" {
		args = append(args, "-o", "tls.keylog_file:"+keyLog)
	}
	args = append(args, "-Y", "tls", "-T", "fields", "-E", "separator=,", "-e", "data.data")
	out, err := exec.Command(tshark, args...).Output()
	if err != nil {
		t.Fatalf("tshark %s: %v", strings.Join(args, " "), err)
	}
	var text strings.Builder
	for _, field := range strings.FieldsFunc(string(out), func(r rune) bool { return r == ',' || r == '\n' }) {
		b, err := hex.DecodeString(strings.ReplaceAll(field, ":", ""))
		if err != nil {
			t.Fatalf("tshark printed %q, not hex", field)
		}
		text.Write(b)
	}
	return text.String()
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

// The CLI writes the NSS key log when asked (-keylog on the client,
// $SSLKEYLOGFILE on the server), and only then: both ends log the same
// CLIENT_RANDOM line per handshake, the resumed one included, and warn on
// stderr that the file exposes the traffic. That tshark decrypts SSL 3.0
// records with such a line is shown by TestKeyLogDecryptsCapture.
func TestCLIKeyLog(t *testing.T) {
	dir := serverKeyFiles(t)
	serverLog, clientLog := filepath.Join(dir, "server.keys"), filepath.Join(dir, "client.keys")
	addr, serverErr := cliServer(t, []string{"SSLKEYLOGFILE=" + serverLog},
		"-cert", filepath.Join(dir, "server.pem"), "-key", filepath.Join(dir, "server.key"), "-ciphers", "EDH-RSA-DES-CBC3-SHA,RC4-SHA")
	for _, suite := range []string{"EDH-RSA-DES-CBC3-SHA", "RC4-SHA"} {
		out, errOut, err := runCLIClient(t, []string{"SSLKEYLOGFILE="}, []byte("logged\n"), "-connect", addr, "-ca", filepath.Join(dir, "ca.pem"),
			"-servername", "localhost", "-ciphers", suite, "-resume", "-keylog", clientLog)
		if err != nil || out != "logged\nlogged\n" && out != "logged\n" {
			t.Fatalf("%s: %v %q\n%s", suite, err, out, errOut)
		}
		if !strings.Contains(errOut, "key log: writing every session's master secret to "+clientLog) {
			t.Fatalf("client did not warn about the key log:\n%s", errOut)
		}
	}
	// Without either, no key log.
	if _, errOut, err := runCLIClient(t, []string{"SSLKEYLOGFILE="}, []byte("x"), "-connect", addr, "-insecure", "-ciphers", "RC4-SHA"); err != nil || strings.Contains(errOut, "key log") {
		t.Fatalf("client without -keylog: %v\n%s", err, errOut)
	}
	if !strings.Contains(serverErr(), "key log: writing every session's master secret to "+serverLog) {
		t.Fatalf("server did not warn about the key log:\n%s", serverErr())
	}
	line := regexp.MustCompile(`^CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}$`)
	read := func(path string) []string {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", path, fi.Mode().Perm())
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		for _, l := range lines {
			if !line.MatchString(l) {
				t.Fatalf("%s: malformed line %q", path, l)
			}
		}
		return lines
	}
	cl := read(clientLog)
	if len(cl) != 4 { // two suites, a full and a resumed handshake each
		t.Fatalf("client key log has %d lines, want 4:\n%s", len(cl), strings.Join(cl, "\n"))
	}
	// The server also logged the third client's handshake; every line the
	// client wrote is in the server's log.
	deadline := time.Now().Add(5 * time.Second)
	for {
		sl := strings.Join(read(serverLog), "\n")
		missing := 0
		for _, l := range cl {
			if !strings.Contains(sl, l) {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d client lines not in the server's key log", missing)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
