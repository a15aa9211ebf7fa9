package integration

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	p11 "github.com/miekg/pkcs11"

	"github.com/tokenssl/tokenssl/internal/recordproxy"
	"github.com/tokenssl/tokenssl/internal/ssltest"
	"github.com/tokenssl/tokenssl/kea"
	"github.com/tokenssl/tokenssl/softhsm"
	"github.com/tokenssl/tokenssl/softhsm/softhsmtest"
	"github.com/tokenssl/tokenssl/ssl"
	"github.com/tokenssl/tokenssl/token"
	"github.com/tokenssl/tokenssl/token/pkcs11"
)

// The Fortezza suites on the card module (internal/fortezzacard, built by
// `make fortezza-module`): both peers' cards are token/pkcs11 FortezzaCards
// on a PKCS#11 module with CKM_KEA_KEY_DERIVE and CKM_SKIPJACK_*, the path a
// real card takes. The module counts its calls per card into a stats file
// (FORTEZZA_CARD_STATS), read here per handshake.

var fzModule struct {
	once sync.Once
	path string
	err  error
}

// fortezzaModulePath returns the built module, building it (make
// fortezza-module, idempotent) if it is missing.
func fortezzaModulePath(t testing.TB) string {
	t.Helper()
	fzModule.once.Do(func() {
		wd, _ := os.Getwd()
		p, err := softhsm.FindFortezzaModule(wd)
		if err != nil && os.Getenv("FORTEZZA_MODULE") == "" && p != "" {
			root := filepath.Dir(filepath.Dir(p))
			out, merr := exec.Command("make", "-C", root, "fortezza-module").CombinedOutput()
			if merr != nil {
				err = fmt.Errorf("make fortezza-module: %v\n%s", merr, out)
			} else {
				p, err = softhsm.FindFortezzaModule(wd)
			}
		}
		fzModule.path, fzModule.err = p, err
	})
	if fzModule.err != nil {
		t.Fatal(fzModule.err)
	}
	return fzModule.path
}

// moduleEnv is the module's configuration for one test: a state directory
// (PIN counters, removal markers) and a stats file.
type moduleEnv struct {
	module string
	env    *softhsm.Env
	dir    string
	stats  string
}

func newModuleEnv(t testing.TB, tries int) *moduleEnv {
	t.Helper()
	m := &moduleEnv{module: fortezzaModulePath(t), dir: t.TempDir()}
	m.stats = filepath.Join(m.dir, "stats")
	// Read by the module at C_Initialize: the first Open after every
	// Backend on it has closed.
	if pkcs11.IsModuleOpen(m.module) {
		t.Fatal("the card module is still open from an earlier test")
	}
	for k, v := range map[string]string{
		softhsm.FortezzaModuleDirEnv: m.dir, softhsm.FortezzaModuleStatsEnv: m.stats,
		softhsm.FortezzaModuleTriesEnv: strconv.Itoa(tries),
	} {
		old, had := os.LookupEnv(k)
		os.Setenv(k, v)
		t.Cleanup(func() {
			if had {
				os.Setenv(k, old)
			} else {
				os.Unsetenv(k)
			}
		})
	}
	m.env = softhsmtest.Env(t)
	return m
}

// cardStats are the module's counters: card label → counter → value.
type cardStats map[string]map[string]int64

func (m *moduleEnv) read(t testing.TB) cardStats {
	t.Helper()
	data, err := os.ReadFile(m.stats)
	if err != nil {
		t.Fatalf("module stats: %v", err)
	}
	st := cardStats{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 {
			continue
		}
		n, _ := strconv.ParseInt(f[2], 10, 64)
		if st[f[0]] == nil {
			st[f[0]] = map[string]int64{}
		}
		st[f[0]][f[1]] = n
	}
	return st
}

// delta is after − before for one card.
func (s cardStats) delta(before cardStats, label string) map[string]int64 {
	d := map[string]int64{}
	for k, v := range s[label] {
		d[k] = v - before[label][k]
	}
	return d
}

