package ssl

import (
	"bytes"
	"crypto/dsa"
	"crypto/sha1"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/big"

	"golang.org/x/crypto/cryptobyte"

	"github.com/tokenssl/tokenssl/kea"
	"github.com/tokenssl/tokenssl/token"
	"github.com/tokenssl/tokenssl/x509legacy"
)

// The fortezza_kea key exchange (docs/fortezza.md §4): KEA between the two
// parties' cards gives a TEK; the client sends its ephemeral R_c, two fresh
// MEKs wrapped under the TEK, three 24-byte IVs and the pre-master secret
// encrypted under the TEK. Every card operation goes through
// token.FortezzaCard, found in Certificate.PrivateKey. For
// FORTEZZA_KEA_WITH_FORTEZZA_CBC_SHA the record ciphers are the MEKs on the
// cards (keyAgreement.recordCiphers); the other two suites take their MAC secrets
// (and RC4 keys) from the key_block as usual.
//
// Resumption: option 1 of Appendix D.5.3 for FORTEZZA_CBC — never resumed
// (cipherSuite.resumable), because its record keys live on the card and
// cannot be re-derived from the master secret. 0x001C and 0x001E resume
// like any other suite: their keys all come from the master secret.

// FortezzaKeys sizes (docs/fortezza.md §4.5; y_signature is 40 bytes, the
// November 1996 text).
const (
	fortezzaValueLen   = kea.ValueSize // r_c, r_s, y_c at most
	fortezzaYSigLen    = 40
	fortezzaWrappedLen = 12
	fortezzaIVLen      = 24
	fortezzaPMSLen     = 48
	// fortezzaFixedLen is everything after y_c: 312 bytes.
	fortezzaFixedLen = fortezzaValueLen + fortezzaYSigLen + 2*fortezzaWrappedLen + 3*fortezzaIVLen + fortezzaPMSLen
)

// fortezzaKeys is the FortezzaKeys ClientKeyExchange body:
//
//	opaque y_c<0..128>;
//	opaque r_c[128];
//	opaque y_signature[40];
//	opaque wrapped_client_write_key[12];
//	opaque wrapped_server_write_key[12];
//	opaque client_write_iv[24];
//	opaque server_write_iv[24];
//	opaque master_secret_iv[24];
//	block-ciphered opaque encrypted_pre_master_secret[48];
type fortezzaKeys struct {
	yc, rc, ySignature                 []byte
	wrappedClientKey, wrappedServerKey []byte
	clientIV, serverIV, masterIV       []byte
	encryptedPreMaster                 []byte
}

func (k *fortezzaKeys) marshal() ([]byte, error) {
	var b cryptobyte.Builder
	addVec8(&b, "FortezzaKeys.y_c", k.yc, 0, fortezzaValueLen)
	addFixed(&b, "FortezzaKeys.r_c", k.rc, fortezzaValueLen)
	addFixed(&b, "FortezzaKeys.y_signature", k.ySignature, fortezzaYSigLen)
	addFixed(&b, "FortezzaKeys.wrapped_client_write_key", k.wrappedClientKey, fortezzaWrappedLen)
	addFixed(&b, "FortezzaKeys.wrapped_server_write_key", k.wrappedServerKey, fortezzaWrappedLen)
	addFixed(&b, "FortezzaKeys.client_write_iv", k.clientIV, fortezzaIVLen)
	addFixed(&b, "FortezzaKeys.server_write_iv", k.serverIV, fortezzaIVLen)
	addFixed(&b, "FortezzaKeys.master_secret_iv", k.masterIV, fortezzaIVLen)
	addFixed(&b, "FortezzaKeys.encrypted_pre_master_secret", k.encryptedPreMaster, fortezzaPMSLen)
	return b.Bytes()
}

