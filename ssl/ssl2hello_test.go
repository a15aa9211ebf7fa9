package ssl

import (
	"bytes"
	"io"
	"testing"
	"time"
)

func TestSSL2CompatibleHello(t *testing.T) {
	for _, id := range []uint16{SSL_RSA_WITH_RC4_128_MD5, SSL_RSA_WITH_3DES_EDE_CBC_SHA} {
		cc, sc := clientConfig(t), serverConfig(t)
		cc.SendSSL2Hello = true
		cc.CipherSuites = []uint16{id}
		craw, sraw := tcpPair(t)
		sniff := &sniffConn{Conn: craw}
		client, server := Client(sniff, cc), Server(sraw, sc)
		mustHandshakeConns(t, client, server)
		// The first byte on the wire is an SSL 2.0 two-byte header, and the
		// Finished messages verified, so both hashed the same hello bytes.
		if sniff.written.Bytes()[0]&0x80 == 0 {
			t.Fatal("client did not send an SSL 2.0 header")
		}
		if server.ConnectionState().CipherSuite != id {
			t.Fatal("wrong suite")
		}
		echoCheck(t, client, server, []byte("over a v2-hello connection"))
	}
}

// ssl2Hello builds an SSL 2.0 CLIENT-HELLO record by hand.
func ssl2Hello(vers uint16, specs [][3]byte, sessionID, challenge []byte) []byte {
	body := []byte{1, byte(vers >> 8), byte(vers), 0, byte(3 * len(specs)), 0, byte(len(sessionID)), 0, byte(len(challenge))}
	for _, s := range specs {
		body = append(body, s[:]...)
	}
	body = append(append(body, sessionID...), challenge...)
	return append([]byte{0x80 | byte(len(body)>>8), byte(len(body))}, body...)
}

func TestSSL2HelloVariants(t *testing.T) {
	v3spec := [3]byte{0, 0, 0x05} // SSL_RSA_WITH_RC4_128_SHA
	v2spec := [3]byte{0x01, 0x00, 0x80}
	challenge16 := bytes.Repeat([]byte{0xaa}, 16)
	tests := []struct {
		name    string
		hello   []byte
		wantSH  bool   // a ServerHello comes back
		wantRaw []byte // exact bytes expected instead
		alert   alert
	}{
		{"v3 with 16-byte challenge", ssl2Hello(0x0300, [][3]byte{v2spec, v3spec}, nil, challenge16), true, nil, 0},
		{"TLS client offering 3.1", ssl2Hello(0x0301, [][3]byte{v3spec}, nil, bytes.Repeat([]byte{1}, 32)), true, nil, 0},
		{"SSL 2.0 only client", ssl2Hello(0x0002, [][3]byte{v2spec}, nil, challenge16), false, ssl2ErrorNoCipher, 0},
		{"only SSL 2.0 ciphers", ssl2Hello(0x0300, [][3]byte{v2spec}, nil, challenge16), false, ssl2ErrorNoCipher, 0},
		{"challenge too short", ssl2Hello(0x0300, [][3]byte{v3spec}, nil, make([]byte, 8)), false, nil, alertIllegalParameter},
		{"bad session id length", ssl2Hello(0x0300, [][3]byte{v3spec}, make([]byte, 5), challenge16), false, nil, alertIllegalParameter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			peer, errc := runRawServer(t, serverConfig(t))
			peer.Write(tt.hello)
			peer.SetReadDeadline(time.Now().Add(10 * time.Second))
			switch {
			case tt.wantSH:
				typ, body, err := readRawRecord(t, peer)
				if err != nil || typ != recordTypeHandshake || body[0] != typeServerHello {
					t.Fatalf("no ServerHello: %v %v", typ, err)
				}
				peer.Close()
			case tt.wantRaw != nil:
				got := make([]byte, len(tt.wantRaw))
				if _, err := io.ReadFull(peer, got); err != nil || !bytes.Equal(got, tt.wantRaw) {
					t.Fatalf("got % x (%v), want SSL 2.0 ERROR % x", got, err, tt.wantRaw)
				}
				if err := <-errc; err == nil {
					t.Fatal("server accepted an SSL 2.0 client")
				}
			default:
				expectWireAlert(t, peer, tt.alert)
			}
		})
	}
}

func FuzzSSL2ClientHello(f *testing.F) {
	f.Add(ssl2Hello(0x0300, [][3]byte{{0, 0, 5}, {1, 0, 0x80}}, nil, bytes.Repeat([]byte{2}, 32))[2:])
	f.Add(ssl2Hello(0x0300, [][3]byte{{0, 0, 4}}, make([]byte, 16), bytes.Repeat([]byte{2}, 16))[2:])
	f.Add([]byte{1, 3, 0})
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := parseSSL2ClientHello(body)
		if err != nil {
			return
		}
		if len(m.random) != 32 || len(m.cipherSuites) == 0 || m.vers>>8 < 3 {
			t.Fatalf("accepted an inconsistent hello: %+v", m)
		}
		// What we accept, we can also send and re-read identically.
		_, again, err := marshalSSL2ClientHello(&clientHelloMsg{vers: m.vers, random: m.random, cipherSuites: m.cipherSuites})
		if err != nil {
			return
		}
		m2, err := parseSSL2ClientHello(again)
		if err != nil || !bytes.Equal(m2.random, m.random) || len(m2.cipherSuites) != len(m.cipherSuites) {
			t.Fatalf("round trip failed: %v", err)
		}
	})
}

func TestFallbackSCSVAccepted(t *testing.T) {
	cc, sc := clientConfig(t), serverConfig(t)
	cc.SendFallbackSCSV = true
	// The server's highest version is 3.0, so a client falling back to 3.0
	// is not being downgraded: RFC 7507's inappropriate_fallback does not
	// apply and the handshake proceeds.
	mustHandshake(t, cc, sc)
}

func TestCBCRecordSplitting(t *testing.T) {
	for _, disable := range []bool{false, true} {
		craw, sraw := tcpPair(t)
		sniff := &sniffConn{Conn: craw}
		cc := clientConfig(t)
		cc.CipherSuites = []uint16{SSL_RSA_WITH_3DES_EDE_CBC_SHA}
		cc.DisableRecordSplitting = disable
		client, server := Client(sniff, cc), Server(sraw, serverConfig(t))
		go server.Handshake()
		if err := client.Handshake(); err != nil {
			t.Fatal(err)
		}
		sniff.written.Reset()
		go io.Copy(io.Discard, server)
		client.Write(make([]byte, 1000))
		wire := sniff.written.Bytes()
		first := int(wire[3])<<8 | int(wire[4])
		// 1 byte + 20-byte MAC + padding byte → 24 bytes after CBC padding.
		if split := first == 24; split == disable {
			t.Fatalf("DisableRecordSplitting=%v: first record %d bytes", disable, first)
		}
	}
	// Stream ciphers are never split.
	craw, sraw := tcpPair(t)
	sniff := &sniffConn{Conn: craw}
	cc := clientConfig(t)
	cc.CipherSuites = []uint16{SSL_RSA_WITH_RC4_128_SHA}
	client, server := Client(sniff, cc), Server(sraw, serverConfig(t))
	go server.Handshake()
	client.Handshake()
	sniff.written.Reset()
	go io.Copy(io.Discard, server)
	client.Write(make([]byte, 1000))
	if n := int(sniff.written.Bytes()[3])<<8 | int(sniff.written.Bytes()[4]); n != 1020 {
		t.Fatalf("RC4 record %d bytes, want one 1020-byte record", n)
	}
}
