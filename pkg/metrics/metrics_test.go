package metrics

import (
	"context"
	"errors"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) {
	for _, g := range []*Group{Edge, Auth, Archiver, Edge} {
		g.Register() // twice for the edge: a second call must do nothing
	}
	os.Exit(m.Run())
}

// TestGroups checks that each service's group holds its metrics and no
// other's.
func TestGroups(t *testing.T) {
	groups := map[string]*Group{"parley_edge_": Edge, "parley_auth_": Auth, "parley_archiver_": Archiver}
	for prefix, g := range groups {
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(g.collectors...)
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		if len(mfs) < 4 {
			t.Errorf("%s group gathers %d families, want at least 4", prefix, len(mfs))
		}
		for _, mf := range mfs {
			if !strings.HasPrefix(mf.GetName(), prefix) {
				t.Errorf("%s is in the %s group", mf.GetName(), prefix)
			}
		}
	}
}

// touchVectors gives each vector without fixed children one, so that it
// is gathered.
func touchVectors() {
	SetReady("edge", true)
	SetDependencyUp("nats", true)
	HTTPRequest("GET", 200).Add(0)
}

func gather(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatalf("gathering: %v", err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

// TestNames holds every metric to Prometheus' naming rules and to the
// fixed label sets.
func TestNames(t *testing.T) {
	touchVectors()
	allowed := map[string]bool{
		"code": true, "type": true, "reason": true, "result": true, "service": true,
		"dependency": true, "method": true, "version": true, "goversion": true, "revision": true,
	}
	units := regexp.MustCompile(`_(total|seconds|size|pending|info|connections|subscriptions|` +
		`chats|ready|up|connected)$`)
	n := 0
	for name, mf := range gather(t) {
		if !strings.HasPrefix(name, "parley_") {
			continue
		}
		n++
		isCounter := mf.GetType() == dto.MetricType_COUNTER
		if isCounter != strings.HasSuffix(name, "_total") {
			t.Errorf("%s: a counter's name, and only a counter's, ends in _total", name)
		}
		if !units.MatchString(name) {
			t.Errorf("%s: name does not end in a unit or a known noun", name)
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if !allowed[l.GetName()] {
					t.Errorf("%s: label %q is not one of the bounded labels", name, l.GetName())
				}
			}
		}
	}
	if n < 25 {
		t.Errorf("found %d parley_ metrics, want at least 25", n)
	}
	for _, want := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if _, ok := gather(t)[want]; !ok {
			t.Errorf("%s missing: the runtime and process collectors are not registered", want)
		}
	}
}

func TestChildren(t *testing.T) {
	tests := []struct {
		name string
		got  prometheus.Counter
		vec  *prometheus.CounterVec
		want string
	}{
		{"known code", EdgeClosed(1012), edgeClosed, "1012"},
		{"unknown code", EdgeClosed(3999), edgeClosed, "other"},
		{"known frame", EdgeReceived("send"), edgeReceived, "send"},
		{"unknown frame", EdgeReceived("hello"), edgeReceived, "invalid"},
		{"sent", EdgeSent("message"), edgeSent, "message"},
		{"auth reason", EdgeAuthFailure(AuthRevoked), edgeAuthFailures, "revoked"},
		{"unknown reason", EdgeAuthFailure("nope"), edgeAuthFailures, "invalid"},
		{"login", AuthLogins(ResultThrottled), authLogins, "throttled"},
		{"unknown result", AuthRefreshes("odd"), authRefreshes, "error"},
	}
	for _, tt := range tests {
		before := testutil.ToFloat64(tt.vec.WithLabelValues(tt.want))
		tt.got.Inc()
		if after := testutil.ToFloat64(tt.vec.WithLabelValues(tt.want)); after != before+1 {
			t.Errorf("%s: child %q went from %v to %v, want one more", tt.name, tt.want, before, after)
		}
	}
}

// TestHotPathAllocations holds the per-message calls to no allocation.
func TestHotPathAllocations(t *testing.T) {
	calls := map[string]func(){
		"EdgeSent":        func() { EdgeSent("message").Add(3) },
		"EdgeReceived":    func() { EdgeReceived("send").Inc() },
		"EdgeClosed":      func() { EdgeClosed(1012).Inc() },
		"EdgeFanout":      func() { EdgeFanout.Observe(0.001) },
		"EdgeConnections": func() { EdgeConnections.Inc() },
	}
	for name, f := range calls {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s allocates %v times per call, want 0", name, n)
		}
	}
}

func TestHTTPRequestBounded(t *testing.T) {
	HTTPRequest("BREW", 999).Inc()
	if got := testutil.ToFloat64(httpRequests.WithLabelValues("other", "0")); got < 1 {
		t.Errorf("an unknown method and status counted as other/0 %v times, want at least 1", got)
	}
}

func TestRedisHook(t *testing.T) {
	fail := errors.New("connection refused")
	tests := []struct {
		result    error
		wantError float64
	}{{nil, 0}, {redis.Nil, 0}, {fail, 1}}
	for _, tt := range tests {
		process := RedisHook().ProcessHook(func(context.Context, redis.Cmder) error { return tt.result })
		errs, durations := testutil.ToFloat64(RedisErrors), histogramCount(t, RedisDuration)
		cmd := redis.NewStatusCmd(context.Background(), "ping")
		if err := process(context.Background(), cmd); err != tt.result {
			t.Fatalf("hook returned %v, want %v", err, tt.result)
		}
		if got := testutil.ToFloat64(RedisErrors) - errs; got != tt.wantError {
			t.Errorf("result %v: errors went up by %v, want %v", tt.result, got, tt.wantError)
		}
		if got := histogramCount(t, RedisDuration) - durations; got != 1 {
			t.Errorf("result %v: %d observations, want 1", tt.result, got)
		}
	}
}

func histogramCount(t *testing.T, h prometheus.Histogram) uint64 {
	t.Helper()
	var m dto.Metric
	if err := h.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleCount()
}

func TestBuildInfo(t *testing.T) {
	mf := gather(t)["parley_build_info"]
	if mf == nil || len(mf.GetMetric()) != 1 {
		t.Fatalf("parley_build_info = %v, want one series", mf)
	}
	for _, l := range mf.GetMetric()[0].GetLabel() {
		if l.GetValue() == "" {
			t.Errorf("label %s is empty", l.GetName())
		}
	}
}

// TestReadmeTable keeps the README's metrics table and the registered
// metrics the same list.
func TestReadmeTable(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := regexp.MustCompile("(?m)^\\| `(parley_[a-z_]+)`").FindAllStringSubmatch(string(data), -1)
	var doc []string
	for _, m := range documented {
		doc = append(doc, m[1])
	}
	var registered []string
	touchVectors()
	for name := range gather(t) {
		if strings.HasPrefix(name, "parley_") {
			registered = append(registered, name)
		}
	}
	slices.Sort(doc)
	slices.Sort(registered)
	if !slices.Equal(doc, registered) {
		t.Errorf("README documents %v\nregistered are %v", doc, registered)
	}
}
