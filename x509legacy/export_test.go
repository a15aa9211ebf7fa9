package x509legacy

import (
	"crypto/x509"

	"golang.org/x/crypto/cryptobyte"
)

// Internals for the external tests (kea_test.go needs package kea, which
// imports this package).

var DSAKeysEqual = dsaKeysEqual

const MaxDSACertPrimeBits = maxDSACertPrimeBits

func MarshalKeyUsage(ku x509.KeyUsage) ([]byte, error) {
	var b cryptobyte.Builder
	addKeyUsage(&b, ku)
	return b.Bytes()
}
