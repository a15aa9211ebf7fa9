package ssl

import (
	"errors"
	"strconv"
)

// alert is an SSL 3.0 AlertDescription (§7.4.2). SSL 3.0 defines exactly
// these twelve; later TLS codes (record_overflow, decode_error, …) do not
// exist on this wire, see errors.go for the mapping we use instead.
type alert uint8

const (
	alertLevelWarning = 1
	alertLevelFatal   = 2
)

const (
	alertCloseNotify            alert = 0
	alertUnexpectedMessage      alert = 10
	alertBadRecordMAC           alert = 20
	alertDecompressionFailure   alert = 30
	alertHandshakeFailure       alert = 40
	alertNoCertificate          alert = 41
	alertBadCertificate         alert = 42
	alertUnsupportedCertificate alert = 43
	alertCertificateRevoked     alert = 44
	alertCertificateExpired     alert = 45
	alertCertificateUnknown     alert = 46
	alertIllegalParameter       alert = 47
)

var alertNames = map[alert]string{
	alertCloseNotify:            "close_notify",
	alertUnexpectedMessage:      "unexpected_message",
	alertBadRecordMAC:           "bad_record_mac",
	alertDecompressionFailure:   "decompression_failure",
	alertHandshakeFailure:       "handshake_failure",
	alertNoCertificate:          "no_certificate",
	alertBadCertificate:         "bad_certificate",
	alertUnsupportedCertificate: "unsupported_certificate",
	alertCertificateRevoked:     "certificate_revoked",
	alertCertificateExpired:     "certificate_expired",
	alertCertificateUnknown:     "certificate_unknown",
	alertIllegalParameter:       "illegal_parameter",
}

func (a alert) String() string {
	if s, ok := alertNames[a]; ok {
		return s
	}
	return "alert(" + strconv.Itoa(int(a)) + ")"
}

// Error lets an alert travel as an error inside the handshake code; the
// Conn turns it into an AlertError once it has been sent.
func (a alert) Error() string { return "ssl: " + a.String() }

// AlertName returns the SSL 3.0 name of an alert description code.
func AlertName(code uint8) string { return alert(code).String() }

// AlertError reports a fatal alert that ended a connection: sent by us
// (Sent true) because of Err, or received from the peer.
type AlertError struct {
	Alert uint8 // SSL 3.0 AlertDescription
	Sent  bool  // true: we sent it; false: the peer did
	Err   error // for a sent alert: what we found wrong (never secret material)
}

func (e *AlertError) Error() string {
	if e.Sent {
		if e.Err != nil {
			return "ssl: " + e.Err.Error() + " (sent alert " + alert(e.Alert).String() + ")"
		}
		return "ssl: sent alert " + alert(e.Alert).String()
	}
	return "ssl: received alert " + alert(e.Alert).String() + " from peer"
}

func (e *AlertError) Unwrap() error { return e.Err }

// AlertName is the SSL 3.0 name of the alert.
func (e *AlertError) AlertName() string { return alert(e.Alert).String() }

// alertErr is a failure found below the drivers (a key exchange, a
// certificate check) together with the alert it calls for. Only the drivers
// send alerts: they turn an alertErr into the alert and an AlertError
// whose Err is the cause (sendAlertFor).
type alertErr struct {
	alert alert
	err   error
}

func (e *alertErr) Error() string { return e.err.Error() }
func (e *alertErr) Unwrap() error { return e.err }

// withAlert names the alert to send for err.
func withAlert(a alert, err error) error { return &alertErr{alert: a, err: err} }

// sendAlertFor sends the alert err names (withAlert), or def when it names
// none, and returns the error for the caller.
func (c *Conn) sendAlertFor(err error, def alert) error {
	var ae *alertErr
	if errors.As(err, &ae) {
		return c.sendAlert(ae.alert, ae.err)
	}
	return c.sendAlert(def, err)
}
