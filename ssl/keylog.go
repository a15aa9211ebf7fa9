package ssl

import (
	"fmt"
	"sync"
)

// The key log (Config.KeyLogWriter) in the NSS key log format that
// Wireshark, tshark and NSS read: one line per handshake,
//
//	CLIENT_RANDOM <client random, 64 hex digits> <master secret, 96 hex digits>
//
// SSL 3.0 derives every record key from the master secret and the two
// randoms (docs/ssl3.md), so this one line is enough to decrypt a capture,
// whatever the key exchange: RSA with a key on a token, DHE, fixed DH or
// Fortezza KEA (whose master secret also lives in process memory).

const keyLogLabel = "CLIENT_RANDOM"

// keyLogMutex serializes writes of every Config: lines from concurrent
// handshakes must not interleave, and a key log is for debugging only, so
// one global lock costs nothing that matters (crypto/tls does the same).
var keyLogMutex sync.Mutex

// writeKeyLog appends the line of one handshake to Config.KeyLogWriter,
// if set.
func (c *Config) writeKeyLog(clientRandom, master []byte) error {
	if c == nil || c.KeyLogWriter == nil {
		return nil
	}
	line := fmt.Appendf(nil, "%s %x %x\n", keyLogLabel, clientRandom, master)
	keyLogMutex.Lock()
	_, err := c.KeyLogWriter.Write(line)
	keyLogMutex.Unlock()
	clear(line)
	if err != nil {
		return fmt.Errorf("writing the key log: %w", err)
	}
	return nil
}

// logMasterSecret is the drivers' call: a key log that cannot be written
// fails the handshake, as in crypto/tls (an operator who asked for the log
// must not silently get a capture that cannot be decrypted).
func (c *Conn) logMasterSecret(clientRandom, master []byte) error {
	if err := c.config.writeKeyLog(clientRandom, master); err != nil {
		return c.sendAlert(alertHandshakeFailure, err)
	}
	return nil
}
