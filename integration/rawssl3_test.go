package integration

import (
	"crypto/cipher"
	"crypto/des"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"time"
)

// A hand-written SSL 3.0 client for the hostile tests: it sends what our
// own client never would (a chosen DH public value with a Finished
// computed from a guessed shared secret, floods of useless records), with
// the key schedule of §6.2 and the Finished of §7.6.9 done here from the
// specification, not with the engine's code.

const (
	rawChangeCipherSpec = 20
	rawAlert            = 21
	rawHandshake        = 22

	rawVersion = 0x0300
)

// rawRecord frames body as one SSL 3.0 record.
func rawRecord(typ byte, body []byte) []byte {
	return append([]byte{typ, rawVersion >> 8, rawVersion & 0xff, byte(len(body) >> 8), byte(len(body))}, body...)
}

// rawHandshakeMsg frames body as a handshake message of type typ.
func rawHandshakeMsg(typ byte, body []byte) []byte {
	n := len(body)
	return append([]byte{typ, byte(n >> 16), byte(n >> 8), byte(n)}, body...)
}

// rawClientHello is an extension-less SSL 3.0 ClientHello (with its
// handshake header) offering suites, and its random.
func rawClientHello(suites ...uint16) (msg, random []byte) {
	random = make([]byte, 32)
	rand.Read(random)
	body := []byte{rawVersion >> 8, rawVersion & 0xff}
	body = append(body, random...)
	body = append(body, 0) // no session id
	body = append(body, byte(len(suites)>>7), byte(len(suites)*2))
	for _, s := range suites {
		body = append(body, byte(s>>8), byte(s))
	}
	body = append(body, 1, 0) // null compression
	return rawHandshakeMsg(1, body), random
}

// readRawRecord reads one record.
func readRawRecord(r io.Reader) (typ byte, body []byte, err error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	body = make([]byte, int(hdr[3])<<8|int(hdr[4]))
	if _, err := io.ReadFull(r, body); err != nil {
		return 0, nil, err
	}
	return hdr[0], body, nil
}

// rawAlertError is a fatal alert the server sent to the raw client.
type rawAlertError struct{ level, desc byte }

func (e rawAlertError) Error() string { return fmt.Sprintf("server sent alert %d/%d", e.level, e.desc) }

// serverFlight is what the raw client read up to ServerHelloDone.
type serverFlight struct {
	serverRandom []byte
	suite        uint16
	certs        [][]byte
	certRequest  bool
	transcript   []byte // every handshake message, ClientHello included
}

// readServerFlight reads handshake messages until ServerHelloDone; an alert
// comes back as a rawAlertError.
func readServerFlight(c net.Conn, hello []byte) (*serverFlight, error) {
	f := &serverFlight{transcript: append([]byte(nil), hello...)}
	var buf []byte
	for {
		typ, body, err := readRawRecord(c)
		if err != nil {
			return nil, err
		}
		switch typ {
		case rawAlert:
			if len(body) == 2 {
				return nil, rawAlertError{body[0], body[1]}
			}
			return nil, errors.New("malformed alert")
		case rawHandshake:
		default:
			return nil, fmt.Errorf("unexpected record type %d", typ)
		}
		buf = append(buf, body...)
		for len(buf) >= 4 {
			n := int(buf[1])<<16 | int(buf[2])<<8 | int(buf[3])
			if len(buf) < 4+n {
				break
			}
			msg, b := buf[:4+n], buf[4:4+n]
			buf = buf[4+n:]
			f.transcript = append(f.transcript, msg...)
			switch msg[0] {
			case 2: // ServerHello
				if len(b) < 35 {
					return nil, errors.New("short ServerHello")
				}
				f.serverRandom = append([]byte(nil), b[2:34]...)
				sid := int(b[34])
				if len(b) < 35+sid+3 {
					return nil, errors.New("short ServerHello")
				}
				f.suite = uint16(b[35+sid])<<8 | uint16(b[36+sid])
			case 11: // Certificate
				if len(b) < 3 {
					return nil, errors.New("short Certificate")
				}
				for l := b[3:]; len(l) >= 3; {
					m := int(l[0])<<16 | int(l[1])<<8 | int(l[2])
					if len(l) < 3+m {
						return nil, errors.New("short certificate")
					}
					f.certs = append(f.certs, l[3:3+m])
					l = l[3+m:]
				}
			case 13: // CertificateRequest
				f.certRequest = true
			case 14: // ServerHelloDone
				return f, nil
			}
		}
	}
}

