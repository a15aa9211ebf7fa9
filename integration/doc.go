// Package integration holds the end-to-end tests: real loopback sockets,
// real SoftHSM tokens, and peers nobody here wrote (NSS's selfserv and
// tstclnt, zcrypto's SSL 3.0 code), run inside a private network namespace
// so that nothing but loopback can reach them. See integration/interop for
// the peer harness.
package integration
