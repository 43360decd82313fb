package httpserv

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/yinzheng-id/yinzheng/internal/buildinfo"
)

// maxReasons bounds the distinct reason labels of the verification counter:
// reasons come from verifier messages, and an unbounded label set would let
// a client grow the server's memory one crafted presentation at a time.
const maxReasons = 64

// Metrics holds a server's Prometheus collectors, on a registry of its own
// (never the global default, so two servers in one process stay separate).
type Metrics struct {
	registry      *prometheus.Registry
	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	verifications *prometheus.CounterVec

	mu      sync.Mutex
	reasons map[string]bool
}

func newMetrics() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "yinzheng_http_requests_total",
			Help: "HTTP requests by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "yinzheng_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "method"}),
		verifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "yinzheng_verifications_total",
			Help: "Presentation verifications by result (valid, invalid) and first reason.",
		}, []string{"result", "reason"}),
		reasons: make(map[string]bool),
	}
	// The conventional *_build_info gauge: always 1, the build in its labels,
	// so a dashboard can tell which build answers and join it to other series.
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "yinzheng_build_info",
		Help: "The running build: module version, commit, commit date, Go, gnark and gnark-crypto versions. Always 1.",
	}, buildinfo.LabelNames())
	build.WithLabelValues(buildinfo.Read().Labels()...).Set(1)
	m.registry.MustRegister(m.requests, m.duration, m.verifications, build,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is the server's private registry, for services that add their
// own collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

func (m *Metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

func (m *Metrics) observeRequest(route, method string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route, method).Observe(d.Seconds())
}

// ObserveVerification counts one verification outcome. Only the first
// reason is recorded, reduced to its stable prefix (the text before the
// first ':'), so "stale root: statement is 30h old" counts as "stale root".
func (m *Metrics) ObserveVerification(valid bool, reasons []string) {
	result, reason := "valid", "none"
	if !valid {
		result, reason = "invalid", "unspecified"
		if len(reasons) > 0 {
			reason = m.reasonLabel(reasons[0])
		}
	}
	m.verifications.WithLabelValues(result, reason).Inc()
}

func (m *Metrics) reasonLabel(reason string) string {
	if i := strings.IndexByte(reason, ':'); i >= 0 {
		reason = reason[:i]
	}
	reason = strings.TrimSpace(reason)
	if len(reason) > 64 {
		reason = reason[:64]
	}
	// Label values must be valid UTF-8 (WithLabelValues panics otherwise),
	// and the cut above may have split a character.
	reason = strings.ToValidUTF8(reason, "")
	if reason == "" {
		return "unspecified"
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.reasons[reason] {
		if len(m.reasons) >= maxReasons {
			return "other"
		}
		m.reasons[reason] = true
	}
	return reason
}