// ssl3Hash is one of §6.1's MD5/SHA-based derivations:
// MD5(secret + SHA(label + secret + a + b)) for label A, BB, CCC, ...
func ssl3Derive(secret, a, b []byte, n int) []byte {
	var out []byte
	for i := 0; len(out) < n; i++ {
		label := make([]byte, i+1)
		for j := range label {
			label[j] = 'A' + byte(i)
		}
		s := sha1.New()
		s.Write(label)
		s.Write(secret)
		s.Write(a)
		s.Write(b)
		m := md5.New()
		m.Write(secret)
		m.Write(s.Sum(nil))
		out = m.Sum(out)
	}
	return out[:n]
}

// ssl3MAC is the record MAC of §5.2.3.1 (pad_1/pad_2 of 48 bytes for MD5,
// 40 for SHA).
func ssl3MAC(newHash func() hash.Hash, secret []byte, padLen int, seq uint64, typ byte, data []byte) []byte {
	pad := func(b byte) []byte {
		p := make([]byte, padLen)
		for i := range p {
			p[i] = b
		}
		return p
	}
	inner := newHash()
	inner.Write(secret)
	inner.Write(pad(0x36))
	var hdr [11]byte
	for i := 0; i < 8; i++ {
		hdr[i] = byte(seq >> (56 - 8*i))
	}
	hdr[8], hdr[9], hdr[10] = typ, byte(len(data)>>8), byte(len(data))
	inner.Write(hdr[:])
	inner.Write(data)
	outer := newHash()
	outer.Write(secret)
	outer.Write(pad(0x5c))
	outer.Write(inner.Sum(nil))
	return outer.Sum(nil)
}

// ssl3Finished is the client's Finished body (§7.6.9).
func ssl3Finished(master, transcript []byte) []byte {
	part := func(newHash func() hash.Hash, padLen int) []byte {
		p1, p2 := make([]byte, padLen), make([]byte, padLen)
		for i := range p1 {
			p1[i], p2[i] = 0x36, 0x5c
		}
		inner := newHash()
		inner.Write(transcript)
		inner.Write([]byte("CLNT"))
		inner.Write(master)
		inner.Write(p1)
		outer := newHash()
		outer.Write(master)
		outer.Write(p2)
		outer.Write(inner.Sum(nil))
		return outer.Sum(nil)
	}
	return append(part(md5.New, 48), part(sha1.New, 40)...)
}

// finishDH3DES completes a _WITH_3DES_EDE_CBC_SHA handshake from the
// client side with premaster as the pre-master secret: ClientKeyExchange
// carrying yc (nil: none), ChangeCipherSpec, and an encrypted Finished. It
// reports whether the server answered with its ChangeCipherSpec (accepted)
// or the alert it sent.
func finishDH3DES(c net.Conn, f *serverFlight, clientRandom, yc, premaster []byte) (bool, error) {
	var wire []byte
	if f.certRequest {
		// SSL 3.0: no certificate is a warning alert, outside the transcript.
		wire = append(wire, rawRecord(rawAlert, []byte{1, 41})...)
	}
	ckx := rawHandshakeMsg(16, append([]byte{byte(len(yc) >> 8), byte(len(yc))}, yc...))
	transcript := append(append([]byte(nil), f.transcript...), ckx...)
	wire = append(wire, rawRecord(rawHandshake, ckx)...)
	wire = append(wire, rawRecord(rawChangeCipherSpec, []byte{1})...)

	master := ssl3Derive(premaster, clientRandom, f.serverRandom, 48)
	kb := ssl3Derive(master, f.serverRandom, clientRandom, 2*20+2*24+2*8)
	macKey, key, iv := kb[:20], kb[40:64], kb[88:96]
	fin := rawHandshakeMsg(20, ssl3Finished(master, transcript))
	plain := append(append([]byte(nil), fin...), ssl3MAC(sha1.New, macKey, 40, 0, rawHandshake, fin)...)
	padLen := 8 - (len(plain)+1)%8
	if padLen == 8 {
		padLen = 0
	}
	plain = append(plain, make([]byte, padLen)...)
	plain = append(plain, byte(padLen))
	block, err := des.NewTripleDESCipher(key)
	if err != nil {
		return false, err
	}
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(plain, plain)
	wire = append(wire, rawRecord(rawHandshake, plain)...)
	go c.Write(wire) // a server that gives up early stops reading

	c.SetReadDeadline(time.Now().Add(15 * time.Second))
	typ, body, err := readRawRecord(c)
	if err != nil {
		return false, err
	}
	switch {
	case typ == rawChangeCipherSpec:
		return true, nil
	case typ == rawAlert && len(body) == 2:
		return false, rawAlertError{body[0], body[1]}
	}
	return false, fmt.Errorf("unexpected record type %d", typ)
}
