package ssl

import (
	crand "crypto/rand"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"sync"

	"github.com/tokenssl/tokenssl/internal/ctexp"
	"github.com/tokenssl/tokenssl/token"
	"github.com/tokenssl/tokenssl/x509legacy"
)

// Finite-field Diffie-Hellman for the DH, DHE and DH_anon key exchanges:
// the built-in groups, the server's group choice, short private exponents,
// and the checks applied to a peer's group and public value.
//
// # Built-in groups
//
// Config.DHParameters defaults to RFC 3526 group 14 (2048-bit MODP). The
// other candidate, RFC 2409 Oakley group 2 (1024 bits), is the single most
// shared 1024-bit prime on the Internet, and exactly the kind of group the
// Logjam paper (Adrian et al., CCS 2015) showed to be within reach of a
// one-off precomputation that then breaks every exchange in it; the SSL 3.0
// peers we interoperate with (OpenSSL, NSS, GnuTLS, Java 8+) accept 2048-bit
// groups. Old peers limited to 1024 bits (Java 7 and earlier) can be served
// by setting Config.DHParameters = RFC2409Group2(). The client's default
// floor (MinDHBits) stays 1024 so that such servers remain reachable.
//
// Config.ExportDHParameters defaults to a 512-bit safe prime generated once
// for this package (see exportGroup512), since the _EXPORT suites are
// limited to 512-bit groups (Appendix C). Every 512-bit group is weak.
//
// # Alerts
//
// One mapping for every Diffie-Hellman (and RSA_EXPORT) check, on both
// sides:
//
//   - a malformed encoding (bad vector lengths, trailing bytes, an implicit
//     or explicit client public value that does not match the client's
//     certificate): illegal_parameter;
//   - a value out of range (p even, g outside (1, p-1), a public value
//     outside (1, p-1) or outside the order-q subgroup when q is known, an
//     even RSA modulus): illegal_parameter — the peer sent something
//     invalid;
//   - a well-formed group we refuse by policy (smaller than MinDHBits, over
//     512 bits on an export suite, over x509legacy.MaxDHPrimeBits, a temporary RSA key
//     over 512 bits, a client DH certificate in another group):
//     handshake_failure — SSL 3.0 has no insufficient_security;
//   - a ServerKeyExchange signature that does not verify: handshake_failure
//     (SSL 3.0 has no decrypt_error);
//   - a server certificate whose key does not fit the suite:
//     unsupported_certificate.

// rfc3526Group14 is the 2048-bit MODP group of RFC 3526 §3, generator 2.
var rfc3526Group14 = mustHexInt("" +
	"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74" +
	"020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437" +
	"4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED" +
	"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05" +
	"98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB" +
	"9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B" +
	"E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718" +
	"3995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF")

// rfc2409Group2 is the 1024-bit MODP group ("Oakley group 2") of RFC 2409
// §6.2, generator 2.
var rfc2409Group2 = mustHexInt("" +
	"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74" +
	"020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437" +
	"4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED" +
	"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF")

// exportGroup512 is a 512-bit safe prime p = 2q+1 with p ≡ 7 (mod 8), so
// that the generator 2 is a quadratic residue and generates the subgroup of
// prime order q. It was generated once for this package with:
//
//	for {
//		q, _ := rand.Prime(rand.Reader, 511)
//		if q.Bit(0) != 1 || q.Bit(1) != 1 { // q ≡ 3 (mod 4)
//			continue
//		}
//		p := new(big.Int).Add(new(big.Int).Lsh(q, 1), big.NewInt(1))
//		if p.BitLen() == 512 && p.ProbablyPrime(64) {
//			fmt.Printf("%x\n", p)
//			return
//		}
//	}
//
// and cross-checked with `openssl prime` (p and q both prime);
// TestBuiltinGroups re-checks it. A fresh prime rather than a published
// one: a precomputation against a shared 512-bit group (Logjam) then
// covers only this package.
var exportGroup512 = mustHexInt("" +
	"FC3BE1877C989E93DB9150C78F503E89BCCD23EF650CFC9D6D482CDE73060050" +
	"683EA253CFE02E34BE32E85C3A63599D43A812CC0AA4C7DF29A85A1A4EFECA87")

