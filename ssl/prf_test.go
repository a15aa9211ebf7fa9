package ssl

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"testing"

	"github.com/tokenssl/tokenssl/internal/ciphertest"
)

// prfSeq returns n bytes start, start+1, ... (mod 256); the known-answer
// inputs below are written with it.
func prfSeq(start byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

func prfCat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// ---- Reference implementation -------------------------------------------
//
// A deliberately naive transcription of the formulas, building every hash
// input as one byte string, to check prf.go against on random inputs.

func refMD5(parts ...[]byte) []byte {
	s := md5.Sum(prfCat(parts...))
	return s[:]
}

func refSHA(parts ...[]byte) []byte {
	s := sha1.Sum(prfCat(parts...))
	return s[:]
}

// refLabel returns 'A', "BB", "CCC", ... for i = 0, 1, 2, ...
func refLabel(i int) []byte { return bytes.Repeat([]byte{'A' + byte(i)}, i+1) }

func refMaster(pms, cr, sr []byte) []byte {
	var out []byte
	for i := 0; i < 3; i++ {
		out = append(out, refMD5(pms, refSHA(refLabel(i), pms, cr, sr))...)
	}
	return out
}

func refKeyBlock(master, cr, sr []byte, n int) []byte {
	var out []byte
	for i := 0; len(out) < n; i++ {
		out = append(out, refMD5(master, refSHA(refLabel(i), master, sr, cr))...)
	}
	return out[:n]
}

func refHandshakeSum(transcript, sender, master []byte) []byte {
	p1md5, p2md5 := bytes.Repeat([]byte{0x36}, 48), bytes.Repeat([]byte{0x5c}, 48)
	p1sha, p2sha := bytes.Repeat([]byte{0x36}, 40), bytes.Repeat([]byte{0x5c}, 40)
	return prfCat(
		refMD5(master, p2md5, refMD5(transcript, sender, master, p1md5)),
		refSHA(master, p2sha, refSHA(transcript, sender, master, p1sha)),
	)
}

// ---- Known answers ------------------------------------------------------
//
// The expected values below were generated with an implementation nobody on
// this project wrote: the SSL 3.0 code in the tls package of
// github.com/zmap/zcrypto v0.0.0-20210617162039-12fab6686964 (prf.go:
// prf30, masterFromPreMasterSecret, keysFromMasterSecret /
// exportKeysFromMasterSecret30, finishedHash.clientSum/serverSum via
// finishedSum30, hashForClientCertificate). A throwaway module added one
// file of exported wrappers to an otherwise unmodified copy of that
// package and printed hex, e.g.
//
//	masterFromPreMasterSecret(VersionSSL30, nil, pms, cr, sr)
//	prf30(out /*176 bytes*/, master, keyExpansionLabel, append(sr, cr...))
//	keysFromMasterSecret(VersionSSL30, suite /*0x0006 etc.*/, master, cr, sr, macLen, keyLen, ivLen)
//	h := newFinishedHash(VersionSSL30, nil); h.Write(msg)...; h.clientSum(master)
//	h.hashForClientCertificate(SigAndHash{Signature: signatureRSA}, master)
//
// zcrypto's prf30 stops at label 'KKKKKKKKKKK' (176 bytes); longer key
// blocks are checked against the reference implementation only.

var (
	katClientRandom = prfSeq(0x00, 32)
	katServerRandom = prfSeq(0x80, 32)
	katPreMaster    = prfCat([]byte{3, 0}, prfSeq(0x40, 46))
)

const (
	// masterFromPreMaster(katPreMaster, katClientRandom, katServerRandom)
	katMaster1 = "7a859a9ec2d2adc96496c42bdc3cc0c2a38bbd7ed353e6143381a9a42b216298db1b5cf04aa003225c620e656e26dc32"
	// masterFromPreMaster(prfSeq(0xf0, 64), prfSeq(0x20, 32), prfSeq(0xa0, 32)):
	// a 64-byte, DH-sized pre-master secret.
	katMaster2 = "fb3bcc5ccf26dc44639c2f3d4833dcdc076dd627e394233e4c0ce3a78c22a1bea15f72311737188964fe21198a157492"
	// keyBlock(katMaster1, katClientRandom, katServerRandom, 176)
	katKeyBlock176 = "baf51dac49f6d52f51b326fe3ad7e5377d04dac3492ae7e751c1e6cb75ca015ba0955365b8898a61fc48dafed1b8673836e070cbdda44cef4553db5359e0f88047e508765a60a4636249f1cabcaf6c59adcfe49d8e27814e01b1a8118a8ff676ccfa3f62e837eef293593d47f422e52ffbf292c1f4466698891d46f9a7d4c46cc2a5adcadb2af2e390ed28064e715760a21665aa3c3d020b74b7e31913722530ada77ce1d034b0184604157fc455ba73"
)

func TestMasterFromPreMasterKnownAnswers(t *testing.T) {
	for _, tc := range []struct {
		name        string
		pms, cr, sr []byte
		want        string
	}{
		{"rsa-48", katPreMaster, katClientRandom, katServerRandom, katMaster1},
		{"dh-64", prfSeq(0xf0, 64), prfSeq(0x20, 32), prfSeq(0xa0, 32), katMaster2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := ciphertest.Hex(t, tc.want)
			got := masterFromPreMaster(tc.pms, tc.cr, tc.sr)
			if !bytes.Equal(got, want) {
				t.Errorf("masterFromPreMaster = %x\nwant (zcrypto)        %x", got, want)
			}
			if ref := refMaster(tc.pms, tc.cr, tc.sr); !bytes.Equal(ref, want) {
				t.Errorf("reference = %x\nwant (zcrypto)  %x", ref, want)
			}
		})
	}
}

