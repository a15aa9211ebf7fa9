package ssl

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"net"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// The crypto/tls hooks, over real sockets.

// TestGetCertificateByServerName: the server chooses its chain by the
// client's server_name, which our client sends with SendServerName.
func TestGetCertificateByServerName(t *testing.T) {
	l := legacyCerts(t)
	for _, tc := range []struct {
		name    string
		send    bool
		certs   bool // Config.Certificates has the RSA chain, preferred by suite order
		wantSNI string
	}{
		{"server_name sent: called although Certificates is set", true, true, "localhost"},
		{"no server_name, Certificates empty: called with an empty name", false, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var seen []*ClientHelloInfo
			sc := &Config{
				CipherSuites: ImplementedCipherSuites(),
				GetCertificate: func(info *ClientHelloInfo) (*Certificate, error) {
					seen = append(seen, info)
					if info.Context() == nil || info.Conn == nil {
						return nil, errors.New("no context or conn")
					}
					return &l.dsaServer, nil
				},
			}
			if tc.certs {
				sc.Certificates = []Certificate{testCerts(t).server}
			}
			cc := clientConfig(t)
			cc.SendServerName = tc.send
			cc.CipherSuites = []uint16{SSL_RSA_WITH_3DES_EDE_CBC_SHA, SSL_DHE_DSS_WITH_3DES_EDE_CBC_SHA}
			client, server := mustHandshake(t, cc, sc)
			if len(seen) != 1 || seen[0].ServerName != tc.wantSNI || !slices.Contains(seen[0].CipherSuites, SSL_DHE_DSS_WITH_3DES_EDE_CBC_SHA) ||
				!reflect.DeepEqual(seen[0].SupportedVersions, []uint16{VersionSSL30}) {
				t.Fatalf("GetCertificate saw %+v", seen)
			}
			if tc.send && !slices.Contains(seen[0].Extensions, extensionServerName) {
				t.Errorf("Extensions = %v, want server_name", seen[0].Extensions)
			}
			if st := server.ConnectionState(); st.ServerName != tc.wantSNI || st.CipherSuite != SSL_DHE_DSS_WITH_3DES_EDE_CBC_SHA {
				t.Errorf("server state: name %q suite %s", st.ServerName, CipherSuiteName(st.CipherSuite))
			}
			if got := client.ConnectionState().PeerCertificates[0]; !bytes.Equal(got.Raw, l.dsaServer.Certificate[0]) {
				t.Error("client did not get the chain GetCertificate chose")
			}
		})
	}
}

// TestGetCertificateFallsBack: (nil, nil) from GetCertificate keeps
// Certificates; an error fails the handshake with handshake_failure.
func TestGetCertificateFallsBack(t *testing.T) {
	sc := serverConfig(t)
	sc.GetCertificate = func(*ClientHelloInfo) (*Certificate, error) { return nil, nil }
	cc := clientConfig(t)
	cc.SendServerName = true
	mustHandshake(t, cc, sc)
	sc.GetCertificate = func(*ClientHelloInfo) (*Certificate, error) { return nil, errors.New("no such name") }
	_, _, _, serr := handshakePair(t, cc, sc)
	wantSentAlert(t, serr, alertHandshakeFailure, "no such name")
}

func wantSentAlert(t *testing.T, err error, a alert, text string) {
	t.Helper()
	var ae *AlertError
	if !errors.As(err, &ae) || !ae.Sent || ae.Alert != uint8(a) || !strings.Contains(err.Error(), text) {
		t.Fatalf("error %v; want a sent %v mentioning %q", err, a, text)
	}
}

// TestGetConfigForClient: the returned Config runs the handshake (its
// suites, its client authentication).
func TestGetConfigForClient(t *testing.T) {
	p := testCerts(t)
	other := &Config{Certificates: []Certificate{p.server}, CipherSuites: []uint16{SSL_RSA_WITH_RC4_128_MD5},
		ClientAuth: RequireAndVerifyClientCert, ClientCAs: p.roots}
	sc := serverConfig(t)
	sc.GetConfigForClient = func(info *ClientHelloInfo) (*Config, error) {
		if err := info.SupportsCertificate(&p.server); err != nil {
			return nil, err
		}
		return other, nil
	}
	cc := clientConfig(t)
	cc.RootCAs = p.roots
	cc.Certificates = []Certificate{p.client}
	client, server := mustHandshake(t, cc, sc)
	if client.ConnectionState().CipherSuite != SSL_RSA_WITH_RC4_128_MD5 || len(server.ConnectionState().VerifiedChains) == 0 {
		t.Fatal("the Config from GetConfigForClient did not run the handshake")
	}
	sc.GetConfigForClient = func(*ClientHelloInfo) (*Config, error) { return nil, errors.New("refused") }
	_, _, _, serr := handshakePair(t, cc, sc)
	wantSentAlert(t, serr, alertHandshakeFailure, "refused")
}

