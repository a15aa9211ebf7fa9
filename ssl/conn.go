package ssl

import (
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/subtle"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tokenssl/tokenssl/ssl/internal/ssl3mac"
)

// Conn is an SSL 3.0 connection over a net.Conn. It implements net.Conn.
type Conn struct {
	conn     net.Conn
	isClient bool
	config   *Config

	handshakeFn       func(context.Context) error
	handshakeMutex    sync.Mutex
	handshakeErr      error
	handshakeComplete atomic.Bool
	handshakes        int

	// Negotiated state, written by the handshake, read under handshakeMutex
	// or after handshakeComplete.
	cipherSuite      uint16
	didResume        bool
	session          *SessionState
	clientCacheKey   string
	serverName       string
	peerCertificates []*x509.Certificate
	verifiedChains   [][]*x509.Certificate
	// offeredVersion is the client_version of the ClientHello (roll-back
	// detection in the RSA pre-master secret).
	offeredVersion uint16
	// sawFirstRecord: the first record may carry any 3.x version (TLS
	// clients often say 3.1 there); later ones must say 3.0.
	sawFirstRecord bool

	in, out  halfConn
	rawInput inputBuffer  // raw bytes read from conn, not yet parsed (pooled)
	input    bytes.Reader // application data waiting to be read (in rawInput)
	hand     bytes.Buffer // handshake bytes waiting to be parsed
	// expectCCS is set by the handshake when a ChangeCipherSpec is the only
	// acceptable next record.
	// sendBuf holds sealed records not yet written (pooled, released when
	// written); buffering keeps them for one write per flight.
	sendBuf   []byte
	buffering bool

	closeNotifySent  bool
	closeNotifyErr   error
	readEOF          bool // close_notify received
	activeCall       atomic.Int32
	alertHookForTest func(a alert, sent bool)

	retryCount int // consecutive empty records, bounded
	// noCertificate records a no_certificate warning from the client.
	noCertificate bool

	// v2Hello holds the body of an SSL 2.0-compatible CLIENT-HELLO read as
	// the first record (Appendix E) until the handshake takes it.
	v2Hello []byte

	// Renegotiation state (§7.6.1.1, RFC 5746): whether the peer signalled
	// secure renegotiation, the verify_data of the last handshake's two
	// Finished messages, and application data that arrived while a new
	// handshake was running.
	secureRenegotiation bool
	clientFinished      []byte
	serverFinished      []byte
	renegotiating       bool
	pendingApp          []byte
	// helloRequestSent: our server asked for the next ClientHello, so it is
	// not peer-initiated. Set by Renegotiate, which may run beside Read.
	helloRequestSent atomic.Bool
	// renegotiationTAT paces peer-initiated renegotiations (a GCRA token
	// bucket): the time at which the bucket is full again.
	renegotiationTAT time.Time
}

// halfConn is the state of one direction: the current and pending cipher
// spec and the sequence number (§7.1, §7.3).
type halfConn struct {
	sync.Mutex

	err    error  // permanent error
	seq    uint64 // reset to 0 on ChangeCipherSpec
	cipher any    // nil, cipher.Stream or cbcMode
	mac    *ssl3mac.MAC

	pending    bool
	nextCipher any
	nextMac    *ssl3mac.MAC

	// FORTEZZA_CBC (Appendix D.5.1): a card cannot encrypt from an IV it
	// was given, so the server's first record under a new write key starts
	// with 8 random bytes that the client decrypts and drops.
	prefixFirst, nextPrefixFirst   bool // write side: prepend the block
	discardFirst, nextDiscardFirst bool // read side: drop the block

	scratch [64]byte // MAC computation space, avoids allocation
}

// cbcMode is a CBC cipher whose chaining state persists across records
// (§7.2.3.2: the last ciphertext block of a record is the next IV).
type cbcMode interface {
	cipher.BlockMode
}

// FallibleBlockMode is a CBC cipher whose work happens elsewhere — on a
// token that keeps the key (FORTEZZA_CBC on a card) — and so can fail.
// Chaining state persists across calls, like cipher.BlockMode.
type FallibleBlockMode interface {
	BlockSize() int
	CryptBlocks(dst, src []byte) error
}

// errCipherFailed reports a token-side cipher failure on a record.
var errCipherFailed = errors.New("ssl: record cipher on the token failed")

func cryptBlocks(c any, dst, src []byte) error {
	switch m := c.(type) {
	case cbcMode:
		m.CryptBlocks(dst, src)
		return nil
	case FallibleBlockMode:
		if err := m.CryptBlocks(dst, src); err != nil {
			return fmt.Errorf("%w: %v", errCipherFailed, err)
		}
		return nil
	}
	return errors.New("ssl: internal error: not a block cipher")
}

func blockSize(c any) (int, bool) {
	switch m := c.(type) {
	case cbcMode:
		return m.BlockSize(), true
	case FallibleBlockMode:
		return m.BlockSize(), true
	}
	return 0, false
}

func (hc *halfConn) setErrorLocked(err error) error {
	if hc.err == nil {
		hc.err = err
	}
	return err
}

// prepareCipherSpec installs the pending state that ChangeCipherSpec will
// make current.
func (hc *halfConn) prepareCipherSpec(c any, mac *ssl3mac.MAC) {
	hc.pending = true
	hc.nextCipher = c
	hc.nextMac = mac
}

// closeCipher releases a record cipher that holds token resources (a
// card's CBC context keeps a session of its own).
func closeCipher(c any) {
	if cl, ok := c.(interface{ Close() error }); ok {
		cl.Close()
	}
}

// prepareFortezzaPrefix marks the pending write state to prefix its first
// record (server) or the pending read state to drop it (client).
func (hc *halfConn) prepareFortezzaPrefix(write bool) {
	if write {
		hc.nextPrefixFirst = true
	} else {
		hc.nextDiscardFirst = true
	}
}

// changeCipherSpec makes the pending state current and resets seq (§7.1).
func (hc *halfConn) changeCipherSpec() error {
	if !hc.pending {
		return alertUnexpectedMessage
	}
	closeCipher(hc.cipher) // a renegotiation retires the old token cipher
	hc.cipher, hc.mac = hc.nextCipher, hc.nextMac
	hc.prefixFirst, hc.discardFirst = hc.nextPrefixFirst, hc.nextDiscardFirst
	hc.nextCipher, hc.nextMac, hc.pending = nil, nil, false
	hc.nextPrefixFirst, hc.nextDiscardFirst = false, false
	hc.seq = 0
	return nil
}

