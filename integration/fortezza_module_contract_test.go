package integration

import (
	"testing"

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
	soft := tokentest.SoftwareFortezzaCard(t, p.Params)
	t.Run("module with software card", func(t *testing.T) { tokentest.TestFortezzaCard(t, server, soft) })
	t.Run("software card with module", func(t *testing.T) { tokentest.TestFortezzaCard(t, soft, client) })
}