func mustHexInt(s string) *big.Int {
	n, ok := new(big.Int).SetString(s, 16)
	if !ok {
		panic("ssl: bad built-in group")
	}
	return n
}

// safePrimeGroup returns a fresh copy of the group (p, 2) with q = (p-1)/2.
func safePrimeGroup(p *big.Int) *token.DHParams {
	return &token.DHParams{P: new(big.Int).Set(p), G: big.NewInt(2), Q: new(big.Int).Rsh(p, 1)}
}

// RFC3526Group14 returns the 2048-bit MODP group of RFC 3526 (the default
// Config.DHParameters).
func RFC3526Group14() *token.DHParams { return safePrimeGroup(rfc3526Group14) }

// RFC2409Group2 returns the 1024-bit MODP group of RFC 2409 ("Oakley group
// 2"), for peers that cannot use more than 1024 bits.
func RFC2409Group2() *token.DHParams { return safePrimeGroup(rfc2409Group2) }

// ExportDHGroup512 returns the built-in 512-bit group of the _EXPORT
// suites (the default Config.ExportDHParameters).
func ExportDHGroup512() *token.DHParams { return safePrimeGroup(exportGroup512) }

var (
	defaultDHGroup     = RFC3526Group14()
	defaultExportGroup = ExportDHGroup512()
)

const (
	// defaultMinDHBits is the client's floor outside export suites.
	defaultMinDHBits = 1024
	// exportDHBits is the export limit on Diffie-Hellman groups
	// (Appendix C: "DH = 512 bits").
	exportDHBits = 512
)

// serverDHGroup returns the group a server uses for an ephemeral exchange.
func (c *Config) serverDHGroup(export bool) (*token.DHParams, error) {
	g := c.DHParameters
	if export {
		g = c.ExportDHParameters
	}
	if g == nil {
		if export {
			return defaultExportGroup, nil
		}
		return defaultDHGroup, nil
	}
	if _, err := checkDHGroup(g.P, g.G); err != nil {
		return nil, fmt.Errorf("configured DH parameters: %w", err)
	}
	if export && g.P.BitLen() > exportDHBits {
		return nil, fmt.Errorf("ExportDHParameters has a %d-bit prime; export suites allow at most %d", g.P.BitLen(), exportDHBits)
	}
	return g, nil
}

// minDHBits is the smallest group a client accepts outside export suites.
func (c *Config) minDHBits() int {
	if c.MinDHBits > 0 {
		return c.MinDHBits
	}
	return defaultMinDHBits
}

// dhExponentBits is the length of our private exponents in a group with a
// p-bit prime: about twice the group's security level (NIST SP 800-57),
// which is what a short exponent needs against Pollard's lambda method,
// and far cheaper than a full-length one.
func dhExponentBits(pBits int) int {
	switch {
	case pBits < 1024:
		return 160
	case pBits <= 3072:
		return 256
	case pBits < 7680:
		return 384
	}
	return 512
}

// dhExponentLimit is the bound our private exponents in group are drawn
// below: 2^n with n = dhExponentBits (at most p's length less one), or q
// when the group's subgroup order q is known and shorter than that (then
// it is group.Q itself, not a copy).
func dhExponentLimit(group *token.DHParams) *big.Int {
	bits := dhExponentLimitBits(group)
	if group.Q != nil && group.Q.BitLen() == bits {
		return group.Q
	}
	return new(big.Int).Lsh(big.NewInt(1), uint(bits))
}

// dhExponentLimitBits is the bit length every exponent below
// dhExponentLimit fits in (q's when q is the limit): public, so the
// exponent can be padded to it.
func dhExponentLimitBits(group *token.DHParams) int {
	bits := min(dhExponentBits(group.P.BitLen()), group.P.BitLen()-1)
	if group.Q != nil && group.Q.BitLen() <= bits {
		return group.Q.BitLen()
	}
	return bits
}