func (hc *halfConn) incSeq() error {
	if hc.seq == ^uint64(0) {
		// §7.2.3.1: sequence numbers may not wrap; renegotiate instead.
		return errors.New("ssl: sequence number exhausted")
	}
	hc.seq++
	return nil
}

// explicitNonceLen is always zero in SSL 3.0; kept for symmetry of reading.

// decrypt authenticates and decrypts one record in place and returns the
// plaintext. Every failure — bad length, bad padding, bad MAC — returns the
// same alertBadRecordMAC after the same work, so that a padding oracle has
// nothing to observe but the alert it gets anyway.
func (hc *halfConn) decrypt(typ recordType, payload []byte) ([]byte, error) {
	if hc.cipher == nil && hc.mac == nil {
		return payload, nil
	}
	macSize := 0
	if hc.mac != nil {
		macSize = hc.mac.Size()
	}
	good := byte(1)
	plainEnd := len(payload) // start of MAC + padding
	switch c := hc.cipher.(type) {
	case nil:
	case cipher.Stream:
		c.XORKeyStream(payload, payload)
	case cbcMode, FallibleBlockMode:
		bs, _ := blockSize(c)
		skip := 0
		if hc.discardFirst {
			skip = bs
		}
		if len(payload)%bs != 0 || len(payload) < skip+roundUp(macSize+1, bs) {
			return nil, alertBadRecordMAC
		}
		if err := cryptBlocks(c, payload, payload); err != nil {
			return nil, err
		}
		if skip > 0 {
			payload = payload[skip:]
			hc.discardFirst = false
		}
		padLen := int(payload[len(payload)-1])
		// SSL 3.0 padding (§7.2.3.2): padding_length < block size, padding
		// bytes unspecified. An invalid length is folded into good and the
		// MAC is still computed over a plausible span.
		padOK := subtle.ConstantTimeLessOrEq(padLen+1, bs)
		padLen = subtle.ConstantTimeSelect(padOK, padLen, 0)
		fits := subtle.ConstantTimeLessOrEq(macSize+padLen+1, len(payload))
		padLen = subtle.ConstantTimeSelect(fits, padLen, 0)
		good &= byte(padOK & fits)
		plainEnd = len(payload) - padLen - 1
	default:
		return nil, errors.New("ssl: internal error: unknown cipher type")
	}
	if hc.mac != nil {
		if plainEnd < macSize {
			return nil, alertBadRecordMAC
		}
		n := plainEnd - macSize
		local := hc.mac.Sum(hc.scratch[:0], hc.seq, uint8(typ), payload[:n])
		if testHookRecordMAC != nil {
			testHookRecordMAC(n)
		}
		good &= byte(subtle.ConstantTimeCompare(local, payload[n:plainEnd]))
		plainEnd = n
	}
	if good != 1 {
		return nil, alertBadRecordMAC
	}
	if err := hc.incSeq(); err != nil {
		return nil, err
	}
	return payload[:plainEnd], nil
}

func roundUp(n, m int) int { return (n + m - 1) / m * m }

// testHookRecordMAC, set only by tests, observes each record MAC computed
// on the read side and the length it covered: the side-channel tests use
// it to prove that bad padding and bad MACs take the same path.
var testHookRecordMAC func(n int)

// encrypt appends the protected form of data (MAC, padding, encryption) to
// record, whose last 5 bytes are the header; it fills in the length.
func (hc *halfConn) encrypt(record []byte, typ recordType, data []byte, rand io.Reader) ([]byte, error) {
	start := len(record)
	hdr := start - recordHeaderLen
	record = append(record, data...)
	if hc.mac != nil {
		record = hc.mac.Sum(record, hc.seq, uint8(typ), data)
	}
	switch c := hc.cipher.(type) {
	case nil:
	case cipher.Stream:
		c.XORKeyStream(record[start:], record[start:])
	case cbcMode, FallibleBlockMode:
		bs, _ := blockSize(c)
		padLen := bs - (len(record)-start+1)%bs
		if padLen == bs {
			padLen = 0
		}
		for i := 0; i <= padLen; i++ {
			record = append(record, byte(padLen))
		}
		if hc.prefixFirst {
			// The MAC and padding above exclude the prefix; the cipher
			// sees prefix ‖ content as one chained run.
			prefix := make([]byte, bs)
			if _, err := io.ReadFull(rand, prefix); err != nil {
				return nil, err
			}
			record = append(record[:start], append(prefix, record[start:]...)...)
			hc.prefixFirst = false
		}
		if err := cryptBlocks(c, record[start:], record[start:]); err != nil {
			return nil, err
		}
	default:
		return nil, errors.New("ssl: internal error: unknown cipher type")
	}
	n := len(record) - start
	record[hdr+3], record[hdr+4] = byte(n>>8), byte(n)
	return record, hc.incSeq()
}

// Access to net.Conn methods.

// LocalAddr returns the local network address.
func (c *Conn) LocalAddr() net.Addr { return c.conn.LocalAddr() }

// RemoteAddr returns the remote network address.
func (c *Conn) RemoteAddr() net.Addr { return c.conn.RemoteAddr() }

// SetDeadline sets the read and write deadlines of the underlying conn.
func (c *Conn) SetDeadline(t time.Time) error { return c.conn.SetDeadline(t) }

// SetReadDeadline sets the read deadline.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.conn.SetReadDeadline(t) }

// SetWriteDeadline sets the write deadline. A write that times out leaves
// the connection unusable.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.conn.SetWriteDeadline(t) }

// NetConn returns the underlying connection.
func (c *Conn) NetConn() net.Conn { return c.conn }

