package ssl

import (
	"crypto"
	"crypto/cipher"
	"crypto/des"
	"crypto/rc4"
	"fmt"
	"strconv"
	"strings"

	"github.com/tokenssl/tokenssl/ssl/internal/idea"
	"github.com/tokenssl/tokenssl/ssl/internal/rc2"
	"github.com/tokenssl/tokenssl/ssl/internal/ssl3mac"
)

// The cipher-suite table of Appendix C: every code the SSL 3.0 text
// defines, with its key exchange, bulk cipher and MAC. Names parse and print
// for all 31 even where an implementation is still missing; a suite is only
// negotiated once its key exchange and cipher exist (implemented()).

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
)

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
	{SSL_NULL_WITH_NULL_NULL, "SSL_NULL_WITH_NULL_NULL", nil, authNone, true, cipherNull, 0},
	{SSL_RSA_WITH_NULL_MD5, "SSL_RSA_WITH_NULL_MD5", newRSAKeyAgreement, authRSA, true, cipherNull, crypto.MD5},
	{SSL_RSA_WITH_NULL_SHA, "SSL_RSA_WITH_NULL_SHA", newRSAKeyAgreement, authRSA, true, cipherNull, crypto.SHA1},
	{SSL_RSA_EXPORT_WITH_RC4_40_MD5, "SSL_RSA_EXPORT_WITH_RC4_40_MD5", newRSAExportKeyAgreement, authRSA, true, cipherRC4_40, crypto.MD5},
	{SSL_RSA_WITH_RC4_128_MD5, "SSL_RSA_WITH_RC4_128_MD5", newRSAKeyAgreement, authRSA, false, cipherRC4_128, crypto.MD5},
	{SSL_RSA_WITH_RC4_128_SHA, "SSL_RSA_WITH_RC4_128_SHA", newRSAKeyAgreement, authRSA, false, cipherRC4_128, crypto.SHA1},
	{SSL_RSA_EXPORT_WITH_RC2_CBC_40_MD5, "SSL_RSA_EXPORT_WITH_RC2_CBC_40_MD5", newRSAExportKeyAgreement, authRSA, true, cipherRC2_40, crypto.MD5},
	{SSL_RSA_WITH_IDEA_CBC_SHA, "SSL_RSA_WITH_IDEA_CBC_SHA", newRSAKeyAgreement, authRSA, false, cipherIDEA, crypto.SHA1},
	{SSL_RSA_EXPORT_WITH_DES40_CBC_SHA, "SSL_RSA_EXPORT_WITH_DES40_CBC_SHA", newRSAExportKeyAgreement, authRSA, true, cipherDES40, crypto.SHA1},
	{SSL_RSA_WITH_DES_CBC_SHA, "SSL_RSA_WITH_DES_CBC_SHA", newRSAKeyAgreement, authRSA, false, cipherDES, crypto.SHA1},
	{SSL_RSA_WITH_3DES_EDE_CBC_SHA, "SSL_RSA_WITH_3DES_EDE_CBC_SHA", newRSAKeyAgreement, authRSA, false, cipher3DES, crypto.SHA1},
	{SSL_DH_DSS_EXPORT_WITH_DES40_CBC_SHA, "SSL_DH_DSS_EXPORT_WITH_DES40_CBC_SHA", newFixedDHKeyAgreement, authDSS, true, cipherDES40, crypto.SHA1},
	{SSL_DH_DSS_WITH_DES_CBC_SHA, "SSL_DH_DSS_WITH_DES_CBC_SHA", newFixedDHKeyAgreement, authDSS, false, cipherDES, crypto.SHA1},
	{SSL_DH_DSS_WITH_3DES_EDE_CBC_SHA, "SSL_DH_DSS_WITH_3DES_EDE_CBC_SHA", newFixedDHKeyAgreement, authDSS, false, cipher3DES, crypto.SHA1},
	{SSL_DH_RSA_EXPORT_WITH_DES40_CBC_SHA, "SSL_DH_RSA_EXPORT_WITH_DES40_CBC_SHA", newFixedDHKeyAgreement, authRSA, true, cipherDES40, crypto.SHA1},
	{SSL_DH_RSA_WITH_DES_CBC_SHA, "SSL_DH_RSA_WITH_DES_CBC_SHA", newFixedDHKeyAgreement, authRSA, false, cipherDES, crypto.SHA1},
	{SSL_DH_RSA_WITH_3DES_EDE_CBC_SHA, "SSL_DH_RSA_WITH_3DES_EDE_CBC_SHA", newFixedDHKeyAgreement, authRSA, false, cipher3DES, crypto.SHA1},
	{SSL_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA, "SSL_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA", newDHEKeyAgreement, authDSS, true, cipherDES40, crypto.SHA1},
	{SSL_DHE_DSS_WITH_DES_CBC_SHA, "SSL_DHE_DSS_WITH_DES_CBC_SHA", newDHEKeyAgreement, authDSS, false, cipherDES, crypto.SHA1},
	{SSL_DHE_DSS_WITH_3DES_EDE_CBC_SHA, "SSL_DHE_DSS_WITH_3DES_EDE_CBC_SHA", newDHEKeyAgreement, authDSS, false, cipher3DES, crypto.SHA1},
	{SSL_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA, "SSL_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA", newDHEKeyAgreement, authRSA, true, cipherDES40, crypto.SHA1},
	{SSL_DHE_RSA_WITH_DES_CBC_SHA, "SSL_DHE_RSA_WITH_DES_CBC_SHA", newDHEKeyAgreement, authRSA, false, cipherDES, crypto.SHA1},
	{SSL_DHE_RSA_WITH_3DES_EDE_CBC_SHA, "SSL_DHE_RSA_WITH_3DES_EDE_CBC_SHA", newDHEKeyAgreement, authRSA, false, cipher3DES, crypto.SHA1},
	{SSL_DH_anon_EXPORT_WITH_RC4_40_MD5, "SSL_DH_anon_EXPORT_WITH_RC4_40_MD5", newDHAnonKeyAgreement, authNone, true, cipherRC4_40, crypto.MD5},
	{SSL_DH_anon_WITH_RC4_128_MD5, "SSL_DH_anon_WITH_RC4_128_MD5", newDHAnonKeyAgreement, authNone, false, cipherRC4_128, crypto.MD5},
	// Appendix C omits the '*' on this row although the name and the cipher
	// (DES40) are export grade; we treat it as exportable.
	{SSL_DH_anon_EXPORT_WITH_DES40_CBC_SHA, "SSL_DH_anon_EXPORT_WITH_DES40_CBC_SHA", newDHAnonKeyAgreement, authNone, true, cipherDES40, crypto.SHA1},
	{SSL_DH_anon_WITH_DES_CBC_SHA, "SSL_DH_anon_WITH_DES_CBC_SHA", newDHAnonKeyAgreement, authNone, false, cipherDES, crypto.SHA1},
	{SSL_DH_anon_WITH_3DES_EDE_CBC_SHA, "SSL_DH_anon_WITH_3DES_EDE_CBC_SHA", newDHAnonKeyAgreement, authNone, false, cipher3DES, crypto.SHA1},
	{SSL_FORTEZZA_KEA_WITH_NULL_SHA, "SSL_FORTEZZA_KEA_WITH_NULL_SHA", newFortezzaKeyAgreement, authFortezza, false, cipherNull, crypto.SHA1},
	{SSL_FORTEZZA_KEA_WITH_FORTEZZA_CBC_SHA, "SSL_FORTEZZA_KEA_WITH_FORTEZZA_CBC_SHA", newFortezzaKeyAgreement, authFortezza, false, cipherFortezza, crypto.SHA1},
	{SSL_FORTEZZA_KEA_WITH_RC4_128_SHA, "SSL_FORTEZZA_KEA_WITH_RC4_128_SHA", newFortezzaKeyAgreement, authFortezza, false, cipherRC4_128, crypto.SHA1},
}

