package integration

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/tokenssl/tokenssl/internal/recordproxy"
	"github.com/tokenssl/tokenssl/internal/ssltest"
	"github.com/tokenssl/tokenssl/kea"
	"github.com/tokenssl/tokenssl/kea/skipjack"
	"github.com/tokenssl/tokenssl/softhsm"
	"github.com/tokenssl/tokenssl/softhsm/softhsmtest"
	"github.com/tokenssl/tokenssl/ssl"
	"github.com/tokenssl/tokenssl/token"
	"github.com/tokenssl/tokenssl/token/tokentest"
	"github.com/tokenssl/tokenssl/x509legacy"
)

// The three FORTEZZA_KEA suites end to end on SoftHSM-emulated cards, both
// peers ours, over loopback TCP.

// SSL 3.0 alert numbers the tests expect.
const (
	alertBadRecordMAC       = 20
	alertHandshakeFailure   = 40
	alertIllegalParameter   = 47
	recordChangeCipherSpec  = 20
	recordHandshake         = 22
	recordApplicationData   = 23
	handshakeClientKeyExch  = 16
	fortezzaFixedAfterYC    = 312
	fortezzaOffYSig         = 128
	fortezzaOffWrappedC     = fortezzaOffYSig + 40
	fortezzaOffWrappedS     = fortezzaOffWrappedC + 12
	fortezzaOffClientIV     = fortezzaOffWrappedS + 12
	fortezzaOffServerIV     = fortezzaOffClientIV + 24
	fortezzaOffMasterIV     = fortezzaOffServerIV + 24
	fortezzaOffEncryptedPMS = fortezzaOffMasterIV + 24
)

var fortezzaSuites = []uint16{
	ssl.SSL_FORTEZZA_KEA_WITH_NULL_SHA,
	ssl.SSL_FORTEZZA_KEA_WITH_FORTEZZA_CBC_SHA,
	ssl.SSL_FORTEZZA_KEA_WITH_RC4_128_SHA,
}

