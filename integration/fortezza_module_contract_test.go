package integration

import (
	"crypto/dsa"
	"crypto/rand"
	"testing"

	"github.com/tokenssl/tokenssl/kea"
	"github.com/tokenssl/tokenssl/token"
	"github.com/tokenssl/tokenssl/token/tokentest"
)

// The card module passes the same contract as the software card and the
// emulator (tokentest.TestFortezzaCard in token/tokentest/, which softhsm's and token's
// tests run on those): against itself in full and e-mail mode, and against
// a software card in both directions, which is where "the same bytes on the
// wire" is proved (the same MEK wrapped under the same TEK gives the same
// 12 bytes, the same IV and ciphertext the same plaintext).
func TestFortezzaModuleContract(t *testing.T) {
	m := newModuleEnv(t, 3)
	p := modulePair(t, m)
	server, client := p.Server.Card, p.Client.Card
	for _, email := range []bool{false, true} {
		server.SetEmailMode(email)
		client.SetEmailMode(email)
		name := "module with module, full mode"
		if email {
			name = "module with module, e-mail mode"
		}
		t.Run(name, func(t *testing.T) { tokentest.TestFortezzaCard(t, server, client) })
	}
	server.SetEmailMode(false)
	k, err := kea.GenerateKey(rand.Reader, p.Params)
	if err != nil {
		t.Fatal(err)
	}
	dss := &dsa.PrivateKey{PublicKey: dsa.PublicKey{Parameters: dsa.Parameters{P: p.Params.P, Q: p.Params.Q, G: p.Params.G}}}
	if err := dsa.GenerateKey(dss, rand.Reader); err != nil {
		t.Fatal(err)
	}
	soft := &token.SoftwareFortezzaCard{KEA: k, DSS: dss}
	t.Run("module with software card", func(t *testing.T) { tokentest.TestFortezzaCard(t, server, soft) })
	t.Run("software card with module", func(t *testing.T) { tokentest.TestFortezzaCard(t, soft, client) })
}
