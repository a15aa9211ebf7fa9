package ssl

import (
	"crypto/subtle"
	"errors"
)

// The end of every handshake (§7.6.9), the same on both sides but for the
// Sender: ChangeCipherSpec, then Finished over the transcript. The
// verify_data are kept for RFC 5746 renegotiation binding.

func (hs *clientHandshakeState) sendFinished() error {
	vd, err := hs.c.sendFinished(&hs.transcript, hs.masterSecret, senderClient)
	hs.c.clientFinished = vd
	return err
}

func (hs *clientHandshakeState) readFinished() error {
	vd, err := hs.c.readFinished(&hs.transcript, hs.masterSecret, senderServer, "server")
	if err == nil {
		hs.c.serverFinished = vd
	}
	return err
}

func (hs *serverHandshakeState) sendFinished() error {
	vd, err := hs.c.sendFinished(&hs.transcript, hs.masterSecret, senderServer)
	hs.c.serverFinished = vd
	return err
}

func (hs *serverHandshakeState) readFinished() error {
	vd, err := hs.c.readFinished(&hs.transcript, hs.masterSecret, senderClient, "client")
	if err == nil {
		hs.c.clientFinished = vd
	}
	return err
}

// sendFinished writes ChangeCipherSpec and our Finished; it returns the
// verify_data.
func (c *Conn) sendFinished(transcript *finishedHash, master []byte, sender [4]byte) ([]byte, error) {
	fin := &finishedMsg{verifyData: transcript.clone().finishedSum(master, sender)}
	return fin.verifyData, c.writeChangeCipherSpecAndFinished(fin, transcript)
}

// readFinished reads the peer's ChangeCipherSpec and Finished (sender is
// the peer's Sender, peer its name for the error) and returns the checked
// verify_data.
func (c *Conn) readFinished(transcript *finishedHash, master []byte, sender [4]byte, peer string) ([]byte, error) {
	if err := c.readChangeCipherSpec(); err != nil {
		return nil, err
	}
	want := transcript.clone().finishedSum(master, sender)
	msg, err := c.readHandshake(transcript, typeFinished)
	if err != nil {
		return nil, err
	}
	fin, ok := msg.(*finishedMsg)
	if !ok {
		return nil, c.unexpectedMessage("Finished", msg)
	}
	if !verifyFinished(want, fin) {
		return nil, c.sendAlert(alertHandshakeFailure, errors.New(peer+" Finished does not verify"))
	}
	return fin.verifyData, nil
}

// verifyFinished compares a received Finished in constant time.
func verifyFinished(want []byte, got *finishedMsg) bool {
	return len(got.verifyData) == len(want) && subtle.ConstantTimeCompare(want, got.verifyData) == 1
}
