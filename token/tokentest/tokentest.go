// Package tokentest checks implementations of the token boundary against
// the contracts the SSL engine relies on, in the shape of
// testing/fstest.TestFS: each backend's tests call TestSigner,
// TestDecrypter, TestDHAgreer and TestFortezzaCard on their own keys and
// cards (software keys in package token, token/pkcs11 keys on SoftHSM, the
// software Fortezza card, the SoftHSM emulator, a real card where one
// exists), so every implementation meets one contract rather than each
// its own copy of it.
package tokentest

import (
	"bytes"
	"crypto"
	"crypto/dsa"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"testing"

	"github.com/tokenssl/tokenssl/kea"
	"github.com/tokenssl/tokenssl/token"
)

// SSL3Hashes is SSL 3.0's signed digest for RSA: MD5 ‖ SHA-1 (36 bytes,
// no DigestInfo), as CertificateVerify and ServerKeyExchange use it.
func SSL3Hashes(msg []byte) []byte {
	m := md5.Sum(msg)
	s := sha1.Sum(msg)
	return append(m[:], s[:]...)
}

// SecretFile writes content to the file name in dir with mode 0600, as a
// PIN or key file is kept, and returns its path.
func SecretFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSigner checks a crypto.Signer holding an RSA or DSA key:
//   - RSA: SSL 3.0's MD5+SHA-1 digest (crypto.MD5SHA1) and SHA-1 and
//     SHA-256 with their DigestInfo sign and verify; PKCS#1 v1.5 is
//     deterministic, so the same digest gives the same bytes; a digest of
//     the wrong length is refused.
//   - DSA: a 20-byte SHA-1 digest gives a DER Dss-Sig-Value (SEQUENCE of
//     r, s with 0 < r, s < q and nothing after it) that verifies.
func TestSigner(t *testing.T, s crypto.Signer) {
	t.Helper()
	msg := []byte("tokentest: the handshake messages so far")
	switch pub := s.Public().(type) {
	case *rsa.PublicKey:
		d := SSL3Hashes(msg)
		sig, err := s.Sign(rand.Reader, d, crypto.MD5SHA1)
		if err != nil {
			t.Fatalf("RSA MD5+SHA1 sign: %v", err)
		}
		if err := rsa.VerifyPKCS1v15(pub, crypto.MD5SHA1, d, sig); err != nil {
			t.Errorf("RSA MD5+SHA1 signature does not verify: %v", err)
		}
		if len(sig) != pub.Size() {
			t.Errorf("RSA signature is %d bytes, want the modulus size %d", len(sig), pub.Size())
		}
		again, err := s.Sign(rand.Reader, d, crypto.MD5SHA1)
		if err != nil || !bytes.Equal(again, sig) {
			t.Errorf("RSA PKCS#1 v1.5 signatures of one digest differ (or fail: %v)", err)
		}
		h1 := sha1.Sum(msg)
		if sig, err := s.Sign(rand.Reader, h1[:], crypto.SHA1); err != nil || rsa.VerifyPKCS1v15(pub, crypto.SHA1, h1[:], sig) != nil {
			t.Errorf("RSA SHA-1 signature: %v", err)
		}
		h256 := sha256.Sum256(msg)
		if sig, err := s.Sign(rand.Reader, h256[:], crypto.SHA256); err != nil || rsa.VerifyPKCS1v15(pub, crypto.SHA256, h256[:], sig) != nil {
			t.Errorf("RSA SHA-256 signature: %v", err)
		}
		if _, err := s.Sign(rand.Reader, d[:35], crypto.MD5SHA1); err == nil {
			t.Errorf("RSA: a 35-byte MD5+SHA1 digest was signed")
		}
	case *dsa.PublicKey:
		h := sha1.Sum(msg)
		der, err := s.Sign(rand.Reader, h[:], crypto.SHA1)
		if err != nil {
			t.Fatalf("DSA sign: %v", err)
		}
		var v struct{ R, S *big.Int }
		rest, err := asn1.Unmarshal(der, &v)
		if err != nil || len(rest) != 0 {
			t.Fatalf("DSA signature is not one DER Dss-Sig-Value (%v, %d trailing bytes)", err, len(rest))
		}
		for _, x := range []*big.Int{v.R, v.S} {
			if x.Sign() <= 0 || x.Cmp(pub.Q) >= 0 {
				t.Errorf("DSA signature value out of (0, q)")
			}
		}
		if !dsa.Verify(pub, h[:], v.R, v.S) {
			t.Errorf("DSA signature does not verify")
		}
		h[0] ^= 1
		if dsa.Verify(pub, h[:], v.R, v.S) {
			t.Errorf("DSA signature verifies for another digest")
		}
	default:
		t.Fatalf("signer's public key is %T, want *rsa.PublicKey or *dsa.PublicKey", pub)
	}
}

