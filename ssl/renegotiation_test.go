package ssl

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"testing"
	"time"
)

// echoServer copies everything back until the connection ends.
func echoServer(s *Conn) chan error {
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(s, s)
		done <- err
	}()
	return done
}

func roundTrip(t *testing.T, c *Conn, msg []byte) {
	t.Helper()
	if _, err := c.Write(msg); err != nil {
		t.Fatalf("write: %v", err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("read: %v", err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatal("echo mismatch")
	}
}

func TestClientInitiatedSecureRenegotiation(t *testing.T) {
	cc, sc := clientConfig(t), serverConfig(t)
	cc.Renegotiation, sc.Renegotiation = RenegotiateSecure, RenegotiateSecure
	cc.CipherSuites = []uint16{SSL_RSA_WITH_3DES_EDE_CBC_SHA, SSL_RSA_WITH_RC4_128_SHA}
	c, s := mustHandshake(t, cc, sc)
	if !c.secureRenegotiation || !s.secureRenegotiation {
		t.Fatal("RFC 5746 support not detected by both sides")
	}
	done := echoServer(s)
	roundTrip(t, c, []byte("before"))
	firstClientFinished := append([]byte(nil), c.clientFinished...)
	for i := 0; i < 3; i++ {
		if err := c.Renegotiate(); err != nil {
			t.Fatalf("renegotiation %d: %v", i, err)
		}
		roundTrip(t, c, []byte("after renegotiation"))
	}
	if bytes.Equal(firstClientFinished, c.clientFinished) || c.handshakes != 4 {
		t.Fatalf("handshakes %d; verify_data did not change", c.handshakes)
	}
	big := make([]byte, 100000)
	rand.Read(big)
	roundTrip(t, c, big)
	c.Close()
	<-done
}

func TestServerInitiatedRenegotiationWithDataInFlight(t *testing.T) {
	c, s := secureRenegotiationPair(t)
	// The server keeps writing while it asks for a new handshake; the
	// client answers inside Read and loses no byte.
	const chunks = 50
	go func() {
		for i := 0; i < chunks; i++ {
			if i == 10 {
				if err := s.Renegotiate(); err != nil {
					t.Error(err)
				}
			}
			s.Write(bytes.Repeat([]byte{byte(i)}, 1000))
		}
	}()
	// The server must read to run its side of the new handshake.
	go io.Copy(io.Discard, s)
	got := make([]byte, chunks*1000)
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < chunks; i++ {
		if got[i*1000] != byte(i) || got[i*1000+999] != byte(i) {
			t.Fatalf("chunk %d corrupted", i)
		}
	}
	// Allow the server's Read goroutine to finish the handshake count.
	deadline := time.Now().Add(5 * time.Second)
	for c.handshakes < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if c.handshakes != 2 {
		t.Fatalf("client completed %d handshakes, want 2", c.handshakes)
	}
}

func TestRenegotiationPolicy(t *testing.T) {
	tests := []struct {
		name           string
		client, server RenegotiationSupport
		wantErr        bool
	}{
		{"server refuses by default", RenegotiateSecure, RenegotiateNever, true},
		{"secure on both sides", RenegotiateSecure, RenegotiateSecure, false},
		{"insecure allowed explicitly", RenegotiateInsecure, RenegotiateInsecure, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc, sc := clientConfig(t), serverConfig(t)
			cc.Renegotiation, sc.Renegotiation = tt.client, tt.server
			c, s := mustHandshake(t, cc, sc)
			done := echoServer(s)
			err := c.Renegotiate()
			if tt.wantErr {
				assertAlert(t, err, alertHandshakeFailure, false)
				assertAlert(t, <-done, alertHandshakeFailure, true)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			roundTrip(t, c, []byte("ok"))
		})
	}
}

// Without RFC 5746 on the peer, RenegotiateSecure refuses: the client
// does not start one, and a server does not accept one.
func TestSecureRenegotiationNeedsPeerSupport(t *testing.T) {
	c, s := secureRenegotiationPair(t)
	c.secureRenegotiation = false // as if the server had not answered the SCSV
	if err := c.Renegotiate(); err == nil {
		t.Fatal("client renegotiated insecurely under RenegotiateSecure")
	}
	s.secureRenegotiation = false // as if the client had not sent the SCSV
	done := echoServer(s)
	c.renegotiateAnyway(t)
	assertAlert(t, <-done, alertHandshakeFailure, true)
}

// renegotiateAnyway starts a handshake regardless of policy (test only).
func (c *Conn) renegotiateAnyway(t *testing.T) {
	c.in.Lock()
	defer c.in.Unlock()
	c.renegotiateLocked()
}

// A forged binding: the client's renegotiation_info does not match the
// previous Finished, as in a splicing attack.
func TestRenegotiationInfoMismatchRejected(t *testing.T) {
	c, s := secureRenegotiationPair(t)
	done := echoServer(s)
	c.clientFinished = bytes.Repeat([]byte{1}, 36)
	err := c.Renegotiate()
	assertAlert(t, err, alertHandshakeFailure, false)
	serverErr := <-done
	assertAlert(t, serverErr, alertHandshakeFailure, true)
	var ae *AlertError
	errors.As(serverErr, &ae)
	if ae.Err == nil || !bytes.Contains([]byte(ae.Err.Error()), []byte("renegotiation_info")) {
		t.Fatalf("server error does not name the cause: %v", serverErr)
	}
}

func TestClientIgnoresHelloRequestByDefault(t *testing.T) {
	cc, sc := clientConfig(t), serverConfig(t)
	sc.Renegotiation = RenegotiateSecure
	c, s := mustHandshake(t, cc, sc)
	go func() {
		s.Renegotiate()
		s.Write([]byte("still here"))
	}()
	got := make([]byte, 10)
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "still here" {
		t.Fatalf("%q %v", got, err)
	}
	if c.handshakes != 1 {
		t.Fatal("client renegotiated although not configured to")
	}
}

// secureRenegotiationPair is a handshaken pair with RenegotiateSecure on
// both ends.
func secureRenegotiationPair(t *testing.T) (c, s *Conn) {
	t.Helper()
	cc, sc := clientConfig(t), serverConfig(t)
	cc.Renegotiation, sc.Renegotiation = RenegotiateSecure, RenegotiateSecure
	return mustHandshake(t, cc, sc)
}
