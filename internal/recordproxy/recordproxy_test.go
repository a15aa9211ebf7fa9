package recordproxy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
)

func rec(typ uint8, payload string) Record {
	return Record{Type: typ, Version: SSL30, Payload: []byte(payload)}
}

func readN(t *testing.T, c net.Conn, n int) []Record {
	t.Helper()
	var out []Record
	for range n {
		r, err := ReadRecord(c)
		if err != nil {
			t.Fatalf("after %d records: %v", len(out), err)
		}
		out = append(out, r)
	}
	return out
}

func TestProxyActions(t *testing.T) {
	client, server, p := Pipe(t, func(dir Direction, r Record, w *Writer) {
		switch string(r.Payload) {
		case "drop":
		case "split":
			w.Send(Record{r.Type, r.Version, r.Payload[:2]})
			w.Send(Record{r.Type, r.Version, r.Payload[2:]})
		case "inject":
			w.Send(rec(TypeAlert, "\x02\x28"))
			w.Send(r)
		case "rewrite":
			w.Send(rec(r.Type, "rewritten"))
		case "close":
			w.Close()
		default:
			w.Send(r)
		}
	})
	for _, s := range []string{"drop", "split", "inject", "rewrite", "plain"} {
		client.Write(rec(TypeHandshake, s).Marshal())
	}
	got := readN(t, server, 6)
	want := []Record{rec(TypeHandshake, "sp"), rec(TypeHandshake, "lit"), rec(TypeAlert, "\x02\x28"),
		rec(TypeHandshake, "inject"), rec(TypeHandshake, "rewritten"), rec(TypeHandshake, "plain")}
	for i := range want {
		if got[i].Type != want[i].Type || got[i].Version != want[i].Version || !bytes.Equal(got[i].Payload, want[i].Payload) {
			t.Errorf("record %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	// The other direction, then closure through the proxy.
	server.Write(rec(TypeApplicationData, "back").Marshal())
	if r := readN(t, client, 1)[0]; string(r.Payload) != "back" {
		t.Errorf("server→client %+v", r)
	}
	server.Write(rec(TypeApplicationData, "close").Marshal())
	if _, err := ReadRecord(client); !errors.Is(err, io.EOF) {
		t.Errorf("after close: %v, want EOF", err)
	}
	client.Close()
	p.Wait()
	if n := len(p.Records(ToServer)); n != 5 {
		t.Errorf("%d client records in the transcript, want 5", n)
	}
	if rs := p.Records(ToClient); len(rs) != 2 || string(rs[1].Payload) != "close" {
		t.Errorf("server transcript %+v", rs)
	}
}

func TestMessages(t *testing.T) {
	a, b := Message(1, []byte("hello")), Message(2, nil)
	wire := append(append([]byte(nil), a...), b...)
	var m Messages
	if got := m.Add(wire[:3]); got != nil || !m.Pending() {
		t.Fatalf("partial header: %q", got)
	}
	got := m.Add(wire[3:])
	if len(got) != 2 || !bytes.Equal(got[0], a) || !bytes.Equal(got[1], b) || m.Pending() {
		t.Fatalf("messages %q", got)
	}
}

func TestRewriteMessage(t *testing.T) {
	h := RewriteMessage(ToServer, 16, func(body []byte) []byte { return append(body, '!') })
	client, server, _ := Pipe(t, h)
	// A message split over two records; one after ChangeCipherSpec that
	// must stay as it is.
	m := Message(16, []byte("ckx"))
	client.Write(rec(TypeHandshake, string(m[:2])).Marshal())
	client.Write(rec(TypeHandshake, string(m[2:])).Marshal())
	client.Write(rec(TypeChangeCipherSpec, "\x01").Marshal())
	client.Write(rec(TypeHandshake, string(m)).Marshal())
	got := readN(t, server, 3)
	if want := Message(16, []byte("ckx!")); !bytes.Equal(got[0].Payload, want) {
		t.Errorf("rewritten %x, want %x", got[0].Payload, want)
	}
	if !bytes.Equal(got[2].Payload, m) {
		t.Errorf("after ChangeCipherSpec %x, want %x unchanged", got[2].Payload, m)
	}
}