func modulePair(t testing.TB, m *moduleEnv) *softhsm.FortezzaModulePair {
	t.Helper()
	p, err := softhsm.ProvisionFortezzaModulePair(m.env, m.module, nil, "")
	if err != nil {
		t.Fatalf("provisioning cards on the module: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func TestFortezzaModuleMechanisms(t *testing.T) {
	m := newModuleEnv(t, 3)
	p := modulePair(t, m)
	if ok, err := pkcs11.HasFortezzaMechanisms(p.Server.Backend); err != nil || !ok {
		t.Fatalf("HasFortezzaMechanisms = %v, %v", ok, err)
	}
	if _, err := exec.LookPath("pkcs11-tool"); err != nil {
		t.Skip("pkcs11-tool (opensc) not installed")
	}
	out, err := exec.Command("pkcs11-tool", "--module", m.module, "--token-label", p.ServerToken.Label, "-M").CombinedOutput()
	if err != nil {
		t.Fatalf("pkcs11-tool -M: %v\n%s", err, out)
	}
	t.Logf("pkcs11-tool --module %s -M:\n%s", filepath.Base(m.module), out)
	for _, want := range []string{"KEA-KEY-PAIR-GEN", "KEA-KEY-DERIVE", "SKIPJACK-KEY-GEN", "SKIPJACK-CBC64", "SKIPJACK-WRAP", "DSA-KEY-PAIR-GEN", "DSA,", "DSA-SHA1"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("pkcs11-tool -M does not list %s", want)
		}
	}
}

// handshakeCalls are the module calls one handshake must make on each
// card (see the comments in the table below).
type handshakeCalls struct{ derive, wrap, unwrap, encrypt, decrypt int64 }

func TestFortezzaModuleEndToEnd(t *testing.T) {
	m := newModuleEnv(t, 3)
	p := modulePair(t, m)
	data := make([]byte, 64<<10)
	rand.Read(data)
	sLabel, cLabel := p.ServerToken.Label, p.ClientToken.Label
	for _, id := range fortezzaSuites {
		for _, email := range []bool{false, true} {
			for _, auth := range []bool{false, true} {
				name := fmt.Sprintf("%s/email=%v/clientauth=%v", ssl.CipherSuiteName(id), email, auth)
				t.Run(name, func(t *testing.T) {
					p.Server.Card.SetEmailMode(email)
					before := m.read(t)
					client, server, cerr, serr := connect(t, ssltest.ModuleCards(p).ClientConfig([]uint16{id}), ssltest.ModuleCards(p).ServerConfig([]uint16{id}, auth), nil)
					if cerr != nil || serr != nil {
						t.Fatalf("handshake: client %v; server %v", cerr, serr)
					}
					if st := client.ConnectionState(); st.CipherSuite != id || len(st.VerifiedChains) == 0 {
						t.Fatalf("negotiated %s, %d verified chains", ssl.CipherSuiteName(st.CipherSuite), len(st.VerifiedChains))
					}
					if got := len(server.ConnectionState().PeerCertificates); auth != (got > 0) {
						t.Fatalf("server saw %d client certificates", got)
					}
					hs := m.read(t)
					echo(t, client, server, data)
					client.Close()
					server.Close()
					sd, cd := hs.delta(before, sLabel), hs.delta(before, cLabel)
					t.Logf("card=pkcs11 calls: server derive=%d unwrap=%d decrypt=%d encrypt-init=%d decrypt-init=%d; client derive=%d wrap=%d encrypt=%d encrypt-init=%d decrypt-init=%d keygen=%d dss-sign=%d",
						sd["C_DeriveKey"], sd["C_UnwrapKey"], sd["C_Decrypt"], sd["C_EncryptInit"], sd["C_DecryptInit"],
						cd["C_DeriveKey"], cd["C_WrapKey"], cd["C_Encrypt"], cd["C_EncryptInit"], cd["C_DecryptInit"], cd["C_GenerateKey"], cd["C_SignInit"])
					// Client (docs/fortezza.md §4.5): one KEA derive as sender, two
					// MEKs wrapped under the TEK, the pre-master secret
					// encrypted once under the TEK. Server (§4.7): one derive
					// as recipient, plus one for r_s in full mode; the MEKs
					// unwrapped only for FORTEZZA_CBC; the pre-master secret
					// decrypted once.
					want := handshakeCalls{derive: 1, wrap: 2, encrypt: 1}
					if got := (handshakeCalls{derive: cd["C_DeriveKey"], wrap: cd["C_WrapKey"], encrypt: cd["C_Encrypt"]}); got != want {
						t.Errorf("client card calls %+v, want %+v", got, want)
					}
					want = handshakeCalls{derive: 1, decrypt: 1}
					if !email {
						want.derive = 2
					}
					if id == ssl.SSL_FORTEZZA_KEA_WITH_FORTEZZA_CBC_SHA {
						want.unwrap = 2
					}
					if got := (handshakeCalls{derive: sd["C_DeriveKey"], unwrap: sd["C_UnwrapKey"], decrypt: sd["C_Decrypt"]}); got != want {
						t.Errorf("server card calls %+v, want %+v", got, want)
					}
					if auth != (cd["C_SignInit"] > 0) {
						t.Errorf("client card: %d DSS signatures with clientauth=%v", cd["C_SignInit"], auth)
					}
					after := m.read(t)
					for _, l := range []string{sLabel, cLabel} {
						if after[l]["live_keys"] != 0 || after[l]["pending_rs"] != 0 {
							t.Errorf("card %s keeps %d keys and %d r_s after the connection", l, after[l]["live_keys"], after[l]["pending_rs"])
						}
					}
				})
			}
		}
	}
}

// recordShape is what two implementations of the card must agree on in a
// recorded handshake: every record's type, version and length, and the
// plaintext handshake messages' types and lengths (the values are random).
// Alerts are left out: whether the close_notify of a closing peer crosses
// the relay before the socket closes is a race.
func recordShape(recs [][]byte) []string {
	var out []string
	plaintext := true
	for _, r := range recs {
		if r[0] == alertRecord {
			continue
		}
		s := fmt.Sprintf("%d/%x/%d", r[0], r[1:3], len(r)-5)
		if r[0] == recordChangeCipherSpec {
			plaintext = false
		}
		if plaintext && r[0] == recordHandshake && len(r) > 5+4 {
			s += fmt.Sprintf("/hs%d", r[5])
		}
		out = append(out, s)
	}
	return out
}

const alertRecord = 21

// TestFortezzaModuleSameWire: the card module, the emulator and the
// software card put the same bytes on the wire where they are
// deterministic. Card to card: each pair (sender card X, recipient Y, in
// full and e-mail mode) agrees on the TEK, Y unwraps X's wrapped MEK and
// wrapping it again under its own TEK gives X's 12 bytes exactly, and each
// decrypts the other's SKIPJACK-CBC64 with the other's IV. Handshakes: the
// module's records have the emulator's shape, and module and emulator
// cards interoperate as client and server.
func TestFortezzaModuleSameWire(t *testing.T) {
	m := newModuleEnv(t, 3)
	// The emulator pair's CA name: CertificateRequest carries it.
	ca, err := softhsm.NewFortezzaCA(nil, "tokenssl Fortezza test CA")
	if err != nil {
		t.Fatal(err)
	}
	mp, err := softhsm.ProvisionFortezzaModulePair(m.env, m.module, ca, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mp.Close() })
	params := mp.Params
	// Emulator cards from the same CA, on the same store.
	emu := map[string]*softhsm.FortezzaCard{}
	for _, role := range []string{"server", "client"} {
		tok, err := m.env.InitToken("emu-"+role+"-"+softhsm.RandomPIN(6), softhsm.RandomPIN(12), softhsm.RandomPIN(8))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tok.Delete() })
		cn := mp.ServerName
		if role == "client" {
			cn = "emulated client"
		}
		if err := tok.ProvisionFortezzaCard(ca, softhsm.FortezzaCardOptions{CommonName: cn, Params: params}); err != nil {
			t.Fatal(err)
		}
		c, err := tok.OpenFortezzaCard(params)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		emu[role] = c
	}
	sw := func() *token.SoftwareFortezzaCard {
		k, err := kea.GenerateKey(nil, params)
		if err != nil {
			t.Fatal(err)
		}
		return &token.SoftwareFortezzaCard{KEA: k}
	}
	type card struct {
		name  string
		c     token.FortezzaCard
		email func(bool)
	}
	swS, swC := sw(), sw()
	senders := []card{{"module", mp.Client.Card, nil}, {"emulator", emu["client"], nil}, {"software", swC, nil}}
	recipients := []card{
		{"module", mp.Server.Card, mp.Server.Card.SetEmailMode},
		{"emulator", emu["server"], emu["server"].SetEmailMode},
		{"software", swS, func(on bool) { swS.EmailMode = on }},
	}
	pms := make([]byte, 48)
	rand.Read(pms)
	for _, x := range senders {
		for _, y := range recipients {
			for _, email := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s-to-%s/email=%v", x.name, y.name, email), func(t *testing.T) {
					y.email(email)
					cardContract(t, x.c, y.c, pms)
				})
			}
		}
	}
	mp.Server.Card.SetEmailMode(false)
	emu["server"].SetEmailMode(false)

	// Handshake shapes: module pair against emulator pair.
	ep := fortezzaPair(t, softhsm.FortezzaPairOptions{})
	for _, id := range fortezzaSuites {
		for _, auth := range []bool{false, true} {
			t.Run(fmt.Sprintf("shape/%s/clientauth=%v", ssl.CipherSuiteName(id), auth), func(t *testing.T) {
				var shapes [2][]string
				for i, cfg := range [][2]*ssl.Config{
					{ssltest.EmulatedCards(ep).ClientConfig([]uint16{id}), ssltest.EmulatedCards(ep).ServerConfig([]uint16{id}, auth)},
					{ssltest.ModuleCards(mp).ClientConfig([]uint16{id}), ssltest.ModuleCards(mp).ServerConfig([]uint16{id}, auth)},
				} {
					rec := &recorder{}
					client, server, cerr, serr := connect(t, cfg[0], cfg[1], rec)
					if cerr != nil || serr != nil {
						t.Fatalf("handshake: client %v; server %v", cerr, serr)
					}
					echo(t, client, server, []byte("same bytes"))
					client.Close()
					server.Close()
					// Certificates differ in length (names, DER integers of
					// keys), and so do the first flights holding them.
					shapes[i] = append(recordShape(rec.wire(recordproxy.ToServer)), recordShape(rec.wire(recordproxy.ToClient))...)
				}
				if len(shapes[0]) != len(shapes[1]) {
					t.Fatalf("emulator records %v\nmodule records %v", shapes[0], shapes[1])
				}
				for i := range shapes[0] {
					a, b := shapes[0][i], shapes[1][i]
					if a != b && !(strings.HasSuffix(a, "/hs11") && strings.HasSuffix(b, "/hs11")) {
						t.Errorf("record %d: emulator %s, module %s", i, a, b)
					}
				}
			})
		}
	}
	// Interop: module client to emulator server and back.
	emuServer := ssl.Certificate{Certificate: [][]byte{emu["server"].KEACertificate(), ca.DER}, PrivateKey: emu["server"]}
	emuClient := ssl.Certificate{Certificate: [][]byte{emu["client"].DSSCertificate(), ca.DER}, PrivateKey: emu["client"]}
	for _, id := range fortezzaSuites {
		for _, dir := range []string{"module-client", "module-server"} {
			t.Run(fmt.Sprintf("interop/%s/%s", dir, ssl.CipherSuiteName(id)), func(t *testing.T) {
				cc, sc := ssltest.ModuleCards(mp).ClientConfig([]uint16{id}), ssltest.ModuleCards(mp).ServerConfig([]uint16{id}, true)
				if dir == "module-client" {
					sc.Certificates = []ssl.Certificate{emuServer}
				} else {
					cc.Certificates = []ssl.Certificate{emuClient}
				}
				client, server, cerr, serr := connect(t, cc, sc, nil)
				if cerr != nil || serr != nil {
					t.Fatalf("handshake: client %v; server %v", cerr, serr)
				}
				echo(t, client, server, pms)
			})
		}
	}
}

