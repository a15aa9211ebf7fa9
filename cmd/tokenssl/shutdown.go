package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// serviceFlags are the flags of the long-running sides: the server and
// the client's tunnel (-listen).
type serviceFlags struct {
	logFormat, logLevel string
	metricsListen       string
	maxConns            int
	idle, grace         time.Duration
}

func (f *serviceFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.logFormat, "log-format", "text", "log format: text or json (one line per connection)")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&f.metricsListen, "metrics-listen", "", "serve Prometheus metrics on ADDR (/metrics)")
	fs.IntVar(&f.maxConns, "max-conns", 0, "connections served at once; more are refused (0: no cap)")
	fs.DurationVar(&f.idle, "idle-timeout", 0, "close a connection with no data either way for this long (0: never)")
	fs.DurationVar(&f.grace, "grace", 10*time.Second, "on SIGTERM/SIGINT, time given to open connections before close_notify")
}

// newService is the service the flags describe, logging to stderr; name
// ("server", "client") prefixes its errors. handle is left to the caller.
func (f *serviceFlags) newService(name string) (*service, error) {
	logger, err := newLogger(os.Stderr, f.logFormat, f.logLevel)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	s := &service{name: name, log: logger, metricsListen: f.metricsListen, maxConns: f.maxConns, idle: f.idle, grace: f.grace}
	if f.metricsListen != "" {
		s.m = newMetrics()
	}
	return s, nil
}

// service is the accept loop shared by the server and the tunnel: a
// connection cap, an idle timer per connection, one log line per
// connection, a graceful stop on SIGTERM/SIGINT, and the metrics endpoint.
type service struct {
	name          string
	log           *slog.Logger
	m             *metrics // nil without -metrics-listen
	metricsListen string
	maxConns      int
	idle, grace   time.Duration
	// handle serves one accepted connection; lc.rec collects its line.
	handle func(c net.Conn, lc *liveConn)
}

// liveConn is a connection being served: what stops it and its record.
type liveConn struct {
	rec *connRecord

	mu      sync.Mutex
	closers []func()
	stopped bool

	idle  time.Duration
	last  atomic.Int64 // UnixNano of the last application data
	timer *time.Timer
}

// onStop registers f to run when the connection is stopped from our side
// (shutdown, idle timeout); at once if it already was.
func (lc *liveConn) onStop(f func()) {
	lc.mu.Lock()
	if !lc.stopped {
		lc.closers = append(lc.closers, f)
		lc.mu.Unlock()
		return
	}
	lc.mu.Unlock()
	f()
}

// stop ends the connection for reason; errors its goroutines then see are
// not reported as failures.
func (lc *liveConn) stop(reason string) {
	lc.rec.endedBy(reason)
	lc.mu.Lock()
	if lc.stopped {
		lc.mu.Unlock()
		return
	}
	lc.stopped = true
	closers := lc.closers
	lc.mu.Unlock()
	for i := len(closers) - 1; i >= 0; i-- {
		closers[i]()
	}
}

// touch records application data, postponing the idle timeout.
func (lc *liveConn) touch() {
	if lc.idle > 0 {
		lc.last.Store(time.Now().UnixNano())
	}
}

// startIdle arms the idle timer: it re-arms itself for the time left since
// the last touch and stops the connection once a full period passed idle.
func (lc *liveConn) startIdle() {
	if lc.idle <= 0 {
		return
	}
	lc.touch()
	var check func()
	check = func() {
		left := lc.idle - time.Since(time.Unix(0, lc.last.Load()))
		if left > 0 {
			lc.timer.Reset(left)
			return
		}
		lc.stop("idle timeout")
	}
	lc.mu.Lock()
	lc.timer = time.AfterFunc(lc.idle, check)
	lc.mu.Unlock()
}

func (lc *liveConn) stopIdle() {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if lc.timer != nil {
		lc.timer.Stop()
	}
}

// serve starts the metrics endpoint (closing ln if it cannot), accepts on
// ln until SIGTERM/SIGINT, then stops accepting, lets open connections
// finish for the grace period (a second signal cuts it short), stops the
// rest (close_notify, close) and returns nil once every connection has
// written its line.
func (s *service) serve(ln net.Listener) error {
	if s.m != nil {
		stop, err := s.m.serve(s.metricsListen, s.log)
		if err != nil {
			ln.Close()
			return fmt.Errorf("%s: -metrics-listen: %w", s.name, err)
		}
		defer stop()
	}
	s.log.Info("listening on "+ln.Addr().String(), "addr", ln.Addr().String())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)

	var (
		mu       sync.Mutex
		live     = map[*liveConn]struct{}{}
		wg       sync.WaitGroup
		stopping atomic.Bool
		allDone  = make(chan struct{})
		drained  = make(chan struct{})
	)
	go func() {
		defer close(drained)
		var sig os.Signal
		select {
		case sig = <-sigs:
		case <-allDone: // the listener failed
			return
		}
		stopping.Store(true)
		mu.Lock()
		n := len(live)
		mu.Unlock()
		s.log.Info("shutting down: no new connections", "signal", sig.String(), "open", n, "grace", s.grace.String())
		ln.Close()
		grace := time.NewTimer(s.grace)
		defer grace.Stop()
		select {
		case <-allDone:
			return
		case <-grace.C:
		case <-sigs:
		}
		mu.Lock()
		for lc := range live {
			go lc.stop("shutdown")
		}
		mu.Unlock()
	}()

	var acceptErr error
	for {
		c, err := ln.Accept()
		if err != nil {
			if stopping.Load() || errors.Is(err, net.ErrClosed) {
				break
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			acceptErr = err
			break
		}
		mu.Lock()
		full := s.maxConns > 0 && len(live) >= s.maxConns
		mu.Unlock()
		if full {
			// Refused at once, as stunnel does: a queue behind a full
			// server only turns into handshake timeouts.
			s.log.Warn("connection refused", "peer", c.RemoteAddr().String(), "reason", fmt.Sprintf("-max-conns %d reached", s.maxConns))
			s.m.refused()
			c.Close()
			continue
		}
		lc := &liveConn{rec: &connRecord{start: time.Now(), peer: c.RemoteAddr().String()}, idle: s.idle}
		mu.Lock()
		live[lc] = struct{}{}
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.run(c, lc)
			mu.Lock()
			delete(live, lc)
			mu.Unlock()
			// Logged last: once its line is out, the connection no longer
			// counts against -max-conns or in the metrics.
			lc.rec.log(s.log)
		}()
	}
	wg.Wait()
	close(allDone)
	<-drained
	if acceptErr != nil {
		return acceptErr
	}
	s.log.Info("stopped")
	return nil
}

// run serves one connection.
func (s *service) run(c net.Conn, lc *liveConn) {
	s.m.opened()
	defer s.m.closed(lc.rec)
	lc.onStop(func() {
		// Bound how long a peer that stopped reading can hold the
		// close_notify Close sends.
		c.SetWriteDeadline(time.Now().Add(2 * time.Second))
		c.Close()
	})
	lc.startIdle()
	s.handle(c, lc)
	lc.stopIdle()
	c.Close()
}