func TestKeyBlockKnownAnswer(t *testing.T) {
	master := ciphertest.Hex(t, katMaster1)
	want := ciphertest.Hex(t, katKeyBlock176)
	for _, n := range []int{0, 1, 15, 16, 17, 42, 48, 104, 175, 176} {
		got := keyBlock(master, katClientRandom, katServerRandom, n)
		if !bytes.Equal(got, want[:n]) {
			t.Errorf("keyBlock(n=%d) = %x\nwant (zcrypto)    %x", n, got, want[:n])
		}
		if len(got) != n || cap(got) != n {
			t.Errorf("keyBlock(n=%d): len %d cap %d", n, len(got), cap(got))
		}
	}
	if ref := refKeyBlock(master, katClientRandom, katServerRandom, 176); !bytes.Equal(ref, want) {
		t.Errorf("reference key block disagrees with zcrypto")
	}
	// The randoms are not interchangeable: swapping them must change the
	// output (catches a client/server order mix-up).
	if bytes.Equal(keyBlock(master, katServerRandom, katClientRandom, 48), want[:48]) {
		t.Error("keyBlock ignores the order of the randoms")
	}
}

func TestKeyBlockAllLabels(t *testing.T) {
	master := prfSeq(0x33, 48)
	got := keyBlock(master, katClientRandom, katServerRandom, ssl3MaxKeyBlock)
	if want := refKeyBlock(master, katClientRandom, katServerRandom, ssl3MaxKeyBlock); !bytes.Equal(got, want) {
		t.Errorf("keyBlock(416) disagrees with the reference")
	}
	for _, n := range []int{-1, ssl3MaxKeyBlock + 1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("keyBlock(n=%d) did not panic", n)
				}
			}()
			keyBlock(master, katClientRandom, katServerRandom, n)
		}()
	}
}

// katKeys are the partitions of the key_block (and for export suites, the
// final keys and IVs) that zcrypto's keysFromMasterSecret returned for
// katMaster1, katClientRandom and katServerRandom.
var katKeys = []struct {
	name                   string
	macLen, keyLen, ivLen  int
	export                 bool
	expandedKey            int
	cMAC, sMAC, cKey, sKey string
	cIV, sIV               string
}{
	// §8.2.2.1's worked example suite: 16-byte MAC secrets, 5-byte write
	// keys salted into 16-byte final keys, 8-byte IVs from the randoms.
	{"RSA_EXPORT_WITH_RC2_CBC_40_MD5", 16, 5, 8, true, 16,
		"baf51dac49f6d52f51b326fe3ad7e537", "7d04dac3492ae7e751c1e6cb75ca015b",
		"0597076ec45e64701a3c999132b40f66", "4ef39532930fa843072b960e7b895df0",
		"42e140d4b3a6b42d", "0f48b23fe865cb2c"},
	{"RSA_EXPORT_WITH_DES40_CBC_SHA", 20, 5, 8, true, 8,
		"baf51dac49f6d52f51b326fe3ad7e5377d04dac3", "492ae7e751c1e6cb75ca015ba0955365b8898a61",
		"98ab919591a238d1", "00590c07c3b87ec2",
		"42e140d4b3a6b42d", "0f48b23fe865cb2c"},
	{"RSA_EXPORT_WITH_RC4_40_MD5", 16, 5, 0, true, 16,
		"baf51dac49f6d52f51b326fe3ad7e537", "7d04dac3492ae7e751c1e6cb75ca015b",
		"0597076ec45e64701a3c999132b40f66", "4ef39532930fa843072b960e7b895df0",
		"", ""},
	{"RSA_WITH_3DES_EDE_CBC_SHA", 20, 24, 8, false, 0,
		"baf51dac49f6d52f51b326fe3ad7e5377d04dac3", "492ae7e751c1e6cb75ca015ba0955365b8898a61",
		"fc48dafed1b8673836e070cbdda44cef4553db5359e0f880", "47e508765a60a4636249f1cabcaf6c59adcfe49d8e27814e",
		"01b1a8118a8ff676", "ccfa3f62e837eef2"},
}

