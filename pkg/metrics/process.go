package metrics

import (
	"runtime/debug"
	"strconv"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
)

// Version is the build's version: the main module's version from the
// binary's build information, unless the build set it with
// -ldflags "-X github.com/parley-chat/parley/pkg/metrics.Version=v1.2.3".
var Version = ""

// Metrics of every service: build, readiness, HTTP and NATS.
var (
	buildInfo = in(common, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "build_info",
		Help: "Always 1; the labels say which build of Parley this process runs.",
	}, []string{"version", "goversion", "revision"}))

	ready = in(common, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "ready",
		Help: "1 while the service is ready, 0 while not or draining, as of its last readiness check.",
	}, []string{"service"}))
	dependencyUp = in(common, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "dependency_up",
		Help: "1 when a dependency answered the last readiness check, else 0.",
	}, []string{"dependency"}))

	httpRequests = in(common, prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "http", Name: "requests_total",
		Help: "HTTP requests answered, by method and status code.",
	}, []string{"method", "code"}))
	// HTTPDuration times HTTP requests, from the first byte read to the
	// handler's return; a WebSocket's request ends at the upgrade.
	HTTPDuration = in(common, prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: namespace, Subsystem: "http", Name: "request_seconds",
		Help:    "Time to answer an HTTP request; a WebSocket's ends at the upgrade.",
		Buckets: latencyBuckets,
	}))

	natsConns = in(common, &natsCollector{
		connected: prometheus.NewDesc("parley_nats_connected",
			"NATS connections of this process that are connected now.", nil, nil),
		conns: prometheus.NewDesc("parley_nats_connections",
			"NATS connections this process holds open, connected or not.", nil, nil),
		reconnects: prometheus.NewDesc("parley_nats_reconnects_total",
			"Times this process's NATS connections reconnected.", nil, nil),
	})
)

func init() {
	v, goVersion, rev := buildVersion()
	buildInfo.WithLabelValues(v, goVersion, rev).Set(1)
}

// buildVersion reads the version, Go version and VCS revision of the
// binary; each is "unknown" when the build did not record it.
func buildVersion() (version, goVersion, revision string) {
	version, goVersion, revision = Version, "unknown", "unknown"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return orUnknown(version), goVersion, revision
	}
	goVersion = bi.GoVersion
	if version == "" {
		version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			revision = s.Value
		}
	}
	return orUnknown(version), goVersion, revision
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// SetReady records whether service is ready.
func SetReady(service string, ok bool) { ready.WithLabelValues(service).Set(b2f(ok)) }

// SetDependencyUp records whether dependency answered.
func SetDependencyUp(dependency string, ok bool) {
	dependencyUp.WithLabelValues(dependency).Set(b2f(ok))
}

func b2f(ok bool) float64 {
	if ok {
		return 1
	}
	return 0
}

// methods are the HTTP methods counted by name; others count as "other".
var methods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

// HTTPRequest returns the counter of requests with method answered with
// status. Unusual methods count as "other", so a client cannot add series.
func HTTPRequest(method string, status int) prometheus.Counter {
	m := "other"
	for _, known := range methods {
		if method == known {
			m = known
			break
		}
	}
	if status < 100 || status > 599 {
		status = 0
	}
	return httpRequests.WithLabelValues(m, strconv.Itoa(status))
}

// TrackNATS adds nc to the connections whose state /metrics reports. A
// closed connection is forgotten; its reconnects still count.
func TrackNATS(nc *nats.Conn) {
	natsConns.add(nc)
}

// natsCollector reports the state of the NATS connections it tracks.
type natsCollector struct {
	connected, conns, reconnects *prometheus.Desc

	mu      sync.Mutex
	tracked []*nats.Conn
	retired uint64 // reconnects of connections forgotten since
}

func (c *natsCollector) add(nc *nats.Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tracked = append(c.tracked, nc)
}

// Describe implements prometheus.Collector.
func (c *natsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.connected
	ch <- c.conns
	ch <- c.reconnects
}

// Collect implements prometheus.Collector.
func (c *natsCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var connected, open int
	reconnects := c.retired
	kept := c.tracked[:0]
	for _, nc := range c.tracked {
		n := nc.Stats().Reconnects
		if nc.IsClosed() {
			c.retired += n
			reconnects += n
			continue
		}
		kept = append(kept, nc)
		open++
		reconnects += n
		if nc.IsConnected() {
			connected++
		}
	}
	clear(c.tracked[len(kept):])
	c.tracked = kept
	ch <- prometheus.MustNewConstMetric(c.connected, prometheus.GaugeValue, float64(connected))
	ch <- prometheus.MustNewConstMetric(c.conns, prometheus.GaugeValue, float64(open))
	ch <- prometheus.MustNewConstMetric(c.reconnects, prometheus.CounterValue, float64(reconnects))
}