// parseFortezzaKeys parses exactly one FortezzaKeys body (1 + len(y_c) +
// 312 bytes); the fields alias body.
func parseFortezzaKeys(body []byte) (*fortezzaKeys, bool) {
	s := cryptobyte.String(body)
	k := &fortezzaKeys{}
	if !readVec8(&s, &k.yc, 0, fortezzaValueLen) || len(s) != fortezzaFixedLen {
		return nil, false
	}
	for _, f := range []struct {
		dst *[]byte
		n   int
	}{
		{&k.rc, fortezzaValueLen}, {&k.ySignature, fortezzaYSigLen},
		{&k.wrappedClientKey, fortezzaWrappedLen}, {&k.wrappedServerKey, fortezzaWrappedLen},
		{&k.clientIV, fortezzaIVLen}, {&k.serverIV, fortezzaIVLen}, {&k.masterIV, fortezzaIVLen},
		{&k.encryptedPreMaster, fortezzaPMSLen},
	} {
		if !s.ReadBytes(f.dst, f.n) {
			return nil, false
		}
	}
	return k, s.Empty()
}

// fortezzaKeyAgreement is one side of one fortezza_kea exchange.
type fortezzaKeyAgreement struct {
	kexDefaults // takes no fixed-DH client certificate
	suite       *cipherSuite
	card        token.FortezzaCard

	// server
	rs token.FortezzaRandom

	// client
	serverY    *big.Int
	rsBytes    []byte
	clientAuth *Certificate // our certificate, if we sent one

	// both: MEKs and IVs of FORTEZZA_CBC
	clientMEK, serverMEK token.FortezzaKey
	clientIV, serverIV   []byte
	clientEnc            token.FortezzaCBC // client: encryption started for client_write_iv

	keys []token.FortezzaKey // every key this exchange made, destroyed by release
}

func newFortezzaKeyAgreement(s *cipherSuite) keyAgreement { return &fortezzaKeyAgreement{suite: s} }

// traits: clients authenticate with a card's certificate, whose KEA key
// the exchange itself proves (y_c, or the KEA certificate: §4.7).
func (*fortezzaKeyAgreement) traits() kexTraits {
	return kexTraits{clientCertTypes: []byte{certTypeFortezzaDMS}, checksClientKey: true}
}

func (ka *fortezzaKeyAgreement) track(k token.FortezzaKey) token.FortezzaKey {
	ka.keys = append(ka.keys, k)
	return k
}

// release destroys the TEK, the MEKs and the ephemeral r_s, and closes any
// cipher not handed to the record layer. Cipher streams already handed over
// keep what they need on their own.
func (ka *fortezzaKeyAgreement) release() {
	for _, k := range ka.keys {
		k.Destroy()
	}
	ka.keys = nil
	if ka.rs != nil {
		ka.rs.Destroy()
		ka.rs = nil
	}
	if ka.clientEnc != nil {
		ka.clientEnc.Close()
		ka.clientEnc = nil
	}
}

// certificateFits: the server needs a card and its KEA certificate as the
// leaf.
func (*fortezzaKeyAgreement) certificateFits(cert *Certificate) bool {
	card := fortezzaCard(cert)
	if card == nil || len(cert.Certificate) == 0 {
		return false
	}
	kc, err := x509legacy.ParseKEACertificate(cert.Certificate[0])
	if err != nil {
		return false
	}
	pub := card.KEAPublicKey()
	return pub != nil && kc.Y.Cmp(pub.Y) == 0
}

// --- server side ---

func (ka *fortezzaKeyAgreement) generateServerKeyExchange(_ *Config, cert *Certificate, _ *clientHelloMsg, _ *serverHelloMsg) (*serverKeyExchangeMsg, error) {
	ka.card = fortezzaCard(cert)
	if ka.card == nil {
		return nil, errors.New("ssl: certificate key is not a Fortezza card")
	}
	rs, err := ka.card.ResponderRandom()
	if err != nil {
		return nil, fmt.Errorf("ssl: Fortezza card: %w", err)
	}
	ka.rs = rs
	r := rs.R()
	if len(r) != fortezzaValueLen {
		return nil, fmt.Errorf("ssl: Fortezza card returned a %d-byte r_s", len(r))
	}
	// ServerFortezzaParams: opaque r_s[128], unsigned.
	return &serverKeyExchangeMsg{key: r}, nil
}

