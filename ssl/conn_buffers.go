package ssl

import (
	"errors"
	"io"
	"sync"
)

// The record layer's two buffers come from pools and go back whenever a
// connection has nothing pending, so that an idle connection holds no
// record-sized memory (a server may hold many idle connections) and a busy
// one allocates nothing per record.

const (
	// recordOverhead bounds what sealing adds to a fragment: MAC (20),
	// padding (a block) and a FORTEZZA_CBC prefix (a block).
	recordOverhead = 64
	// inBufSize holds the largest record the peer may send.
	inBufSize = recordHeaderLen + maxCiphertext
	// outBufSize holds a full record plus the one-byte record of a 1/n-1
	// split, so that both go out in one write.
	outBufSize = maxPlaintext + 2*(recordHeaderLen+recordOverhead)
)

var (
	inBufPool  = sync.Pool{New: func() any { return new([inBufSize]byte) }}
	outBufPool = sync.Pool{New: func() any { return new([outBufSize]byte) }}
)

// getOutBuf returns an empty pooled buffer for sealed records.
func getOutBuf() []byte { return outBufPool.Get().(*[outBufSize]byte)[:0] }

// putOutBuf returns b to the pool when it is a pooled buffer (a handshake
// flight longer than one record grows it past the pool's size; that one is
// left to the collector).
func putOutBuf(b []byte) {
	if cap(b) == outBufSize {
		outBufPool.Put((*[outBufSize]byte)(b[:outBufSize]))
	}
}

// smallInput is the inline part of an input buffer: what a connection
// reads into while it has no pooled buffer. It holds a client's whole
// handshake flight for RSA-2048 and any short record, so that a connection
// waiting in Read (idle) and most handshakes take nothing from the pool.
const smallInput = 512

// inputBuffer holds bytes read from the transport that are not yet
// parsed: buf[off:]. Records are decrypted in place, so the plaintext of
// the last application-data record (Conn.input) also lives here until
// Read has returned it. buf is a slice of small until a record needs more,
// then of a pooled array (arr) until release.
type inputBuffer struct {
	arr   *[inBufSize]byte // nil while small serves
	buf   []byte           // small[:end] or arr[:end]
	off   int
	small [smallInput]byte
}

var errNoProgress = errors.New("ssl: transport returned no data and no error")

// Len is the number of unparsed bytes.
func (b *inputBuffer) Len() int { return len(b.buf) - b.off }

// Bytes returns the unparsed bytes.
func (b *inputBuffer) Bytes() []byte { return b.buf[b.off:] }

// Next consumes and returns the next n unparsed bytes (n <= Len()).
func (b *inputBuffer) Next(n int) []byte {
	p := b.buf[b.off : b.off+n]
	b.off += n
	return p
}

// fill reads from r until at least n bytes are unparsed. Each read asks
// for all the room there is, so back-to-back records cost one system call.
// A transport EOF before n bytes is io.ErrUnexpectedEOF once some bytes
// have arrived, io.EOF at a clean boundary.
func (b *inputBuffer) fill(r io.Reader, n int) error {
	if b.Len() >= n {
		return nil
	}
	if n > inBufSize {
		return errors.New("ssl: internal error: record larger than the input buffer")
	}
	if b.buf == nil {
		b.buf = b.small[:0]
	}
	if cap(b.buf)-b.off < n {
		// Make room at the front, in the pooled array when small is too
		// small for the record.
		dst := b.buf[:cap(b.buf)]
		if b.arr == nil && n > smallInput {
			b.arr = inBufPool.Get().(*[inBufSize]byte)
			dst = b.arr[:]
		}
		m := copy(dst, b.buf[b.off:])
		b.buf, b.off = dst[:m], 0
	}
	for empty := 0; b.Len() < n; {
		m, err := r.Read(b.buf[len(b.buf):cap(b.buf)])
		b.buf = b.buf[:len(b.buf)+m]
		if b.Len() >= n {
			return nil
		}
		if err == io.EOF && b.Len() > 0 {
			return io.ErrUnexpectedEOF
		}
		if err != nil {
			return err
		}
		if m == 0 {
			if empty++; empty > 100 {
				return errNoProgress
			}
		}
	}
	return nil
}

// release returns the buffer to the pool; the caller guarantees that
// nothing unparsed is left and nothing refers into it (Conn.input drained).
func (b *inputBuffer) release() {
	if b.Len() != 0 {
		return
	}
	if b.arr != nil {
		inBufPool.Put(b.arr)
		b.arr = nil
	}
	b.buf, b.off = b.small[:0], 0
}