// readRecord reads one record and routes it. expectCCS says whether a
// ChangeCipherSpec is acceptable now.
func (c *Conn) readRecordOrCCS(expectCCS bool) error {
	if c.in.err != nil {
		return c.in.err
	}
	handshakeComplete := c.handshakeComplete.Load()

	if !c.sawFirstRecord && !c.isClient {
		// An SSL 2.0 header has two bytes: a short SSL 2.0 record must get
		// its answer without waiting for a third.
		if err := c.readFromUntil(c.conn, 2); err != nil {
			return c.readErr(err)
		}
		if c.rawInput.Bytes()[0]&0x80 != 0 {
			return c.readSSL2Hello()
		}
	}
	if err := c.readFromUntil(c.conn, recordHeaderLen); err != nil {
		return c.readErr(err)
	}
	hdr := c.rawInput.Bytes()[:recordHeaderLen]
	typ := recordType(hdr[0])
	vers := uint16(hdr[1])<<8 | uint16(hdr[2])
	n := int(hdr[3])<<8 | int(hdr[4])
	switch typ {
	case recordTypeChangeCipherSpec, recordTypeAlert, recordTypeHandshake, recordTypeApplicationData:
	default:
		return c.in.setErrorLocked(c.sendAlert(alertUnexpectedMessage, fmt.Errorf("unknown record content type %d", typ)))
	}
	if c.sawFirstRecord {
		if vers != VersionSSL30 {
			return c.in.setErrorLocked(c.sendAlert(alertIllegalParameter, fmt.Errorf("record version %#04x, want 0x0300", vers)))
		}
	} else if hdr[1] != 3 {
		return c.in.setErrorLocked(c.sendAlert(alertHandshakeFailure, fmt.Errorf("first record has version %#04x, not SSL 3.x", vers)))
	}
	// record_overflow does not exist in SSL 3.0. An oversized record is "an
	// inappropriate message" (§7.4.2), so it gets unexpected_message.
	limit := maxCiphertext
	if c.in.cipher == nil && c.in.mac == nil {
		limit = maxPlaintext
	}
	if n > limit {
		return c.in.setErrorLocked(c.sendAlert(alertUnexpectedMessage, fmt.Errorf("record of %d bytes exceeds the %d-byte limit", n, limit)))
	}
	if err := c.readFromUntil(c.conn, recordHeaderLen+n); err != nil {
		return c.readErr(err)
	}
	c.sawFirstRecord = true

	record := c.rawInput.Next(recordHeaderLen + n)
	data, err := c.in.decrypt(typ, record[recordHeaderLen:])
	if err != nil {
		if a, ok := err.(alert); ok {
			return c.in.setErrorLocked(c.sendAlert(a, errors.New("record authentication failed")))
		}
		if errors.Is(err, errCipherFailed) {
			// Our token failed, not the peer: SSL 3.0's nearest alert.
			return c.in.setErrorLocked(c.sendAlert(alertHandshakeFailure, err))
		}
		return c.in.setErrorLocked(c.sendAlert(alertUnexpectedMessage, err))
	}
	if len(data) > maxPlaintext {
		return c.in.setErrorLocked(c.sendAlert(alertUnexpectedMessage, fmt.Errorf("decrypted record of %d bytes exceeds 2^14", len(data))))
	}
	// Empty fragments are legal for application data (CBC 1/n-1 style
	// splitting) but a flood of them is a cheap way to spin us; they are
	// counted with warning alerts (ignoreRecord), as crypto/tls counts them.
	if len(data) == 0 && typ != recordTypeApplicationData {
		return c.in.setErrorLocked(c.sendAlert(alertUnexpectedMessage, fmt.Errorf("empty %s record", typ)))
	}
	if len(data) > 0 && (typ == recordTypeApplicationData ||
		(typ == recordTypeHandshake && (!handshakeComplete || c.renegotiating))) {
		c.retryCount = 0 // the record advances the connection
	}
	if len(data) == 0 {
		if err := c.ignoreRecord(); err != nil {
			return err
		}
	}

	switch typ {
	case recordTypeAlert:
		if len(data) != 2 {
			return c.in.setErrorLocked(c.sendAlert(alertUnexpectedMessage, errors.New("malformed alert record")))
		}
		level, desc := data[0], alert(data[1])
		if level != alertLevelWarning && level != alertLevelFatal {
			return c.in.setErrorLocked(c.sendAlert(alertIllegalParameter, fmt.Errorf("alert with level %d", level)))
		}
		if c.alertHookForTest != nil {
			c.alertHookForTest(desc, false)
		}
		if desc == alertCloseNotify {
			c.readEOF = true
			return c.in.setErrorLocked(io.EOF)
		}
		if level == alertLevelWarning {
			if desc == alertNoCertificate && !c.isClient && !handshakeComplete {
				// Meaningful only to the server's client-auth step; the
				// handshake code asks for it via noCertificateReceived.
				c.noCertificate = true
			}
			// Other warnings carry no obligation in SSL 3.0; go on, but
			// not forever.
			return c.ignoreRecord()
		}
		c.invalidateSession()
		return c.in.setErrorLocked(&AlertError{Alert: uint8(desc)})

	case recordTypeChangeCipherSpec:
		// A CCS of the wrong length is not a CCS at all: unexpected_message,
		// as other SSL 3.0 stacks answer it. A wrong value in the one byte
		// is a bad parameter of a CCS.
		if len(data) != 1 {
			return c.in.setErrorLocked(c.sendAlert(alertUnexpectedMessage, fmt.Errorf("ChangeCipherSpec record of %d bytes, want 1", len(data))))
		}
		if data[0] != 1 {
			return c.in.setErrorLocked(c.sendAlert(alertIllegalParameter, fmt.Errorf("ChangeCipherSpec with value %d, want 1", data[0])))
		}
		if !expectCCS || c.hand.Len() > 0 {
			// CCS must fall between handshake messages, at the one point the
			// handshake expects it.
			return c.in.setErrorLocked(c.sendAlert(alertUnexpectedMessage, errors.New("unexpected ChangeCipherSpec")))
		}
		if err := c.in.changeCipherSpec(); err != nil {
			return c.in.setErrorLocked(c.sendAlert(alertUnexpectedMessage, err))
		}
		return nil

	case recordTypeApplicationData:
		if c.renegotiating && handshakeComplete {
			// Data keeps flowing under the current keys while a new
			// handshake runs; Read returns it afterwards. Bounded, so a
			// peer cannot make us buffer without limit.
			if len(c.pendingApp)+len(data) > maxPendingAppData {
				return c.in.setErrorLocked(c.sendAlert(alertUnexpectedMessage, errors.New("too much application data during renegotiation")))
			}
			c.pendingApp = append(c.pendingApp, data...)
			return nil
		}
		if !handshakeComplete || expectCCS {
			return c.in.setErrorLocked(c.sendAlert(alertUnexpectedMessage, errors.New("application data before the handshake completed")))
		}
		c.input.Reset(data)
		return nil

	case recordTypeHandshake:
		if expectCCS {
			return c.in.setErrorLocked(c.sendAlert(alertUnexpectedMessage, errors.New("handshake message where ChangeCipherSpec was expected")))
		}
		if c.hand.Len()+len(data) > maxHandshakeSize+4 {
			return c.in.setErrorLocked(c.sendAlert(alertIllegalParameter, errors.New("handshake message too large")))
		}
		c.hand.Write(data)
		return nil
	}
	return nil
}