func fortezzaPair(t testing.TB, opts softhsm.FortezzaPairOptions) *softhsm.FortezzaPair {
	t.Helper()
	env := softhsmtest.Env(t)
	p, err := softhsm.ProvisionFortezzaPair(env, opts)
	if err != nil {
		t.Fatalf("provisioning Fortezza cards: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// recorder joins a client and a server through a record proxy that keeps
// every record in both directions and may rewrite the client's
// ClientKeyExchange body.
type recorder struct {
	mutate func(body []byte) []byte
	mu     sync.Mutex
	p      *recordproxy.Proxy
}

func (r *recorder) pipe(t testing.TB, client, server net.Conn) {
	var h recordproxy.Handler
	if r.mutate != nil {
		h = recordproxy.RewriteMessage(recordproxy.ToServer, handshakeClientKeyExch, r.mutate)
	}
	r.mu.Lock()
	r.p = recordproxy.New(client, server, h)
	r.mu.Unlock()
}

// wire returns the complete records sent so far in direction dir.
func (r *recorder) wire(dir recordproxy.Direction) [][]byte {
	r.mu.Lock()
	p := r.p
	r.mu.Unlock()
	var out [][]byte
	for _, rec := range p.Records(dir) {
		out = append(out, rec.Marshal())
	}
	return out
}

// connect runs a client and a server handshake over loopback TCP, through
// rec if it is not nil, and returns both ends and both errors.
func connect(t testing.TB, cc, sc *ssl.Config, rec *recorder) (client, server *ssl.Conn, cerr, serr error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	var relayLn net.Listener
	if rec != nil {
		if relayLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		defer relayLn.Close()
		serverAddr := addr
		go func() {
			c, err := relayLn.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", serverAddr)
			if err != nil {
				c.Close()
				return
			}
			rec.pipe(t, c, s)
		}()
		addr = relayLn.Addr().String()
	}
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		accepted <- c
	}()
	craw, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	sraw := <-accepted
	if sraw == nil {
		t.Fatal("accept failed")
	}
	deadline := time.Now().Add(60 * time.Second)
	craw.SetDeadline(deadline)
	sraw.SetDeadline(deadline)
	client, server = ssl.Client(craw, cc), ssl.Server(sraw, sc)
	t.Cleanup(func() { client.Close(); server.Close() })
	errc := make(chan error, 1)
	go func() {
		err := server.Handshake()
		if err != nil {
			sraw.Close()
		}
		errc <- err
	}()
	if cerr = client.Handshake(); cerr != nil {
		craw.Close()
	}
	serr = <-errc
	return client, server, cerr, serr
}

// echo is recordproxy.Echo on two ssl ends.
func echo(t testing.TB, a, b *ssl.Conn, data []byte) {
	t.Helper()
	recordproxy.Echo(t, a, b, data)
}

// checkNoSessionObjects asserts the cards left nothing on their tokens.
func checkNoSessionObjects(t testing.TB, cards ...*softhsm.FortezzaCard) {
	t.Helper()
	for _, c := range cards {
		n, err := c.SessionObjects()
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 || c.LiveObjects() != 0 {
			t.Errorf("card %s: %d session objects, %d live handles left", c.Backend().Label(), n, c.LiveObjects())
		}
	}
}

func sentAlert(err error) (uint8, bool) {
	var ae *ssl.AlertError
	if errors.As(err, &ae) && ae.Sent {
		return ae.Alert, true
	}
	return 0, false
}

func TestFortezzaEmulatedCardsEndToEnd(t *testing.T) {
	p := fortezzaPair(t, softhsm.FortezzaPairOptions{})
	mib := make([]byte, 1<<20)
	rand.Read(mib)
	for _, id := range fortezzaSuites {
		for _, email := range []bool{false, true} {
			for _, auth := range []bool{false, true} {
				name := fmt.Sprintf("%s/email=%v/clientauth=%v", ssl.CipherSuiteName(id), email, auth)
				t.Run(name, func(t *testing.T) {
					p.Server.SetEmailMode(email)
					cc, sc := ssltest.FortezzaClientConfig(p, []uint16{id}), ssltest.FortezzaServerConfig(p, []uint16{id}, auth)
					client, server, cerr, serr := connect(t, cc, sc, nil)
					if cerr != nil || serr != nil {
						t.Fatalf("handshake: client %v; server %v", cerr, serr)
					}
					st := client.ConnectionState()
					if st.CipherSuite != id {
						t.Fatalf("negotiated %s", ssl.CipherSuiteName(st.CipherSuite))
					}
					if len(st.VerifiedChains) == 0 {
						t.Fatal("the client did not verify the server's KEA certificate chain")
					}
					if got := len(server.ConnectionState().PeerCertificates); auth != (got > 0) {
						t.Fatalf("server saw %d client certificates", got)
					}
					echo(t, client, server, mib)
					client.Close()
					server.Close()
					checkNoSessionObjects(t, p.Server, p.Client)
				})
			}
		}
	}
	p.Server.SetEmailMode(false)
}

// TestFortezzaEmulatorMatchesSoftwareCard runs an emulated card against the
// pure-Go software card (package kea in the card convention) in both
// directions: the emulator's SoftHSM/Go split produces the same bytes.
func TestFortezzaEmulatorMatchesSoftwareCard(t *testing.T) {
	p := fortezzaPair(t, softhsm.FortezzaPairOptions{})
	// A software card in the same group, certified by the same CA.
	soft := tokentest.SoftwareFortezzaCard(t, p.Params)
	tmpl := &x509legacy.Template{}
	tmpl.Subject.CommonName = p.ServerName
	keaDER, err := x509legacy.CreateKEACertificate(nil, tmpl, soft.KEA.Params.DSAParameters(), soft.KEA.Y, p.CA.Cert, p.CA.Key)
	if err != nil {
		t.Fatal(err)
	}
	dssDER, err := x509legacy.CreateDSACertificate(nil, tmpl, &soft.DSS.PublicKey, p.CA.Cert, p.CA.Key)
	if err != nil {
		t.Fatal(err)
	}
	soft.KEACert = keaDER
	softServer := ssl.Certificate{Certificate: [][]byte{keaDER, p.CA.DER}, PrivateKey: soft}
	softClient := ssl.Certificate{Certificate: [][]byte{dssDER, p.CA.DER}, PrivateKey: soft}
	data := bytes.Repeat([]byte("card"), 20000)
	for _, email := range []bool{false, true} {
		soft.EmailMode = email
		p.Server.SetEmailMode(email)
		for _, id := range fortezzaSuites {
			t.Run(fmt.Sprintf("%s/email=%v/soft-server", ssl.CipherSuiteName(id), email), func(t *testing.T) {
				sc := ssltest.FortezzaServerConfig(p, []uint16{id}, true)
				sc.Certificates = []ssl.Certificate{softServer}
				client, server, cerr, serr := connect(t, ssltest.FortezzaClientConfig(p, []uint16{id}), sc, nil)
				if cerr != nil || serr != nil {
					t.Fatalf("client %v; server %v", cerr, serr)
				}
				echo(t, client, server, data)
			})
			t.Run(fmt.Sprintf("%s/email=%v/soft-client", ssl.CipherSuiteName(id), email), func(t *testing.T) {
				cc := ssltest.FortezzaClientConfig(p, []uint16{id})
				cc.Certificates = []ssl.Certificate{softClient}
				client, server, cerr, serr := connect(t, cc, ssltest.FortezzaServerConfig(p, []uint16{id}, true), nil)
				if cerr != nil || serr != nil {
					t.Fatalf("client %v; server %v", cerr, serr)
				}
				echo(t, client, server, data)
			})
		}
	}
	p.Server.SetEmailMode(false)
	checkNoSessionObjects(t, p.Server, p.Client)
}

// TestFortezzaWireDecryptsWithUnwrappedMEK checks the wire against the
// spec: in e-mail mode the server's w = Y_c^x_s + R_c^x_s needs only the
// server's static x_s (imported for the test), so from the captured
// FortezzaKeys the test derives the TEK itself, unwraps the two MEKs and
// decrypts the FORTEZZA_CBC records of both directions with SKIPJACK-CBC64
// from client_write_iv and server_write_iv.
func TestFortezzaWireDecryptsWithUnwrappedMEK(t *testing.T) {
	params := kea.DefaultParams()
	xs, err := kea.GenerateKey(nil, params)
	if err != nil {
		t.Fatal(err)
	}
	p := fortezzaPair(t, softhsm.FortezzaPairOptions{ServerKEAKey: xs, EmailMode: true})
	id := ssl.SSL_FORTEZZA_KEA_WITH_FORTEZZA_CBC_SHA
	rec := &recorder{}
	client, server, cerr, serr := connect(t, ssltest.FortezzaClientConfig(p, []uint16{id}), ssltest.FortezzaServerConfig(p, []uint16{id}, false), rec)
	if cerr != nil || serr != nil {
		t.Fatalf("client %v; server %v", cerr, serr)
	}
	fromClient := []byte("client says: wrapped keys, three IVs, a pre-master secret")
	fromServer := []byte("server says: the first record carried eight bytes of nothing")
	if _, err := client.Write(fromClient); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(server, make([]byte, len(fromClient))); err != nil {
		t.Fatal(err)
	}
	if _, err := server.Write(fromServer); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(client, make([]byte, len(fromServer))); err != nil {
		t.Fatal(err)
	}

	toServer, toClient := rec.wire(recordproxy.ToServer), rec.wire(recordproxy.ToClient)

	// The FortezzaKeys body.
	var fk []byte
	for _, r := range toServer {
		if r[0] == recordChangeCipherSpec {
			break // what follows is encrypted
		}
		if r[0] == recordHandshake && r[5] == handshakeClientKeyExch {
			fk = r[9:]
		}
	}
	if fk == nil {
		t.Fatal("no ClientKeyExchange on the wire")
	}
	ycLen := int(fk[0])
	if len(fk) != 1+ycLen+fortezzaFixedAfterYC {
		t.Fatalf("FortezzaKeys is %d bytes, want 1 + %d + 312", len(fk), ycLen)
	}
	yc := new(big.Int).SetBytes(fk[1 : 1+ycLen])
	f := fk[1+ycLen:]
	rc := new(big.Int).SetBytes(f[:128])
	w, err := kea.ResponderSharedValue(xs, nil, yc, rc)
	if err != nil {
		t.Fatal(err)
	}
	tek, err := kea.DeriveTEK(w)
	if err != nil {
		t.Fatal(err)
	}
	clientMEK, err := skipjack.UnwrapKey(tek, f[fortezzaOffWrappedC:fortezzaOffWrappedC+12])
	if err != nil {
		t.Fatalf("wrapped_client_write_key: %v", err)
	}
	serverMEK, err := skipjack.UnwrapKey(tek, f[fortezzaOffWrappedS:fortezzaOffWrappedS+12])
	if err != nil {
		t.Fatalf("wrapped_server_write_key: %v", err)
	}
	pms := decryptCBC(t, tek, f[fortezzaOffMasterIV:fortezzaOffMasterIV+24], f[fortezzaOffEncryptedPMS:fortezzaOffEncryptedPMS+48])
	if pms[0] != 3 || pms[1] != 0 {
		t.Errorf("pre-master secret begins %x, want 0300", pms[:2])
	}

	// Client → server: everything after ChangeCipherSpec, one CBC chain
	// from client_write_iv: Finished, then our application data.
	fin, app := decryptAfterCCS(t, toServer, clientMEK, f[fortezzaOffClientIV:fortezzaOffClientIV+24], false)
	if len(fin) != 40 || fin[0] != 20 {
		t.Fatalf("client Finished decrypts to %x", fin)
	}
	if !bytes.Equal(app, fromClient) {
		t.Fatalf("client application data decrypts to %q", app)
	}
	// Server → client: from server_write_iv; the first record's first
	// block is the random prefix of D.5.1.
	fin, app = decryptAfterCCS(t, toClient, serverMEK, f[fortezzaOffServerIV:fortezzaOffServerIV+24], true)
	if len(fin) != 40 || fin[0] != 20 {
		t.Fatalf("server Finished decrypts to %x", fin)
	}
	if !bytes.Equal(app, fromServer) {
		t.Fatalf("server application data decrypts to %q", app)
	}
}

func decryptCBC(t testing.TB, key, iv24, ct []byte) []byte {
	t.Helper()
	s, err := token.NewSoftwareFortezzaCBC(key, iv24, false)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, len(ct))
	if err := s.CryptBlocks(out, ct); err != nil {
		t.Fatal(err)
	}
	return out
}

// decryptAfterCCS decrypts the records after ChangeCipherSpec as one CBC
// chain (MAC and padding removed) and returns the handshake content (the
// Finished message) and the application data, concatenated.
func decryptAfterCCS(t testing.TB, records [][]byte, mek, iv24 []byte, prefix bool) (handshake, appData []byte) {
	t.Helper()
	s, err := token.NewSoftwareFortezzaCBC(mek, iv24, false)
	if err != nil {
		t.Fatal(err)
	}
	seen, first := false, true
	for _, r := range records {
		if !seen {
			seen = r[0] == recordChangeCipherSpec
			continue
		}
		body := bytes.Clone(r[5:])
		if err := s.CryptBlocks(body, body); err != nil {
			t.Fatal(err)
		}
		if prefix && first {
			body = body[8:] // D.5.1: the server's random first block
		}
		first = false
		pad := int(body[len(body)-1])
		if pad >= 8 || len(body) < pad+1+20 {
			t.Fatalf("bad padding %d", pad)
		}
		content := body[:len(body)-pad-1-20]
		switch r[0] {
		case recordHandshake:
			handshake = append(handshake, content...)
		case recordApplicationData:
			appData = append(appData, content...)
		}
	}
	return handshake, appData
}

// TestFortezzaTamperedKeysRejected tampers one FortezzaKeys field in
// transit and checks the server's alert and that neither card kept a
// session object. y_signature and the wrapped keys (a wrong checksum) are
// rejected at ClientKeyExchange with illegal_parameter; a changed
// pre-master secret, master_secret_iv or client_write_iv yields another
// pre-master secret or a garbled first client block, which fails the MAC of
// the client's Finished record (bad_record_mac); server_write_iv only
// decrypts the client's discarded prefix block, so its change is caught by
// the Finished hash over the handshake (handshake_failure).
func TestFortezzaTamperedKeysRejected(t *testing.T) {
	p := fortezzaPair(t, softhsm.FortezzaPairOptions{})
	flip := func(off int) func([]byte) []byte {
		return func(b []byte) []byte { b[1+int(b[0])+off] ^= 0x01; return b }
	}
	for _, tc := range []struct {
		name string
		auth bool
		off  int
		want uint8
	}{
		{"y_signature", true, fortezzaOffYSig + 7, alertIllegalParameter},
		{"wrapped_client_write_key", false, fortezzaOffWrappedC + 11, alertIllegalParameter},
		{"wrapped_server_write_key", false, fortezzaOffWrappedS + 10, alertIllegalParameter},
		{"client_write_iv", false, fortezzaOffClientIV + 17, alertBadRecordMAC},
		{"server_write_iv", false, fortezzaOffServerIV + 17, alertHandshakeFailure},
		{"master_secret_iv", false, fortezzaOffMasterIV + 23, alertBadRecordMAC},
		{"encrypted_pre_master_secret", false, fortezzaOffEncryptedPMS + 3, alertBadRecordMAC},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := ssl.SSL_FORTEZZA_KEA_WITH_FORTEZZA_CBC_SHA
			sc := ssltest.FortezzaServerConfig(p, []uint16{id}, false)
			if tc.auth {
				sc.ClientAuth = ssl.RequestClientCert
			}
			_, _, cerr, serr := connect(t, ssltest.FortezzaClientConfig(p, []uint16{id}), sc, &recorder{mutate: flip(tc.off)})
			if cerr == nil {
				t.Error("client handshake succeeded")
			}
			if a, ok := sentAlert(serr); !ok || a != tc.want {
				t.Fatalf("server: %v, want alert %d", serr, tc.want)
			}
			time.Sleep(20 * time.Millisecond) // the client's release runs as its handshake returns
			checkNoSessionObjects(t, p.Server, p.Client)
		})
	}
}

