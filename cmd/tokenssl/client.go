package main

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/tokenssl/tokenssl/ssl"
	"github.com/tokenssl/tokenssl/token/pkcs11"
)

func runClient(args []string) error {
	fs := commandFlagSet("client")
	connect := fs.String("connect", "127.0.0.1:4433", "server address")
	var cfgFlags configFlags
	cfgFlags.register(fs)
	caFile := fs.String("ca", "", "PEM file of trusted roots")
	insecure := fs.Bool("insecure", false, "do not verify the server certificate (testing only)")
	serverName := fs.String("servername", "", "name to verify in the server certificate (default: host of -connect)")
	resume := fs.Bool("resume", false, "connect a second time offering the first session")
	timeout := fs.Duration("timeout", 30*time.Second, "handshake and echo timeout")
	var creds credentialFlags
	creds.register(fs, clientSide)
	listen := fs.String("listen", "", "tunnel: accept plaintext on ADDR and carry each connection over SSL 3.0 to -connect")
	var svcFlags serviceFlags
	svcFlags.register(fs)
	fs.Parse(args)

	config := &ssl.Config{InsecureSkipVerify: *insecure, ServerName: *serverName, HandshakeTimeout: *timeout}
	closeKeyLog, err := cfgFlags.apply(config)
	if err != nil {
		return err
	}
	defer closeKeyLog()
	if config.ServerName == "" {
		host, _, err := net.SplitHostPort(*connect)
		if err != nil {
			return err
		}
		config.ServerName = host
	}
	var tokens []certToken
	cardRoots, closeCreds, err := creds.open(clientSide, creds.keys.set(), func(lk *loadedKey) {
		if lk.backend != nil {
			tokens = append(tokens, certToken{len(config.Certificates), lk.backend})
		}
		config.Certificates = append(config.Certificates, lk.cert)
		if lk.card != "" {
			fmt.Fprintf(os.Stderr, "Fortezza card=%s\n", lk.card)
		}
	})
	if err != nil {
		return err
	}
	defer closeCreds()
	if *caFile == "" && !*insecure && cardRoots != nil {
		config.RootCAs = cardRoots // trust the CA stored on the card
	}
	if *caFile != "" {
		if config.RootCAs, err = loadPool(*caFile); err != nil {
			return err
		}
	} else if !*insecure && config.RootCAs == nil {
		return errors.New("client: give -ca FILE or -insecure")
	}
	if *listen != "" {
		return runTunnel(*listen, *connect, config, tokens, svcFlags)
	}
	if *resume {
		config.ClientSessionCache = ssl.NewLRUClientSessionCache(4)
	}
	if err := clientSession(*connect, config, os.Stdin, os.Stdout, *timeout); err != nil {
		return err
	}
	if *resume {
		return clientSession(*connect, config, nil, io.Discard, *timeout)
	}
	return nil
}

// clientSession handshakes, sends in, copies the echo to out until every
// byte sent has come back (or the server closes), then sends close_notify.
func clientSession(addr string, config *ssl.Config, in io.Reader, out io.Writer, timeout time.Duration) error {
	raw, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return err
	}
	c := ssl.Client(raw, config)
	defer c.Close()
	if err := c.Handshake(); err != nil {
		fmt.Fprintln(os.Stderr, failureLine(err))
		return err
	}
	fmt.Fprintln(os.Stderr, handshakeLine(c.ConnectionState()))
	if in == nil {
		return nil
	}
	// Reader: copy the echo to out, counting bytes.
	var received atomic.Int64
	readDone := make(chan error, 1)
	progress := make(chan struct{}, 1)
	go func() {
		buf := make([]byte, 32*1024)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				// Count only what has reached out: the waiter below may
				// return (and the process exit) as soon as the count is full.
				if _, werr := out.Write(buf[:n]); werr != nil {
					readDone <- werr
					return
				}
				received.Add(int64(n))
				select {
				case progress <- struct{}{}:
				default:
				}
			}
			if err != nil {
				if errors.Is(err, io.EOF) {
					err = nil // the server closed properly
				}
				readDone <- err
				return
			}
		}
	}()
	sent, err := io.Copy(c, in)
	if err != nil {
		return err
	}
	// Wait for the echo of every byte, as long as it keeps coming.
	for received.Load() < sent {
		select {
		case err := <-readDone:
			return err
		case <-progress:
		case <-time.After(timeout):
			return fmt.Errorf("client: echo incomplete after %v: sent %d bytes, received %d", timeout, sent, received.Load())
		}
	}
	return nil
}

// loadPool reads a PEM file of certificates into a pool.
func loadPool(path string) (*x509.CertPool, error) {
	chain, err := ssl.LoadCertificateChain(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	for _, der := range chain {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		pool.AddCert(c)
	}
	return pool, nil
}

// certToken is the token behind config.Certificates[cert].
type certToken struct {
	cert int
	b    *pkcs11.Backend
}

// runTunnel is `tokenssl client -listen`: each plaintext connection
// accepted on listen is carried over a new SSL 3.0 connection to connect
// (resuming the tunnel's previous session when the server allows).
func runTunnel(listen, connect string, config *ssl.Config, tokens []certToken, f serviceFlags) error {
	svc, err := f.newService("client")
	if err != nil {
		return err
	}
	m := svc.m
	var tok *tokenID
	for _, t := range tokens {
		m.watchPool(t.b)
		cert := &config.Certificates[t.cert]
		cert.PrivateKey = m.instrument(cert.PrivateKey, t.b.Label())
		tok = &tokenID{t.b.Label(), t.b.Slot()}
	}
	config.ClientSessionCache = ssl.NewLRUClientSessionCache(64)
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	svc.handle = func(plain net.Conn, lc *liveConn) {
		rec := lc.rec
		rec.backend, rec.token, rec.peerIsServer = connect, tok, true
		raw, err := net.DialTimeout("tcp", connect, backendDialTimeout)
		if err != nil {
			rec.fail(fmt.Errorf("connect %s: %w", connect, err))
			return
		}
		sc := ssl.Client(raw, config)
		lc.onStop(func() {
			sc.SetWriteDeadline(time.Now().Add(2 * time.Second))
			sc.Close()
		})
		defer sc.Close()
		if _, err := rec.handshake(sc, m); err != nil {
			return
		}
		rec.fail(pipe(&countConn{Conn: sc, rec: rec, touch: lc.touch}, plain))
	}
	return svc.serve(ln)
}
