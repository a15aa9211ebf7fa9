// Package recordproxy is the man in the middle of the project's tests: a
// proxy between an SSL 3.0 client and server that parses the record layer
// in both directions and lets a test observe, rewrite, drop, inject or split
// records and handshake messages.
//
// It knows the record framing (RFC 6101 §5.2.1: type, version, 16-bit
// length) and the handshake message framing (§5.6: type, 24-bit length),
// nothing of the engine: it does not import ssl, so ssl's package-internal
// tests use it as well as the integration tests.
//
// # Use
//
//	client, server, p := recordproxy.Pipe(t, func(dir recordproxy.Direction, r recordproxy.Record, w *recordproxy.Writer) {
//		if dir == recordproxy.ToServer && r.Type == recordproxy.TypeAlert {
//			return // drop: the server never sees the client's alerts
//		}
//		w.Send(r) // forward (or send something else, several records, or nothing)
//	})
//	// run ssl.Client(client, ...) and ssl.Server(server, ...)
//	p.Wait() // both directions ended; p.Records(dir) is what each side sent
//
// A Handler runs on one goroutine per direction; state kept per direction
// (indexed by dir) needs no lock. Writer.Close closes the direction's
// destination after the handler returns, which the peer sees as EOF.
//
// When an endpoint closes (or a read fails) the proxy closes the other
// endpoint's connection, so closure travels through the proxy as it would
// over one connection; Wait returns once both directions have ended. Close
// ends both at once.
package recordproxy

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// Direction is the way a record travels.
type Direction int

const (
	ToServer Direction = iota // written by the client
	ToClient                  // written by the server
)

func (d Direction) String() string {
	if d == ToServer {
		return "client→server"
	}
	return "server→client"
}

// Record content types (RFC 6101 §5.2.1) and the SSL 3.0 version.
const (
	TypeChangeCipherSpec uint8 = 20
	TypeAlert            uint8 = 21
	TypeHandshake        uint8 = 22
	TypeApplicationData  uint8 = 23

	SSL30 uint16 = 0x0300
)

// Record is one record as framed on the wire. Payload is not limited to
// 2^14 bytes (a test may send an oversized one) but must fit the 16-bit
// length.
type Record struct {
	Type    uint8
	Version uint16
	Payload []byte
}

// Marshal returns the record's wire bytes.
func (r Record) Marshal() []byte {
	n := len(r.Payload)
	return append([]byte{r.Type, byte(r.Version >> 8), byte(r.Version), byte(n >> 8), byte(n)}, r.Payload...)
}

// ReadRecord reads one record from r.
func ReadRecord(r io.Reader) (Record, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return Record{}, err
	}
	body := make([]byte, int(hdr[3])<<8|int(hdr[4]))
	if _, err := io.ReadFull(r, body); err != nil {
		return Record{}, err
	}
	return Record{Type: hdr[0], Version: uint16(hdr[1])<<8 | uint16(hdr[2]), Payload: body}, nil
}

// Handler decides what becomes of each record read from one side: it sends
// whatever should reach the other side (the record itself, something else,
// several records, nothing) through w.
type Handler func(dir Direction, r Record, w *Writer)

// Forward is the Handler that changes nothing.
func Forward(_ Direction, r Record, w *Writer) { w.Send(r) }

// Writer sends records to one side of the proxy.
type Writer struct {
	dst    net.Conn
	err    error
	closed bool
}

// Send writes r to the destination. After a failed write or Close it does
// nothing.
func (w *Writer) Send(r Record) {
	if w.closed || w.err != nil {
		return
	}
	_, w.err = w.dst.Write(r.Marshal())
}

// SendRaw writes bytes that need not be a record (an SSL 2.0 header, half a
// record).
func (w *Writer) SendRaw(b []byte) {
	if w.closed || w.err != nil {
		return
	}
	_, w.err = w.dst.Write(b)
}

// Close closes the destination and ends the direction once the handler
// returns.
func (w *Writer) Close() {
	if !w.closed {
		w.closed = true
		w.dst.Close()
	}
}

// Proxy relays between two connections, one facing the client and one
// facing the server.
type Proxy struct {
	client, server net.Conn
	handler        Handler
	wg             sync.WaitGroup
	mu             sync.Mutex
	records        [2][]Record
}

