// Package deploy tests what Parley ships for production: the Helm chart,
// the kustomize manifests, the alert rules, the Grafana dashboard and the
// Dockerfile. The chart is rendered with Helm's own libraries, every
// object decodes strictly into its Kubernetes type, and the Deployments'
// commands and environment start a working cluster of local processes.
package deploy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

const (
	chartDir       = "../../charts/parley"
	fullValuesFile = "../../charts/parley/ci/full-values.yaml"
	releaseName    = "parley"
	releaseNS      = "parley"
)

// valueSets are the values files every chart test renders with: "" is
// the chart's defaults.
var valueSets = []string{"", fullValuesFile}

// renderChart renders the chart with the values file (none when empty)
// and returns every object's YAML document, keyed by template file in
// output order, NOTES.txt left out.
func renderChart(t *testing.T, valuesFile string) []document {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("loading chart: %v", err)
	}
	vals := map[string]any{}
	if valuesFile != "" {
		v, err := common.ReadValuesFile(valuesFile)
		if err != nil {
			t.Fatalf("reading %s: %v", valuesFile, err)
		}
		vals = v
	}
	opts := common.ReleaseOptions{Name: releaseName, Namespace: releaseNS, Revision: 1, IsInstall: true}
	caps := common.DefaultCapabilities
	rv, err := util.ToRenderValuesWithSchemaValidation(ch, vals, opts, caps, false)
	if err != nil {
		t.Fatalf("values: %v", err)
	}
	files, err := engine.Render(ch, rv)
	if err != nil {
		t.Fatalf("rendering: %v", err)
	}
	names := make([]string, 0, len(files))
	for name := range files {
		if !strings.HasSuffix(name, "NOTES.txt") {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	var docs []document
	for _, name := range names {
		docs = append(docs, splitDocuments(t, filepath.Base(name), []byte(files[name]))...)
	}
	return docs
}

// document is one YAML object and where it came from.
type document struct {
	source string
	data   []byte
}

// splitDocuments cuts a multi-document YAML stream into its non-empty
// documents.
func splitDocuments(t *testing.T, source string, data []byte) []document {
	t.Helper()
	rd := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs []document
	for {
		doc, err := rd.Read()
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: splitting YAML: %v", source, err)
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		docs = append(docs, document{source: source, data: doc})
	}
}

// stripComments drops whole-line comments, so that a document holding
// only comments counts as empty.
func stripComments(doc []byte) []byte {
	var out bytes.Buffer
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			out.Write(line)
			out.WriteByte('\n')
		}
	}
	return out.Bytes()
}

func TestChartLint(t *testing.T) {
	for _, vf := range valueSets {
		vals := map[string]any{}
		if vf != "" {
			v, err := common.ReadValuesFile(vf)
			if err != nil {
				t.Fatal(err)
			}
			vals = v
		}
		res := lint.RunAll(chartDir, vals, releaseNS)
		for _, m := range res.Messages {
			// Info messages are advice (an icon, say), not faults.
			if m.Severity > support.InfoSev {
				t.Errorf("helm lint with %q: %s", valuesName(vf), m)
			}
		}
	}
}

// TestChartLintFindsFaults makes sure the lint above can fail: a copy of
// the chart with a broken template must not pass.
func TestChartLintFindsFaults(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "parley")
	if err := os.CopyFS(dir, os.DirFS(chartDir)); err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(dir, "templates", "broken.yaml")
	if err := os.WriteFile(broken, []byte("kind: {{ .Values.nothing.here }}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := lint.RunAll(dir, map[string]any{}, releaseNS)
	if res.HighestSeverity < support.ErrorSev {
		t.Errorf("lint passed a broken template: %v", res.Messages)
	}
}

// at returns values holding v at the dotted path.
func at(path string, v any) map[string]any {
	keys := strings.Split(path, ".")
	out := map[string]any{keys[len(keys)-1]: v}
	for i := len(keys) - 2; i >= 0; i-- {
		out = map[string]any{keys[i]: out}
	}
	return out
}

func valuesName(vf string) string {
	if vf == "" {
		return "defaults"
	}
	return filepath.Base(vf)
}

// TestChartRendersExpectedObjects checks the kinds each values set
// yields, so that a template that silently renders nothing is caught.
func TestChartRendersExpectedObjects(t *testing.T) {
	want := map[string][]string{
		"": {
			"ConfigMap/parley-dashboard", "Deployment/parley-archiver", "Deployment/parley-auth",
			"Deployment/parley-edge", "HorizontalPodAutoscaler/parley-edge", "Ingress/parley",
			"NetworkPolicy/parley-archiver", "NetworkPolicy/parley-auth", "NetworkPolicy/parley-edge",
			"PodDisruptionBudget/parley-archiver", "PodDisruptionBudget/parley-auth",
			"PodDisruptionBudget/parley-edge", "Service/parley-archiver", "Service/parley-auth",
			"Service/parley-edge", "ServiceAccount/parley",
		},
		fullValuesFile: {
			"ConfigMap/parley-dashboard", "Deployment/parley-archiver", "Deployment/parley-auth",
			"Deployment/parley-edge", "HorizontalPodAutoscaler/parley-archiver",
			"HorizontalPodAutoscaler/parley-auth", "HorizontalPodAutoscaler/parley-edge",
			"Ingress/parley", "NetworkPolicy/parley-archiver", "NetworkPolicy/parley-auth",
			"NetworkPolicy/parley-edge", "PodDisruptionBudget/parley-archiver",
			"PodDisruptionBudget/parley-auth", "PodDisruptionBudget/parley-edge",
			"PrometheusRule/parley", "Service/parley-archiver", "Service/parley-auth",
			"Service/parley-edge", "ServiceAccount/parley-runtime", "ServiceMonitor/parley",
		},
	}
	for vf, kinds := range want {
		var got []string
		for _, obj := range decodeAll(t, renderChart(t, vf)) {
			got = append(got, obj.kind+"/"+obj.name)
		}
		sort.Strings(got)
		if strings.Join(got, " ") != strings.Join(kinds, " ") {
			t.Errorf("with %s rendered\n%v\nwant\n%v", valuesName(vf), got, kinds)
		}
	}
}

// TestChartRefusesBadSettings checks the chart's own validation and its
// values schema.
func TestChartRefusesBadSettings(t *testing.T) {
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		vals map[string]any
		want string
	}{
		{"drain longer than grace", at("drainWindowSeconds", 40), "drainWindowSeconds"},
		{"no signing keys", at("signingKeys.keys", []any{}), "signingKeys.keys"},
		{"no database secret", at("database.existingSecret", ""), "database.existingSecret"},
		{"TLS without a secret", at("ingress.tls.enabled", true), "ingress.tls.secretName"},
		{"a misspelt value", at("edge.replica", 3), "replica"},
		{"a bad log level", at("config.logLevel", "loud"), "logLevel"},
	}
	for _, tt := range tests {
		opts := common.ReleaseOptions{Name: releaseName, Namespace: releaseNS, IsInstall: true}
		caps := common.DefaultCapabilities
		rv, err := util.ToRenderValuesWithSchemaValidation(ch, tt.vals, opts, caps, false)
		if err == nil {
			_, err = engine.Render(ch, rv)
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: render error %v, want one naming %s", tt.name, err, tt.want)
		}
	}
}