// maxUselessRecords bounds consecutive records that do not advance the
// connection: warning alerts and empty application-data records (the
// bound of crypto/tls).
const maxUselessRecords = 16

// ignoreRecord counts a record that is dropped without advancing the
// connection and fails once there have been too many in a row.
func (c *Conn) ignoreRecord() error {
	c.retryCount++
	if c.retryCount > maxUselessRecords {
		return c.in.setErrorLocked(c.sendAlert(alertUnexpectedMessage,
			fmt.Errorf("too many ignored records (more than %d warning alerts or empty records in a row)", maxUselessRecords)))
	}
	return nil
}

// maxPendingAppData bounds application data buffered during renegotiation.
const maxPendingAppData = 1 << 18

// readSSL2Hello reads an SSL 2.0 record (2-byte header, high bit set) that
// opens the connection and keeps its body for the server handshake. A
// malformed record gets an SSL 3.0 alert, as any malformed first record
// does: SSL 2.0's ERROR is only for a well-formed SSL 2.0-only hello.
func (c *Conn) readSSL2Hello() error {
	hdr := c.rawInput.Bytes()
	n := int(hdr[0]&0x7f)<<8 | int(hdr[1])
	if n == 0 {
		return c.in.setErrorLocked(c.sendAlert(alertIllegalParameter, errors.New("empty SSL 2.0 record")))
	}
	if n > ssl2MaxRecord {
		return c.in.setErrorLocked(c.sendAlert(alertUnexpectedMessage, fmt.Errorf("SSL 2.0 record of %d bytes exceeds the %d-byte limit", n, ssl2MaxRecord)))
	}
	if err := c.readFromUntil(c.conn, 2+n); err != nil {
		return c.readErr(err)
	}
	rec := c.rawInput.Next(2 + n)
	c.v2Hello = append([]byte(nil), rec[2:]...)
	c.sawFirstRecord = true
	return nil
}

// takeSSL2Hello turns the buffered SSL 2.0 hello into a ClientHello and
// hashes its body (msg_type through challenge), as Appendix E does.
func (c *Conn) takeSSL2Hello(transcript *finishedHash) (any, error) {
	body := c.v2Hello
	c.v2Hello = nil
	msg, err := parseSSL2ClientHello(body)
	if err == errSSL2Only {
		// The only refusal an SSL 2.0 client understands is its own ERROR.
		c.writeRaw(ssl2ErrorNoCipher)
		return nil, c.in.setErrorLocked(fmt.Errorf("ssl: %w", err))
	}
	if err == errSSL2NotHello {
		return nil, c.in.setErrorLocked(c.sendAlert(alertUnexpectedMessage, err))
	}
	if err != nil {
		return nil, c.in.setErrorLocked(c.sendAlert(alertIllegalParameter, err))
	}
	if transcript != nil {
		transcript.Write(body)
	}
	return msg, nil
}

// writeRaw writes bytes outside the record layer (SSL 2.0 framing).
func (c *Conn) writeRaw(b []byte) error {
	c.out.Lock()
	defer c.out.Unlock()
	return c.write(b)
}
func (c *Conn) readRecord() error { return c.readRecordOrCCS(false) }

// readChangeCipherSpec reads until the peer's ChangeCipherSpec has
// activated the pending read state. During a renegotiation application
// data may arrive first; it is kept for Read.
func (c *Conn) readChangeCipherSpec() error {
	for c.in.pending {
		if err := c.readRecordOrCCS(true); err != nil {
			return err
		}
	}
	return nil
}

// readErr converts an error from the transport into the connection error.
// EOF at a record boundary without close_notify is a truncation: an error to
// the reader, and the session becomes unresumable (§7.4.1).
func (c *Conn) readErr(err error) error {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		c.invalidateSession()
		return c.in.setErrorLocked(ErrTruncated)
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return err // not permanent: the caller may retry after a deadline
	}
	return c.in.setErrorLocked(err)
}

// ErrTruncated reports a connection closed without close_notify.
var ErrTruncated = errors.New("ssl: connection closed by peer without close_notify (possible truncation attack)")

// readFromUntil reads from r into c.rawInput until it holds at least n bytes.
func (c *Conn) readFromUntil(r io.Reader, n int) error { return c.rawInput.fill(r, n) }

// releaseIdleInput returns the input buffer to its pool once every byte in
// it has been parsed and returned: an idle connection keeps none. c.in is
// held.
func (c *Conn) releaseIdleInput() {
	if c.input.Len() == 0 {
		c.input.Reset(nil)
		c.rawInput.release()
	}
}

// sendAlert sends a fatal alert (a warning for close_notify and
// no_certificate) and returns the error to report to the caller.
func (c *Conn) sendAlert(a alert, cause error) error {
	c.out.Lock()
	defer c.out.Unlock()
	return c.sendAlertLocked(a, cause)
}

func (c *Conn) sendAlertLocked(a alert, cause error) error {
	level := byte(alertLevelFatal)
	if a == alertCloseNotify || a == alertNoCertificate {
		level = alertLevelWarning
	}
	if c.alertHookForTest != nil {
		c.alertHookForTest(a, true)
	}
	_, werr := c.writeRecordLocked(recordTypeAlert, []byte{level, byte(a)})
	if err := c.flush(); werr == nil {
		werr = err
	}
	if a == alertCloseNotify || a == alertNoCertificate {
		return werr
	}
	c.invalidateSession()
	err := &AlertError{Alert: uint8(a), Sent: true, Err: cause}
	return c.out.setErrorLocked(err)
}

