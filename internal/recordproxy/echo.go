package recordproxy

import (
	"bytes"
	"io"
	"testing"
)

// Echo writes data on a and reads it on b, then the other way round, each
// write on its own goroutine so that data larger than the transport's
// buffers does not deadlock; it fails the test unless both ends read
// exactly what the other wrote. a and b are the two ends of one
// connection, e.g. an ssl client and server after their handshakes.
func Echo(t testing.TB, a, b io.ReadWriter, data []byte) {
	t.Helper()
	for _, dir := range [][2]io.ReadWriter{{a, b}, {b, a}} {
		w, r := dir[0], dir[1]
		errc := make(chan error, 1)
		go func() { _, err := w.Write(data); errc <- err }()
		got := make([]byte, len(data))
		if _, err := io.ReadFull(r, got); err != nil {
			t.Fatalf("read: %v", err)
		}
		if err := <-errc; err != nil {
			t.Fatalf("write: %v", err)
		}
		if !bytes.Equal(got, data) {
			t.Fatal("data corrupted in transit")
		}
	}
}
