package ssl_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"strings"
	"time"

	"github.com/tokenssl/tokenssl/ssl"
)

// selfSigned returns a throw-away RSA certificate for localhost with its
// software key, and a pool that trusts it. In production the key would
// come from ssl.LoadX509KeyPair or from a token (token/pkcs11).
func selfSigned() (ssl.Certificate, *x509.CertPool) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		log.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		log.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		log.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return ssl.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// echoServer listens on loopback with cert and answers every connection
// with what it reads; close the listener to stop it.
func echoServer(cert ssl.Certificate) net.Listener {
	ln, err := ssl.Listen("tcp", "127.0.0.1:0", &ssl.Config{Certificates: []ssl.Certificate{cert}})
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	return ln
}

// A server with a software key and a client that verifies it, over
// loopback TCP.
func Example() {
	cert, pool := selfSigned()
	ln := echoServer(cert)
	defer ln.Close()

	conn, err := ssl.Dial("tcp", ln.Addr().String(), &ssl.Config{RootCAs: pool, ServerName: "localhost"})
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("hello")); err != nil {
		log.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(conn, buf); err != nil {
		log.Fatal(err)
	}
	st := conn.ConnectionState()
	fmt.Printf("%s over %s, version %#04x\n", buf, ssl.CipherSuiteName(st.CipherSuite), st.Version)
	// Output: hello over TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, version 0x0300
}

// A client with a session cache resumes the session of its first
// connection: the second handshake is the abbreviated one.
func ExampleConfig_sessionResumption() {
	cert, pool := selfSigned()
	ln := echoServer(cert)
	defer ln.Close()

	config := &ssl.Config{RootCAs: pool, ServerName: "localhost",
		ClientSessionCache: ssl.NewLRUClientSessionCache(16)}
	for i := 0; i < 2; i++ {
		conn, err := ssl.Dial("tcp", ln.Addr().String(), config)
		if err != nil {
			log.Fatal(err)
		}
		// One echo: by the time it comes back the server has finished its
		// side of the handshake and cached the session. Closing with
		// close_notify keeps it there (a truncation would remove it).
		if _, err := conn.Write([]byte("ping")); err != nil {
			log.Fatal(err)
		}
		if _, err := io.ReadFull(conn, make([]byte, 4)); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("connection %d: resumed=%v\n", i+1, conn.ConnectionState().DidResume)
		conn.Close()
	}
	// Output:
	// connection 1: resumed=false
	// connection 2: resumed=true
}

// A Conn over any net.Conn: here the two ends of an in-memory pipe.
func ExampleServer() {
	cert, pool := selfSigned()
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	server := ssl.Server(c1, &ssl.Config{Certificates: []ssl.Certificate{cert},
		CipherSuites: []uint16{ssl.SSL_RSA_WITH_RC4_128_SHA}})
	client := ssl.Client(c2, &ssl.Config{RootCAs: pool, ServerName: "localhost",
		CipherSuites: []uint16{ssl.SSL_RSA_WITH_RC4_128_SHA}})
	errc := make(chan error, 1)
	go func() { errc <- server.Handshake() }()
	if err := client.Handshake(); err != nil {
		log.Fatal(err)
	}
	if err := <-errc; err != nil {
		log.Fatal(err)
	}
	fmt.Println(ssl.CipherSuiteName(server.ConnectionState().CipherSuite))
	// Output: SSL_RSA_WITH_RC4_128_SHA
}

// A server that holds a certificate per name chooses by the client's
// server_name (sent by clients with SendServerName; most SSL 3.0 clients
// send none, and then get the default).
func ExampleConfig_getCertificate() {
	cert, pool := selfSigned()
	byName := map[string]*ssl.Certificate{"localhost": &cert}
	serverConfig := &ssl.Config{
		GetCertificate: func(hello *ssl.ClientHelloInfo) (*ssl.Certificate, error) {
			if c, ok := byName[hello.ServerName]; ok {
				return c, nil
			}
			return &cert, nil // the default for clients that name none
		},
	}
	ln, err := ssl.Listen("tcp", "127.0.0.1:0", serverConfig)
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	names := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		sc := c.(*ssl.Conn)
		if sc.Handshake() == nil {
			names <- sc.ConnectionState().ServerName
		}
		io.Copy(io.Discard, c)
	}()
	conn, err := ssl.Dial("tcp", ln.Addr().String(), &ssl.Config{RootCAs: pool, ServerName: "localhost", SendServerName: true})
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	fmt.Println("server saw server_name", <-names)
	// Output: server saw server_name localhost
}

// A key log for Wireshark: one NSS-format line per handshake, read with
// `tshark -o tls.keylog_file:keys.txt`. Anyone holding the log reads the
// traffic, token or no token: for debugging only.
func ExampleConfig_keyLogWriter() {
	cert, pool := selfSigned()
	ln := echoServer(cert)
	defer ln.Close()

	var keyLog strings.Builder // in practice a file: os.OpenFile(os.Getenv("SSLKEYLOGFILE"), ...)
	conn, err := ssl.Dial("tcp", ln.Addr().String(), &ssl.Config{RootCAs: pool, ServerName: "localhost", KeyLogWriter: &keyLog})
	if err != nil {
		log.Fatal(err)
	}
	conn.Close()
	fields := strings.Fields(keyLog.String())
	fmt.Printf("%s, client random %d hex digits, master secret %d\n", fields[0], len(fields[1]), len(fields[2]))
	// Output: CLIENT_RANDOM, client random 64 hex digits, master secret 96
}

// Refusing at start a configuration whose certificates can serve none of
// its suites, instead of failing every handshake.
func ExampleCheckServerConfig() {
	cert, _ := selfSigned()
	config := &ssl.Config{Certificates: []ssl.Certificate{cert},
		CipherSuites: []uint16{ssl.SSL_DHE_DSS_WITH_3DES_EDE_CBC_SHA}}
	if err := ssl.CheckServerConfig(config); err != nil {
		fmt.Println(err)
	}
	if err := ssl.CheckKeyPair(&cert); err == nil {
		fmt.Println("the key is the certificate's")
	}
	// Output:
	// ssl: none of the enabled cipher suites can be served: the DHE_DSS suites (SSL_DHE_DSS_WITH_3DES_EDE_CBC_SHA) need a DSA certificate whose key can sign, but the certificate has an RSA key (2048 bits)
	// the key is the certificate's
}
