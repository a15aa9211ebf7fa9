package main

import (
	"fmt"
	"io"
	"net"
	"time"
)

// backendDialTimeout bounds the connect to a -forward backend.
const backendDialTimeout = 10 * time.Second

// forward connects to the plaintext backend at addr and pipes sc to it:
// the server side of `tokenssl server -forward`.
func forward(sc *countConn, addr string, lc *liveConn) error {
	b, err := net.DialTimeout("tcp", addr, backendDialTimeout)
	if err != nil {
		return fmt.Errorf("backend %s: %w", addr, err)
	}
	lc.onStop(func() { b.Close() })
	defer b.Close()
	return pipe(sc, b)
}

// pipe copies between an SSL connection and a plaintext TCP connection in
// both directions until both are done, passing half-closes on:
//
//   - the plaintext side's EOF (FIN) becomes close_notify to the SSL peer
//     (CloseWrite), and the other direction goes on until the SSL peer
//     closes too;
//   - the SSL peer's close_notify becomes a FIN to the plaintext side.
//     The engine has answered it with its own close_notify (SSL 3.0
//     §7.4.1: the receiver closes at once, discarding pending writes), so
//     nothing more can reach the SSL peer and the plaintext side is
//     closed after the FIN.
//
// Any other end of either direction (an error, a peer that hangs up
// without close_notify) ends both. The error returned is the first
// failure, nil for a clean end.
func pipe(sc *countConn, plain net.Conn) error {
	type result struct {
		fromSSL bool
		err     error
	}
	done := make(chan result, 2)
	go func() {
		_, err := io.Copy(plain, sc)
		if err == nil {
			closeWrite(plain)
		}
		done <- result{true, err}
	}()
	go func() {
		_, err := io.Copy(sc, plain)
		if err == nil {
			err = sc.CloseWrite()
		}
		done <- result{false, err}
	}()
	first := <-done
	if first.err != nil || first.fromSSL {
		// Unblock the other direction: its error is a consequence.
		plain.Close()
		sc.Close()
		<-done
		return first.err
	}
	// The plaintext side half-closed; wait for the SSL peer's close.
	second := <-done
	return second.err
}

// closeWrite half-closes a TCP connection (FIN), or closes what cannot.
func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
		return
	}
	c.Close()
}