func (ka *fortezzaKeyAgreement) processClientKeyExchange(_ *Config, cert *Certificate, _ *clientHelloMsg, clientLeaf *x509.Certificate, ckx *clientKeyExchangeMsg) ([]byte, error) {
	illegal := func(format string, args ...any) error {
		return withAlert(alertIllegalParameter, fmt.Errorf("FortezzaKeys: "+format, args...))
	}
	if ka.card == nil || ka.rs == nil {
		return nil, withAlert(alertHandshakeFailure, errors.New("internal error: no Fortezza ServerKeyExchange state"))
	}
	fk, ok := parseFortezzaKeys(ckx.ciphertext)
	if !ok {
		return nil, illegal("malformed message (%d bytes, want 1 + len(y_c) + %d)", len(ckx.ciphertext), fortezzaFixedLen)
	}
	params := &ka.card.KEAPublicKey().Params

	// The client's static KEA key (§4.7 step 2).
	var yc *big.Int
	if leaf := clientLeaf; leaf != nil {
		switch pub := leaf.PublicKey.(type) {
		case *dsa.PublicKey:
			// A DSS certificate: y_c travels in the message, signed by it.
			if len(fk.yc) == 0 {
				return nil, illegal("client authenticated with a DSS certificate but sent no y_c")
			}
			if err := verifyFortezzaYSignature(pub, fk.yc, fk.ySignature); err != nil {
				return nil, illegal("y_signature: %v", err)
			}
		default:
			kc, err := x509legacy.ParseKEACertificate(leaf.Raw)
			if err != nil {
				return nil, withAlert(alertUnsupportedCertificate, fmt.Errorf("client certificate carries neither a DSS nor a KEA key: %v", err))
			}
			if len(fk.yc) != 0 {
				return nil, illegal("y_c sent although the client certificate carries the KEA key")
			}
			kp, err := kea.CertificatePublicKey(kc.KEA, params)
			if err != nil {
				return nil, illegal("client KEA certificate: %v", err)
			}
			yc = kp.Y
		}
	} else if len(fk.yc) == 0 {
		return nil, illegal("no client certificate and no y_c")
	}
	if yc == nil {
		yc = new(big.Int).SetBytes(fk.yc)
	}
	if err := kea.CheckPublic(params, yc); err != nil {
		return nil, illegal("y_c: %v", err)
	}
	rc := new(big.Int).SetBytes(fk.rc)
	if err := kea.CheckPublic(params, rc); err != nil {
		return nil, illegal("r_c: %v", err)
	}

	tek, err := ka.card.DeriveTEKAsRecipient(ka.rs, yc, fk.rc)
	ka.rs.Destroy()
	ka.rs = nil
	if err != nil {
		if errors.Is(err, token.ErrFortezzaPeer) {
			return nil, illegal("KEA: %v", err)
		}
		return nil, withAlert(alertHandshakeFailure, fmt.Errorf("Fortezza card: KEA derive: %w", err))
	}
	ka.track(tek)

	if ka.suite.cipher == cipherFortezza {
		// §4.7 step 4: the MEKs the client made, unwrapped under the TEK
		// (the checksum catches a tampered or mis-keyed wrapped key).
		for _, w := range []struct {
			wrapped []byte
			dst     *token.FortezzaKey
			name    string
		}{{fk.wrappedClientKey, &ka.clientMEK, "client"}, {fk.wrappedServerKey, &ka.serverMEK, "server"}} {
			k, err := ka.card.UnwrapKey(tek, w.wrapped)
			if err != nil {
				if errors.Is(err, token.ErrFortezzaChecksum) {
					return nil, illegal("wrapped_%s_write_key: %v", w.name, err)
				}
				return nil, withAlert(alertHandshakeFailure, fmt.Errorf("Fortezza card: unwrap: %w", err))
			}
			*w.dst = ka.track(k)
		}
		ka.clientIV = bytes.Clone(fk.clientIV)
		ka.serverIV = bytes.Clone(fk.serverIV)
	}

	preMaster, err := ka.card.Decrypt(tek, fk.masterIV, fk.encryptedPreMaster)
	if err != nil || len(preMaster) != fortezzaPMSLen {
		return nil, withAlert(alertHandshakeFailure, fmt.Errorf("Fortezza card: decrypting the pre-master secret: %v", err))
	}
	// The PMS version bytes are not checked: the spec calls for 48 random
	// bytes, and NSS's 03 00 is a convention, not a requirement
	// (docs/fortezza.md §4.5). A tampered PMS fails at Finished.
	return preMaster, nil
}