// TestDecrypter checks an RSA crypto.Decrypter on the engine's RSA key
// exchange: the 48-byte pre-master secret comes back; every malformed
// ciphertext (wrong block type, wrong length, garbage) fails with one and
// the same error, which is never token.ErrUnavailable (the engine must
// continue with a random pre-master secret); with
// rsa.PKCS1v15DecryptOptions{SessionKeyLen: 48} a malformed ciphertext of
// the right length gives a random key and no error; the key keeps working
// after failures.
func TestDecrypter(t *testing.T, d crypto.Decrypter) {
	t.Helper()
	pub, ok := d.Public().(*rsa.PublicKey)
	if !ok {
		t.Fatalf("decrypter's public key is %T, want *rsa.PublicKey", d.Public())
	}
	pre, ct := PreMasterSecret(t, pub)
	if got, err := d.Decrypt(rand.Reader, ct, nil); err != nil || !bytes.Equal(got, pre) {
		t.Fatalf("decrypt: %x, %v", got, err)
	}
	// Every malformed ciphertext is built so that its decryption is not
	// PKCS #1 block type 2: random bytes fail only with probability
	// 1-2^-16, and ct[1:] decrypts correctly whenever ct starts with a zero
	// byte (crypto/rsa accepts a short ciphertext as the integer it spells).
	blockType1 := BlockType1(pub, pre)
	garbage := NotBlockType2(t, pub, pub.Size())
	short := NotBlockType2(t, pub, pub.Size()-1)
	var first error
	for name, bad := range map[string][]byte{"block type 1": blockType1, "short": short, "long": append(append([]byte{}, ct...), 0), "garbage": garbage} {
		_, err := d.Decrypt(rand.Reader, bad, nil)
		if err == nil {
			t.Errorf("%s ciphertext: no error", name)
			continue
		}
		if errors.Is(err, token.ErrUnavailable) {
			t.Errorf("%s ciphertext: %v matches token.ErrUnavailable: the engine would fail the handshake early", name, err)
		}
		if first == nil {
			first = err
		} else if err.Error() != first.Error() {
			t.Errorf("malformed ciphertexts fail differently: %q vs %q", first, err)
		}
		key, err := d.Decrypt(rand.Reader, bad, &rsa.PKCS1v15DecryptOptions{SessionKeyLen: 48})
		switch {
		case len(bad) != pub.Size():
			// A wrong length is public: crypto/rsa may say so.
			if errors.Is(err, token.ErrUnavailable) {
				t.Errorf("%s ciphertext with SessionKeyLen: %v matches token.ErrUnavailable", name, err)
			}
		case err != nil || len(key) != 48 || bytes.Equal(key, pre):
			t.Errorf("%s ciphertext with SessionKeyLen: %x, %v; want a random 48-byte key", name, key, err)
		}
	}
	if got, err := d.Decrypt(rand.Reader, ct, &rsa.PKCS1v15DecryptOptions{SessionKeyLen: 48}); err != nil || !bytes.Equal(got, pre) {
		t.Errorf("SessionKeyLen on a good ciphertext: %x, %v", got, err)
	}
	if got, err := d.Decrypt(rand.Reader, ct, nil); err != nil || !bytes.Equal(got, pre) {
		t.Errorf("decrypt after failures: %v", err)
	}
}

// PreMasterSecret returns a fresh 48-byte SSL 3.0 pre-master secret
// (version 3.0 first) and its PKCS #1 v1.5 encryption to pub, as an RSA
// ClientKeyExchange carries it.
func PreMasterSecret(t testing.TB, pub *rsa.PublicKey) (pre, ct []byte) {
	t.Helper()
	pre = make([]byte, 48)
	rand.Read(pre)
	pre[0], pre[1] = 3, 0
	ct, err := rsa.EncryptPKCS1v15(rand.Reader, pub, pre)
	if err != nil {
		t.Fatal(err)
	}
	return pre, ct
}

// BlockType1 returns pre padded with PKCS #1 block type 1 (a signature's)
// instead of 2 and encrypted raw to pub: a ciphertext of the right length
// whose padding every decrypter must refuse.
func BlockType1(pub *rsa.PublicKey, pre []byte) []byte {
	em := make([]byte, pub.Size())
	em[1] = 1
	for i := 2; i < len(em)-len(pre)-1; i++ {
		em[i] = 0xff
	}
	copy(em[len(em)-len(pre):], pre)
	return rawEncrypt(pub, em).FillBytes(make([]byte, pub.Size()))
}

