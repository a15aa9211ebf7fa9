package ssl

import (
	"crypto/x509"
	"fmt"
)

// The application's checks of crypto/tls's Config (VerifyPeerCertificate,
// VerifyConnection), run by both drivers at the points crypto/tls runs
// them, and failing the handshake with bad_certificate as it does.

// verifyPeerCertificate runs Config.VerifyPeerCertificate on the peer's
// chain, once the usual checks passed (or were skipped).
func (c *Conn) verifyPeerCertificate(raw [][]byte, chains [][]*x509.Certificate) error {
	f := c.config.VerifyPeerCertificate
	if f == nil {
		return nil
	}
	if err := f(raw, chains); err != nil {
		return c.sendAlert(alertBadCertificate, fmt.Errorf("VerifyPeerCertificate: %w", err))
	}
	return nil
}

// verifyConnection runs Config.VerifyConnection on the state of the
// handshake, before the Finished messages.
func (c *Conn) verifyConnection() error {
	f := c.config.VerifyConnection
	if f == nil {
		return nil
	}
	if err := f(c.connectionStateLocked()); err != nil {
		return c.sendAlert(alertBadCertificate, fmt.Errorf("VerifyConnection: %w", err))
	}
	return nil
}
