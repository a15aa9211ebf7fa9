package ssl

import (
	"crypto/subtle"
	"errors"
)

// The end of every handshake (§7.6.9), the same on both sides but for the
// Sender: ChangeCipherSpec, then Finished over the transcript. Both
// verify_data are kept in the Conn for RFC 5746 renegotiation binding.

// sendFinished writes ChangeCipherSpec and our Finished.
func (c *Conn) sendFinished(transcript *finishedHash, master []byte) error {
	sender, ours := senderServer, &c.serverFinished
	if c.isClient {
		sender, ours = senderClient, &c.clientFinished
	}
	// finishedSum works on copies of the running hashes.
	fin := &finishedMsg{verifyData: transcript.finishedSum(master, sender)}
	*ours = fin.verifyData
	return c.writeChangeCipherSpecAndFinished(fin, transcript)
}

// exchangeFinished sends our Finished, then reads and checks the peer's:
// the order of the side that speaks first (the client in a full handshake,
// the server in a resumed one). The other side calls readFinished and
// sendFinished itself, with its own step between them (a resuming client
// checks the connection; a server caches the new session).
func (c *Conn) exchangeFinished(transcript *finishedHash, master []byte) error {
	if err := c.sendFinished(transcript, master); err != nil {
		return err
	}
	return c.readFinished(transcript, master)
}

// readFinished reads the peer's ChangeCipherSpec and Finished and checks
// it.
func (c *Conn) readFinished(transcript *finishedHash, master []byte) error {
	sender, theirs, peer := senderClient, &c.clientFinished, "client"
	if c.isClient {
		sender, theirs, peer = senderServer, &c.serverFinished, "server"
	}
	if err := c.readChangeCipherSpec(); err != nil {
		return err
	}
	want := transcript.finishedSum(master, sender)
	fin, err := readHandshakeMsg[finishedMsg](c, transcript, typeFinished, "Finished")
	if err != nil {
		return err
	}
	if !verifyFinished(want, fin) {
		return c.sendAlert(alertHandshakeFailure, errors.New(peer+" Finished does not verify"))
	}
	*theirs = fin.verifyData
	return nil
}

// verifyFinished compares a received Finished in constant time.
func verifyFinished(want []byte, got *finishedMsg) bool {
	return len(got.verifyData) == len(want) && subtle.ConstantTimeCompare(want, got.verifyData) == 1
}
