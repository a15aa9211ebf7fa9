// Package interop holds the test helpers that run tokenssl against
// independent SSL 3.0 implementations: NSS (selfserv and tstclnt from
// Debian's libnss3-tools, 3.87) and zcrypto (the zcryptopeer command, a
// separate Go module in integration/peers/zcryptopeer pinned to the last
// zcrypto with SSL 3.0). It uses the standard library only, and its process
// helpers are Linux-only (they need network namespaces; tests run as root).
//
// # Isolation
//
// selfserv binds every address, so every peer runs inside a private network
// namespace (NewNamespace) that holds nothing but an up loopback interface:
// programs started with Namespace.Start / Namespace.Run, and sockets made by
// Namespace.Dial / Namespace.Listen (for in-process ssl.Server / ssl.Client
// tests), share that namespace; nothing outside can reach them. Every process
// is killed when the test ends, and the namespace vanishes with them. Use IP
// literals (127.0.0.1:PORT) inside a namespace.
//
// # NSS
//
// EnsureNSS installs the tools (scripts/install-peers.sh) if missing, or
// skips. NSSDB builds a database from PEM (certutil -N; openssl pkcs12
// -export; pk12util -i); NSSTrustClientCA adds a CA that selfserv -r -r
// trusts for client certificates (certutil -t T,,). On Debian no policy change is needed for SSL 3.0,
// RC4, DES or NULL suites: "-V ssl3:ssl3" plus "-c :XXXX" (hex suite codes)
// is enough; NSS_IGNORE_SYSTEM_POLICY=1 is set anyway for NSS builds that
// read a crypto-policies file. The command lines are
//
//	stdbuf -oL selfserv -d sql:DB -n server -p PORT -V ssl3:ssl3 -c :0004 -v
//	tstclnt -h 127.0.0.1 -p PORT -V ssl3:ssl3 -c :0004 -v -A REQFILE -D -o
//	tstclnt -h 127.0.0.1 -p PORT -V ssl3:ssl3 -v -A REQFILE -L 2 -d sql:TRUSTDB
//
// What the tools really do, and how the helpers deal with it:
//
//   - selfserv is not an echo server. Per connection it reads up to the
//     first empty line, answers once with SelfservHeader + the request +
//     SelfservTrailer and closes. Requests must end in an empty line
//     (SelfservRequest) and must not start with "GET /" (it serves that
//     file; "GET /stop " stops it). So a client talking to it must keep
//     reading until the server closes after its own input ended.
//   - selfserv -v prints per connection its cumulative session-cache
//     statistics (stdout; stdbuf -oL makes them line buffered) and
//     "SSL version 3.0 using 128-bit RC4 with 128-bit MD5 MAC" (stderr);
//     ParseNSSServer turns that into Handshake values, Resumed when the
//     cache-hit count grew. It prints no session id.
//   - tstclnt sends its input, copies what it receives to stdout and exits
//     when the server closes (0) or on failure (254). It never half-closes,
//     so an echo server that waits for EOF keeps it alive forever: the
//     server must hang up (selfserv does; zcryptopeer with -close-after), or
//     RunNSSClient stops it once StopWhenStdoutHas shows up. Input comes from
//     a file (-A): with a closed stdin pipe its poll loop spins at 100% CPU.
//   - tstclnt resumes only across reconnections of one process (-L N: the
//     second connection offers the first session). -r N is renegotiation,
//     not resumption. NSS 3.87's tstclnt crashes (double free) when -c is
//     combined with -L > 1, so for resumption restrict the suite on the
//     server; tstclnt's default offer has the RC4, 3DES and AES suites (RSA
//     and DHE_RSA) but no DES or NULL ones, so NULL/DES sessions cannot be
//     resumed by tstclnt.
//   - tstclnt -v prints "tstclnt: SSL version 3.0 using ..." and then its
//     cumulative client cache statistics; ParseNSSClient reads them.
//
// # zcrypto
//
// BuildZcryptoPeer builds integration/peers/zcryptopeer once per test
// process (go build -C integration/peers/zcryptopeer). At SSL 3.0 with an
// RSA certificate zcrypto completes handshakes (against itself; see
// `zcryptopeer suites`) for RC4_128_MD5 0x0004, RC4_128_SHA 0x0005,
// 3DES_EDE_CBC_SHA 0x000A, AES_128_CBC_SHA 0x002F, AES_256_CBC_SHA 0x0035,
// DHE_RSA_WITH_DES_CBC_SHA 0x0015, DHE_RSA_WITH_3DES_EDE_CBC_SHA 0x0016,
// DHE_RSA_WITH_AES_128/256_CBC_SHA 0x0033/0x0039, the export suites 0x0003,
// 0x0006, 0x0008, 0x0014 (server needs Config.ExportRSAKey, which
// zcryptopeer sets), and, non-standard at SSL 3.0, ECDHE_RSA 0xC011-0xC014.
// It has no NULL suites and no RSA DES_CBC_SHA (0x0009). Its server never
// resumes at SSL 3.0 (ticket-only, empty session_id); its client resumes
// with zcryptopeer's help (see its package doc).
//
// # Proven pairs
//
// peers_test.go runs, at SSL 3.0 and with data checked end to end:
//
//	client       server       suites                                 resumed 2nd handshake
//	zcryptopeer  selfserv     0004 0005 000A 002F 0035 0015 0016      yes (client -resume; both
//	                          0033 0039                               sides report it)
//	tstclnt      zcryptopeer  same nine                               no: zcrypto's server cannot
//	tstclnt      selfserv     0001 0002 0009 0004 0005 000A           0004 0005 000A (tstclnt -L 2)
//	zcryptopeer  zcryptopeer  RC4-SHA (server order), 32 KiB echo     no (server)
//
// plus certificate verification on both client tools (zcryptopeer -ca,
// tstclnt with a trust database).
//
// # Using it with tokenssl
//
//	ns := interop.NewNamespace(t)
//	cert := interop.NewTestCert(t)
//	bin := interop.BuildTokenssl(t)
//	port := ns.FreePort(t)
//	addr := fmt.Sprintf("127.0.0.1:%d", port)
//	srv := ns.Start(t, interop.ProcOptions{}, bin, "server", "-listen", addr,
//		"-cert", cert.CertFile, "-key", cert.KeyFile, "-ciphers", interop.SuiteNames(0x000A))
//	srv.WaitOutput("listening on", 10*time.Second) // or ns.WaitListening(port, ...)
//	r := interop.RunNSSClient(t, ns, interop.NSSClientConfig{Addr: addr,
//		Suites: []uint16{0x000A}, Payload: []byte("ping\n"), StopWhenStdoutHas: "ping\n"})
//	hs, err := srv.WaitHandshakes(1, 5*time.Second) // tokenssl's "handshake ok" lines
//
// The other way round: StartNSSServer, then
// ns.Run(t, 20*time.Second, interop.ProcOptions{Stdin: interop.SelfservRequest("ping")},
// bin, "client", "-connect", srv.Addr, "-insecure", "-resume"), checking the
// answer with SelfservEcho and resumption in the client's Result.Handshakes.
// selfserv reports a connection only after application data arrived on it,
// so a second connection that sends nothing shows up on the client side
// only. RunZcryptoClient with Resume resends its payload on the second
// connection, so tokenssl's server logs and echoes both.
package interop
