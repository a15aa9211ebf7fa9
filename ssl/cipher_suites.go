package ssl

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/rc4"
	"fmt"
	"strconv"
	"strings"

	"github.com/tokenssl/tokenssl/ssl/internal/camellia"
	"github.com/tokenssl/tokenssl/ssl/internal/idea"
	"github.com/tokenssl/tokenssl/ssl/internal/rc2"
	"github.com/tokenssl/tokenssl/ssl/internal/seed"
	"github.com/tokenssl/tokenssl/ssl/internal/ssl3mac"
)

// The cipher-suite table: every code Appendix C of the SSL 3.0 text
// defines, then the later suites (AES, Camellia, SEED, DHE_DSS with RC4,
// ECDHE_RSA) that SSL 3.0 peers negotiate at version 3.0, each with its key
// exchange, bulk cipher, MAC, defining document and the peers seen using it.
// Names parse and print for every row even where an implementation is
// missing; a suite is only negotiated once its key exchange and cipher
// exist (implemented()).

// Cipher suite codes of Appendix A.6.
const (
	SSL_NULL_WITH_NULL_NULL                uint16 = 0x0000
	SSL_RSA_WITH_NULL_MD5                  uint16 = 0x0001
	SSL_RSA_WITH_NULL_SHA                  uint16 = 0x0002
	SSL_RSA_EXPORT_WITH_RC4_40_MD5         uint16 = 0x0003
	SSL_RSA_WITH_RC4_128_MD5               uint16 = 0x0004
	SSL_RSA_WITH_RC4_128_SHA               uint16 = 0x0005
	SSL_RSA_EXPORT_WITH_RC2_CBC_40_MD5     uint16 = 0x0006
	SSL_RSA_WITH_IDEA_CBC_SHA              uint16 = 0x0007
	SSL_RSA_EXPORT_WITH_DES40_CBC_SHA      uint16 = 0x0008
	SSL_RSA_WITH_DES_CBC_SHA               uint16 = 0x0009
	SSL_RSA_WITH_3DES_EDE_CBC_SHA          uint16 = 0x000A
	SSL_DH_DSS_EXPORT_WITH_DES40_CBC_SHA   uint16 = 0x000B
	SSL_DH_DSS_WITH_DES_CBC_SHA            uint16 = 0x000C
	SSL_DH_DSS_WITH_3DES_EDE_CBC_SHA       uint16 = 0x000D
	SSL_DH_RSA_EXPORT_WITH_DES40_CBC_SHA   uint16 = 0x000E
	SSL_DH_RSA_WITH_DES_CBC_SHA            uint16 = 0x000F
	SSL_DH_RSA_WITH_3DES_EDE_CBC_SHA       uint16 = 0x0010
	SSL_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA  uint16 = 0x0011
	SSL_DHE_DSS_WITH_DES_CBC_SHA           uint16 = 0x0012
	SSL_DHE_DSS_WITH_3DES_EDE_CBC_SHA      uint16 = 0x0013
	SSL_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA  uint16 = 0x0014
	SSL_DHE_RSA_WITH_DES_CBC_SHA           uint16 = 0x0015
	SSL_DHE_RSA_WITH_3DES_EDE_CBC_SHA      uint16 = 0x0016
	SSL_DH_anon_EXPORT_WITH_RC4_40_MD5     uint16 = 0x0017
	SSL_DH_anon_WITH_RC4_128_MD5           uint16 = 0x0018
	SSL_DH_anon_EXPORT_WITH_DES40_CBC_SHA  uint16 = 0x0019
	SSL_DH_anon_WITH_DES_CBC_SHA           uint16 = 0x001A
	SSL_DH_anon_WITH_3DES_EDE_CBC_SHA      uint16 = 0x001B
	SSL_FORTEZZA_KEA_WITH_NULL_SHA         uint16 = 0x001C
	SSL_FORTEZZA_KEA_WITH_FORTEZZA_CBC_SHA uint16 = 0x001D
	SSL_FORTEZZA_KEA_WITH_RC4_128_SHA      uint16 = 0x001E

	// AES at SSL 3.0 (RFC 3268 §3; the TLS record rules map onto SSL 3.0's:
	// docs/ssl3.md).
	TLS_RSA_WITH_AES_128_CBC_SHA     uint16 = 0x002F
	TLS_DH_DSS_WITH_AES_128_CBC_SHA  uint16 = 0x0030
	TLS_DH_RSA_WITH_AES_128_CBC_SHA  uint16 = 0x0031
	TLS_DHE_DSS_WITH_AES_128_CBC_SHA uint16 = 0x0032
	TLS_DHE_RSA_WITH_AES_128_CBC_SHA uint16 = 0x0033
	TLS_DH_anon_WITH_AES_128_CBC_SHA uint16 = 0x0034
	TLS_RSA_WITH_AES_256_CBC_SHA     uint16 = 0x0035
	TLS_DH_DSS_WITH_AES_256_CBC_SHA  uint16 = 0x0036
	TLS_DH_RSA_WITH_AES_256_CBC_SHA  uint16 = 0x0037
	TLS_DHE_DSS_WITH_AES_256_CBC_SHA uint16 = 0x0038
	TLS_DHE_RSA_WITH_AES_256_CBC_SHA uint16 = 0x0039
	TLS_DH_anon_WITH_AES_256_CBC_SHA uint16 = 0x003A

	// Camellia (RFC 4132 §2).
	TLS_RSA_WITH_CAMELLIA_128_CBC_SHA     uint16 = 0x0041
	TLS_DH_DSS_WITH_CAMELLIA_128_CBC_SHA  uint16 = 0x0042
	TLS_DH_RSA_WITH_CAMELLIA_128_CBC_SHA  uint16 = 0x0043
	TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA uint16 = 0x0044
	TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA uint16 = 0x0045
	TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA uint16 = 0x0046
	TLS_RSA_WITH_CAMELLIA_256_CBC_SHA     uint16 = 0x0084
	TLS_DH_DSS_WITH_CAMELLIA_256_CBC_SHA  uint16 = 0x0085
	TLS_DH_RSA_WITH_CAMELLIA_256_CBC_SHA  uint16 = 0x0086
	TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA uint16 = 0x0087
	TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA uint16 = 0x0088
	TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA uint16 = 0x0089

	// SEED (RFC 4162 §2).
	TLS_RSA_WITH_SEED_CBC_SHA     uint16 = 0x0096
	TLS_DH_DSS_WITH_SEED_CBC_SHA  uint16 = 0x0097
	TLS_DH_RSA_WITH_SEED_CBC_SHA  uint16 = 0x0098
	TLS_DHE_DSS_WITH_SEED_CBC_SHA uint16 = 0x0099
	TLS_DHE_RSA_WITH_SEED_CBC_SHA uint16 = 0x009A
	TLS_DH_anon_WITH_SEED_CBC_SHA uint16 = 0x009B

	// DHE_DSS with RC4-128 (draft-ietf-tls-56-bit-ciphersuites-01 §3), as
	// NSS and OpenSSL 0.9.x named it.
	TLS_DHE_DSS_WITH_RC4_128_SHA uint16 = 0x0066

	// ECDHE_RSA (RFC 4492 §6), which SSL 3.0 stacks negotiate when the
	// ClientHello carries supported_curves and ec_point_formats.
	TLS_ECDHE_RSA_WITH_RC4_128_SHA      uint16 = 0xC011
	TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA uint16 = 0xC012
	TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA  uint16 = 0xC013
	TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA  uint16 = 0xC014

	// Signalling values that are not suites (RFC 5746, RFC 7507).
	TLS_EMPTY_RENEGOTIATION_INFO_SCSV uint16 = 0x00FF
	TLS_FALLBACK_SCSV                 uint16 = 0x5600
)

