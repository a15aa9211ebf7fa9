package recordproxy

import (
	"net"
	"sync"
)

// AcceptEach runs handle on each connection ln accepts, each in a
// goroutine of its own, until ln is closed. The group it returns counts
// the accepting goroutine and the handlers: Wait after closing ln waits
// for them all.
func AcceptEach(ln net.Listener, handle func(net.Conn)) *sync.WaitGroup {
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
