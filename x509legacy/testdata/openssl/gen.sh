#!/bin/sh
# Regenerates the OpenSSL-made DSA chain used by TestOpenSSLChain:
#   root.pem  DSA 2048/256, self-signed with DSA-with-SHA256
#   inter.pem DSA 1024/160, signed by root with DSA-with-SHA256
#   leaf.pem  RSA 2048,     signed by inter with DSA-with-SHA1
# Valid from generation time for 100 years. The private keys are not kept.
# Not run by the tests; made with OpenSSL 3.0.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

openssl genpkey -genparam -algorithm DSA -pkeyopt dsa_paramgen_bits:2048 -pkeyopt dsa_paramgen_q_bits:256 -out "$tmp/root.param" 2>/dev/null
openssl genpkey -paramfile "$tmp/root.param" -out "$tmp/root.key"
openssl genpkey -genparam -algorithm DSA -pkeyopt dsa_paramgen_bits:1024 -pkeyopt dsa_paramgen_q_bits:160 -out "$tmp/inter.param" 2>/dev/null
openssl genpkey -paramfile "$tmp/inter.param" -out "$tmp/inter.key"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/leaf.key" 2>/dev/null

cat > "$tmp/ext.cnf" <<'CNF'
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[leaf]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:leaf.example
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF

openssl req -new -x509 -sha256 -key "$tmp/root.key" -subj "/O=tokenssl test/CN=OpenSSL DSA Root" \
	-days 36500 -set_serial 1 -config "$tmp/ext.cnf" -extensions ca -out root.pem
openssl req -new -sha256 -key "$tmp/inter.key" -subj "/O=tokenssl test/CN=OpenSSL DSA Intermediate" \
	-config "$tmp/ext.cnf" -out "$tmp/inter.csr"
openssl x509 -req -sha256 -in "$tmp/inter.csr" -CA root.pem -CAkey "$tmp/root.key" -set_serial 2 \
	-days 36500 -extfile "$tmp/ext.cnf" -extensions ca -out inter.pem
openssl req -new -sha256 -key "$tmp/leaf.key" -subj "/O=tokenssl test/CN=leaf.example" \
	-config "$tmp/ext.cnf" -out "$tmp/leaf.csr"
openssl x509 -req -sha1 -in "$tmp/leaf.csr" -CA inter.pem -CAkey "$tmp/inter.key" -set_serial 3 \
	-days 36500 -extfile "$tmp/ext.cnf" -extensions leaf -out leaf.pem

openssl verify -CAfile root.pem -untrusted inter.pem leaf.pem
