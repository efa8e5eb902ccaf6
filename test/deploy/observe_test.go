package deploy

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape reads in's /metrics.
func scrape(t *testing.T, in *instance) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(in.base() + "/metrics")
	if err != nil {
		t.Fatalf("scraping %s: %v", in.component, err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing %s's metrics: %v", in.component, err)
	}
	return mfs
}

// seriesNames lists the names a family's series carry in PromQL: a
// histogram's are its _bucket, _sum and _count.
func seriesNames(mf *dto.MetricFamily) []string {
	n := mf.GetName()
	switch mf.GetType() {
	case dto.MetricType_HISTOGRAM:
		return []string{n + "_bucket", n + "_sum", n + "_count"}
	case dto.MetricType_SUMMARY:
		return []string{n, n + "_sum", n + "_count"}
	}
	return []string{n}
}

// value sums the series of family name whose labels include match.
func value(mfs map[string]*dto.MetricFamily, name string, match map[string]string) float64 {
	var sum float64
	for _, m := range mfs[name].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if !selects(match, labels) && len(match) > 0 {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum
}

// checkMetrics scrapes every process after the chat: each exports its
// own metrics and not the others', the counts show the chat, and the
// dashboard and the alert rules query only names that some process
// exports.
func (lc *localCluster) checkMetrics(t *testing.T) {
	exported := map[string]bool{}
	byComponent := map[string]map[string]*dto.MetricFamily{}
	for _, c := range []string{"auth", "archiver", "edge"} {
		mfs := scrape(t, lc.instances[c][0])
		byComponent[c] = mfs
		for _, mf := range mfs {
			for _, n := range seriesNames(mf) {
				exported[n] = true
			}
		}
		for name := range mfs {
			for _, other := range []string{"auth", "archiver", "edge"} {
				if other != c && strings.HasPrefix(name, "parley_"+other+"_") {
					t.Errorf("%s exports %s", c, name)
				}
			}
		}
		shared := []string{"parley_build_info", "parley_ready", "go_goroutines", "process_resident_memory_bytes"}
		for _, want := range shared {
			if mfs[want] == nil {
				t.Errorf("%s does not export %s", c, want)
			}
		}
	}
	// The first edge carried alice's send; the second still holds bob's
	// socket.
	byComponent["edge-1"] = scrape(t, lc.instances["edge"][1])
	lc.checkCounts(t, byComponent)
	queries := map[string][]string{"dashboard": dashboardExprs(t), "alert rules": ruleExprs(t, alertsFile)}
	for source, exprs := range queries {
		for _, e := range exprs {
			for _, name := range metricNames(t, e) {
				if !exported[name] {
					t.Errorf("%s query %q uses %s, which no process exports", source, e, name)
				}
			}
		}
	}
}

// checkCounts checks that the chat shows in the counters. The archiver
// commits after acknowledging, so its count is polled for.
func (lc *localCluster) checkCounts(t *testing.T, m map[string]map[string]*dto.MetricFamily) {
	checks := []struct {
		component, name string
		match           map[string]string
		atLeast         float64
	}{
		{"auth", "parley_auth_logins_total", map[string]string{"result": "success"}, 2},
		{"auth", "parley_http_requests_total", map[string]string{"method": "POST", "code": "201"}, 2},
		{"edge", "parley_edge_frames_sent_total", map[string]string{"type": "ack"}, 1},
		{"edge", "parley_edge_frames_received_total", map[string]string{"type": "send"}, 1},
		{"edge", "parley_edge_send_ack_seconds", nil, 1},
		{"edge", "parley_edge_fanout_seconds", nil, 1},
		{"edge-1", "parley_edge_connections", nil, 1},
		{"edge-1", "parley_edge_subscriptions", nil, 1},
		{"edge-1", "parley_edge_chats", nil, 1},
		{"edge-1", "parley_edge_frames_sent_total", map[string]string{"type": "message"}, 1},
		{"edge", "parley_ready", map[string]string{"service": "edge"}, 1},
		{"edge", "parley_nats_connected", nil, 1},
		{"archiver", "parley_dependency_up", map[string]string{"dependency": "nats"}, 1},
	}
	for _, c := range checks {
		if got := value(m[c.component], c.name, c.match); got < c.atLeast {
			t.Errorf("%s: %s%v = %v, want at least %v", c.component, c.name, c.match, got, c.atLeast)
		}
	}
	archiver := lc.instances["archiver"][0]
	eventually(t, 10*time.Second, "the archiver's metrics show a persisted message", func() bool {
		mfs := scrape(t, archiver)
		return value(mfs, "parley_archiver_messages_persisted_total", nil) >= 1 &&
			value(mfs, "parley_archiver_batch_size", nil) >= 1
	})
}

// eventually polls cond every 50ms until it holds, failing the test with
// what when it does not within limit.
func eventually(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(limit)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Errorf("not within %v: %s", limit, what)
			return
		}
	}
}

// checkLogs reads every process's output: JSON lines only, one line per
// HTTP request with a request id, and never a password, a token or a
// message's text.
func (lc *localCluster) checkLogs(t *testing.T, tokens ...string) {
	secrets := append([]string{password, messageText}, tokens...)
	requests := 0
	for _, list := range lc.instances {
		for _, in := range list {
			out := in.p.Output()
			for _, s := range secrets {
				if strings.Contains(out, s) {
					t.Errorf("%s logged a secret or a message's text", in.p.Name())
				}
			}
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				var rec map[string]any
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Errorf("%s wrote a line that is not JSON: %q", in.p.Name(), line)
					continue
				}
				if rec["msg"] == "http request" {
					requests++
					if id, _ := rec["request_id"].(string); id == "" {
						t.Errorf("%s logged a request without an id: %q", in.p.Name(), line)
					}
				}
			}
		}
	}
	if requests < 5 {
		t.Errorf("%d request lines logged, want one per request", requests)
	}
}