var signallingNames = map[uint16]string{
	TLS_EMPTY_RENEGOTIATION_INFO_SCSV: "TLS_EMPTY_RENEGOTIATION_INFO_SCSV",
	TLS_FALLBACK_SCSV:                 "TLS_FALLBACK_SCSV",
}

func suiteByID(id uint16) *cipherSuite {
	if int(id) < len(cipherSuiteTable) {
		return cipherSuiteTable[id] // the table is indexed by code
	}
	return nil
}

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

// CipherSuiteByName parses an Appendix C name (case-insensitive, with or
// without the SSL_ prefix), an OpenSSL name such as RC4-MD5 or
// EDH-RSA-DES-CBC3-SHA (suite_names.go), or a hex code such as 0x0004.
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
	u := strings.ToUpper(n)
	if !strings.HasPrefix(u, "SSL_") {
		u = "SSL_" + u
	}
	for _, s := range cipherSuiteTable {
		if strings.ToUpper(s.name) == u {
			return s.id, nil
		}
	}
	return 0, fmt.Errorf("ssl: unknown cipher suite %q", name)
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
}

// CipherSuites returns the whole Appendix C table.
func CipherSuites() []CipherSuiteInfo {
	out := make([]CipherSuiteInfo, 0, len(cipherSuiteTable))
	for _, s := range cipherSuiteTable {
		out = append(out, CipherSuiteInfo{s.id, s.name, s.exportable, s.anonymous(), s.cipher == cipherNull, s.implemented()})
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

// defaultPreference orders the strong suites: forward secrecy first, then
// 3DES, then RC4. Single DES (56 bits), export, anonymous and NULL suites are
// never on by default.
var defaultPreference = []uint16{
	SSL_DHE_RSA_WITH_3DES_EDE_CBC_SHA,
	SSL_DHE_DSS_WITH_3DES_EDE_CBC_SHA,
	SSL_RSA_WITH_3DES_EDE_CBC_SHA,
	SSL_RSA_WITH_IDEA_CBC_SHA,
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
