// Package legacytest holds the fixtures the ssl and x509legacy tests
// share: fixed DSA domain parameters of the three sizes the engine signs
// with, fresh DSA keys in them, and keys of exact sizes for the peer-key
// bounds. It imports nothing of the project, so the package-internal
// tests of ssl and x509legacy use it alike (internal/ssltest imports
// both and cannot serve them).
package legacytest

import (
	"crypto/dsa"
	"crypto/rand"
	"math/big"
	"testing"
)

// HexInt parses a hexadecimal constant of a test, panicking on a typo.
func HexInt(s string) *big.Int {
	n, ok := new(big.Int).SetString(s, 16)
	if !ok {
		panic("legacytest: bad hex: " + s)
	}
	return n
}

// Fixed DSA domain parameters, so that the tests need not spend seconds
// generating primes; keys are still generated per run. TestParameters
// checks them. The 1024/160 group doubles as an X9.42 DH group.
var (
	// DSA1024 is 1024/160, made once with dsa.GenerateParameters.
	DSA1024 = dsa.Parameters{
		P: HexInt("f593dda9f52235574497cb580fb99d76956c6463d06aba961ea7905957512f90599b428baf21799e5d65b25603c73f17d6ce118d04449181faf7cb0be3a5f782033153df98f34df58991bab64dba5691aa4dce33df27985597b70ce4f4880ca13a9c48cfb33d15bce8fe9227378fa0643681d177b5303d59915a19e6e2cc68df"),
		Q: HexInt("9fb4740e0c03a0455f71aa4f6afdc786f814a06d"),
		G: HexInt("ead4447cd01ece51ac07a814f76a22058127e2db24520df1d264087858444f1382ff6bcb69699aba7acf0ad4905104a3ac743a66c7bb379c84a1ccb731b6be81dcc8202a689638b9d9e309088033f27799157ec1a6cfd839d3e3d4021e63655029959518924af5b0de6834ce5b75ed10a84e2382e4e6a2db8a1908a5c0948b1b"),
	}
	// DSA2048Q224 is 2048/224, made once with `openssl genpkey -genparam
	// -algorithm DSA -pkeyopt dsa_paramgen_bits:2048 -pkeyopt
	// dsa_paramgen_q_bits:224`.
	DSA2048Q224 = dsa.Parameters{
		P: HexInt("" +
			"8a7fcfe608c3575e21370357a42a8c84990f3c0d56a1b507a933cf72aa8693ab" +
			"fa277840a7b0e01e748b8f82221c0c3614ee8c4068933b0a98ec780a38d2f78d" +
			"0b949b23b77904e326ee85aa1ff069c634591f2bbfd5bdeb2fc64d0684711b62" +
			"b8081f80daa411641b1fb93b122f6c1484cc15e7f7d2981dfc2a7617615dee43" +
			"cf1536132713e9c183afe086698eda6aeab98903291cd68c59eb5aecb01889bc" +
			"e7ef5bd750324a28bc005aaae77f28d749db80da9c6c15bf53fd63cca27773a3" +
			"f32d1738eed78b306146820b35101c602cd2b8100f0a11ebcdf1db34346ea709" +
			"c423b8c1e74a9b75a9ea0ec89067b79d2c422e24f10b160edc3a6daa6d6f3591"),
		Q: HexInt("" +
			"eb64b4eb80e4036875e2d92063901318b9984d799ce2c0495968acbf"),
		G: HexInt("" +
			"dc21e962d76f6f559372a2fd7e00727450697a34d8332d8fb62b47e6290d79a2" +
			"03185c93406fe5dbafaecfc5acbcc718e5f40794561525029088b9ec217814d7" +
			"01aa19ff211508b19264ed0dca65e610a228f8de4741e7f677f579c2ff8da6c5" +
			"1f9f1fb1a1ea226e7445761ba8ca41c68703c3e578dc9d5144be0f2452aace39" +
			"bf9b5b05f4fdb27bad2ebf2f9c1c24be21d88eb472931395e93fc415931c3ad8" +
			"9d7fd63f12f7ade116563f9f5deab24308a5b608382f3dcc1eb6320d4055fe36" +
			"061925e5303b31a61f1da65b812bfdd88ecadf8981b97d567d463ac87c74707a" +
			"ca0a31a40400cbc478528d8675012dfebd476d2cff0c56ca8e9d3dbdca2f1e9"),
	}
	// DSA2048Q256 is 2048/256, made once with dsa.GenerateParameters.
	DSA2048Q256 = dsa.Parameters{
		P: HexInt("8e818bf064dad99784c5b5dcccbc77dfb87cd60ce0712e5dd07c03e77e438516cbf1754c1d2191e1002b8fd1127ee2286aced7d69fd513d7a87fa75790a0ced57b8cefa5a9d8769b692119962e29253158d4af036f1291e46f35d0a574d2bdb9a555080857904512527503fa8aed2c08a0cd40b184df193a525006dc6e5c4807ee38c99af2c0c9ea421fcd68acaa8deb5df618fa2afaca17cf01755af4a9f9dc904df9a80c003f9d4b506c7603bd74e71d26e886c8dc17b5ad271a9724b714225acef71eb701b776bcb0e27d8df2751da38a085aaa483f31e591d8870cc54ed3dd42a3054f2edc0c8cc3100a576b79297ce32c34a4e61f1ea001fb4692151e41"),
		Q: HexInt("fc98428693291be15394f8fe8cdf8adb8f0eaa0870b5e9d0d830fdfa8afa4e75"),
		G: HexInt("4bfc333a7d60d5cd0c23e368b1181cced4f0ad8e1f9f36b08381e30a218bc40115071ea410ad77617092f5f454f473419d5819033ab3a810c5426e31fdbfa590759db4f90575030552fa8d2fc6d1d53e9092291088b0dc85275b7199046e9fcc016eb58fe029eb6ed3b750df616efa9f6f0b6b71a53970e04c41f19cdbeb31ece70888a59e54e16bdb30e4f7cbc352e5ec347bdc4f090ba217391fdd9982cdf1d15dde7c3925614d233f5b3596c270aa838fd6f3c1d4a57cfd73542a18837aa682335d74821da962e153facd845b4141ffe39094ad49bc0525b765eb3cb1e6db4e8655732537d2e09210679c83b540ba6e7db5ea69d03230e122e8a402a29ac2"),
	}
)

