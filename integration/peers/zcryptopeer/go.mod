module github.com/tokenssl/tokenssl/integration/peers/zcryptopeer

go 1.26.0

require github.com/zmap/zcrypto v0.0.0-20210617162039-12fab6686964

require (
	github.com/weppos/publicsuffix-go v0.15.1-0.20210607115855-ec3753e8c6e1 // indirect
	github.com/zmap/rc2 v0.0.0-20131011165748-24b9757f5521 // indirect
	golang.org/x/crypto v0.0.0-20201124201722-c8d3bf9c5392 // indirect
	golang.org/x/net v0.0.0-20201110031124-69a78807bb2b // indirect
	golang.org/x/sys v0.0.0-20200930185726-fdedc70b468f // indirect
	golang.org/x/text v0.3.3 // indirect
)