// TestKeyPartitionKnownAnswers partitions the key_block as §8.2.2 says and
// applies the export rules with exportKey/exportIV, the way the handshake
// does, and compares every piece with zcrypto. The first row is the suite
// of the §8.2.2.1 worked example. Neither spec copy gives numeric values for
// that example (it only names the byte ranges), so its values come from
// zcrypto like the rest.
func TestKeyPartitionKnownAnswers(t *testing.T) {
	master := ciphertest.Hex(t, katMaster1)
	cr, sr := katClientRandom, katServerRandom
	for _, tc := range katKeys {
		t.Run(tc.name, func(t *testing.T) {
			ivFromBlock := tc.ivLen
			if tc.export {
				ivFromBlock = 0 // export IVs come from the randoms
			}
			kb := keyBlock(master, cr, sr, 2*tc.macLen+2*tc.keyLen+2*ivFromBlock)
			take := func(n int) []byte { b := kb[:n]; kb = kb[n:]; return b }
			cMAC, sMAC, cKey, sKey := take(tc.macLen), take(tc.macLen), take(tc.keyLen), take(tc.keyLen)
			cIV, sIV := take(ivFromBlock), take(ivFromBlock)
			if tc.export {
				if tc.name == "RSA_EXPORT_WITH_RC2_CBC_40_MD5" {
					// §8.2.2.1: client_write_key = key_block32..36,
					// server_write_key = key_block37..41.
					full := keyBlock(master, cr, sr, 48)
					if !bytes.Equal(cKey, full[32:37]) || !bytes.Equal(sKey, full[37:42]) {
						t.Fatal("write keys are not key_block[32:37] and [37:42]")
					}
				}
				cKey = exportKey(cKey, cr, sr, tc.expandedKey)
				sKey = exportKey(sKey, sr, cr, tc.expandedKey)
				if tc.ivLen > 0 {
					cIV = exportIV(cr, sr, tc.ivLen)
					sIV = exportIV(sr, cr, tc.ivLen)
				}
			}
			for _, c := range []struct {
				what string
				got  []byte
				want string
			}{
				{"client MAC secret", cMAC, tc.cMAC}, {"server MAC secret", sMAC, tc.sMAC},
				{"client write key", cKey, tc.cKey}, {"server write key", sKey, tc.sKey},
				{"client IV", cIV, tc.cIV}, {"server IV", sIV, tc.sIV},
			} {
				if hex.EncodeToString(c.got) != c.want {
					t.Errorf("%s = %x, want (zcrypto) %s", c.what, c.got, c.want)
				}
			}
		})
	}
}

func TestExportAgainstReference(t *testing.T) {
	cr, sr := katClientRandom, katServerRandom
	key := prfSeq(0x99, 5)
	for _, n := range []int{0, 5, 8, 16} {
		if got, want := exportKey(key, cr, sr, n), refMD5(key, cr, sr)[:n]; !bytes.Equal(got, want) {
			t.Errorf("exportKey(n=%d) = %x, want %x", n, got, want)
		}
		if got, want := exportIV(sr, cr, n), refMD5(sr, cr)[:n]; !bytes.Equal(got, want) {
			t.Errorf("exportIV(n=%d) = %x, want %x", n, got, want)
		}
	}
	for _, f := range []func(){
		func() { exportKey(key, cr, sr, 17) },
		func() { exportIV(cr, sr, -1) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("out-of-range export length did not panic")
				}
			}()
			f()
		}()
	}
}

// The transcripts zcrypto hashed for the Finished known answers.
var katTranscript = [][]byte{[]byte("\x01\x00\x00\x05hello"), prfSeq(0x00, 300), []byte("third")}

const (
	katFinishedClient1 = "eb892dabf8b57db49f1dc115b253bf2d7deb9b7643d232bc710302323e37a669bb8f6a13"
	katFinishedServer1 = "1f5751c2e56f34460049d344ee35245618f05b7565c7f7337555183e2cb1aa67487c9114"
	katCertVerify1     = "be76cf4e8c3a0a16ff7cb39c8acd86e91e8549db07707c18e3030d85f46de3051af9ab8e"
	// Empty transcript, katMaster2.
	katFinishedClient2 = "1c8a036a22abe77eb9b866385b424ade2e4b64ba0ea3f6845754d15bfa8445d5196253de"
	katFinishedServer2 = "f5bbd2efdb552a3950306f3923509000a588c9cc286bdf8b13c79fec575adfafb8b1ac70"
	katCertVerify2     = "673866f205b180e27c548e86aeadc91d5d16b2450065a1b79cecfcf60ede321c88bf0818"
)