// New starts relaying between client (the proxy's end of the client's
// connection) and server (its end of the server's connection). A nil
// handler forwards everything.
func New(client, server net.Conn, h Handler) *Proxy {
	if h == nil {
		h = Forward
	}
	p := &Proxy{client: client, server: server, handler: h}
	p.wg.Add(2)
	go p.pump(ToServer, client, server)
	go p.pump(ToClient, server, client)
	return p
}

func (p *Proxy) pump(dir Direction, src, dst net.Conn) {
	defer p.wg.Done()
	defer dst.Close()
	w := &Writer{dst: dst}
	for {
		r, err := ReadRecord(src)
		if err != nil {
			return
		}
		p.mu.Lock()
		p.records[dir] = append(p.records[dir], Record{r.Type, r.Version, append([]byte(nil), r.Payload...)})
		p.mu.Unlock()
		p.handler(dir, r, w)
		if w.closed || w.err != nil {
			return
		}
	}
}

// Records returns the records read so far in direction dir, as the sending
// side wrote them (before the handler).
func (p *Proxy) Records(dir Direction) []Record {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Record(nil), p.records[dir]...)
}

// Wait returns when both directions have ended.
func (p *Proxy) Wait() { p.wg.Wait() }

// Close closes both of the proxy's connections and waits for the relay to
// end.
func (p *Proxy) Close() {
	p.client.Close()
	p.server.Close()
	p.Wait()
}

// Pipe returns a client-side and a server-side connection, real loopback
// TCP, joined by a proxy running h. The test's cleanup closes everything.
// Every connection gets a generous deadline so that a test that goes
// wrong ends instead of hanging.
func Pipe(t testing.TB, h Handler) (client, server net.Conn, p *Proxy) {
	t.Helper()
	client, pc := TCPPair(t)
	ps, server := TCPPair(t)
	p = New(pc, ps, h)
	t.Cleanup(p.Close)
	return client, server, p
}

// TCPPair returns the two ends of a fresh 127.0.0.1 TCP connection, closed
// by the test's cleanup, with a 30-second deadline.
func TCPPair(t testing.TB) (dialed, accepted net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	acc := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			c = nil
		}
		acc <- c
	}()
	dialed, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	accepted = <-acc
	if accepted == nil {
		dialed.Close()
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { dialed.Close(); accepted.Close() })
	deadline := time.Now().Add(30 * time.Second)
	dialed.SetDeadline(deadline)
	accepted.SetDeadline(deadline)
	return dialed, accepted
}

// Messages reassembles handshake messages from the payloads of handshake
// records (a message may span records, a record may hold several).
type Messages struct{ buf []byte }

// Add appends a handshake record's payload and returns the messages it
// completed, each with its 4-byte header.
func (m *Messages) Add(payload []byte) [][]byte {
	m.buf = append(m.buf, payload...)
	var out [][]byte
	for len(m.buf) >= 4 {
		n := int(m.buf[1])<<16 | int(m.buf[2])<<8 | int(m.buf[3])
		if len(m.buf) < 4+n {
			break
		}
		out = append(out, append([]byte(nil), m.buf[:4+n]...))
		m.buf = m.buf[4+n:]
	}
	return out
}

// Pending reports whether a partial message is buffered.
func (m *Messages) Pending() bool { return len(m.buf) > 0 }

// Message frames body as a handshake message of type typ.
func Message(typ uint8, body []byte) []byte {
	n := len(body)
	return append([]byte{typ, byte(n >> 16), byte(n >> 8), byte(n)}, body...)
}

// RewriteMessage returns a Handler that rewrites, in direction dir, the body
// of the first handshake message of type msgType sent before
// ChangeCipherSpec, with f (which gets a copy of the body without its
// header and may change it in place). Only plaintext is looked at: after
// ChangeCipherSpec an encrypted record may start with the same byte by
// chance. Every other record passes unchanged.
func RewriteMessage(dir Direction, msgType uint8, f func(body []byte) []byte) Handler {
	var (
		hs   Messages
		done bool
	)
	return func(d Direction, r Record, w *Writer) {
		if d != dir || (done && !hs.Pending()) {
			w.Send(r)
			return
		}
		switch r.Type {
		case TypeChangeCipherSpec:
			done = true
			w.Send(r)
		case TypeHandshake:
			var out []byte
			for _, msg := range hs.Add(r.Payload) {
				if !done && msg[0] == msgType {
					done = true
					msg = Message(msgType, f(msg[4:]))
				}
				out = append(out, msg...)
			}
			if out != nil {
				w.Send(Record{r.Type, r.Version, out})
			}
		default:
			w.Send(r)
		}
	}
}