// NotBlockType2 returns a ciphertext of size bytes, pub.Size() or one
// less, whose raw decryption starts 00 03: random-looking, never PKCS #1
// conformant. The shorter one is found by drawing until the value fits,
// at most 256 cheap public-key operations on average.
func NotBlockType2(t testing.TB, pub *rsa.PublicKey, size int) []byte {
	t.Helper()
	if size != pub.Size() && size != pub.Size()-1 {
		t.Fatalf("NotBlockType2: size %d for a %d-byte modulus", size, pub.Size())
	}
	limit := new(big.Int).Lsh(big.NewInt(1), uint(8*size))
	em := make([]byte, pub.Size())
	for tries := 0; tries < 1<<16; tries++ {
		rand.Read(em[2:])
		em[0], em[1] = 0, 3
		if c := rawEncrypt(pub, em); c.Cmp(limit) < 0 {
			return c.FillBytes(make([]byte, size))
		}
	}
	t.Fatalf("no %d-byte ciphertext found for a %d-byte modulus", size, pub.Size())
	return nil
}

func rawEncrypt(pub *rsa.PublicKey, em []byte) *big.Int {
	return new(big.Int).Exp(new(big.Int).SetBytes(em), big.NewInt(int64(pub.E)), pub.N)
}

// TestDHAgreer checks a token.DHAgreer: the public value is in range and in
// its group; agreement with a peer is symmetric (peer^x = y^peerx) with
// leading zero bytes stripped; out-of-range peer values (0, 1, p-1, p,
// larger) are refused.
func TestDHAgreer(t *testing.T, a token.DHAgreer) {
	t.Helper()
	pub := a.DHPublic()
	if pub == nil || pub.P == nil || pub.G == nil || pub.Y == nil {
		t.Fatalf("DHPublic incomplete: %+v", pub)
	}
	one := big.NewInt(1)
	pm1 := new(big.Int).Sub(pub.P, one)
	if pub.Y.Cmp(one) <= 0 || pub.Y.Cmp(pm1) >= 0 {
		t.Fatalf("public value out of (1, p-1)")
	}
	if pub.Q != nil && new(big.Int).Exp(pub.Y, pub.Q, pub.P).Cmp(one) != 0 {
		t.Errorf("public value not in the order-q subgroup")
	}
	for i := 0; i < 3; i++ {
		x, err := rand.Int(rand.Reader, new(big.Int).Sub(pub.P, big.NewInt(3)))
		if err != nil {
			t.Fatal(err)
		}
		x.Add(x, big.NewInt(2))
		peer := new(big.Int).Exp(pub.G, x, pub.P)
		z, err := a.Agree(peer)
		if err != nil {
			t.Fatalf("agree: %v", err)
		}
		want := new(big.Int).Exp(pub.Y, x, pub.P).Bytes()
		if !bytes.Equal(z, want) {
			t.Fatalf("agreement is not symmetric: peer^x differs from y^peerx")
		}
		if len(z) > 0 && z[0] == 0 {
			t.Errorf("shared value keeps a leading zero byte")
		}
	}
	for name, bad := range map[string]*big.Int{"0": big.NewInt(0), "1": one, "p-1": pm1, "p": pub.P, "p+1": new(big.Int).Add(pub.P, one)} {
		if _, err := a.Agree(bad); err == nil {
			t.Errorf("peer value %s accepted", name)
		}
	}
}

// TestFortezzaCard checks card against the token.FortezzaCard contract
// with peer, a card in the same KEA domain (peer may be the same kind of
// card or another implementation: then the two are also checked to put the
// same bytes on the wire):
//   - KEA in both directions (card as SSL server with peer as client, and
//     the other way round) gives one TEK on both sides: a key wrapped under
//     one side's TEK unwraps under the other's, and records encrypted by
//     one decrypt on the other, in one-shot and in chained CBC streams;
//   - wrapping is deterministic: both cards wrap the same MEK under the
//     same TEK to the same 12 bytes, and decrypt the same IV and
//     ciphertext to the same plaintext;
//   - a wrapped key with a flipped bit is ErrFortezzaChecksum; peer values
//     out of range or of the wrong length are refused; a destroyed key is
//     refused and destroying twice is harmless;
//   - the DSS signature, if the card has a DSS key, is 40 raw bytes r‖s
//     that verify.
func TestFortezzaCard(t *testing.T, card, peer token.FortezzaCard) {
	t.Helper()
	cp, pp := card.KEAPublicKey(), peer.KEAPublicKey()
	if cp == nil || pp == nil {
		t.Fatal("KEAPublicKey is nil")
	}
	if !cp.Params.Equal(&pp.Params) {
		t.Fatal("card and peer are in different KEA domains")
	}
	if err := kea.CheckPublic(&cp.Params, cp.Y); err != nil {
		t.Fatalf("card's KEA public value: %v", err)
	}
	for _, dir := range []struct {
		name           string
		server, client token.FortezzaCard
	}{{"card as server", card, peer}, {"card as client", peer, card}} {
		t.Run(dir.name, func(t *testing.T) { checkKEA(t, dir.server, dir.client) })
	}
	t.Run("bad peer values", func(t *testing.T) { checkBadPeers(t, card, pp) })
	t.Run("DSS", func(t *testing.T) {
		if card.DSSPublicKey() == nil {
			t.Skip("the card has no DSS key")
		}
		checkDSS(t, card)
	})
}