// NewDSAKey generates a DSA key in params.
func NewDSAKey(t testing.TB, params dsa.Parameters) *dsa.PrivateKey {
	t.Helper()
	priv := &dsa.PrivateKey{PublicKey: dsa.PublicKey{Parameters: params}}
	if err := dsa.GenerateKey(priv, rand.Reader); err != nil {
		t.Fatal(err)
	}
	return priv
}

// OddBits returns a random odd number of exactly bits bits: a "prime" or
// modulus of that size no one can compute with cheaply, made without prime
// generation.
func OddBits(t testing.TB, bits int) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), uint(bits-1)))
	if err != nil {
		t.Fatal(err)
	}
	n.SetBit(n, bits-1, 1)
	return n.SetBit(n, 0, 1)
}

// SizedDSAKey is a DSA public key with a pBits-bit p and a qBits-bit q
// made by OddBits, g = 2 and y = 3: what the peer-key bounds look at,
// without the seconds of prime generation (crypto/dsa takes any q whose
// length is a multiple of 8; with a long q each verification
// exponentiates with exponents as long).
func SizedDSAKey(t testing.TB, pBits, qBits int) *dsa.PublicKey {
	t.Helper()
	return &dsa.PublicKey{Parameters: dsa.Parameters{P: OddBits(t, pBits), Q: OddBits(t, qBits), G: big.NewInt(2)}, Y: big.NewInt(3)}
}