// --- client side ---

func (ka *fortezzaKeyAgreement) processServerKeyExchange(config *Config, _ *clientHelloMsg, _ *serverHelloMsg, cert *x509.Certificate, skx *serverKeyExchangeMsg) error {
	if cert == nil {
		return withAlert(alertHandshakeFailure, errors.New("Fortezza ServerKeyExchange without a server certificate"))
	}
	kc, err := x509legacy.ParseKEACertificate(cert.Raw)
	if err != nil {
		return withAlert(alertUnsupportedCertificate, fmt.Errorf("server certificate for a FORTEZZA_KEA suite: %w", err))
	}
	// Our card must be in the server's KEA group (NSS:
	// SSL_ERROR_FORTEZZA_PQG).
	var mismatch error
	for i := range config.Certificates {
		card := fortezzaCard(&config.Certificates[i])
		if card == nil {
			continue
		}
		pub, err := kea.CertificatePublicKey(kc.KEA, &card.KEAPublicKey().Params)
		if err != nil {
			if mismatch == nil || !errors.Is(err, x509legacy.ErrParamsMismatch) {
				mismatch = err
			}
			continue
		}
		ka.card, ka.serverY = card, pub.Y
		break
	}
	if ka.card == nil {
		if mismatch != nil && !errors.Is(mismatch, x509legacy.ErrParamsMismatch) {
			return withAlert(alertBadCertificate, fmt.Errorf("server KEA key: %w", mismatch))
		}
		return withAlert(alertHandshakeFailure, errors.New("no Fortezza card configured in the server's KEA group"))
	}
	if len(skx.key) != fortezzaValueLen {
		return withAlert(alertIllegalParameter, fmt.Errorf("ServerFortezzaParams: r_s is %d bytes, want %d", len(skx.key), fortezzaValueLen))
	}
	rs := new(big.Int).SetBytes(skx.key)
	if !kea.IsEmailMode(rs) {
		if err := kea.CheckPublic(&ka.card.KEAPublicKey().Params, rs); err != nil {
			return withAlert(alertIllegalParameter, fmt.Errorf("ServerFortezzaParams: r_s: %w", err))
		}
	}
	ka.rsBytes = bytes.Clone(skx.key)
	return nil
}

