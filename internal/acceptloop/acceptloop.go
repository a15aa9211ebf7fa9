// Package acceptloop is the accept loop the demo and the end-to-end tests
// share: a handler per accepted connection, and one WaitGroup to wait for
// them all after closing the listener. It imports nothing but net and sync,
// so the tokenssl binary can use it without linking test support.
package acceptloop

import (
	"net"
	"sync"
)

// Each runs handle on each connection ln accepts, each in a
// goroutine of its own, until ln is closed. The group it returns counts
// the accepting goroutine and the handlers: Wait after closing ln waits
// for them all.
func Each(ln net.Listener, handle func(net.Conn)) *sync.WaitGroup {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				handle(c)
			}()
		}
	}()
	return &wg
}
