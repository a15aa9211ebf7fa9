package pkcs11

// PoolStats is the state of a Backend's session pool at one instant, for
// gauges: how many operations hold a session and how many wait for one.
type PoolStats struct {
	Size    int // the session bound (Config.PoolSize, capped by the token)
	InUse   int // operations holding a pool slot now
	Waiting int // operations waiting for a free slot now
}

// PoolStats returns the pool's current occupancy. It takes no lock an
// operation holds, so a metrics scrape never waits for the token.
func (b *Backend) PoolStats() PoolStats {
	return PoolStats{Size: b.poolSize, InUse: len(b.sem), Waiting: int(b.waiting.Load())}
}

// Slot returns the slot ID the token is in now (a reconnect may move it).
func (b *Backend) Slot() uint {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.slot
}