// authMethod is what the server certificate's key does.
type authMethod uint8

const (
	authNone authMethod = iota
	authRSA
	authDSS
	authFortezza
)

// bulkCipher is a row of Appendix C's cipher table.
type bulkCipher struct {
	name        string
	keyMaterial int // bytes taken from key_block for each write key
	expandedKey int // bytes actually fed to the cipher (export expansion)
	ivSize      int
	blockSize   int // 0 for stream ciphers
	exportable  bool
	// Exactly one of stream/block is set for real ciphers; both nil for NULL
	// and for ciphers that run on a token (FORTEZZA_CBC).
	stream func(key []byte) (cipher.Stream, error)
	block  func(key []byte) (cipher.Block, error)
	// onToken: the cipher runs on a token with keys the key exchange made
	// there (keyAgreement.recordCiphers), not from the key_block.
	onToken bool
	// available is false while the implementation is missing.
	available bool
}

func newRC4(key []byte) (cipher.Stream, error) { return rc4.NewCipher(key) }

// newRC2Export keys RC2 with the 16-byte final write key of §8.2.2 and 128
// effective key bits, as OpenSSL and NSS do (see package rc2: Appendix C's
// "40" is the secret part of the key, not RC2's effective-bits parameter).
func newRC2Export(key []byte) (cipher.Block, error) {
	return rc2.NewCipher(key, rc2.SSL3ExportEffectiveKeyBits)
}

