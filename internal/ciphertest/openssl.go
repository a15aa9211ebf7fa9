package ciphertest

import (
	"bytes"
	"crypto/cipher"
	"encoding/hex"
	"math/rand/v2"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// opensslFlags caches, per `openssl enc` cipher name, the provider flags
// that make it available (none, or OpenSSL 3's legacy provider, which alone
// has SEED), or why it is not.
var opensslFlags sync.Map // name -> opensslProbe

type opensslProbe struct {
	flags []string
	skip  string
}

// probeOpenSSL finds out once per ECB cipher name whether `openssl enc`
// has it and with which flags; it skips the test when it has not.
func probeOpenSSL(t *testing.T, ecbName string, keySize, blockSize int) []string {
	t.Helper()
	if p, ok := opensslFlags.Load(ecbName); ok {
		pr := p.(opensslProbe)
		if pr.skip != "" {
			t.Skip(pr.skip)
		}
		return pr.flags
	}
	pr := opensslProbe{skip: "openssl not installed"}
	if _, err := exec.LookPath("openssl"); err == nil {
		pr.skip = "openssl has no " + ecbName + ", even with the legacy provider"
		for _, flags := range [][]string{nil, {"-provider", "legacy", "-provider", "default"}} {
			args := append([]string{"enc", "-" + ecbName, "-nopad", "-K", strings.Repeat("00", keySize)}, flags...)
			cmd := exec.Command("openssl", args...)
			cmd.Stdin = bytes.NewReader(make([]byte, blockSize))
			if out, err := cmd.Output(); err == nil && len(out) == blockSize {
				pr = opensslProbe{flags: flags}
				break
			}
		}
	}
	opensslFlags.Store(ecbName, pr)
	if pr.skip != "" {
		t.Skip(pr.skip)
	}
	return pr.flags
}

// openssl runs `openssl enc -<name> -nopad` over in and returns its
// output; the IV is passed only for CBC.
func openssl(t *testing.T, name string, flags []string, decrypt bool, key, iv, in []byte) []byte {
	t.Helper()
	args := append([]string{"enc", "-" + name, "-nopad", "-K", hex.EncodeToString(key)}, flags...)
	if iv != nil {
		args = append(args, "-iv", hex.EncodeToString(iv))
	}
	if decrypt {
		args = append(args, "-d")
	}
	cmd := exec.Command("openssl", args...)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// AgainstOpenSSL cross-checks one random key and message of one to eight
// blocks with the openssl binary (`openssl enc -<name>-ecb` and
// `-<name>-cbc`, e.g. name "camellia-128" or "seed"): ECB and CBC
// encryption, decryption of openssl's CBC ciphertext (as a record layer
// does) and openssl's decryption of ours. It skips the test where openssl
// or its cipher is missing.
func AgainstOpenSSL(t *testing.T, newCipher func(key []byte) (cipher.Block, error), name string, keySize int, rng *rand.Rand) {
	t.Helper()
	ecbName, cbcName := name+"-ecb", name+"-cbc"
	c0, err := newCipher(make([]byte, keySize))
	if err != nil {
		t.Fatal(err)
	}
	bs := c0.BlockSize()
	flags := probeOpenSSL(t, ecbName, keySize, bs)
	key := make([]byte, keySize)
	fill(rng, key)
	c, err := newCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	msg, iv := make([]byte, bs*(1+rng.IntN(8))), make([]byte, bs)
	fill(rng, msg)
	fill(rng, iv)

	ecb := make([]byte, len(msg))
	for j := 0; j < len(msg); j += bs {
		c.Encrypt(ecb[j:], msg[j:])
	}
	cbc := make([]byte, len(msg))
	cipher.NewCBCEncrypter(c, iv).CryptBlocks(cbc, msg)

	if got := openssl(t, ecbName, flags, false, key, nil, msg); !bytes.Equal(got, ecb) {
		t.Errorf("%s key %x: openssl %x, we %x", ecbName, key, got, ecb)
	}
	oct := openssl(t, cbcName, flags, false, key, iv, msg)
	if !bytes.Equal(oct, cbc) {
		t.Errorf("%s key %x: openssl %x, we %x", cbcName, key, oct, cbc)
	}
	back := make([]byte, len(oct))
	cipher.NewCBCDecrypter(c, iv).CryptBlocks(back, oct)
	if !bytes.Equal(back, msg) {
		t.Errorf("%s key %x: decrypting openssl's ciphertext gave %x, want %x", cbcName, key, back, msg)
	}
	if got := openssl(t, cbcName, flags, true, key, iv, cbc); !bytes.Equal(got, msg) {
		t.Errorf("%s key %x: openssl decrypted ours to %x, want %x", cbcName, key, got, msg)
	}
}
