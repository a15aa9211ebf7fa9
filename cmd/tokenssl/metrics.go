package main

import (
	"crypto"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tokenssl/tokenssl/ssl"
	"github.com/tokenssl/tokenssl/token"
	"github.com/tokenssl/tokenssl/token/pkcs11"
)

// metrics are the Prometheus series of -metrics-listen, on a registry of
// their own (nothing registers behind our back). Every method is a no-op
// on a nil *metrics, so the serving code calls them unconditionally.
type metrics struct {
	reg        *prometheus.Registry
	handshakes *prometheus.CounterVec   // suite, result
	resumed    *prometheus.CounterVec   // suite
	hsSeconds  *prometheus.HistogramVec // resumed
	tokenOps   *prometheus.HistogramVec // token, op
	tokenErrs  *prometheus.CounterVec   // token, op, kind
	open       prometheus.Gauge
	conns      *prometheus.CounterVec // result
	bytes      *prometheus.CounterVec // direction
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		handshakes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tokenssl_handshakes_total",
			Help: "Handshakes by cipher suite (Appendix C name; \"none\" before one was chosen) and result (ok, failed)."},
			[]string{"suite", "result"}),
		resumed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tokenssl_handshakes_resumed_total",
			Help: "Handshakes that resumed a session; over tokenssl_handshakes_total{result=\"ok\"} it is the resumption ratio."},
			[]string{"suite"}),
		hsSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "tokenssl_handshake_duration_seconds",
			Help: "Handshake latency, from accept (or connect) to the Finished messages.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)},
			[]string{"resumed"}),
		tokenOps: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "tokenssl_token_operation_duration_seconds",
			Help:    "Private-key operations on the token (sign, decrypt, derive), waiting for a pool session included.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}, []string{"token", "op"}),
		tokenErrs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tokenssl_token_operation_errors_total",
			Help: "Failed token operations; kind is unavailable (token gone or failing) or failed."},
			[]string{"token", "op", "kind"}),
		open: prometheus.NewGauge(prometheus.GaugeOpts{Name: "tokenssl_open_connections", Help: "Connections being served."}),
		conns: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tokenssl_connections_total",
			Help: "Connections accepted (served) or refused (-max-conns)."}, []string{"result"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tokenssl_application_bytes_total",
			Help: "Application data bytes from (in) and to (out) the SSL peer."}, []string{"direction"}),
	}
	m.reg.MustRegister(m.handshakes, m.resumed, m.hsSeconds, m.tokenOps, m.tokenErrs, m.open, m.conns, m.bytes,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// serve starts the HTTP endpoint on addr; the returned function stops it.
func (m *metrics) serve(addr string, log *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	log.Info("metrics on http://"+ln.Addr().String()+"/metrics", "addr", ln.Addr().String())
	return func() { srv.Close() }, nil
}

// watchPool exports a token's session pool: size, in use and waiting.
func (m *metrics) watchPool(b *pkcs11.Backend) {
	if m == nil || b == nil {
		return
	}
	labels := prometheus.Labels{"token": b.Label()}
	for _, g := range []struct {
		name, help string
		value      func(pkcs11.PoolStats) int
	}{
		{"tokenssl_token_pool_sessions", "PKCS#11 sessions the pool may open (-pool-size).", func(s pkcs11.PoolStats) int { return s.Size }},
		{"tokenssl_token_pool_in_use", "Pool sessions running an operation now.", func(s pkcs11.PoolStats) int { return s.InUse }},
		{"tokenssl_token_pool_waiting", "Operations waiting for a free pool session now.", func(s pkcs11.PoolStats) int { return s.Waiting }},
	} {
		// Register, not MustRegister: two keys on one token share its pool.
		m.reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: g.name, Help: g.help, ConstLabels: labels},
			func() float64 { return float64(g.value(b.PoolStats())) }))
	}
}