var (
	cipherNull    = &bulkCipher{name: "NULL", exportable: true, available: true}
	cipherRC4_40  = &bulkCipher{name: "RC4_40", keyMaterial: 5, expandedKey: 16, exportable: true, stream: newRC4, available: true}
	cipherRC4_128 = &bulkCipher{name: "RC4_128", keyMaterial: 16, expandedKey: 16, stream: newRC4, available: true}
	cipherRC2_40  = &bulkCipher{name: "RC2_CBC_40", keyMaterial: 5, expandedKey: 16, ivSize: 8, blockSize: 8, exportable: true, block: newRC2Export, available: true}
	cipherIDEA    = &bulkCipher{name: "IDEA_CBC", keyMaterial: 16, expandedKey: 16, ivSize: 8, blockSize: 8, block: idea.NewCipher, available: true}
	cipherDES40   = &bulkCipher{name: "DES40_CBC", keyMaterial: 5, expandedKey: 8, ivSize: 8, blockSize: 8, exportable: true, block: des.NewCipher, available: true}
	cipherDES     = &bulkCipher{name: "DES_CBC", keyMaterial: 8, expandedKey: 8, ivSize: 8, blockSize: 8, block: des.NewCipher, available: true}
	cipher3DES    = &bulkCipher{name: "3DES_EDE_CBC", keyMaterial: 24, expandedKey: 24, ivSize: 8, blockSize: 8, block: des.NewTripleDESCipher, available: true}
	// FORTEZZA_CBC has no software implementation: it runs on the card,
	// with the MEKs the Fortezza key exchange made (recordCiphers).
	cipherFortezza = &bulkCipher{name: "FORTEZZA_CBC", blockSize: 8, onToken: true, available: true}
	// The 16-byte block ciphers of the later RFCs: CBC, IV and padding as
	// for the 8-byte ones (§7.2.3.2 bounds padding by the block size).
	cipherAES128      = &bulkCipher{name: "AES_128_CBC", keyMaterial: 16, expandedKey: 16, ivSize: 16, blockSize: 16, block: aes.NewCipher, available: true}
	cipherAES256      = &bulkCipher{name: "AES_256_CBC", keyMaterial: 32, expandedKey: 32, ivSize: 16, blockSize: 16, block: aes.NewCipher, available: true}
	cipherCamellia128 = &bulkCipher{name: "CAMELLIA_128_CBC", keyMaterial: 16, expandedKey: 16, ivSize: 16, blockSize: 16, block: camellia.NewCipher, available: true}
	cipherCamellia256 = &bulkCipher{name: "CAMELLIA_256_CBC", keyMaterial: 32, expandedKey: 32, ivSize: 16, blockSize: 16, block: camellia.NewCipher, available: true}
	cipherSEED        = &bulkCipher{name: "SEED_CBC", keyMaterial: 16, expandedKey: 16, ivSize: 16, blockSize: 16, block: seed.NewCipher, available: true}
)

// suiteSource is the document that defines a suite.
const (
	srcAppendixC = "Appendix C"
	srcRFC3268   = "RFC 3268"
	srcRFC4132   = "RFC 4132"
	srcRFC4162   = "RFC 4162"
	srcRFC4492   = "RFC 4492"
	srcDraft56   = "draft-ietf-tls-56-bit-ciphersuites-01"
)

// peerSet records which independent SSL 3.0 stacks were seen negotiating a
// suite at version 3.0 with us, in either direction (the suite matrix in
// integration/matrix_linux_test.go probes and checks them).
type peerSet uint8

const (
	peerNSS     peerSet = 1 << iota // NSS 3.87 selfserv/tstclnt
	peerZcrypto                     // zcrypto (integration/peers/zcryptopeer)
)

func (p peerSet) names() []string {
	var out []string
	if p&peerNSS != 0 {
		out = append(out, "NSS")
	}
	if p&peerZcrypto != 0 {
		out = append(out, "zcrypto")
	}
	return out
}

// cipherSuite is one row of the table.
type cipherSuite struct {
	id   uint16
	name string
	// ka makes a fresh instance of the suite's key exchange for one
	// handshake; nil where the exchange is not implemented.
	ka         func(*cipherSuite) keyAgreement
	auth       authMethod
	exportable bool // Appendix C '*': export key-size limits apply
	cipher     *bulkCipher
	mac        crypto.Hash // crypto.MD5 or crypto.SHA1; 0 for NULL_NULL
	source     string      // the defining document (srcAppendixC, ...)
	peers      peerSet     // independent stacks seen negotiating it at 3.0
}

// exportCipher reports whether the bulk cipher's keys are derived by the
// export rules of §8.2.2 (RC4_40, RC2_CBC_40, DES40_CBC).
func (s *cipherSuite) exportCipher() bool { return s.cipher.exportable && s.cipher != cipherNull }

// exportKex reports whether the key exchange is an _EXPORT variant with the
// 512-bit limits of Appendix C (RSA_EXPORT, DH*_EXPORT). The NULL suites are
// exportable but use plain RSA.
func (s *cipherSuite) exportKex() bool { return strings.Contains(s.name, "_EXPORT_") }

// macSize is the MAC length on the wire.
func (s *cipherSuite) macSize() int {
	switch s.mac {
	case crypto.MD5:
		return 16
	case crypto.SHA1:
		return 20
	}
	return 0
}

// implemented reports whether both the key exchange and the cipher exist.
func (s *cipherSuite) implemented() bool {
	return s.id != SSL_NULL_WITH_NULL_NULL && s.cipher.available && s.ka != nil
}

// anonymous reports an unauthenticated server (no certificate, no
// CertificateRequest: §7.6.4).
func (s *cipherSuite) anonymous() bool { return s.auth == authNone && s.ka != nil }

