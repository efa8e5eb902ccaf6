// Package metrics defines every Prometheus metric Parley exports, in one
// place, so that names, labels and buckets are reviewed together and the
// README's table can be checked against them. Metrics live in the default
// registry, which pkg/service serves on /metrics next to the Go runtime
// and process collectors it already holds.
//
// Labels only ever take values from fixed sets written here (close codes,
// frame types, results), never user ids, chat URIs or other values a
// client chooses. Vectors on hot paths are resolved to their children
// once, at start, so that counting costs one atomic add and allocates
// nothing. Everything here is safe for concurrent use.
package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// namespace starts every metric name.
const namespace = "parley"

// Group is the metrics of one service. Each command registers the groups
// it runs, so that a service exports only its own; the metrics every
// service shares are registered when the package loads. Code may update a
// metric whose group is not registered: it is counted and not exported.
type Group struct {
	once       sync.Once
	collectors []prometheus.Collector
}

// The groups.
var (
	Edge     = &Group{}
	Auth     = &Group{}
	Archiver = &Group{}
	common   = &Group{}
)

// Register adds g's metrics to the default registry; later calls do
// nothing.
func (g *Group) Register() {
	g.once.Do(func() { prometheus.MustRegister(g.collectors...) })
}

// in adds c to g and returns it, so that each metric is declared and
// grouped in one statement.
func in[C prometheus.Collector](g *Group, c C) C {
	g.collectors = append(g.collectors, c)
	return c
}

func init() {
	common.Register()
}

// children resolves one child of vec for each value of its only label.
func children(vec *prometheus.CounterVec, values ...string) map[string]prometheus.Counter {
	m := make(map[string]prometheus.Counter, len(values))
	for _, v := range values {
		m[v] = vec.WithLabelValues(v)
	}
	return m
}

// pick returns m's child for value, or its child for other when value is
// not one of the fixed set.
func pick(m map[string]prometheus.Counter, value, other string) prometheus.Counter {
	if c, ok := m[value]; ok {
		return c
	}
	return m[other]
}

// buckets in seconds from 50µs to 10s, for latencies on the message path.
var latencyBuckets = []float64{
	0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
	0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10,
}
