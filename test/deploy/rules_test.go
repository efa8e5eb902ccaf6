package deploy

import (
	"encoding/json"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"

	corev1 "k8s.io/api/core/v1"
)

const (
	alertsFile    = chartDir + "/files/alerts.yaml"
	dashboardFile = chartDir + "/files/dashboard.json"
)

var promql = parser.NewParser(parser.Options{})

// parseRules parses a rule file with Prometheus' own parser, unknown
// fields refused, and returns its groups.
func parseRules(t *testing.T, source string, data []byte) *rulefmt.RuleGroups {
	t.Helper()
	groups, errs := rulefmt.Parse(data, false, model.UTF8Validation, promql, slog.New(slog.DiscardHandler))
	for _, err := range errs {
		t.Errorf("%s: %v", source, err)
	}
	if groups == nil {
		t.Fatalf("%s: no rule groups", source)
	}
	return groups
}

// TestAlertRules parses the alert rules, as shipped and as rendered into
// the PrometheusRule, and checks the alerts operators rely on are there.
func TestAlertRules(t *testing.T) {
	data, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	groups := parseRules(t, alertsFile, data)
	var alerts []string
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			alerts = append(alerts, r.Alert)
			if r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("alert %s lacks a severity or a summary", r.Alert)
			}
		}
	}
	for _, want := range []string{
		"ParleyNoReadyEdges", "ParleyConsumerLagGrowing", "ParleyMessagesNotPersisted",
		"ParleyMessagesDeadLettered", "ParleyLiveGaps", "ParleyAuthErrors", "ParleyRedisUnavailable",
	} {
		if !slices.Contains(alerts, want) {
			t.Errorf("alert %s is missing", want)
		}
	}

	// The PrometheusRule must carry the same rules, intact.
	for _, o := range decodeAll(t, renderChart(t, fullValuesFile)) {
		pr, ok := o.monitoring.(*prometheusRule)
		if !ok {
			continue
		}
		spec, err := yaml.Marshal(pr.Spec)
		if err != nil {
			t.Fatal(err)
		}
		rendered := parseRules(t, "rendered PrometheusRule", spec)
		if got, want := len(rendered.Groups[0].Rules), len(groups.Groups[0].Rules); got != want {
			t.Errorf("the PrometheusRule holds %d rules, want %d", got, want)
		}
		return
	}
	t.Error("the full values render no PrometheusRule")
}

// ruleExprs returns every expression of a rule file.
func ruleExprs(t *testing.T, file string) []string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var exprs []string
	for _, g := range parseRules(t, file, data).Groups {
		for _, r := range g.Rules {
			exprs = append(exprs, r.Expr)
		}
	}
	return exprs
}

// dashboard is the part of a Grafana dashboard the tests read.
type dashboard struct {
	UID    string  `json:"uid"`
	Panels []panel `json:"panels"`
}

type panel struct {
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		UID string `json:"uid"`
	} `json:"datasource"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

func readDashboard(t *testing.T) dashboard {
	t.Helper()
	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return d
}

// dashboardExprs returns every query of the dashboard.
func dashboardExprs(t *testing.T) []string {
	t.Helper()
	var exprs []string
	for _, p := range readDashboard(t).Panels {
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	return exprs
}

// grafanaVars stands in for the dashboard's variables, so that its
// queries parse as plain PromQL.
var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$namespace", "parley")

// metricNames parses expr and returns the metric names it selects.
func metricNames(t *testing.T, expr string) []string {
	t.Helper()
	e, err := promql.ParseExpr(grafanaVars.Replace(expr))
	if err != nil {
		t.Fatalf("parsing %q: %v", expr, err)
	}
	var names []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			names = append(names, vs.Name)
		}
		return nil
	})
	return names
}

// TestDashboard checks the dashboard's shape: every panel queries the
// chosen data source with PromQL that parses, and the chart ships it in a
// ConfigMap that Grafana's sidecar picks up.
func TestDashboard(t *testing.T) {
	d := readDashboard(t)
	queries := 0
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" || len(p.Targets) == 0 {
			t.Errorf("panel %q does not query the dashboard's data source", p.Title)
		}
		for _, tg := range p.Targets {
			if len(metricNames(t, tg.Expr)) == 0 {
				t.Errorf("panel %q: %q selects no metric", p.Title, tg.Expr)
			}
			queries++
		}
	}
	if queries < 20 {
		t.Errorf("the dashboard has %d queries, want at least 20", queries)
	}

	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range decodeAll(t, renderChart(t, "")) {
		cm, ok := o.obj.(*corev1.ConfigMap)
		if !ok {
			continue
		}
		if cm.Labels["grafana_dashboard"] != "1" {
			t.Errorf("dashboard ConfigMap labels %v lack grafana_dashboard", cm.Labels)
		}
		if strings.TrimSpace(cm.Data["parley.json"]) != strings.TrimSpace(string(data)) {
			t.Error("the dashboard ConfigMap does not hold the dashboard as shipped")
		}
		return
	}
	t.Error("no dashboard ConfigMap rendered")
}