// writeRecordLocked writes data as records of type typ, fragmenting at 2^14
// (§7.2.1); while buffering they wait in c.sendBuf for the flight's flush.
// c.out must be held.
func (c *Conn) writeRecordLocked(typ recordType, data []byte) (int, error) {
	if c.out.err != nil {
		return 0, c.out.err
	}
	var n int
	// An empty application-data record is legal and written; an empty
	// fragment of another type is not.
	for first := true; len(data) > 0 || (first && typ == recordTypeApplicationData); first = false {
		m := min(len(data), maxPlaintext)
		if err := c.sealRecord(typ, data[:m]); err != nil {
			return n, err
		}
		n += m
		data = data[m:]
		if len(data) > 0 && !c.buffering && len(c.sendBuf) >= maxPlaintext {
			if err := c.writeOut(); err != nil {
				return n, err
			}
		}
	}
	if !c.buffering {
		if err := c.flush(); err != nil {
			return n, err
		}
	}
	if typ == recordTypeChangeCipherSpec {
		if err := c.out.changeCipherSpec(); err != nil {
			return n, c.out.setErrorLocked(c.sendAlertLocked(alertInternalErrorAsHandshakeFailure, err))
		}
	}
	return n, nil
}

// sealRecord appends one protected record of at most 2^14 bytes of data
// to c.sendBuf, taking a pooled buffer when there is none. c.out is held.
func (c *Conn) sealRecord(typ recordType, data []byte) error {
	if c.sendBuf == nil {
		c.sendBuf = getOutBuf()
	}
	record := append(c.sendBuf, byte(typ), byte(VersionSSL30>>8), byte(VersionSSL30&0xff), 0, 0)
	record, err := c.out.encrypt(record, typ, data, c.config.rand())
	if err != nil {
		return c.out.setErrorLocked(err)
	}
	c.sendBuf = record
	return nil
}

// SSL 3.0 has no internal_error; handshake_failure is the closest it has.
const alertInternalErrorAsHandshakeFailure = alertHandshakeFailure

// write sends bytes outside the record layer, after any pending records.
func (c *Conn) write(data []byte) error {
	if err := c.flush(); err != nil {
		return err
	}
	if _, err := c.conn.Write(data); err != nil {
		return c.out.setErrorLocked(err)
	}
	return nil
}

// writeOut writes the pending records and keeps the buffer for more.
func (c *Conn) writeOut() error {
	if len(c.sendBuf) == 0 {
		return nil
	}
	_, err := c.conn.Write(c.sendBuf)
	c.sendBuf = c.sendBuf[:0]
	if err != nil {
		return c.out.setErrorLocked(err)
	}
	return nil
}

// flush writes the pending records in one write, ends buffering and
// returns the buffer to its pool.
func (c *Conn) flush() error {
	c.buffering = false
	err := c.writeOut()
	if c.sendBuf != nil {
		putOutBuf(c.sendBuf)
		c.sendBuf = nil
	}
	return err
}

// writeHandshakeRecord writes a marshalled handshake message and adds it to
// the transcript hash when hs is non-nil.
func (c *Conn) writeHandshake(msg handshakeMessage, transcript *finishedHash) error {
	data, err := msg.marshal()
	if err != nil {
		return err
	}
	if transcript != nil {
		transcript.Write(data)
	}
	c.out.Lock()
	defer c.out.Unlock()
	_, err = c.writeRecordLocked(recordTypeHandshake, data)
	return err
}

// writeChangeCipherSpecAndFinished sends ChangeCipherSpec and Finished
// under one hold of the write lock, so that no application data written
// concurrently (during a renegotiation) falls between them, and flushes.
func (c *Conn) writeChangeCipherSpecAndFinished(fin *finishedMsg, transcript *finishedHash) error {
	data, err := fin.marshal()
	if err != nil {
		return err
	}
	c.out.Lock()
	defer c.out.Unlock()
	c.buffering = true
	if _, err := c.writeRecordLocked(recordTypeChangeCipherSpec, []byte{1}); err != nil {
		return err
	}
	transcript.Write(data)
	if _, err := c.writeRecordLocked(recordTypeHandshake, data); err != nil {
		return err
	}
	return c.flush()
}

func (c *Conn) flushLocked() error {
	c.out.Lock()
	defer c.out.Unlock()
	return c.flush()
}

// readHandshake reads the next handshake message, which must be of one of
// the types in want: any other gets unexpected_message from its type alone,
// before its body is read or parsed. HelloRequest is dropped on the client
// while a handshake runs (§7.6.1.1: ignore it then).
func (c *Conn) readHandshake(transcript *finishedHash, want ...uint8) (any, error) {
	for {
		for c.hand.Len() < 4 {
			if err := c.readRecord(); err != nil {
				return nil, err
			}
			if c.v2Hello != nil {
				return c.takeSSL2Hello(transcript)
			}
		}
		data := c.hand.Bytes()
		if err := c.checkHandshakeType(data[0], want); err != nil {
			return nil, err
		}
		n := int(data[1])<<16 | int(data[2])<<8 | int(data[3])
		if n > maxHandshakeSize {
			return nil, c.in.setErrorLocked(c.sendAlert(alertIllegalParameter,
				fmt.Errorf("handshake message of %d bytes exceeds the %d-byte limit", n, maxHandshakeSize)))
		}
		for c.hand.Len() < 4+n {
			if err := c.readRecord(); err != nil {
				return nil, err
			}
		}
		data = c.hand.Next(4 + n)
		typ := data[0]
		if typ == typeHelloRequest && c.isClient {
			if n != 0 {
				return nil, c.in.setErrorLocked(c.sendAlert(alertIllegalParameter, errors.New("malformed HelloRequest")))
			}
			continue
		}
		// Copy: the buffer is reused and messages keep references (raw).
		data = append([]byte(nil), data...)
		msg, ok := unmarshalHandshake(typ, data)
		if !ok {
			return nil, c.in.setErrorLocked(c.sendAlert(alertIllegalParameter, fmt.Errorf("malformed %s message", handshakeTypeName(typ))))
		}
		if transcript != nil {
			transcript.Write(data)
		}
		return msg, nil
	}
}