// BenchmarkFortezza measures Fortezza handshakes per second on emulated
// cards (both ends in this process, so each handshake costs both cards'
// work) beside the raw cost, in the same run, of the four modular
// exponentiations of one KEA exchange (t and u on each side; 1024-bit p,
// 160-bit exponents): in Go (math/big) and as SoftHSM CKM_DH_PKCS_DERIVE.
func BenchmarkFortezza(b *testing.B) {
	p := fortezzaPair(b, softhsm.FortezzaPairOptions{})
	for _, mode := range fortezzaBenchModes {
		b.Run("handshake/"+mode.name, func(b *testing.B) {
			p.Server.SetEmailMode(mode.email)
			cc, sc := ssltest.FortezzaClientConfig(p, []uint16{mode.suite}), ssltest.FortezzaServerConfig(p, []uint16{mode.suite}, false)
			benchHandshakes(b, cc, sc)
		})
	}
	p.Server.SetEmailMode(false)
	params := p.Params
	x := make([]*kea.PrivateKey, 4)
	for i := range x {
		var err error
		if x[i], err = kea.GenerateKey(nil, params); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("four-exps/go", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			for j := 0; j < 4; j++ {
				if _, err := kea.ExpT(params, x[(j+1)%4].Y, x[j].X); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "exchanges/s")
	})
	b.Run("four-exps/softhsm", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if err := p.Server.BenchmarkDerives(4, x[0].Y); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "exchanges/s")
	})
}

// fortezzaBenchModes are the Fortezza handshakes the benchmarks time: the
// suite, and whether the server's card runs in e-mail mode.
var fortezzaBenchModes = []struct {
	name  string
	email bool
	suite uint16
}{
	{"FORTEZZA_CBC/full", false, ssl.SSL_FORTEZZA_KEA_WITH_FORTEZZA_CBC_SHA},
	{"FORTEZZA_CBC/email", true, ssl.SSL_FORTEZZA_KEA_WITH_FORTEZZA_CBC_SHA},
	{"RC4_128/full", false, ssl.SSL_FORTEZZA_KEA_WITH_RC4_128_SHA},
}

// benchHandshakes times full handshakes between cc and sc over loopback,
// one connection pair per iteration, and reports handshakes per second.
func benchHandshakes(b *testing.B, cc, sc *ssl.Config) {
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		client, server, cerr, serr := connect(b, cc, sc, nil)
		if cerr != nil || serr != nil {
			b.Fatalf("client %v; server %v", cerr, serr)
		}
		client.Close()
		server.Close()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
}
