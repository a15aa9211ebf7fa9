package skipjack_test

import (
	"bytes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"log"

	"github.com/tokenssl/tokenssl/kea/skipjack"
)

// The card side of FORTEZZA_CBC: a fresh MEK wrapped under the TEK, and
// CBC64 encryption under the MEK with a token-generated 24-byte IV.
func Example_cbc64() {
	tek := make([]byte, skipjack.KeySize)
	mek := make([]byte, skipjack.KeySize)
	rand.Read(tek)
	rand.Read(mek)

	wrapped, err := skipjack.WrapKey(tek, mek) // 12 bytes on the wire
	if err != nil {
		log.Fatal(err)
	}
	iv24, err := skipjack.NewIV(nil) // "THIS IS NOT LEAF" ‖ 8 random bytes
	if err != nil {
		log.Fatal(err)
	}

	block, _ := skipjack.NewFortezzaCipher(mek)
	iv, _ := skipjack.CBCIV(iv24[:])
	record := []byte("sixteen bytes!!!")
	ct := make([]byte, len(record))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, record)

	// The peer unwraps the MEK and decrypts with iv24[16:24].
	mek2, err := skipjack.UnwrapKey(tek, wrapped)
	if err != nil {
		log.Fatal(err)
	}
	block2, _ := skipjack.NewFortezzaCipher(mek2)
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block2, iv).CryptBlocks(pt, ct)
	fmt.Println(len(wrapped), string(iv24[:16]), bytes.Equal(pt, record))
	// Output: 12 THIS IS NOT LEAF true
}