// watchCache exports the in-memory session cache's size; a shared (Redis)
// cache is measured by Redis itself.
func (m *metrics) watchCache(c ssl.SessionCache) {
	lru, ok := c.(*ssl.LRUSessionCache)
	if m == nil || !ok {
		return
	}
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tokenssl_session_cache_entries", Help: "Sessions in the server's cache."},
			func() float64 { return float64(lru.Len()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tokenssl_session_cache_bytes", Help: "Accounted bytes of the cached sessions."},
			func() float64 { return float64(lru.Bytes()) }))
}

// handshake counts one handshake and its latency.
func (m *metrics) handshake(st ssl.ConnectionState, err error, d time.Duration) {
	if m == nil {
		return
	}
	suite := "none"
	if st.CipherSuite != 0 {
		suite = ssl.CipherSuiteName(st.CipherSuite)
	}
	if err != nil {
		m.handshakes.WithLabelValues(suite, "failed").Inc()
		return
	}
	m.handshakes.WithLabelValues(suite, "ok").Inc()
	if st.DidResume {
		m.resumed.WithLabelValues(suite).Inc()
	}
	m.hsSeconds.WithLabelValues(boolLabel(st.DidResume)).Observe(d.Seconds())
}

func boolLabel(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func (m *metrics) opened() {
	if m != nil {
		m.open.Inc()
		m.conns.WithLabelValues("accepted").Inc()
	}
}

func (m *metrics) closed(rec *connRecord) {
	if m != nil {
		m.open.Dec()
		m.bytes.WithLabelValues("in").Add(float64(rec.in.Load()))
		m.bytes.WithLabelValues("out").Add(float64(rec.out.Load()))
	}
}

func (m *metrics) refused() {
	if m != nil {
		m.conns.WithLabelValues("refused").Inc()
	}
}

// instrument wraps a token key so that each private-key operation is
// timed and its failures counted. The wrapper has exactly the operations
// of the key (crypto.Signer, crypto.Decrypter, token.DHAgreer), so the
// engine picks the same suites for it. Other keys (Fortezza cards) are
// returned as they are.
func (m *metrics) instrument(k token.Key, label string) token.Key {
	if m == nil {
		return k
	}
	ops := timedOps{m, label}
	s, isSigner := k.(crypto.Signer)
	d, isDecrypter := k.(crypto.Decrypter)
	dh, isDH := k.(token.DHAgreer)
	_, isCard := k.(token.FortezzaCard)
	switch {
	case isCard:
		return k
	case isSigner && isDecrypter && !isDH:
		return timedRSA{timedSigner{s, ops}, d}
	case isSigner && !isDecrypter && !isDH:
		return timedSigner{s, ops}
	case isDH && !isSigner && !isDecrypter:
		return timedDH{dh, ops}
	}
	return k
}

type timedOps struct {
	m     *metrics
	token string
}

// timed runs one token operation f and records its duration and failure
// as op.
func timed[T any](t timedOps, op string, f func() (T, error)) (T, error) {
	start := time.Now()
	v, err := f()
	t.m.tokenOps.WithLabelValues(t.token, op).Observe(time.Since(start).Seconds())
	if err != nil {
		kind := "failed"
		if errors.Is(err, token.ErrUnavailable) {
			kind = "unavailable"
		}
		t.m.tokenErrs.WithLabelValues(t.token, op, kind).Inc()
	}
	return v, err
}

type timedSigner struct {
	crypto.Signer
	ops timedOps
}

func (k timedSigner) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return timed(k.ops, "sign", func() ([]byte, error) { return k.Signer.Sign(rand, digest, opts) })
}

type timedRSA struct {
	timedSigner
	d crypto.Decrypter
}

func (k timedRSA) Decrypt(rand io.Reader, ciphertext []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	return timed(k.ops, "decrypt", func() ([]byte, error) { return k.d.Decrypt(rand, ciphertext, opts) })
}

type timedDH struct {
	token.DHAgreer
	ops timedOps
}

func (k timedDH) Agree(peerY *big.Int) ([]byte, error) {
	return timed(k.ops, "derive", func() ([]byte, error) { return k.DHAgreer.Agree(peerY) })
}