func TestFinishedKnownAnswers(t *testing.T) {
	for _, tc := range []struct {
		name                    string
		msgs                    [][]byte
		master                  string
		client, server, certVfy string
	}{
		{"three-messages", katTranscript, katMaster1, katFinishedClient1, katFinishedServer1, katCertVerify1},
		{"empty", nil, katMaster2, katFinishedClient2, katFinishedServer2, katCertVerify2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			master := ciphertest.Hex(t, tc.master)
			h := newFinishedHash()
			for _, m := range tc.msgs {
				h.Write(m)
			}
			transcript := prfCat(tc.msgs...)
			for _, c := range []struct {
				what     string
				got, ref []byte
				want     string
			}{
				{"client Finished", h.finishedSum(master, senderClient), refHandshakeSum(transcript, []byte("CLNT"), master), tc.client},
				{"server Finished", h.finishedSum(master, senderServer), refHandshakeSum(transcript, []byte("SRVR"), master), tc.server},
				{"CertificateVerify", h.certificateVerifySum(master), refHandshakeSum(transcript, nil, master), tc.certVfy},
			} {
				if hex.EncodeToString(c.got) != c.want {
					t.Errorf("%s = %x\nwant (zcrypto)   %s", c.what, c.got, c.want)
				}
				if hex.EncodeToString(c.ref) != c.want {
					t.Errorf("%s reference = %x\nwant (zcrypto)   %s", c.what, c.ref, c.want)
				}
			}
		})
	}
}

// TestFinishedHashRunningState checks that computing Finished or
// CertificateVerify mid-handshake neither disturbs the running hashes nor
// depends on whether clone() was called first, and that clones are
// independent of each other.
func TestFinishedHashRunningState(t *testing.T) {
	master := prfSeq(0x10, 48)
	h := newFinishedHash()
	h.Write([]byte("ClientHello"))
	h.Write([]byte("ServerHello"))

	cv1 := h.certificateVerifySum(master)
	cv2 := h.clone().certificateVerifySum(master)
	fin := h.finishedSum(master, senderClient)
	if !bytes.Equal(cv1, cv2) || !bytes.Equal(h.certificateVerifySum(master), cv1) {
		t.Fatal("certificateVerifySum disturbed the running hashes")
	}
	if !bytes.Equal(fin, refHandshakeSum([]byte("ClientHelloServerHello"), []byte("CLNT"), master)) {
		t.Fatal("finishedSum after certificateVerifySum is wrong")
	}

	c := h.clone()
	c.Write([]byte("only in the clone"))
	if !bytes.Equal(h.finishedSum(master, senderClient), fin) {
		t.Fatal("writing to a clone changed the original")
	}
	h.Write([]byte("Finished"))
	if bytes.Equal(h.finishedSum(master, senderServer), c.finishedSum(master, senderServer)) {
		t.Fatal("clone and original are not independent")
	}
	want := refHandshakeSum([]byte("ClientHelloServerHelloFinished"), []byte("SRVR"), master)
	if got := h.finishedSum(master, senderServer); !bytes.Equal(got, want) {
		t.Fatalf("finishedSum = %x, want %x", got, want)
	}
	if n, err := h.Write([]byte("abc")); n != 3 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
}

func TestSenderConstants(t *testing.T) {
	if string(senderClient[:]) != "CLNT" || string(senderServer[:]) != "SRVR" {
		t.Fatalf("senders = %q, %q", senderClient[:], senderServer[:])
	}
}

func FuzzPRFReference(f *testing.F) {
	f.Add(katPreMaster, katClientRandom, katServerRandom, uint16(104), []byte("msg"))
	f.Fuzz(func(t *testing.T, secret, cr, sr []byte, n uint16, transcript []byte) {
		size := int(n) % (ssl3MaxKeyBlock + 1)
		if got, want := masterFromPreMaster(secret, cr, sr), refMaster(secret, cr, sr); !bytes.Equal(got, want) {
			t.Fatalf("master = %x, want %x", got, want)
		}
		if got, want := keyBlock(secret, cr, sr, size), refKeyBlock(secret, cr, sr, size); !bytes.Equal(got, want) {
			t.Fatalf("keyBlock(%d) = %x, want %x", size, got, want)
		}
		h := newFinishedHash()
		h.Write(transcript)
		if got, want := h.finishedSum(secret, senderServer), refHandshakeSum(transcript, []byte("SRVR"), secret); !bytes.Equal(got, want) {
			t.Fatalf("finishedSum = %x, want %x", got, want)
		}
		if got, want := h.certificateVerifySum(secret), refHandshakeSum(transcript, nil, secret); !bytes.Equal(got, want) {
			t.Fatalf("certificateVerifySum = %x, want %x", got, want)
		}
	})
}