// TestGetClientCertificate: the client's hook sees the request and its
// answer is sent; nil sends no_certificate.
func TestGetClientCertificate(t *testing.T) {
	p := testCerts(t)
	sc := serverConfig(t)
	sc.ClientAuth = VerifyClientCertIfGiven
	sc.ClientCAs = p.roots
	cc := clientConfig(t)
	cc.RootCAs = p.roots
	cc.CipherSuites = []uint16{SSL_RSA_WITH_3DES_EDE_CBC_SHA}
	var req *CertificateRequestInfo
	cc.GetClientCertificate = func(info *CertificateRequestInfo) (*Certificate, error) {
		req = info
		return &p.client, nil
	}
	_, server := mustHandshake(t, cc, sc)
	if req == nil || req.Version != VersionSSL30 || !bytes.Contains(req.CertificateTypes, []byte{certTypeRSASign}) ||
		len(req.AcceptableCAs) == 0 || req.SupportsCertificate(&p.client) != nil || req.Context() == nil {
		t.Fatalf("GetClientCertificate saw %+v", req)
	}
	if err := req.SupportsCertificate(&legacyCerts(t).dhDSSExport); err == nil {
		t.Error("SupportsCertificate accepted a certificate from a CA the server did not name")
	}
	if pc := server.ConnectionState().PeerCertificates; len(pc) == 0 || !bytes.Equal(pc[0].Raw, p.client.Certificate[0]) {
		t.Fatal("server did not get the chain GetClientCertificate chose")
	}
	cc.GetClientCertificate = func(*CertificateRequestInfo) (*Certificate, error) { return nil, nil }
	_, server, cerr, serr := handshakePair(t, cc, sc)
	if cerr != nil || serr != nil || len(server.ConnectionState().PeerCertificates) != 0 {
		t.Fatalf("nil client certificate: client %v, server %v", cerr, serr)
	}
	cc.GetClientCertificate = func(*CertificateRequestInfo) (*Certificate, error) { return nil, errors.New("card removed") }
	_, _, cerr, _ = handshakePair(t, cc, sc)
	wantSentAlert(t, cerr, alertHandshakeFailure, "card removed")
}

// TestVerifyHooks: VerifyPeerCertificate and VerifyConnection run on both
// ends, full and resumed, see the chain and the state, and their errors
// end the handshake with bad_certificate.
func TestVerifyHooks(t *testing.T) {
	p := testCerts(t)
	for _, side := range []string{"client", "server"} {
		t.Run(side, func(t *testing.T) {
			sc := serverConfig(t)
			sc.ClientAuth = RequireAndVerifyClientCert
			sc.ClientCAs = p.roots
			sc.SessionCache = NewLRUSessionCache(4, time.Hour)
			cc := clientConfig(t)
			cc.RootCAs = p.roots
			cc.Certificates = []Certificate{p.client}
			cc.CipherSuites = []uint16{SSL_RSA_WITH_RC4_128_SHA}
			cc.ClientSessionCache = NewLRUClientSessionCache(4)
			hooked := cc
			if side == "server" {
				hooked = sc
			}
			var rawSeen [][]byte
			var chainsSeen int
			var states []ConnectionState
			hooked.VerifyPeerCertificate = func(raw [][]byte, chains [][]*x509.Certificate) error {
				rawSeen, chainsSeen = raw, len(chains)
				return nil
			}
			hooked.VerifyConnection = func(st ConnectionState) error {
				states = append(states, st)
				return nil
			}
			addr, results := sslServer(t, sc)
			for i := range 2 {
				conn, err := Dial("tcp", addr, cc)
				if err != nil {
					t.Fatal(err)
				}
				if err := <-results; err != nil {
					t.Fatal(err)
				}
				if got := conn.ConnectionState().DidResume; got != (i == 1) {
					t.Fatalf("handshake %d: DidResume %v", i, got)
				}
				conn.Close()
			}
			if len(rawSeen) == 0 || chainsSeen == 0 {
				t.Errorf("VerifyPeerCertificate saw %d certificates, %d chains", len(rawSeen), chainsSeen)
			}
			if len(states) != 2 || states[0].DidResume || !states[1].DidResume || states[0].HandshakeComplete ||
				states[0].CipherSuite != SSL_RSA_WITH_RC4_128_SHA || len(states[0].PeerCertificates) == 0 || len(states[1].PeerCertificates) == 0 {
				t.Fatalf("VerifyConnection saw %+v", states)
			}

			hooked.VerifyPeerCertificate = func([][]byte, [][]*x509.Certificate) error { return errors.New("pinned key differs") }
			cc.ClientSessionCache = nil
			cerr, serr := dialOnce(addr, cc, results)
			wantSentAlert(t, map[string]error{"client": cerr, "server": serr}[side], alertBadCertificate, "pinned key differs")
			hooked.VerifyPeerCertificate = nil
			hooked.VerifyConnection = func(ConnectionState) error { return errors.New("wrong suite for policy") }
			cerr, serr = dialOnce(addr, cc, results)
			wantSentAlert(t, map[string]error{"client": cerr, "server": serr}[side], alertBadCertificate, "wrong suite for policy")
		})
	}
}

