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

// inputBuffer holds bytes read from the transport that are not yet
// parsed: buf[off:]. Records are decrypted in place, so the plaintext of
// the last application-data record (Conn.input) also lives here until
// Read has returned it.
type inputBuffer struct {
	arr *[inBufSize]byte // nil while released
	buf []byte           // arr[:end]
	off int
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
	if b.arr == nil {
		b.arr = inBufPool.Get().(*[inBufSize]byte)
		b.buf, b.off = b.arr[:0], 0
	}
	if inBufSize-b.off < n {
		// Slide the partial record to the front to make room for it.
		m := copy(b.arr[:], b.buf[b.off:])
		b.buf, b.off = b.arr[:m], 0
	}
	for empty := 0; b.Len() < n; {
		m, err := r.Read(b.arr[len(b.buf):])
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
	if b.arr == nil || b.Len() != 0 {
		return
	}
	inBufPool.Put(b.arr)
	b.arr, b.buf, b.off = nil, nil, 0
}