// dhExp returns base^x mod p for one of our ephemeral exponents x in group,
// in time that does not depend on x: the exponent is padded to
// dhExponentLimitBits (internal/ctexp).
func dhExp(base, x *big.Int, group *token.DHParams) *big.Int {
	return ctexp.Exp(base, x, group.P, dhExponentLimitBits(group))
}

// generateDHKey returns a private exponent x and the public value g^x mod p.
// x is uniform in [2, dhExponentLimit).
func generateDHKey(rand io.Reader, group *token.DHParams) (x, y *big.Int, err error) {
	limit := dhExponentLimit(group)
	two := big.NewInt(2)
	if limit.Cmp(big.NewInt(3)) < 0 {
		return nil, nil, errors.New("ssl: DH group too small")
	}
	// x = 2 + uniform[0, limit-2)
	x, err = crand.Int(rand, new(big.Int).Sub(limit, two))
	if err != nil {
		return nil, nil, err
	}
	x.Add(x, two)
	return x, dhExp(group.G, x, group), nil
}

// checkDHGroup checks the form of a group (not its size): p odd and at
// least 5, 1 < g < p-1. It returns the alert to send on failure.
func checkDHGroup(p, g *big.Int) (alert, error) {
	if p == nil || g == nil || p.Sign() <= 0 || p.Bit(0) == 0 || p.Cmp(big.NewInt(5)) < 0 {
		return alertIllegalParameter, errors.New("DH prime is even or too small")
	}
	pMinus1 := new(big.Int).Sub(p, big.NewInt(1))
	if g.Cmp(big.NewInt(1)) <= 0 || g.Cmp(pMinus1) >= 0 {
		return alertIllegalParameter, errors.New("DH generator out of range")
	}
	return 0, nil
}

// checkDHGroupSize applies the size policy to a group received from a
// server: at most x509legacy.MaxDHPrimeBits bits; on an export suite at most 512 bits
// and at least min(MinDHBits, 512); otherwise at least MinDHBits.
func checkDHGroupSize(p *big.Int, export bool, minBits int) (alert, error) {
	bits := p.BitLen()
	floor := minBits
	if export {
		if bits > exportDHBits {
			return alertHandshakeFailure, fmt.Errorf("%d-bit DH group on an export suite (limit %d)", bits, exportDHBits)
		}
		floor = min(minBits, exportDHBits)
	}
	if bits < floor {
		return alertHandshakeFailure, fmt.Errorf("%d-bit DH group is below the minimum of %d", bits, floor)
	}
	if bits > x509legacy.MaxDHPrimeBits {
		return alertHandshakeFailure, fmt.Errorf("%d-bit DH group exceeds %d bits", bits, x509legacy.MaxDHPrimeBits)
	}
	return 0, nil
}

// checkDHPublic checks a peer's public value: 1 < y < p-1 and, when the
// subgroup order q is known and p is not a safe prime, y^q = 1 mod p (the
// small-subgroup check that protects a static key, cheap because q is then
// short). For a safe prime the range check leaves only the subgroups of
// order q and 2q, which leak at most one bit.
func checkDHPublic(y *big.Int, group *token.DHParams) (alert, error) {
	one := big.NewInt(1)
	if y == nil || y.Cmp(one) <= 0 || y.Cmp(new(big.Int).Sub(group.P, one)) >= 0 {
		return alertIllegalParameter, errors.New("DH public value out of range")
	}
	if q := group.Q; q != nil && q.BitLen() < group.P.BitLen()-1 {
		if new(big.Int).Exp(y, q, group.P).Cmp(one) != 0 {
			return alertIllegalParameter, errors.New("DH public value is not in the prime-order subgroup")
		}
	}
	return 0, nil
}

