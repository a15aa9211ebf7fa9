package pkcs11_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"log"
	"net/url"

	"github.com/tokenssl/tokenssl/softhsm"
	"github.com/tokenssl/tokenssl/token/pkcs11"
)

// The examples make a throw-away SoftHSM2 token (the package's tests need
// SoftHSM2 too; scripts/install-deps.sh installs it), put an RSA key on
// it, and use the key the way the SSL engine does: as a crypto.Signer
// whose private half never leaves the token.

// throwAwayToken initialises a token in a temporary store; close the
// returned Env after every Backend on it.
func throwAwayToken(label string) (*softhsm.Env, *softhsm.Token) {
	env, err := softhsm.New("") // temporary: Close removes it
	if err != nil {
		log.Fatal(err)
	}
	tok, err := env.InitToken(label, softhsm.RandomPIN(16), softhsm.RandomPIN(8))
	if err != nil {
		env.Close()
		log.Fatal(err)
	}
	return env, tok
}

// Open a token by label with a PIN and find a key by label and CKA_ID.
func ExampleBackend_FindKey() {
	env, tok := throwAwayToken("example")
	defer env.Close()
	ref, err := tok.GenerateRSA("server", []byte{0x01}, 2048)
	if err != nil {
		log.Fatal(err)
	}

	b, err := pkcs11.Open(pkcs11.Config{
		ModulePath: env.ModulePath,
		TokenLabel: "example",
		PIN:        pkcs11.PINString(tok.UserPIN()), // or ParsePINSource("file:/etc/tokenssl/pin")
	})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	key, err := b.FindKey(pkcs11.KeySpec{Label: ref.Label, ID: ref.ID})
	if err != nil {
		log.Fatal(err)
	}

	signer := key.(crypto.Signer)
	digest := sha256.Sum256([]byte("signed on the token"))
	sig, err := signer.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		log.Fatal(err)
	}
	pub := signer.Public().(*rsa.PublicKey)
	fmt.Println("bits:", pub.N.BitLen())
	fmt.Println("verifies:", rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) == nil)
	// Output:
	// bits: 2048
	// verifies: true
}

// Name the key with an RFC 7512 URI, as the command line's -key flag does.
func ExampleOpenURI() {
	env, tok := throwAwayToken("web")
	defer env.Close()
	if _, err := tok.GenerateRSA("server", []byte{0x01, 0x02}, 2048); err != nil {
		log.Fatal(err)
	}

	// pin-value keeps the example self-contained; real deployments use
	// pin-source=file:... so the PIN is not on a command line.
	uri := "pkcs11:token=web;object=server;id=%01%02;type=private" +
		"?module-path=" + url.QueryEscape(env.ModulePath) + "&pin-value=" + url.QueryEscape(tok.UserPIN())
	b, key, err := pkcs11.OpenURI(uri, pkcs11.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	_, isDecrypter := key.(crypto.Decrypter)
	fmt.Printf("%T on token %q, decrypter: %v\n", key, b.Label(), isDecrypter)
	// Output: *pkcs11.RSAKey on token "web", decrypter: true
}
