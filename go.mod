module github.com/tokenssl/tokenssl

go 1.26.0

require (
	github.com/miekg/pkcs11 v1.1.2
	golang.org/x/crypto v0.59.0
	golang.org/x/term v0.48.0
)

require golang.org/x/sys v0.50.0 // indirect