func dialOnce(addr string, cc *Config, results <-chan error) (cerr, serr error) {
	conn, cerr := Dial("tcp", addr, cc)
	if conn != nil {
		conn.Close()
	}
	return cerr, <-results
}

// TestTLSUnique: both ends report the client's Finished of a full
// handshake, nothing for a resumed one (crypto/tls without EMS).
func TestTLSUnique(t *testing.T) {
	client, server := mustHandshake(t, clientConfig(t), serverConfig(t))
	cu, su := client.ConnectionState().TLSUnique, server.ConnectionState().TLSUnique
	if len(cu) != 36 || !bytes.Equal(cu, su) || !bytes.Equal(cu, client.clientFinished) {
		t.Fatalf("TLSUnique client %x, server %x", cu, su)
	}
	sc := serverConfig(t)
	sc.SessionCache = NewLRUSessionCache(4, time.Hour)
	addr, results := sslServer(t, sc)
	cc := clientConfig(t)
	cc.ClientSessionCache = NewLRUClientSessionCache(4)
	for i := range 2 {
		conn, err := Dial("tcp", addr, cc)
		if err != nil {
			t.Fatal(err)
		}
		<-results
		if st := conn.ConnectionState(); st.DidResume != (i == 1) || (len(st.TLSUnique) == 0) != st.DidResume {
			t.Fatalf("handshake %d: resumed %v, TLSUnique %x", i, st.DidResume, st.TLSUnique)
		}
		conn.Close()
	}
}

// TestDialWithDialer: the dialer's timeout bounds the handshake as well
// as the connection (a server that accepts and says nothing).
func TestDialWithDialer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	_, err = DialWithDialer(&net.Dialer{Timeout: 200 * time.Millisecond}, "tcp", ln.Addr().String(), clientConfig(t))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("DialWithDialer against a silent server: %v, want the dialer's deadline", err)
	}
	addr, results := sslServer(t, serverConfig(t))
	conn, err := DialWithDialer(&net.Dialer{Timeout: 30 * time.Second}, "tcp", addr, clientConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	<-results
}

// TestCloneCopiesEveryField: a field added to Config and forgotten in
// Clone shows up here.
func TestCloneCopiesEveryField(t *testing.T) {
	var c Config
	v := reflect.ValueOf(&c).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		if !v.Type().Field(i).IsExported() {
			continue
		}
		switch f.Kind() {
		case reflect.Bool:
			f.SetBool(true)
		case reflect.String:
			f.SetString("x")
		case reflect.Int, reflect.Int64:
			f.SetInt(7)
		case reflect.Slice:
			f.Set(reflect.MakeSlice(f.Type(), 1, 1))
		case reflect.Func:
			f.Set(reflect.MakeFunc(f.Type(), func([]reflect.Value) []reflect.Value { return nil }))
		case reflect.Pointer:
			f.Set(reflect.New(f.Type().Elem()))
		case reflect.Interface:
			switch v.Type().Field(i).Name {
			case "Rand", "KeyLogWriter":
				f.Set(reflect.ValueOf(&bytes.Buffer{}))
			case "SessionCache", "ClientSessionCache":
				f.Set(reflect.ValueOf(NewLRUClientSessionCache(1)))
			}
		}
	}
	clone := reflect.ValueOf(c.Clone()).Elem()
	for i := range v.NumField() {
		name := v.Type().Field(i).Name
		if !v.Type().Field(i).IsExported() {
			continue
		}
		if v.Field(i).IsZero() {
			t.Errorf("test does not set %s", name)
		} else if clone.Field(i).IsZero() {
			t.Errorf("Clone drops %s", name)
		}
	}
}
