package integration

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenssl/tokenssl/ssl"
)

// TestLoadWithHostileClients runs well-behaved clients alongside clients
// that send garbage, stall, or hang up mid-handshake, against one server on
// loopback. Every well-behaved client must complete, and the server's
// goroutines and heap must return to their baseline afterwards. Bounded in
// count (160 connections) and time (the stallers are cut off by the
// server's handshake deadline).
func TestLoadWithHostileClients(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	cert, roots := loadTestCert(t)
	baseGoroutines, baseHeap := settle()

	config := &ssl.Config{Certificates: []ssl.Certificate{cert}, HandshakeTimeout: 2 * time.Second,
		CipherSuites: []uint16{ssl.SSL_RSA_WITH_RC4_128_SHA, ssl.SSL_RSA_WITH_3DES_EDE_CBC_SHA}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var served, failed atomic.Int64
	serverWG := acceptEach(ln, func(raw net.Conn) {
		c := ssl.Server(raw, config)
		defer c.Close()
		if err := c.Handshake(); err != nil {
			failed.Add(1)
			return
		}
		served.Add(1)
		// An idle connection may not hold the server either.
		raw.SetDeadline(time.Now().Add(5 * time.Second))
		io.Copy(c, c)
	})
	addr := ln.Addr().String()

	const good, each = 40, 40
	var wg sync.WaitGroup
	goodErrs := make(chan error, good)
	cache := ssl.NewLRUClientSessionCache(good)
	for i := 0; i < good; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			cc := &ssl.Config{RootCAs: roots, ServerName: "localhost", CipherSuites: config.CipherSuites}
			if i%2 == 0 {
				cc.ClientSessionCache = cache
			}
			for j := 0; j < 2; j++ {
				if err := goodClient(addr, cc); err != nil {
					goodErrs <- err
					return
				}
			}
		}(i)
	}
	// Hostile clients: garbage, stall, hang up mid-handshake.
	for i := 0; i < each; i++ {
		wg.Add(3)
		go func() {
			defer wg.Done()
			if c, err := net.Dial("tcp", addr); err == nil {
				junk := make([]byte, 3000)
				rand.Read(junk)
				c.Write(junk)
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				io.Copy(io.Discard, c)
				c.Close()
			}
		}()
		go func() {
			defer wg.Done()
			if c, err := net.Dial("tcp", addr); err == nil {
				// A partial record header, then silence until the server
				// gives up on us.
				c.Write([]byte{22, 3, 0})
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				io.Copy(io.Discard, c)
				c.Close()
			}
		}()
		go func() {
			defer wg.Done()
			raw, err := net.Dial("tcp", addr)
			if err != nil {
				return
			}
			// Start a real handshake and vanish after the server's flight.
			c := ssl.Client(raw, &ssl.Config{InsecureSkipVerify: true})
			go c.Handshake()
			time.Sleep(50 * time.Millisecond)
			raw.Close()
		}()
	}
	wg.Wait()
	close(goodErrs)
	for err := range goodErrs {
		t.Errorf("well-behaved client failed: %v", err)
	}
	ln.Close()
	serverWG.Wait()
	t.Logf("handshakes served %d, failed %d", served.Load(), failed.Load())
	if served.Load() < 2*good {
		t.Fatalf("only %d of %d good handshakes were served", served.Load(), 2*good)
	}

	g, heap := settle()
	t.Logf("goroutines %d -> %d, heap %d KiB -> %d KiB", baseGoroutines, g, baseHeap>>10, heap>>10)
	if g > baseGoroutines+2 {
		buf := make([]byte, 1<<16)
		t.Fatalf("goroutines did not return to baseline: %d -> %d\n%s", baseGoroutines, g, buf[:runtime.Stack(buf, true)])
	}
	if heap > baseHeap+16<<20 {
		t.Fatalf("heap did not return to baseline: %d KiB -> %d KiB", baseHeap>>10, heap>>10)
	}
}

func goodClient(addr string, cc *ssl.Config) error {
	raw, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	raw.SetDeadline(time.Now().Add(20 * time.Second))
	c := ssl.Client(raw, cc)
	defer c.Close()
	msg := make([]byte, 4096)
	rand.Read(msg)
	if _, err := c.Write(msg); err != nil {
		return err
	}
	got := make([]byte, len(msg))
	_, err = io.ReadFull(c, got)
	return err
}

// settle waits for stray goroutines to end and returns the goroutine count
// and live heap.
func settle() (int, uint64) {
	var ms runtime.MemStats
	prev := -1
	for i := 0; i < 50; i++ {
		runtime.GC()
		n := runtime.NumGoroutine()
		if n == prev {
			break
		}
		prev = n
		time.Sleep(100 * time.Millisecond)
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return runtime.NumGoroutine(), ms.HeapAlloc
}

func loadTestCert(t *testing.T) (ssl.Certificate, *x509.CertPool) {
	ca := newTestCA(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Certificate(key, "localhost", x509.ExtKeyUsageServerAuth)
	if err != nil {
		t.Fatal(err)
	}
	return cert, ca.Roots
}