// SoftwareFortezzaCard returns a software card with fresh KEA and DSS keys
// in the domain params: the peer that checks another card against the
// software card's bytes on the wire.
func SoftwareFortezzaCard(t testing.TB, params *kea.Params) *token.SoftwareFortezzaCard {
	t.Helper()
	k, err := kea.GenerateKey(rand.Reader, params)
	if err != nil {
		t.Fatal(err)
	}
	dss := &dsa.PrivateKey{PublicKey: dsa.PublicKey{Parameters: *params.DSAParameters()}}
	if err := dsa.GenerateKey(dss, rand.Reader); err != nil {
		t.Fatal(err)
	}
	return &token.SoftwareFortezzaCard{KEA: k, DSS: dss}
}

// kea derives a TEK pair: server is the recipient, client the sender.
func deriveTEKs(t *testing.T, server, client token.FortezzaCard) (tekS, tekC token.FortezzaKey) {
	t.Helper()
	rs, err := server.ResponderRandom()
	if err != nil {
		t.Fatalf("ResponderRandom: %v", err)
	}
	defer rs.Destroy()
	if len(rs.R()) != kea.ValueSize {
		t.Fatalf("r_s is %d bytes, want %d", len(rs.R()), kea.ValueSize)
	}
	tekC, rc, err := client.DeriveTEKAsSender(server.KEAPublicKey().Y, rs.R())
	if err != nil {
		t.Fatalf("DeriveTEKAsSender: %v", err)
	}
	if len(rc) != kea.ValueSize {
		t.Fatalf("R_c is %d bytes, want %d", len(rc), kea.ValueSize)
	}
	tekS, err = server.DeriveTEKAsRecipient(rs, client.KEAPublicKey().Y, rc)
	if err != nil {
		tekC.Destroy()
		t.Fatalf("DeriveTEKAsRecipient: %v", err)
	}
	return tekS, tekC
}