// checkHandshakeType refuses a message by its type: unknown, or not one of
// want (HelloRequest excepted on the client, which drops it).
func (c *Conn) checkHandshakeType(typ uint8, want []uint8) error {
	if !knownHandshakeType(typ) {
		return c.in.setErrorLocked(c.sendAlert(alertUnexpectedMessage, fmt.Errorf("unknown handshake message type %d", typ)))
	}
	if typ == typeHelloRequest && c.isClient || bytes.IndexByte(want, typ) >= 0 {
		return nil
	}
	names := make([]string, len(want))
	for i, w := range want {
		names[i] = handshakeTypeName(w)
	}
	expected := strings.Join(names, " or ")
	if len(want) == 0 {
		expected = "no handshake message"
	}
	return c.in.setErrorLocked(c.sendAlert(alertUnexpectedMessage, fmt.Errorf("received %s where %s was expected", handshakeTypeName(typ), expected)))
}

func knownHandshakeType(t uint8) bool {
	switch t {
	case typeHelloRequest, typeClientHello, typeServerHello, typeCertificate, typeServerKeyExchange,
		typeCertificateRequest, typeServerHelloDone, typeCertificateVerify, typeClientKeyExchange, typeFinished:
		return true
	}
	return false
}

func handshakeTypeName(t uint8) string {
	switch t {
	case typeHelloRequest:
		return "HelloRequest"
	case typeClientHello:
		return "ClientHello"
	case typeServerHello:
		return "ServerHello"
	case typeCertificate:
		return "Certificate"
	case typeServerKeyExchange:
		return "ServerKeyExchange"
	case typeCertificateRequest:
		return "CertificateRequest"
	case typeServerHelloDone:
		return "ServerHelloDone"
	case typeCertificateVerify:
		return "CertificateVerify"
	case typeClientKeyExchange:
		return "ClientKeyExchange"
	case typeFinished:
		return "Finished"
	}
	return fmt.Sprintf("handshake(%d)", t)
}

func (t recordType) String() string {
	switch t {
	case recordTypeChangeCipherSpec:
		return "change_cipher_spec"
	case recordTypeAlert:
		return "alert"
	case recordTypeHandshake:
		return "handshake"
	case recordTypeApplicationData:
		return "application_data"
	}
	return fmt.Sprintf("content_type(%d)", uint8(t))
}

// unexpectedMessage reports msg arriving where another was due.
func (c *Conn) unexpectedMessage(want string, got any) error {
	return c.in.setErrorLocked(c.sendAlert(alertUnexpectedMessage, fmt.Errorf("received %T where %s was expected", got, want)))
}

// Write writes application data, running the handshake first if needed.
func (c *Conn) Write(b []byte) (int, error) {
	// Interlock with Close: a Write after Close gets an error.
	for {
		x := c.activeCall.Load()
		if x&1 != 0 {
			return 0, net.ErrClosed
		}
		if c.activeCall.CompareAndSwap(x, x+2) {
			break
		}
	}
	defer c.activeCall.Add(-2)

	if err := c.Handshake(); err != nil {
		return 0, err
	}
	c.out.Lock()
	defer c.out.Unlock()
	if c.out.err != nil {
		return 0, c.out.err
	}
	if !c.handshakeComplete.Load() {
		return 0, errors.New("ssl: internal error: handshake not complete")
	}
	if c.closeNotifySent {
		return 0, errors.New("ssl: write after CloseWrite")
	}
	if len(b) == 0 {
		return 0, nil
	}
	// 1/n-1 split: the first record's single byte makes the IV of the
	// rest unpredictable to a chosen-plaintext attacker (BEAST).
	_, isCBC := blockSize(c.out.cipher)
	split := isCBC && !c.config.DisableRecordSplitting && len(b) > 1
	var n int
	for len(b) > 0 {
		m := min(len(b), maxPlaintext)
		if split {
			m, split = 1, false
		}
		if err := c.sealRecord(recordTypeApplicationData, b[:m]); err != nil {
			c.flush()
			return n, err
		}
		n += m
		b = b[m:]
		// One write per two full records (the pooled buffer's size); the
		// split's one-byte record goes with the records after it.
		if len(b) > 0 && cap(c.sendBuf)-len(c.sendBuf) < recordHeaderLen+min(len(b), maxPlaintext)+recordOverhead {
			if err := c.writeOut(); err != nil {
				return n, err
			}
		}
	}
	return n, c.flush()
}

// Read reads application data, running the handshake first if needed.
func (c *Conn) Read(b []byte) (int, error) {
	if err := c.Handshake(); err != nil {
		return 0, err
	}
	if len(b) == 0 {
		return 0, nil
	}
	c.in.Lock()
	defer c.in.Unlock()
	for c.input.Len() == 0 {
		if len(c.pendingApp) > 0 {
			c.input.Reset(c.pendingApp)
			c.pendingApp = nil
			break
		}
		if err := c.readRecord(); err != nil {
			if err == io.EOF && c.readEOF {
				c.answerCloseNotify()
			}
			c.releaseIdleInput()
			return 0, err
		}
		for c.hand.Len() > 0 {
			if err := c.handlePostHandshakeMessage(); err != nil {
				return 0, err
			}
		}
	}
	n, _ := c.input.Read(b)
	// Records already read from the transport fill the rest of b without
	// blocking: a peer's 1/n-1 split (or any run of small records) then
	// costs one Read, and an echoing caller one Write, not one per record.
	for n < len(b) && c.input.Len() == 0 && len(c.pendingApp) == 0 && !c.renegotiating && c.bufferedAppRecord() {
		if err := c.readRecord(); err != nil {
			break // sticky in c.in.err: the next Read returns it
		}
		m, _ := c.input.Read(b[n:])
		n += m
	}
	c.releaseIdleInput()
	return n, nil
}

// bufferedAppRecord reports whether the input buffer holds a whole
// application-data record. c.in is held.
func (c *Conn) bufferedAppRecord() bool {
	p := c.rawInput.Bytes()
	if len(p) < recordHeaderLen || recordType(p[0]) != recordTypeApplicationData {
		return false
	}
	return len(p) >= recordHeaderLen+(int(p[3])<<8|int(p[4]))
}

// answerCloseNotify replies to the peer's close_notify with our own, as
// §7.4.1 requires.
func (c *Conn) answerCloseNotify() {
	c.out.Lock()
	defer c.out.Unlock()
	if !c.closeNotifySent && c.out.err == nil {
		c.closeNotifySent = true
		c.closeNotifyErr = c.sendAlertLocked(alertCloseNotify, nil)
	}
}