// cardContract runs one KEA exchange and the SKIPJACK operations of a
// handshake between sender card x and recipient card y.
func cardContract(t *testing.T, x, y token.FortezzaCard, pms []byte) {
	t.Helper()
	rs, err := y.ResponderRandom()
	if err != nil {
		t.Fatalf("responder random: %v", err)
	}
	defer rs.Destroy()
	tx, rc, err := x.DeriveTEKAsSender(y.KEAPublicKey().Y, rs.R())
	if err != nil {
		t.Fatalf("sender derive: %v", err)
	}
	defer tx.Destroy()
	ty, err := y.DeriveTEKAsRecipient(rs, x.KEAPublicKey().Y, rc)
	if err != nil {
		t.Fatalf("recipient derive: %v", err)
	}
	defer ty.Destroy()
	mek, err := x.GenerateMEK()
	if err != nil {
		t.Fatal(err)
	}
	defer mek.Destroy()
	wrapped, err := x.WrapKey(tx, mek)
	if err != nil {
		t.Fatal(err)
	}
	mekY, err := y.UnwrapKey(ty, wrapped)
	if err != nil {
		t.Fatalf("recipient unwrap of the sender's MEK: %v (the TEKs differ)", err)
	}
	defer mekY.Destroy()
	again, err := y.WrapKey(ty, mekY)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, wrapped) {
		t.Errorf("wrapped MEK: sender %x, recipient re-wraps %x", wrapped, again)
	}
	iv, ct, err := x.Encrypt(tx, pms)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(iv[:16], []byte("THIS IS NOT LEAF")) {
		t.Errorf("IV %x does not start with the LEAF-suppressed constant", iv)
	}
	got, err := y.Decrypt(ty, iv, ct)
	if err != nil || !bytes.Equal(got, pms) {
		t.Fatalf("recipient decrypt of the pre-master secret: %x, %v", got, err)
	}
	// Records both ways, chained across two calls.
	for _, pair := range [][2]token.FortezzaCard{{x, y}, {y, x}} {
		kE, kD := mek, mekY
		if pair[0] == y {
			kE, kD = mekY, mek
		}
		enc, iv, err := pair[0].NewEncrypter(kE)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := pair[1].NewDecrypter(kD, iv)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{16, 40} {
			pt := make([]byte, n)
			rand.Read(pt)
			buf := bytes.Clone(pt)
			if err := enc.CryptBlocks(buf, buf); err != nil {
				t.Fatal(err)
			}
			if err := dec.CryptBlocks(buf, buf); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf, pt) {
				t.Fatalf("SKIPJACK-CBC64 record of %d bytes did not survive", n)
			}
		}
		enc.Close()
		dec.Close()
	}
}

