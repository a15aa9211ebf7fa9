// Package blockcheck holds the one buffer check of the project's
// cipher.Block implementations (ssl/internal/camellia, idea, rc2, seed and
// kea/skipjack).
package blockcheck

// Full enforces the cipher.Block contract for one block of size bytes.
// Like crypto/aes and crypto/des it panics on short buffers, naming the
// cipher (pkg): that is a programming error, not bad input. Overlapping dst
// and src are left to the cipher, each of which reads a whole block before
// it writes any of it. Each cipher calls Full once, at the top of the
// function that loads and stores the block: inlined there, it also lets the
// compiler drop that function's bounds checks on dst and src.
func Full(pkg string, dst, src []byte, size int) {
	if len(src) < size {
		panic(pkg + ": input not full block")
	}
	if len(dst) < size {
		panic(pkg + ": output not full block")
	}
}