func (ka *fortezzaKeyAgreement) generateClientKeyExchange(config *Config, ch *clientHelloMsg, _ *x509.Certificate, clientCert *Certificate) ([]byte, *clientKeyExchangeMsg, error) {
	ka.clientAuth = clientCert // y_signature needs it
	if ka.rsBytes == nil || ka.card == nil {
		return nil, nil, withAlert(alertUnexpectedMessage, errors.New("FORTEZZA_KEA server sent no ServerKeyExchange"))
	}
	card := ka.card
	signer := token.FortezzaCard(nil)
	if authCard := fortezzaCard(ka.clientAuth); authCard != nil {
		// The authenticating card signs y_c; use its KEA key as well.
		if !authCard.KEAPublicKey().Params.Equal(&card.KEAPublicKey().Params) {
			return nil, nil, withAlert(alertHandshakeFailure, errors.New("the client certificate's Fortezza card is not in the server's KEA group"))
		}
		card, signer = authCard, authCard
		ka.card = card
	}
	fail := func(what string, err error) ([]byte, *clientKeyExchangeMsg, error) {
		return nil, nil, withAlert(alertHandshakeFailure, fmt.Errorf("Fortezza card: %s: %w", what, err))
	}

	// §4.6, in NSS's order.
	preMaster := make([]byte, fortezzaPMSLen)
	preMaster[0], preMaster[1] = byte(ch.vers>>8), byte(ch.vers)
	if _, err := io.ReadFull(config.rand(), preMaster[2:]); err != nil {
		return nil, nil, err
	}
	tek, rc, err := card.DeriveTEKAsSender(ka.serverY, ka.rsBytes)
	if err != nil {
		if errors.Is(err, token.ErrFortezzaPeer) {
			return nil, nil, withAlert(alertIllegalParameter, fmt.Errorf("server KEA values: %w", err))
		}
		return fail("KEA derive", err)
	}
	ka.track(tek)
	msIV, epms, err := card.Encrypt(tek, preMaster)
	if err != nil {
		return fail("encrypting the pre-master secret", err)
	}
	cMEK, err := card.GenerateMEK()
	if err != nil {
		return fail("generating MEK", err)
	}
	ka.clientMEK = ka.track(cMEK)
	sMEK, err := card.GenerateMEK()
	if err != nil {
		return fail("generating MEK", err)
	}
	ka.serverMEK = ka.track(sMEK)
	// client_write_iv comes from starting the client's encryption;
	// server_write_iv from an encryption started (and dropped) with the
	// server MEK, which the client will load to decrypt (NSS does the same).
	ka.clientEnc, ka.clientIV, err = card.NewEncrypter(cMEK)
	if err != nil {
		return fail("starting encryption", err)
	}
	sEnc, sIV, err := card.NewEncrypter(sMEK)
	if err != nil {
		return fail("starting encryption", err)
	}
	sEnc.Close()
	ka.serverIV = sIV
	wc, err := card.WrapKey(tek, cMEK)
	if err != nil {
		return fail("wrapping MEK", err)
	}
	ws, err := card.WrapKey(tek, sMEK)
	if err != nil {
		return fail("wrapping MEK", err)
	}
	yc, err := kea.EncodeValue(card.KEAPublicKey().Y)
	if err != nil {
		return fail("KEA public key", err)
	}
	ysig := make([]byte, fortezzaYSigLen) // zeros without client authentication (NSS)
	if signer != nil {
		h := sha1.Sum(yc)
		sig, err := signer.SignDSS(h[:])
		if err != nil {
			return fail("signing y_c", err)
		}
		if len(sig) != fortezzaYSigLen {
			return fail("signing y_c", fmt.Errorf("DSS signature is %d bytes, want %d", len(sig), fortezzaYSigLen))
		}
		ysig = sig
	}
	fk := &fortezzaKeys{
		yc: yc, rc: rc, ySignature: ysig,
		wrappedClientKey: wc, wrappedServerKey: ws,
		clientIV: ka.clientIV, serverIV: ka.serverIV, masterIV: msIV,
		encryptedPreMaster: epms,
	}
	body, err := fk.marshal()
	if err != nil {
		return fail("FortezzaKeys", err)
	}
	if ka.suite.cipher != cipherFortezza {
		// NULL and RC4 suites send the MEKs and IVs ("to make old servers
		// happy") but never use them.
		ka.clientEnc.Close()
		ka.clientEnc = nil
	}
	return preMaster, &clientKeyExchangeMsg{ciphertext: body}, nil
}

// recordCiphers, for FORTEZZA_CBC: the
// client encrypts from client_write_iv and decrypts the server's records
// from server_write_iv (its first block is the discarded prefix); the
// server decrypts from client_write_iv and encrypts from a fresh IV of its
// own card (docs/fortezza.md §4.8).
func (ka *fortezzaKeyAgreement) recordCiphers(forClient bool) (write, read any, err error) {
	if ka.card == nil || ka.clientMEK == nil || ka.serverMEK == nil {
		return nil, nil, errors.New("ssl: FORTEZZA_CBC keys missing")
	}
	if forClient {
		if ka.clientEnc == nil {
			return nil, nil, errors.New("ssl: FORTEZZA_CBC client encryption not started")
		}
		dec, err := ka.card.NewDecrypter(ka.serverMEK, ka.serverIV)
		if err != nil {
			return nil, nil, fmt.Errorf("Fortezza card: %w", err)
		}
		enc := ka.clientEnc
		ka.clientEnc = nil
		return enc, dec, nil
	}
	dec, err := ka.card.NewDecrypter(ka.clientMEK, ka.clientIV)
	if err != nil {
		return nil, nil, fmt.Errorf("Fortezza card: %w", err)
	}
	enc, _, err := ka.card.NewEncrypter(ka.serverMEK)
	if err != nil {
		dec.Close()
		return nil, nil, fmt.Errorf("Fortezza card: %w", err)
	}
	return enc, dec, nil
}
