package ssl

import (
	"bytes"
	"crypto/x509"
	"errors"
	"testing"
)

// TestRenegotiationClientIdentity (issue 10 item 6): under
// RenegotiateSecure, a server refuses a renegotiation in which the client
// presents another certificate (bad_certificate) or drops the one it had
// (handshake_failure), and accepts the same certificate again or a first
// one. Before the fix every row renegotiated and the server's
// PeerCertificates silently became the new identity.
func TestRenegotiationClientIdentity(t *testing.T) {
	p := testCerts(t)
	other := issue(t, p, mustKey(t, 1024), "other client", x509.ExtKeyUsageClientAuth, p.client.Leaf.NotBefore, p.client.Leaf.NotAfter)
	for _, tc := range []struct {
		name          string
		policy        ClientAuthType
		first, second []Certificate
		want          alert // 0: the renegotiation succeeds
	}{
		{"same certificate", RequireAnyClientCert, []Certificate{p.client}, []Certificate{p.client}, 0},
		{"certificate changed", RequireAnyClientCert, []Certificate{p.client}, []Certificate{other}, alertBadCertificate},
		{"certificate changed, verified", RequireAndVerifyClientCert, []Certificate{p.client}, []Certificate{other}, alertBadCertificate},
		{"certificate dropped", RequestClientCert, []Certificate{p.client}, nil, alertHandshakeFailure},
		{"first certificate", RequestClientCert, nil, []Certificate{p.client}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cc, sc := clientConfig(t), serverConfig(t)
			cc.RootCAs = p.roots
			sc.ClientCAs = p.roots
			cc.Renegotiation, sc.Renegotiation = RenegotiateSecure, RenegotiateSecure
			cc.CipherSuites = []uint16{SSL_RSA_WITH_3DES_EDE_CBC_SHA}
			sc.ClientAuth = tc.policy
			cc.Certificates = tc.first
			c, s := mustHandshake(t, cc, sc)
			done := make(chan error, 1)
			go func() {
				buf := make([]byte, 64)
				for {
					n, err := s.Read(buf)
					if err != nil {
						done <- err
						return
					}
					if _, err := s.Write(buf[:n]); err != nil {
						done <- err
						return
					}
				}
			}()
			roundTrip(t, c, []byte("first identity"))
			firstPeer := s.ConnectionState().PeerCertificates
			cc.Certificates = tc.second
			err := c.Renegotiate()
			if tc.want == 0 {
				if err != nil {
					t.Fatalf("renegotiation: %v", err)
				}
				roundTrip(t, c, []byte("second identity"))
				c.Close()
				<-done
				if got := s.ConnectionState().PeerCertificates; len(tc.second) > 0 && (len(got) == 0 || !bytes.Equal(got[0].Raw, tc.second[0].Certificate[0])) {
					t.Errorf("server sees %d peer certificates, want the client's", len(got))
				}
				return
			}
			if err == nil {
				c.Close()
				<-done
				t.Fatalf("renegotiation accepted; the server now sees %q", s.ConnectionState().PeerCertificates[0].Subject.CommonName)
			}
			serverErr := <-done
			if a, ok := alertOf(serverErr); !ok || a != tc.want {
				t.Fatalf("server: %v; want it to send %v (client: %v)", serverErr, tc.want, err)
			}
			var ae *AlertError
			if !errors.As(err, &ae) || ae.Sent || alert(ae.Alert) != tc.want {
				t.Errorf("client: %v; want it to receive %v", err, tc.want)
			}
			if got := s.ConnectionState().PeerCertificates; len(got) != len(firstPeer) || len(got) > 0 && !bytes.Equal(got[0].Raw, firstPeer[0].Raw) {
				t.Error("the refused renegotiation changed the server's PeerCertificates")
			}
		})
	}
}
