//go:build ignore

// gen_params prints a fresh 1024/160 KEA domain-parameter group in the form
// used by params_default.go. It was run once to produce the built-in group;
// running it again yields a different (equally valid) group.
//
//	go run gen_params.go
package main

import (
	"crypto/dsa"
	"crypto/rand"
	"fmt"
	"log"
)

func main() {
	var p dsa.Parameters
	if err := dsa.GenerateParameters(&p, rand.Reader, dsa.L1024N160); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("P = %x\nQ = %x\nG = %x\n", p.P, p.Q, p.G)
}
