package kea

// The built-in 1024/160 group. It was generated once, on 2026-11-26, by
// running gen_params.go in this directory, i.e. crypto/dsa.GenerateParameters
// with dsa.L1024N160 and crypto/rand (FIPS 186-3 style primes, 64
// Miller-Rabin rounds; no verification seed is kept). Nothing about it is
// secret; any valid 1024/160 group works as long as both peers use the same
// one. TestDefaultParams re-validates it.
const (
	defaultP = "" +
		"80d128c1193aada26475bbeace372beb5a540fffb4e5cb2b1b53303469add897" +
		"15fdeb5a4bd7e9edaf62ea475c34db1631a196c6cad593361b398b2772458a20" +
		"20a5ac934d8dbbcebe207cee09fede241ad524eb5b15e4b6de0a0fa8e81e96a3" +
		"7ef4b3aa4de0fff9439a1b9368b2c5d40fbacb1bbdf34c5a46e1d41784b3fcdd"
	defaultQ = "dd45c237df10fc39c3075c92b1e835f2d97acde3"
	defaultG = "" +
		"30d2139879126727c84e970c568f5437b0716e7c4bba31b3676210c3a924313a" +
		"eaeeee2415fe1fcd3623bd7cd7d05d1bc923573a4acc2294ff8990fc2d6aa257" +
		"e7a812cc68e7c2cc66c2fda0423f4230f0e9e327d5deba37cc3792b2a9d5fed1" +
		"93c972ca445b781706da38c0294d581347afc0b305bfc1be47cfedd8f322dab7"
)