// checkStaticDHPublic checks a peer's public value that meets one of our
// static DH keys (a fixed-DH certificate's): the range, then y^q = 1 mod p
// always, so that no value of small order can reveal x mod a small factor
// of p-1 (the small-subgroup attack). group.Q must be known (staticDHGroup).
// For a safe prime, q = (p-1)/2 and y^q = 1 exactly when y is a quadratic
// residue, which the Jacobi symbol decides without an exponentiation. The
// decision uses public values only; a failure is illegal_parameter.
func checkStaticDHPublic(y *big.Int, group *token.DHParams) (alert, error) {
	if a, err := checkDHPublic(y, group); err != nil {
		return a, err
	}
	q := group.Q
	if q == nil {
		return alertHandshakeFailure, errors.New("internal error: static DH key without a subgroup order")
	}
	var in bool
	switch {
	case q.BitLen() < group.P.BitLen()-1:
		return 0, nil // checkDHPublic has checked y^q = 1
	case new(big.Int).Rsh(group.P, 1).Cmp(q) == 0:
		in = big.Jacobi(y, group.P) == 1
	default:
		in = new(big.Int).Exp(y, q, group.P).Cmp(big.NewInt(1)) == 0
	}
	if !in {
		return alertIllegalParameter, errors.New("DH public value is not in the prime-order subgroup")
	}
	return 0, nil
}

// safePrimes remembers which primes of our own static DH keys are safe
// primes ((p-1)/2 prime): the test runs once per prime (the keys come from
// our configuration, so the map stays small).
var safePrimes sync.Map // string(p.Bytes()) -> bool

func isSafePrime(p *big.Int) bool {
	k := string(p.Bytes())
	if v, ok := safePrimes.Load(k); ok {
		return v.(bool)
	}
	ok := p.ProbablyPrime(20) && new(big.Int).Rsh(p, 1).ProbablyPrime(20)
	safePrimes.Store(k, ok)
	return ok
}

// staticDHGroup returns the group of a static DH key (P, G) with its
// subgroup order: certQ (an X9.42 certificate's q), else keyQ (the key's
// own, e.g. a software key), else (p-1)/2 when p is a safe prime. Without
// any, nil: such a key is not used (docs/ssl3.md, "Peer keys"), since no
// peer value could be checked against small subgroups.
func staticDHGroup(group token.DHParams, certQ, keyQ *big.Int) *token.DHParams {
	q := certQ
	if q == nil {
		q = keyQ
	}
	if q == nil && isSafePrime(group.P) {
		q = new(big.Int).Rsh(group.P, 1)
	}
	if q == nil || q.Sign() <= 0 || q.Cmp(group.P) >= 0 {
		return nil
	}
	return &token.DHParams{P: group.P, G: group.G, Q: q}
}

// sameDHGroup reports whether two groups have the same p and g.
func sameDHGroup(a, b *token.DHParams) bool {
	return a != nil && b != nil && a.P.Cmp(b.P) == 0 && a.G.Cmp(b.G) == 0
}

// ParseDHParametersPEM reads a "DH PARAMETERS" PEM block (PKCS #3
// DHParameter, as `openssl dhparam` writes): the group for
// Config.DHParameters. The prime is checked for size and oddness, not for
// primality (that is the operator's tool's job).
func ParseDHParametersPEM(data []byte) (*token.DHParams, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errors.New("ssl: no DH PARAMETERS block")
		}
		if block.Type != "DH PARAMETERS" {
			continue
		}
		var params struct {
			P, G *big.Int
			Rest asn1.RawValue `asn1:"optional"`
		}
		if rest, err := asn1.Unmarshal(block.Bytes, &params); err != nil || len(rest) != 0 || params.P == nil || params.G == nil {
			return nil, errors.New("ssl: malformed DH PARAMETERS")
		}
		if _, err := checkDHGroup(params.P, params.G); err != nil {
			return nil, err
		}
		if params.P.BitLen() < 1024 {
			return nil, fmt.Errorf("ssl: DH group of %d bits is too small (1024 at least)", params.P.BitLen())
		}
		return &token.DHParams{P: params.P, G: params.G}, nil
	}
}
