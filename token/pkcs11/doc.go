// Package pkcs11 is the PKCS#11 backend of tokenssl: private keys that stay
// on a smartcard or HSM behind the token interfaces the SSL engine uses
// (crypto.Signer, crypto.Decrypter, token.DHAgreer).
//
// # Shape
//
// A Module is one PKCS#11 library, loaded and C_Initialize'd once per
// process and shared by every user (OpenModule is reference counted). A
// Backend is one token on it: found by slot ID, label or serial, logged in
// once with a PIN from a PINSource, with a bounded pool of sessions that
// concurrent handshakes share (callers wait for a free session rather than
// fail). FindKey returns *RSAKey, *DSAKey or *DHKey; FindObject and
// WithSession give the raw miekg/pkcs11 context and a pooled, logged-in
// session to layers that need mechanisms this package does not wrap
// (KEA, SKIPJACK). OpenKey (flags) and OpenKeyURI (RFC 7512) do all of it
// in one call and return whatever the token holds, a Fortezza card
// included (OpenFortezza decides between a real card and an emulator);
// every PIN goes through PINSpec.
//
// # miekg/pkcs11, not crypto11
//
// Everything runs on github.com/miekg/pkcs11. crypto11 was evaluated and
// measured against SoftHSM 2.6.1 (see crypto11_test.go, which re-runs the
// measurements) and rejected for the key objects because:
//
//   - Its pool never discards a session that failed, and its key objects
//     cache their handles: after the token came back its signers kept
//     failing (CKR_OBJECT_HANDLE_INVALID until the module was
//     re-initialised, CKR_SESSION_HANDLE_INVALID after: 20 of 20 tries),
//     and only a new Context helps.
//   - After C_Finalize/C_Initialize SoftHSM numbers sessions from 1 again.
//     crypto11's stale pooled handles then name our new sessions: its key
//     ran C_SignInit on one of them, and closing its Context closed two of
//     ours (or, as the last reference, finalised the module under us).
//   - With the token already logged in by another context, its Configure
//     accepts any PIN (SoftHSM answers CKR_USER_ALREADY_LOGGED_IN without
//     checking), and its C_Login cannot be counted or suppressed.
//   - Its session wait is a global timeout, not a per-call context, and it
//     only opens the module if nothing else initialised it first.
//
// # Sharing the module with crypto11 anyway
//
// If some other part of a process uses crypto11 on the same library,
// configure crypto11 first: it fails on CKR_CRYPTOKI_ALREADY_INITIALIZED,
// while OpenModule accepts it and joins as a guest (it then never
// finalises the library). Login state is per process and token, so both
// see one login. A reconnect here re-initialises the library, which breaks
// crypto11's Context for good; do not mix them where tokens may vanish.
//
// # Faults
//
// A wrong PIN costs one C_Login and returns ErrPINIncorrect; the same PIN
// is never tried again in this process. When the token disappears
// (CKR_DEVICE_REMOVED, CKR_SESSION_HANDLE_INVALID, CKR_TOKEN_NOT_PRESENT,
// CKR_OBJECT_HANDLE_INVALID on our key objects, or CKR_GENERAL_ERROR with
// C_GetTokenInfo failing — SoftHSM's answer when its token directory is
// deleted), the operations in flight fail with ErrTokenUnavailable. The
// next operation reconnects: it looks for the token again by serial and
// label; if it is not visible it runs C_Finalize/C_Initialize (SoftHSM only
// re-reads its store then; throttled by Config.ReconnectInterval) under the
// module's write lock, so no call is in flight, then opens a session, logs
// in with the PIN held in memory and finds the key objects again. Keys
// handed out earlier keep working; nobody calls Open again.
package pkcs11
