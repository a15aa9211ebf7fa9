package pkcs11_test

import (
	"context"
	"testing"
	"time"

	p11 "github.com/miekg/pkcs11"

	"github.com/tokenssl/tokenssl/token/pkcs11"
)

// PoolStats follows the pool: a held session is in use, a second caller
// waits, and both return to zero when they are done.
func TestPoolStats(t *testing.T) {
	b, _, _, tok := rsaOnToken(t, func(c *pkcs11.Config) { c.PoolSize = 1 })
	if got := b.PoolStats(); got != (pkcs11.PoolStats{Size: 1}) {
		t.Fatalf("idle pool: %+v", got)
	}
	hold, held := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- b.WithSession(context.Background(), func(*p11.Ctx, p11.SessionHandle) error {
			close(held)
			<-hold
			return nil
		})
	}()
	<-held
	second := make(chan error, 1)
	go func() {
		second <- b.WithSession(context.Background(), func(*p11.Ctx, p11.SessionHandle) error { return nil })
	}()
	// Poll for the waiter: nothing else tells when it reached acquire.
	for b.PoolStats().Waiting != 1 {
		time.Sleep(time.Millisecond)
	}
	if got := b.PoolStats(); got != (pkcs11.PoolStats{Size: 1, InUse: 1, Waiting: 1}) {
		t.Fatalf("held pool with a waiter: %+v", got)
	}
	close(hold)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	if got := b.PoolStats(); got != (pkcs11.PoolStats{Size: 1}) {
		t.Fatalf("pool after both: %+v", got)
	}
	// Slot names the token: a Backend opened by that slot alone finds it.
	slot := b.Slot()
	bySlot := open(t, tok, func(c *pkcs11.Config) { c.SlotID, c.TokenLabel, c.TokenSerial = &slot, "", "" })
	if bySlot.Serial() != b.Serial() {
		t.Fatalf("slot %d holds token %q, not %q", slot, bySlot.Serial(), b.Serial())
	}
}