// handlePostHandshakeMessage deals with a handshake message after the
// handshake (§7.6.1.1): HelloRequest to a client, ClientHello to a server.
// Each starts a renegotiation when Config.Renegotiation allows it; a
// client otherwise ignores HelloRequest (the spec allows it), a server
// refuses with handshake_failure. c.in is held.
func (c *Conn) handlePostHandshakeMessage() error {
	for c.hand.Len() < 4 {
		if err := c.readRecord(); err != nil {
			return err
		}
	}
	typ := c.hand.Bytes()[0]
	switch {
	case c.isClient && typ == typeHelloRequest:
		data := c.hand.Bytes()
		if data[1]|data[2]|data[3] != 0 {
			return c.in.setErrorLocked(c.sendAlert(alertIllegalParameter, errors.New("malformed HelloRequest")))
		}
		c.hand.Next(4)
		if !c.renegotiationAllowed() {
			return nil
		}
		if err := c.checkRenegotiationBudget(true); err != nil {
			return c.in.setErrorLocked(c.sendAlert(alertHandshakeFailure, fmt.Errorf("server asked to renegotiate: %w", err)))
		}
		return c.renegotiateLocked()
	case !c.isClient && typ == typeClientHello:
		if !c.renegotiationAllowed() {
			why := "renegotiation is disabled"
			if c.config.Renegotiation == RenegotiateSecure {
				why = "the client does not support secure renegotiation (RFC 5746)"
			}
			return c.in.setErrorLocked(c.sendAlert(alertHandshakeFailure, errors.New("client tried to renegotiate; "+why)))
		}
		solicited := c.helloRequestSent.Swap(false)
		if err := c.checkRenegotiationBudget(!solicited); err != nil {
			return c.in.setErrorLocked(c.sendAlert(alertHandshakeFailure, fmt.Errorf("client tried to renegotiate: %w", err)))
		}
		return c.renegotiateLocked()
	}
	return c.checkHandshakeType(typ, nil) // none other is expected
}

// checkRenegotiationBudget says whether one more renegotiation may run on
// this connection: at most Config.MaxRenegotiations in all, and those the
// peer starts at most RenegotiationBurst at once, then one per
// Config.RenegotiationInterval. Each is a full handshake with a private-key
// operation; unbounded, one connection could keep the token busy. Called
// with c.in or c.handshakeMutex held.
func (c *Conn) checkRenegotiationBudget(peerInitiated bool) error {
	if max := c.config.maxRenegotiations(); max >= 0 && c.handshakes-1 >= max {
		return fmt.Errorf("renegotiation limit of %d per connection reached (Config.MaxRenegotiations)", max)
	}
	iv := c.config.renegotiationInterval()
	if !peerInitiated || iv <= 0 {
		return nil
	}
	now := c.config.time()
	tat := c.renegotiationTAT
	if tat.Before(now) {
		tat = now
	}
	tat = tat.Add(iv)
	if tat.Sub(now) > RenegotiationBurst*iv {
		return fmt.Errorf("peer renegotiates too often: more than %d at once, then one per %v (Config.RenegotiationInterval)", RenegotiationBurst, iv)
	}
	c.renegotiationTAT = tat
	return nil
}

func (c *Conn) renegotiationAllowed() bool {
	switch c.config.Renegotiation {
	case RenegotiateSecure:
		return c.secureRenegotiation
	case RenegotiateInsecure:
		return true
	}
	return false
}

// renegotiateLocked runs a new handshake on the established connection;
// application data that arrives meanwhile is kept for Read. The new keys
// take effect at each side's ChangeCipherSpec. c.in is held.
func (c *Conn) renegotiateLocked() error {
	c.handshakeMutex.Lock()
	defer c.handshakeMutex.Unlock()
	c.renegotiating = true
	defer func() { c.renegotiating = false }()
	ctx := context.Background()
	if timeout := c.config.handshakeTimeout(); timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
		c.conn.SetDeadline(time.Now().Add(timeout))
		defer c.conn.SetDeadline(time.Time{})
	}
	err := c.handshakeFn(ctx)
	c.releaseHandshakeBuffers()
	if err != nil {
		c.flushLocked()
		return err
	}
	c.handshakes++
	return nil
}

// releaseHandshakeBuffers drops what only a handshake needed once it has
// ended: the reassembly buffer's array (when nothing is left in it) and an
// idle input buffer. c.in is held.
func (c *Conn) releaseHandshakeBuffers() {
	if c.hand.Len() == 0 {
		c.hand = bytes.Buffer{}
	}
	c.releaseIdleInput()
}

// Renegotiate starts a new handshake on an established connection
// (§7.6.1.1). A client runs it to completion now: call it while no Read is
// in progress. A server sends HelloRequest and returns; the handshake runs
// inside Read when the client answers. Both depend on Config.Renegotiation.
func (c *Conn) Renegotiate() error {
	if err := c.Handshake(); err != nil {
		return err
	}
	if !c.renegotiationAllowed() {
		return errors.New("ssl: renegotiation not allowed by Config.Renegotiation (or the peer lacks RFC 5746 support)")
	}
	if !c.isClient {
		c.handshakeMutex.Lock()
		err := c.checkRenegotiationBudget(false)
		c.handshakeMutex.Unlock()
		if err != nil {
			return fmt.Errorf("ssl: %w", err)
		}
		c.helloRequestSent.Store(true)
		if err := c.writeHandshake(&helloRequestMsg{}, nil); err != nil {
			return err
		}
		return c.flushLocked()
	}
	c.in.Lock()
	defer c.in.Unlock()
	if c.in.err != nil {
		return c.in.err
	}
	if err := c.checkRenegotiationBudget(false); err != nil {
		return fmt.Errorf("ssl: %w", err)
	}
	return c.renegotiateLocked()
}

// Close sends close_notify (if the handshake completed) and closes the
// underlying connection.
func (c *Conn) Close() error {
	for {
		x := c.activeCall.Load()
		if x&1 != 0 {
			return net.ErrClosed
		}
		if c.activeCall.CompareAndSwap(x, x|1) {
			break
		}
	}
	var alertErr error
	if c.handshakeComplete.Load() {
		if err := c.closeNotify(); err != nil {
			alertErr = fmt.Errorf("ssl: failed to send close_notify: %w", err)
		}
	}
	err := c.conn.Close()
	// Token-held record ciphers go with the connection. Under the locks:
	// a Read or Write may still be returning.
	c.out.Lock()
	closeCipher(c.out.cipher)
	closeCipher(c.out.nextCipher)
	c.out.Unlock()
	c.in.Lock()
	closeCipher(c.in.cipher)
	closeCipher(c.in.nextCipher)
	c.in.Unlock()
	if err != nil {
		return err
	}
	return alertErr
}