var cipherSuiteTable = []*cipherSuite{
	{SSL_NULL_WITH_NULL_NULL, "SSL_NULL_WITH_NULL_NULL", nil, authNone, true, cipherNull, 0, srcAppendixC, 0},
	{SSL_RSA_WITH_NULL_MD5, "SSL_RSA_WITH_NULL_MD5", newRSAKeyAgreement, authRSA, true, cipherNull, crypto.MD5, srcAppendixC, peerNSS},
	{SSL_RSA_WITH_NULL_SHA, "SSL_RSA_WITH_NULL_SHA", newRSAKeyAgreement, authRSA, true, cipherNull, crypto.SHA1, srcAppendixC, peerNSS},
	{SSL_RSA_EXPORT_WITH_RC4_40_MD5, "SSL_RSA_EXPORT_WITH_RC4_40_MD5", newRSAExportKeyAgreement, authRSA, true, cipherRC4_40, crypto.MD5, srcAppendixC, peerZcrypto},
	{SSL_RSA_WITH_RC4_128_MD5, "SSL_RSA_WITH_RC4_128_MD5", newRSAKeyAgreement, authRSA, false, cipherRC4_128, crypto.MD5, srcAppendixC, peerNSS | peerZcrypto},
	{SSL_RSA_WITH_RC4_128_SHA, "SSL_RSA_WITH_RC4_128_SHA", newRSAKeyAgreement, authRSA, false, cipherRC4_128, crypto.SHA1, srcAppendixC, peerNSS | peerZcrypto},
	{SSL_RSA_EXPORT_WITH_RC2_CBC_40_MD5, "SSL_RSA_EXPORT_WITH_RC2_CBC_40_MD5", newRSAExportKeyAgreement, authRSA, true, cipherRC2_40, crypto.MD5, srcAppendixC, peerZcrypto},
	{SSL_RSA_WITH_IDEA_CBC_SHA, "SSL_RSA_WITH_IDEA_CBC_SHA", newRSAKeyAgreement, authRSA, false, cipherIDEA, crypto.SHA1, srcAppendixC, 0},
	{SSL_RSA_EXPORT_WITH_DES40_CBC_SHA, "SSL_RSA_EXPORT_WITH_DES40_CBC_SHA", newRSAExportKeyAgreement, authRSA, true, cipherDES40, crypto.SHA1, srcAppendixC, peerZcrypto},
	{SSL_RSA_WITH_DES_CBC_SHA, "SSL_RSA_WITH_DES_CBC_SHA", newRSAKeyAgreement, authRSA, false, cipherDES, crypto.SHA1, srcAppendixC, peerNSS},
	{SSL_RSA_WITH_3DES_EDE_CBC_SHA, "SSL_RSA_WITH_3DES_EDE_CBC_SHA", newRSAKeyAgreement, authRSA, false, cipher3DES, crypto.SHA1, srcAppendixC, peerNSS | peerZcrypto},
	{SSL_DH_DSS_EXPORT_WITH_DES40_CBC_SHA, "SSL_DH_DSS_EXPORT_WITH_DES40_CBC_SHA", newFixedDHKeyAgreement, authDSS, true, cipherDES40, crypto.SHA1, srcAppendixC, 0},
	{SSL_DH_DSS_WITH_DES_CBC_SHA, "SSL_DH_DSS_WITH_DES_CBC_SHA", newFixedDHKeyAgreement, authDSS, false, cipherDES, crypto.SHA1, srcAppendixC, 0},
	{SSL_DH_DSS_WITH_3DES_EDE_CBC_SHA, "SSL_DH_DSS_WITH_3DES_EDE_CBC_SHA", newFixedDHKeyAgreement, authDSS, false, cipher3DES, crypto.SHA1, srcAppendixC, 0},
	{SSL_DH_RSA_EXPORT_WITH_DES40_CBC_SHA, "SSL_DH_RSA_EXPORT_WITH_DES40_CBC_SHA", newFixedDHKeyAgreement, authRSA, true, cipherDES40, crypto.SHA1, srcAppendixC, 0},
	{SSL_DH_RSA_WITH_DES_CBC_SHA, "SSL_DH_RSA_WITH_DES_CBC_SHA", newFixedDHKeyAgreement, authRSA, false, cipherDES, crypto.SHA1, srcAppendixC, 0},
	{SSL_DH_RSA_WITH_3DES_EDE_CBC_SHA, "SSL_DH_RSA_WITH_3DES_EDE_CBC_SHA", newFixedDHKeyAgreement, authRSA, false, cipher3DES, crypto.SHA1, srcAppendixC, 0},
	{SSL_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA, "SSL_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA", newDHEKeyAgreement, authDSS, true, cipherDES40, crypto.SHA1, srcAppendixC, 0},
	{SSL_DHE_DSS_WITH_DES_CBC_SHA, "SSL_DHE_DSS_WITH_DES_CBC_SHA", newDHEKeyAgreement, authDSS, false, cipherDES, crypto.SHA1, srcAppendixC, peerNSS},
	{SSL_DHE_DSS_WITH_3DES_EDE_CBC_SHA, "SSL_DHE_DSS_WITH_3DES_EDE_CBC_SHA", newDHEKeyAgreement, authDSS, false, cipher3DES, crypto.SHA1, srcAppendixC, peerNSS},
	{SSL_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA, "SSL_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA", newDHEKeyAgreement, authRSA, true, cipherDES40, crypto.SHA1, srcAppendixC, peerZcrypto},
	{SSL_DHE_RSA_WITH_DES_CBC_SHA, "SSL_DHE_RSA_WITH_DES_CBC_SHA", newDHEKeyAgreement, authRSA, false, cipherDES, crypto.SHA1, srcAppendixC, peerNSS | peerZcrypto},
	{SSL_DHE_RSA_WITH_3DES_EDE_CBC_SHA, "SSL_DHE_RSA_WITH_3DES_EDE_CBC_SHA", newDHEKeyAgreement, authRSA, false, cipher3DES, crypto.SHA1, srcAppendixC, peerNSS | peerZcrypto},
	{SSL_DH_anon_EXPORT_WITH_RC4_40_MD5, "SSL_DH_anon_EXPORT_WITH_RC4_40_MD5", newDHAnonKeyAgreement, authNone, true, cipherRC4_40, crypto.MD5, srcAppendixC, peerZcrypto},
	{SSL_DH_anon_WITH_RC4_128_MD5, "SSL_DH_anon_WITH_RC4_128_MD5", newDHAnonKeyAgreement, authNone, false, cipherRC4_128, crypto.MD5, srcAppendixC, 0},
	// Appendix C omits the '*' on this row although the name and the cipher
	// (DES40) are export grade; we treat it as exportable.
	{SSL_DH_anon_EXPORT_WITH_DES40_CBC_SHA, "SSL_DH_anon_EXPORT_WITH_DES40_CBC_SHA", newDHAnonKeyAgreement, authNone, true, cipherDES40, crypto.SHA1, srcAppendixC, peerZcrypto},
	{SSL_DH_anon_WITH_DES_CBC_SHA, "SSL_DH_anon_WITH_DES_CBC_SHA", newDHAnonKeyAgreement, authNone, false, cipherDES, crypto.SHA1, srcAppendixC, 0},
	{SSL_DH_anon_WITH_3DES_EDE_CBC_SHA, "SSL_DH_anon_WITH_3DES_EDE_CBC_SHA", newDHAnonKeyAgreement, authNone, false, cipher3DES, crypto.SHA1, srcAppendixC, 0},
	{SSL_FORTEZZA_KEA_WITH_NULL_SHA, "SSL_FORTEZZA_KEA_WITH_NULL_SHA", newFortezzaKeyAgreement, authFortezza, false, cipherNull, crypto.SHA1, srcAppendixC, 0},
	{SSL_FORTEZZA_KEA_WITH_FORTEZZA_CBC_SHA, "SSL_FORTEZZA_KEA_WITH_FORTEZZA_CBC_SHA", newFortezzaKeyAgreement, authFortezza, false, cipherFortezza, crypto.SHA1, srcAppendixC, 0},
	{SSL_FORTEZZA_KEA_WITH_RC4_128_SHA, "SSL_FORTEZZA_KEA_WITH_RC4_128_SHA", newFortezzaKeyAgreement, authFortezza, false, cipherRC4_128, crypto.SHA1, srcAppendixC, 0},

	// Later suites that SSL 3.0 peers negotiate at version 3.0, by code.
	{TLS_RSA_WITH_AES_128_CBC_SHA, "TLS_RSA_WITH_AES_128_CBC_SHA", newRSAKeyAgreement, authRSA, false, cipherAES128, crypto.SHA1, srcRFC3268, peerNSS | peerZcrypto},
	{TLS_DH_DSS_WITH_AES_128_CBC_SHA, "TLS_DH_DSS_WITH_AES_128_CBC_SHA", newFixedDHKeyAgreement, authDSS, false, cipherAES128, crypto.SHA1, srcRFC3268, 0},
	{TLS_DH_RSA_WITH_AES_128_CBC_SHA, "TLS_DH_RSA_WITH_AES_128_CBC_SHA", newFixedDHKeyAgreement, authRSA, false, cipherAES128, crypto.SHA1, srcRFC3268, 0},
	{TLS_DHE_DSS_WITH_AES_128_CBC_SHA, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA", newDHEKeyAgreement, authDSS, false, cipherAES128, crypto.SHA1, srcRFC3268, peerNSS},
	{TLS_DHE_RSA_WITH_AES_128_CBC_SHA, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA", newDHEKeyAgreement, authRSA, false, cipherAES128, crypto.SHA1, srcRFC3268, peerNSS | peerZcrypto},
	{TLS_DH_anon_WITH_AES_128_CBC_SHA, "TLS_DH_anon_WITH_AES_128_CBC_SHA", newDHAnonKeyAgreement, authNone, false, cipherAES128, crypto.SHA1, srcRFC3268, 0},
	{TLS_RSA_WITH_AES_256_CBC_SHA, "TLS_RSA_WITH_AES_256_CBC_SHA", newRSAKeyAgreement, authRSA, false, cipherAES256, crypto.SHA1, srcRFC3268, peerNSS | peerZcrypto},
	{TLS_DH_DSS_WITH_AES_256_CBC_SHA, "TLS_DH_DSS_WITH_AES_256_CBC_SHA", newFixedDHKeyAgreement, authDSS, false, cipherAES256, crypto.SHA1, srcRFC3268, 0},
	{TLS_DH_RSA_WITH_AES_256_CBC_SHA, "TLS_DH_RSA_WITH_AES_256_CBC_SHA", newFixedDHKeyAgreement, authRSA, false, cipherAES256, crypto.SHA1, srcRFC3268, 0},
	{TLS_DHE_DSS_WITH_AES_256_CBC_SHA, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA", newDHEKeyAgreement, authDSS, false, cipherAES256, crypto.SHA1, srcRFC3268, peerNSS},
	{TLS_DHE_RSA_WITH_AES_256_CBC_SHA, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", newDHEKeyAgreement, authRSA, false, cipherAES256, crypto.SHA1, srcRFC3268, peerNSS | peerZcrypto},
	{TLS_DH_anon_WITH_AES_256_CBC_SHA, "TLS_DH_anon_WITH_AES_256_CBC_SHA", newDHAnonKeyAgreement, authNone, false, cipherAES256, crypto.SHA1, srcRFC3268, 0},
	{TLS_RSA_WITH_CAMELLIA_128_CBC_SHA, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA", newRSAKeyAgreement, authRSA, false, cipherCamellia128, crypto.SHA1, srcRFC4132, peerNSS},
	{TLS_DH_DSS_WITH_CAMELLIA_128_CBC_SHA, "TLS_DH_DSS_WITH_CAMELLIA_128_CBC_SHA", newFixedDHKeyAgreement, authDSS, false, cipherCamellia128, crypto.SHA1, srcRFC4132, 0},
	{TLS_DH_RSA_WITH_CAMELLIA_128_CBC_SHA, "TLS_DH_RSA_WITH_CAMELLIA_128_CBC_SHA", newFixedDHKeyAgreement, authRSA, false, cipherCamellia128, crypto.SHA1, srcRFC4132, 0},
	{TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA, "TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA", newDHEKeyAgreement, authDSS, false, cipherCamellia128, crypto.SHA1, srcRFC4132, peerNSS},
	{TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA", newDHEKeyAgreement, authRSA, false, cipherCamellia128, crypto.SHA1, srcRFC4132, peerNSS},
	{TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA, "TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA", newDHAnonKeyAgreement, authNone, false, cipherCamellia128, crypto.SHA1, srcRFC4132, 0},
	{TLS_DHE_DSS_WITH_RC4_128_SHA, "TLS_DHE_DSS_WITH_RC4_128_SHA", newDHEKeyAgreement, authDSS, false, cipherRC4_128, crypto.SHA1, srcDraft56, peerNSS},
	{TLS_RSA_WITH_CAMELLIA_256_CBC_SHA, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA", newRSAKeyAgreement, authRSA, false, cipherCamellia256, crypto.SHA1, srcRFC4132, peerNSS},
	{TLS_DH_DSS_WITH_CAMELLIA_256_CBC_SHA, "TLS_DH_DSS_WITH_CAMELLIA_256_CBC_SHA", newFixedDHKeyAgreement, authDSS, false, cipherCamellia256, crypto.SHA1, srcRFC4132, 0},
	{TLS_DH_RSA_WITH_CAMELLIA_256_CBC_SHA, "TLS_DH_RSA_WITH_CAMELLIA_256_CBC_SHA", newFixedDHKeyAgreement, authRSA, false, cipherCamellia256, crypto.SHA1, srcRFC4132, 0},
	{TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA, "TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA", newDHEKeyAgreement, authDSS, false, cipherCamellia256, crypto.SHA1, srcRFC4132, peerNSS},
	{TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA", newDHEKeyAgreement, authRSA, false, cipherCamellia256, crypto.SHA1, srcRFC4132, peerNSS},
	{TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA, "TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA", newDHAnonKeyAgreement, authNone, false, cipherCamellia256, crypto.SHA1, srcRFC4132, 0},
	{TLS_RSA_WITH_SEED_CBC_SHA, "TLS_RSA_WITH_SEED_CBC_SHA", newRSAKeyAgreement, authRSA, false, cipherSEED, crypto.SHA1, srcRFC4162, peerNSS},
	{TLS_DH_DSS_WITH_SEED_CBC_SHA, "TLS_DH_DSS_WITH_SEED_CBC_SHA", newFixedDHKeyAgreement, authDSS, false, cipherSEED, crypto.SHA1, srcRFC4162, 0},
	{TLS_DH_RSA_WITH_SEED_CBC_SHA, "TLS_DH_RSA_WITH_SEED_CBC_SHA", newFixedDHKeyAgreement, authRSA, false, cipherSEED, crypto.SHA1, srcRFC4162, 0},
	{TLS_DHE_DSS_WITH_SEED_CBC_SHA, "TLS_DHE_DSS_WITH_SEED_CBC_SHA", newDHEKeyAgreement, authDSS, false, cipherSEED, crypto.SHA1, srcRFC4162, 0},
	{TLS_DHE_RSA_WITH_SEED_CBC_SHA, "TLS_DHE_RSA_WITH_SEED_CBC_SHA", newDHEKeyAgreement, authRSA, false, cipherSEED, crypto.SHA1, srcRFC4162, 0},
	{TLS_DH_anon_WITH_SEED_CBC_SHA, "TLS_DH_anon_WITH_SEED_CBC_SHA", newDHAnonKeyAgreement, authNone, false, cipherSEED, crypto.SHA1, srcRFC4162, 0},
	{TLS_ECDHE_RSA_WITH_RC4_128_SHA, "TLS_ECDHE_RSA_WITH_RC4_128_SHA", newECDHEKeyAgreement, authRSA, false, cipherRC4_128, crypto.SHA1, srcRFC4492, peerZcrypto},
	{TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", newECDHEKeyAgreement, authRSA, false, cipher3DES, crypto.SHA1, srcRFC4492, peerZcrypto},
	{TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", newECDHEKeyAgreement, authRSA, false, cipherAES128, crypto.SHA1, srcRFC4492, peerZcrypto},
	{TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", newECDHEKeyAgreement, authRSA, false, cipherAES256, crypto.SHA1, srcRFC4492, peerZcrypto},
}

// suitesByID indexes the table by code (the codes are sparse past 0x001E).
var suitesByID = func() map[uint16]*cipherSuite {
	m := make(map[uint16]*cipherSuite, len(cipherSuiteTable))
	for _, s := range cipherSuiteTable {
		m[s.id] = s
	}
	return m
}()

var signallingNames = map[uint16]string{
	TLS_EMPTY_RENEGOTIATION_INFO_SCSV: "TLS_EMPTY_RENEGOTIATION_INFO_SCSV",
	TLS_FALLBACK_SCSV:                 "TLS_FALLBACK_SCSV",
}

func suiteByID(id uint16) *cipherSuite { return suitesByID[id] }

// CipherSuiteName returns the Appendix C name of id, or its hex code.
func CipherSuiteName(id uint16) string {
	if s := suiteByID(id); s != nil {
		return s.name
	}
	if n, ok := signallingNames[id]; ok {
		return n
	}
	return fmt.Sprintf("0x%04X", id)
}

// CipherSuiteByName parses a suite name (case-insensitive, with the SSL_
// or TLS_ prefix or none: SSL_RSA_WITH_RC4_128_MD5, TLS_RSA_WITH_AES_128_CBC_SHA),
// an OpenSSL name such as RC4-MD5 or EDH-RSA-DES-CBC3-SHA (suite_names.go),
// or a hex code such as 0x0004.
func CipherSuiteByName(name string) (uint16, error) {
	n := strings.TrimSpace(name)
	if id, ok, err := cipherSuiteByOpenSSLName(n); ok {
		return id, err
	}
	if strings.HasPrefix(n, "0x") || strings.HasPrefix(n, "0X") {
		v, err := strconv.ParseUint(n[2:], 16, 16)
		if err != nil {
			return 0, fmt.Errorf("ssl: bad cipher suite code %q", name)
		}
		if suiteByID(uint16(v)) == nil {
			return 0, fmt.Errorf("ssl: %q is not an SSL 3.0 cipher suite", name)
		}
		return uint16(v), nil
	}
	u := bareSuiteName(n)
	for _, s := range cipherSuiteTable {
		if bareSuiteName(s.name) == u {
			return s.id, nil
		}
	}
	return 0, fmt.Errorf("ssl: unknown cipher suite %q", name)
}

// bareSuiteName upper-cases a suite name and drops its SSL_ or TLS_ prefix:
// Appendix C's suites are SSL_, the later RFCs' TLS_, and peers print both.
func bareSuiteName(n string) string {
	u := strings.ToUpper(n)
	if b, ok := strings.CutPrefix(u, "SSL_"); ok {
		return b
	}
	return strings.TrimPrefix(u, "TLS_")
}

// ParseCipherSuites parses a comma-separated list of names or hex codes.
func ParseCipherSuites(list string) ([]uint16, error) {
	var out []uint16
	for _, f := range strings.Split(list, ",") {
		if strings.TrimSpace(f) == "" {
			continue
		}
		id, err := CipherSuiteByName(f)
		if err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("ssl: empty cipher suite list")
	}
	return out, nil
}

// CipherSuiteInfo describes a table row for listings.
type CipherSuiteInfo struct {
	ID          uint16
	Name        string
	Exportable  bool
	Anonymous   bool
	Null        bool // no encryption
	Implemented bool
	// Source is the document defining the suite: "Appendix C" (of the SSL
	// 3.0 specification), "RFC 3268", "RFC 4132", "RFC 4162", "RFC 4492",
	// "draft-ietf-tls-56-bit-ciphersuites-01".
	Source string
	// Peers are the independent SSL 3.0 stacks seen negotiating the suite
	// at version 3.0 with this one ("NSS", "zcrypto").
	Peers []string
}

// CipherSuites returns the whole table: Appendix C's suites by code, then
// the later ones SSL 3.0 peers negotiate.
func CipherSuites() []CipherSuiteInfo {
	out := make([]CipherSuiteInfo, 0, len(cipherSuiteTable))
	for _, s := range cipherSuiteTable {
		out = append(out, CipherSuiteInfo{s.id, s.name, s.exportable, s.anonymous(), s.cipher == cipherNull, s.implemented(), s.source, s.peers.names()})
	}
	return out
}

// ImplementedCipherSuites lists every suite this build can negotiate, in
// table order; NULL, export and anonymous suites included.
func ImplementedCipherSuites() []uint16 {
	var out []uint16
	for _, s := range cipherSuiteTable {
		if s.implemented() {
			out = append(out, s.id)
		}
	}
	return out
}

// defaultPreference orders the strong suites: AES first (forward secrecy
// first within it), then 3DES, then RC4. Single DES (56 bits), export,
// anonymous and NULL suites are never on by default; nor are Camellia and
// SEED, which only NSS offers at SSL 3.0.
var defaultPreference = []uint16{
	TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
	TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
	TLS_DHE_RSA_WITH_AES_128_CBC_SHA,
	TLS_DHE_RSA_WITH_AES_256_CBC_SHA,
	TLS_DHE_DSS_WITH_AES_128_CBC_SHA,
	TLS_DHE_DSS_WITH_AES_256_CBC_SHA,
	TLS_RSA_WITH_AES_128_CBC_SHA,
	TLS_RSA_WITH_AES_256_CBC_SHA,
	TLS_DH_RSA_WITH_AES_128_CBC_SHA,
	TLS_DH_RSA_WITH_AES_256_CBC_SHA,
	TLS_DH_DSS_WITH_AES_128_CBC_SHA,
	TLS_DH_DSS_WITH_AES_256_CBC_SHA,
	TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA,
	SSL_DHE_RSA_WITH_3DES_EDE_CBC_SHA,
	SSL_DHE_DSS_WITH_3DES_EDE_CBC_SHA,
	SSL_RSA_WITH_3DES_EDE_CBC_SHA,
	SSL_RSA_WITH_IDEA_CBC_SHA,
	TLS_ECDHE_RSA_WITH_RC4_128_SHA,
	SSL_RSA_WITH_RC4_128_SHA,
	SSL_RSA_WITH_RC4_128_MD5,
	SSL_DH_RSA_WITH_3DES_EDE_CBC_SHA,
	SSL_DH_DSS_WITH_3DES_EDE_CBC_SHA,
	SSL_FORTEZZA_KEA_WITH_FORTEZZA_CBC_SHA,
	SSL_FORTEZZA_KEA_WITH_RC4_128_SHA,
}

// DefaultCipherSuites returns the implemented suites used when
// Config.CipherSuites is nil.
func DefaultCipherSuites() []uint16 {
	var out []uint16
	for _, id := range defaultPreference {
		if suiteByID(id).implemented() {
			out = append(out, id)
		}
	}
	return out
}

// resumable reports whether sessions of this suite may be resumed. A
// cipher on a token, FORTEZZA_CBC, is not (docs/fortezza.md §4.12, option 1 of Appendix D.5.3): its
// record keys live on the card and are not re-derivable from the master
// secret.
func (s *cipherSuite) resumable() bool { return !s.cipher.onToken }

// newRecordCipher builds one direction's cipher state.
func newRecordCipher(s *cipherSuite, key, iv []byte, forRead bool) (any, error) {
	bc := s.cipher
	switch {
	case bc.stream != nil:
		return bc.stream(key)
	case bc.block != nil:
		b, err := bc.block(key)
		if err != nil {
			return nil, err
		}
		if forRead {
			return cipher.NewCBCDecrypter(b, iv), nil
		}
		return cipher.NewCBCEncrypter(b, iv), nil
	case bc == cipherNull:
		return nil, nil
	}
	return nil, fmt.Errorf("ssl: cipher %s has no software implementation", bc.name)
}

// prepareKeys installs the pending read and write states of c from the
// master secret; ChangeCipherSpec activates them.
// ka, when given, is the key agreement of a full handshake: for a suite
// whose bulk cipher runs on a token (FORTEZZA_CBC) it supplies the record
// ciphers (keyAgreement.recordCiphers).
func prepareKeys(c *Conn, s *cipherSuite, master, clientRandom, serverRandom []byte, ka ...keyAgreement) error {
	km := deriveKeys(s, master, clientRandom, serverRandom)
	var macHash crypto.Hash = s.mac
	clientMAC, err := ssl3mac.New(macHash, km.clientMAC)
	if err != nil {
		return err
	}
	serverMAC, err := ssl3mac.New(macHash, km.serverMAC)
	if err != nil {
		return err
	}
	var clientCipher, serverCipher any
	if s.cipher.onToken && len(ka) > 0 {
		write, read, err := ka[0].recordCiphers(c.isClient)
		if err != nil {
			return err
		}
		clientCipher, serverCipher = read, write
		if c.isClient {
			clientCipher, serverCipher = write, read
			c.in.prepareFortezzaPrefix(false) // drop the server's first 8 bytes
		} else {
			c.out.prepareFortezzaPrefix(true) // prefix our first record (D.5.1)
		}
	} else {
		if clientCipher, err = newRecordCipher(s, km.clientKey, km.clientIV, !c.isClient); err != nil {
			return err
		}
		if serverCipher, err = newRecordCipher(s, km.serverKey, km.serverIV, c.isClient); err != nil {
			return err
		}
	}
	if c.isClient {
		c.out.prepareCipherSpec(clientCipher, clientMAC)
		c.in.prepareCipherSpec(serverCipher, serverMAC)
	} else {
		c.out.prepareCipherSpec(serverCipher, serverMAC)
		c.in.prepareCipherSpec(clientCipher, clientMAC)
	}
	return nil
}