func checkKEA(t *testing.T, server, client token.FortezzaCard) {
	tekS, tekC := deriveTEKs(t, server, client)
	defer tekS.Destroy()
	defer tekC.Destroy()

	// The client wraps the MEK (D.5.1: the client generates it); the
	// server unwraps it: one TEK on both sides.
	mek, err := client.GenerateMEK()
	if err != nil {
		t.Fatalf("GenerateMEK: %v", err)
	}
	defer mek.Destroy()
	wrapped, err := client.WrapKey(tekC, mek)
	if err != nil {
		t.Fatalf("WrapKey: %v", err)
	}
	if len(wrapped) != 12 {
		t.Fatalf("wrapped key is %d bytes, want 12", len(wrapped))
	}
	if again, err := client.WrapKey(tekC, mek); err != nil || !bytes.Equal(again, wrapped) {
		t.Errorf("wrapping one key twice differs (or fails: %v)", err)
	}
	mekS, err := server.UnwrapKey(tekS, wrapped)
	if err != nil {
		t.Fatalf("UnwrapKey of the peer's wrapped MEK: %v (the two TEKs differ?)", err)
	}
	defer mekS.Destroy()
	if w2, err := server.WrapKey(tekS, mekS); err != nil || !bytes.Equal(w2, wrapped) {
		t.Errorf("the other card wraps the same MEK under the same TEK to other bytes (or fails: %v)", err)
	}
	tampered := append([]byte(nil), wrapped...)
	tampered[11] ^= 0x40
	if k, err := server.UnwrapKey(tekS, tampered); !errors.Is(err, token.ErrFortezzaChecksum) {
		if k != nil {
			k.Destroy()
		}
		t.Errorf("tampered wrapped key: %v, want ErrFortezzaChecksum", err)
	}

	// The pre-master secret under the TEK, one-shot, both ways.
	pms := make([]byte, 48)
	rand.Read(pms)
	iv, ct, err := client.Encrypt(tekC, pms)
	if err != nil {
		t.Fatalf("Encrypt: %v", err)
	}
	if len(iv) != 24 || len(ct) != len(pms) {
		t.Fatalf("Encrypt: %d-byte IV, %d-byte ciphertext", len(iv), len(ct))
	}
	got, err := server.Decrypt(tekS, iv, ct)
	if err != nil || !bytes.Equal(got, pms) {
		t.Fatalf("the peer's Decrypt of Encrypt: %v", err)
	}
	if mine, err := client.Decrypt(tekC, iv, ct); err != nil || !bytes.Equal(mine, got) {
		t.Errorf("the two cards decrypt one IV and ciphertext differently (or fail: %v)", err)
	}

	// Records: chained CBC streams across calls, server to client.
	enc, eiv, err := server.NewEncrypter(mekS)
	if err != nil {
		t.Fatalf("NewEncrypter: %v", err)
	}
	defer enc.Close()
	dec, err := client.NewDecrypter(mek, eiv)
	if err != nil {
		t.Fatalf("NewDecrypter: %v", err)
	}
	defer dec.Close()
	for i, n := range []int{8, 64, 16} {
		rec := make([]byte, n)
		rand.Read(rec)
		buf := append([]byte(nil), rec...)
		if err := enc.CryptBlocks(buf, buf); err != nil {
			t.Fatalf("record %d: encrypt: %v", i, err)
		}
		if bytes.Equal(buf, rec) {
			t.Fatalf("record %d: ciphertext equals plaintext", i)
		}
		if err := dec.CryptBlocks(buf, buf); err != nil {
			t.Fatalf("record %d: decrypt: %v", i, err)
		}
		if !bytes.Equal(buf, rec) {
			t.Fatalf("record %d does not decrypt on the peer (the chaining state is not kept?)", i)
		}
	}
	if err := enc.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	enc.Close() // idempotent

	// A destroyed key is refused; destroying twice is harmless.
	k, err := client.GenerateMEK()
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Destroy(); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	if err := k.Destroy(); err != nil {
		t.Errorf("second Destroy: %v", err)
	}
	if _, err := client.WrapKey(tekC, k); err == nil {
		t.Errorf("a destroyed key was wrapped")
	}
}

func checkBadPeers(t *testing.T, card token.FortezzaCard, peer *kea.PublicKey) {
	p := peer.Params.P
	one := big.NewInt(1)
	good := peer.Y
	rs := kea.EmailModeR()
	for name, y := range map[string]*big.Int{"0": big.NewInt(0), "1": one, "p-1": new(big.Int).Sub(p, one), "p": p} {
		if tek, _, err := card.DeriveTEKAsSender(y, rs); err == nil {
			tek.Destroy()
			t.Errorf("peer Y = %s accepted", name)
		}
	}
	for name, r := range map[string][]byte{"short": rs[1:], "empty": nil, "zero": make([]byte, kea.ValueSize),
		"p": p.FillBytes(make([]byte, kea.ValueSize))} {
		if tek, _, err := card.DeriveTEKAsSender(good, r); err == nil {
			tek.Destroy()
			t.Errorf("r_s %s accepted", name)
		}
	}
	rsv, err := card.ResponderRandom()
	if err != nil {
		t.Fatal(err)
	}
	defer rsv.Destroy()
	for name, rc := range map[string][]byte{"short": make([]byte, kea.ValueSize-1), "zero": make([]byte, kea.ValueSize),
		"one": kea.EmailModeR(), "p": p.FillBytes(make([]byte, kea.ValueSize))} {
		if tek, err := card.DeriveTEKAsRecipient(rsv, good, rc); err == nil {
			tek.Destroy()
			t.Errorf("R_c %s accepted", name)
		}
	}
}

func checkDSS(t *testing.T, card token.FortezzaCard) {
	pub := card.DSSPublicKey()
	h := sha1.Sum([]byte("tokentest: y_signature input"))
	sig, err := card.SignDSS(h[:])
	if err != nil {
		t.Fatalf("SignDSS: %v", err)
	}
	if len(sig) != 40 {
		t.Fatalf("DSS signature is %d bytes, want 40 (raw r‖s)", len(sig))
	}
	r, s := new(big.Int).SetBytes(sig[:20]), new(big.Int).SetBytes(sig[20:])
	if !dsa.Verify(pub, h[:], r, s) {
		t.Errorf("DSS signature does not verify")
	}
}