// TestFortezzaModuleFaults: card removed and restored, a session killed
// under the server, wrong PINs counted to the lock, the final try kept.
func TestFortezzaModuleFaults(t *testing.T) {
	m := newModuleEnv(t, 3)
	// Made before the module opens (it lists the tokens present then).
	soPIN := softhsm.RandomPIN(12)
	pinTok, err := m.env.InitToken("pins-"+softhsm.RandomPIN(6), soPIN, softhsm.RandomPIN(8))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pinTok.Delete() })
	p := modulePair(t, m)
	id := ssl.SSL_FORTEZZA_KEA_WITH_FORTEZZA_CBC_SHA
	sc := ssltest.ModuleCards(p).ServerConfig([]uint16{id}, true)
	handshake := func() (cerr, serr error) {
		client, server, cerr, serr := connect(t, ssltest.ModuleCards(p).ClientConfig([]uint16{id}), sc, nil)
		if cerr == nil && serr == nil {
			echo(t, client, server, []byte("ping"))
		}
		client.Close()
		server.Close()
		return cerr, serr
	}
	// recovers: the same server configuration (card, Backend) handshakes
	// again once the fault is gone; the Backend reconnects (at most one
	// module re-initialisation per ReconnectInterval, 1 s).
	recovers := func(t *testing.T) {
		t.Helper()
		var cerr, serr error
		for range 20 {
			if cerr, serr = handshake(); cerr == nil && serr == nil {
				return
			}
			time.Sleep(250 * time.Millisecond)
		}
		t.Fatalf("server did not recover: client %v; server %v", cerr, serr)
	}
	if cerr, serr := handshake(); cerr != nil || serr != nil {
		t.Fatalf("baseline: client %v; server %v", cerr, serr)
	}

	t.Run("card-removed", func(t *testing.T) {
		marker := filepath.Join(m.dir, p.ServerToken.Label+".removed")
		if err := os.WriteFile(marker, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		_, serr := handshake()
		if !errors.Is(serr, pkcs11.ErrTokenUnavailable) {
			t.Fatalf("server with its card pulled: %v, want ErrTokenUnavailable", serr)
		}
		t.Logf("card pulled: server says: %v", serr)
		if err := os.Remove(marker); err != nil {
			t.Fatal(err)
		}
		recovers(t)
	})

	t.Run("session-handle-invalid", func(t *testing.T) {
		// Every session of the server's card closed behind the Backend.
		var slot uint
		if err := p.Server.Backend.WithSession(t.Context(), func(c *p11.Ctx, sh p11.SessionHandle) error {
			si, err := c.GetSessionInfo(sh)
			slot = si.SlotID
			return err
		}); err != nil {
			t.Fatal(err)
		}
		mod, err := pkcs11.OpenModule(m.module)
		if err != nil {
			t.Fatal(err)
		}
		err = mod.Do(func(c *p11.Ctx) error { return c.CloseAllSessions(slot) })
		mod.Close()
		if err != nil {
			t.Fatal(err)
		}
		recovers(t)
	})

	t.Run("pin-counter", func(t *testing.T) {
		tok := pinTok
		flags := func() uint {
			t.Helper()
			mod, err := pkcs11.OpenModule(m.module)
			if err != nil {
				t.Fatal(err)
			}
			defer mod.Close()
			var f uint
			err = mod.Do(func(c *p11.Ctx) error {
				slots, err := c.GetSlotList(true)
				for _, s := range slots {
					if ti, err := c.GetTokenInfo(s); err == nil && ti.Label == tok.Label {
						f = ti.Flags
					}
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
		const low, final, locked = p11.CKF_USER_PIN_COUNT_LOW, p11.CKF_USER_PIN_FINAL_TRY, p11.CKF_USER_PIN_LOCKED
		open := func(pin string, finalTry bool) error {
			cfg := tok.ModuleConfig(m.module)
			cfg.PIN, cfg.PINFinalTry = pkcs11.PINString(pin), finalTry
			b, err := pkcs11.Open(cfg)
			if err == nil {
				b.Close()
			}
			return err
		}
		logins := func() int64 { return m.read(t)[tok.Label]["C_Login"] }
		for i, step := range []struct {
			pin       string
			finalTry  bool
			want      error
			flags     uint // after the step
			loginCall bool // C_Login reached the card
		}{
			{"wrong-1", false, pkcs11.ErrPINIncorrect, low, true},
			{"wrong-2", false, pkcs11.ErrPINIncorrect, low | final, true},
			{"wrong-3", false, pkcs11.ErrPINFinalTry, low | final, false}, // the last try is kept
			{tok.UserPIN(), false, pkcs11.ErrPINFinalTry, low | final, false},
			{"wrong-4", true, pkcs11.ErrPINIncorrect, low | locked, true}, // told to spend it
			{tok.UserPIN(), true, pkcs11.ErrPINLocked, low | locked, false},
		} {
			before := logins()
			err := open(step.pin, step.finalTry)
			if !errors.Is(err, step.want) {
				t.Fatalf("step %d: %v, want %v", i, err, step.want)
			}
			t.Logf("step %d: %v", i, err)
			if got := flags() & (low | final | locked); got != step.flags {
				t.Errorf("step %d: token flags %#x, want %#x", i, got, step.flags)
			}
			if called := logins() > before; called != step.loginCall {
				t.Errorf("step %d: C_Login reached the card: %v, want %v", i, called, step.loginCall)
			}
		}
		// The security officer unblocks the card (C_InitPIN resets the
		// counter, as on a card); the right PIN works again.
		newPIN := softhsm.RandomPIN(8)
		mod, err := pkcs11.OpenModule(m.module)
		if err != nil {
			t.Fatal(err)
		}
		err = mod.Do(func(c *p11.Ctx) error {
			slots, _ := c.GetSlotList(true)
			for _, s := range slots {
				if ti, err := c.GetTokenInfo(s); err == nil && ti.Label == tok.Label {
					sh, err := c.OpenSession(s, p11.CKF_SERIAL_SESSION|p11.CKF_RW_SESSION)
					if err != nil {
						return err
					}
					defer c.CloseSession(sh)
					if err := c.Login(sh, p11.CKU_SO, soPIN); err != nil {
						return err
					}
					defer c.Logout(sh)
					return c.InitPIN(sh, newPIN)
				}
			}
			return errors.New("token not found")
		})
		mod.Close()
		if err != nil {
			t.Fatalf("SO unblock: %v", err)
		}
		if err := open(newPIN, false); err != nil {
			t.Fatalf("after the SO's C_InitPIN: %v", err)
		}
		if got := flags() & (low | final | locked); got != 0 {
			t.Errorf("token flags after a good login %#x, want none", got)
		}
	})
}

// BenchmarkFortezzaModule: Fortezza handshakes with both cards on the card
// module beside the same handshakes on emulated cards, in one run (compare
// handshakes/s; the ratio is in the report of the branch).
func BenchmarkFortezzaModule(b *testing.B) {
	m := newModuleEnv(b, 3)
	os.Unsetenv(softhsm.FortezzaModuleStatsEnv) // no stats file writes in the timing
	mp := modulePair(b, m)
	ep := fortezzaPair(b, softhsm.FortezzaPairOptions{})
	for _, mode := range fortezzaBenchModes {
		for _, card := range []string{"emulator", "pkcs11"} {
			b.Run(mode.name+"/card="+card, func(b *testing.B) {
				var cc, sc *ssl.Config
				if card == "pkcs11" {
					mp.Server.Card.SetEmailMode(mode.email)
					cc, sc = ssltest.ModuleCards(mp).ClientConfig([]uint16{mode.suite}), ssltest.ModuleCards(mp).ServerConfig([]uint16{mode.suite}, false)
				} else {
					ep.Server.SetEmailMode(mode.email)
					cc, sc = ssltest.EmulatedCards(ep).ClientConfig([]uint16{mode.suite}), ssltest.EmulatedCards(ep).ServerConfig([]uint16{mode.suite}, false)
				}
				benchHandshakes(b, cc, sc)
			})
		}
	}
}