// CloseWrite sends close_notify; no more data may be written.
func (c *Conn) CloseWrite() error {
	if !c.handshakeComplete.Load() {
		return errors.New("ssl: CloseWrite before the handshake completed")
	}
	return c.closeNotify()
}

func (c *Conn) closeNotify() error {
	c.out.Lock()
	defer c.out.Unlock()
	if !c.closeNotifySent {
		// Bound the time a blocked peer can hold Close.
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		c.closeNotifyErr = c.sendAlertLocked(alertCloseNotify, nil)
		c.closeNotifySent = true
		c.SetWriteDeadline(time.Time{})
	}
	return c.closeNotifyErr
}

// Handshake runs the handshake if it has not yet run.
func (c *Conn) Handshake() error { return c.HandshakeContext(context.Background()) }

// HandshakeContext runs the handshake, aborting when ctx ends (by closing
// the connection) or when Config.HandshakeTimeout (by default
// DefaultHandshakeTimeout) expires.
func (c *Conn) HandshakeContext(ctx context.Context) (ret error) {
	if c.handshakeComplete.Load() {
		return nil
	}
	timeout := c.config.handshakeTimeout()
	if timeout > 0 && ctx.Done() == nil {
		// The usual case (Handshake, a first Read or Write): a parent
		// that never ends, so one timer is the whole abort; the general
		// path's context, cancel registration and AfterFunc cost a
		// resumed handshake over a quarter of its CPU outside system
		// calls (go run ./bench/cmd/sslbench -only resume -cpuprofile).
		hc := &handshakeCtx{Context: ctx, deadline: time.Now().Add(timeout)}
		t := time.AfterFunc(timeout, func() {
			hc.end(context.DeadlineExceeded)
			c.conn.Close()
		})
		defer func() {
			if !t.Stop() {
				ret = fmt.Errorf("ssl: handshake aborted: %w", context.DeadlineExceeded)
			}
			hc.end(context.Canceled)
		}()
		ctx = hc
	} else if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	if _, ok := ctx.(*handshakeCtx); !ok && ctx.Done() != nil {
		// Abort by closing the connection; context.AfterFunc costs no
		// goroutine per handshake. stop runs before cancel (defers are
		// last in, first out), so a completed handshake is never aborted.
		stop := context.AfterFunc(ctx, func() { c.conn.Close() })
		defer func() {
			if !stop() {
				ret = fmt.Errorf("ssl: handshake aborted: %w", ctx.Err())
			}
		}()
	}

	c.handshakeMutex.Lock()
	defer c.handshakeMutex.Unlock()
	if err := c.handshakeErr; err != nil {
		return err
	}
	if c.handshakeComplete.Load() {
		return nil
	}
	c.in.Lock()
	defer c.in.Unlock()
	c.handshakeErr = c.handshakeFn(ctx)
	c.releaseHandshakeBuffers()
	if c.handshakeErr == nil {
		c.handshakes++
	} else {
		// A handshake error must not leave a half-written flight behind.
		c.flushLocked()
	}
	if c.handshakeErr == nil && !c.handshakeComplete.Load() {
		c.handshakeErr = errors.New("ssl: internal error: handshake should have had a result")
	}
	return c.handshakeErr
}

// handshakeCtx is the context of a handshake bounded by
// Config.HandshakeTimeout under a parent that never ends: what callbacks
// see through ClientHelloInfo.Context and CertificateRequestInfo.Context
// (the deadline; Done and Err as context.WithTimeout's would be, ended
// when the handshake returns), with its Done channel made only if one asks.
type handshakeCtx struct {
	context.Context // the parent, for Value
	deadline        time.Time
	mu              sync.Mutex
	done            chan struct{}
	err             error
}

func (h *handshakeCtx) Deadline() (time.Time, bool) { return h.deadline, true }

func (h *handshakeCtx) Done() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done == nil {
		h.done = make(chan struct{})
		if h.err != nil {
			close(h.done)
		}
	}
	return h.done
}

func (h *handshakeCtx) Err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// end ends the context with err; the first end wins.
func (h *handshakeCtx) end(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != nil {
		return
	}
	h.err = err
	if h.done != nil {
		close(h.done)
	}
}

// ConnectionState returns details about the connection.
func (c *Conn) ConnectionState() ConnectionState {
	c.handshakeMutex.Lock()
	defer c.handshakeMutex.Unlock()
	if !c.handshakeComplete.Load() {
		return ConnectionState{}
	}
	return c.connectionStateLocked()
}

// connectionStateLocked is the state so far: of the completed connection,
// or, for VerifyConnection, of the handshake being run.
func (c *Conn) connectionStateLocked() ConnectionState {
	st := ConnectionState{HandshakeComplete: c.handshakeComplete.Load()}
	st.Version = VersionSSL30
	st.CipherSuite = c.cipherSuite
	st.DidResume = c.didResume
	st.ServerName = c.serverName
	if c.session != nil {
		st.SessionID = append([]byte(nil), c.session.SessionID...)
	}
	st.PeerCertificates = c.peerCertificates
	st.VerifiedChains = c.verifiedChains
	if !c.didResume && len(c.clientFinished) > 0 {
		st.TLSUnique = append([]byte(nil), c.clientFinished...)
	}
	st.Renegotiations = max(c.handshakes-1, 0)
	return st
}

// invalidateSession makes the current session unresumable: after a fatal
// alert (§7.4.2) or a truncation (§7.4.1).
func (c *Conn) invalidateSession() {
	s := c.session
	if s == nil {
		return
	}
	if c.isClient {
		if cache := c.config.ClientSessionCache; cache != nil && c.clientCacheKey != "" {
			if cur, ok := cache.Get(c.clientCacheKey); ok && cur == s {
				cache.Put(c.clientCacheKey, nil)
			}
		}
		return
	}
	if cache := c.config.serverSessionCache(); cache != nil && len(s.SessionID) > 0 {
		cache.Delete(string(s.SessionID))
	}
}
