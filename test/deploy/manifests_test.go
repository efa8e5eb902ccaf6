package deploy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

const (
	baseDir    = "../../k8s/base"
	overlayDir = "../../k8s/overlays/production"
	// writeEnv, set to 1, rewrites the generated manifests from the chart
	// instead of comparing them.
	writeEnv = "PARLEY_WRITE_MANIFESTS"
)

// helmOnly are the labels only Helm sets; the plain manifests leave them
// out.
var helmOnly = []string{"helm.sh/chart", "app.kubernetes.io/managed-by"}

// monitoringValues turn on the Prometheus Operator's objects, which the
// production overlay adds to the base.
var monitoringValues = map[string]any{"metrics": map[string]any{
	"serviceMonitor": map[string]any{"enabled": true},
	"prometheusRule": map[string]any{"enabled": true},
}}

// kustomize builds dir as kubectl kustomize would and returns its
// documents.
func kustomize(t *testing.T, dir string) []document {
	t.Helper()
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize %s: %v", dir, err)
	}
	data, err := m.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	return splitDocuments(t, filepath.Base(dir), data)
}

// plain returns doc as a generic object without Helm's labels, for
// comparing and for writing.
func plain(t *testing.T, doc document) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal(doc.data, &m); err != nil {
		t.Fatalf("%s: %v", doc.source, err)
	}
	for _, path := range [][]string{{"metadata", "labels"}, {"spec", "template", "metadata", "labels"}} {
		if labels, ok := dig(m, path...).(map[string]any); ok {
			for _, l := range helmOnly {
				delete(labels, l)
			}
		}
	}
	return m
}

func dig(m map[string]any, path ...string) any {
	var cur any = m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[p]
	}
	return cur
}

func key(m map[string]any) string {
	return dig(m, "kind").(string) + "/" + dig(m, "metadata", "name").(string)
}

// TestManifestsMatchChart holds k8s/base to the chart's defaults, object
// for object, and the production overlay's monitoring objects to the
// chart's. With PARLEY_WRITE_MANIFESTS=1 it writes them instead.
func TestManifestsMatchChart(t *testing.T) {
	chart := renderChart(t, "")
	monitoring := renderValues(t, monitoringValues, "ServiceMonitor", "PrometheusRule")
	if os.Getenv(writeEnv) == "1" {
		writeManifests(t, chart, monitoring)
	}
	compare(t, "k8s/base", kustomize(t, baseDir), chart)
	var overlay []document
	for _, d := range kustomize(t, overlayDir) {
		m := plain(t, d)
		if k := dig(m, "kind"); k == "ServiceMonitor" || k == "PrometheusRule" {
			delete(m["metadata"].(map[string]any), "namespace")
			data, _ := yaml.Marshal(m)
			overlay = append(overlay, document{source: d.source, data: data})
		}
	}
	compare(t, "the overlay's monitoring", overlay, monitoring)
}

// compare fails unless got and want hold the same objects, Helm's labels
// aside.
func compare(t *testing.T, what string, got, want []document) {
	t.Helper()
	index := func(docs []document) map[string]any {
		out := map[string]any{}
		for _, d := range docs {
			m := plain(t, d)
			// A JSON round trip makes numbers alike on both sides.
			b, _ := json.Marshal(m)
			var norm map[string]any
			_ = json.Unmarshal(b, &norm)
			out[key(m)] = norm
		}
		return out
	}
	g, w := index(got), index(want)
	for k, wv := range w {
		if gv, ok := g[k]; !ok {
			t.Errorf("%s lacks %s", what, k)
		} else if !reflect.DeepEqual(gv, wv) {
			gy, _ := yaml.Marshal(gv)
			wy, _ := yaml.Marshal(wv)
			t.Errorf("%s: %s differs from the chart's (regenerate with %s=1)\nhas:\n%s\nchart:\n%s",
				what, k, writeEnv, gy, wy)
		}
	}
	for k := range g {
		if _, ok := w[k]; !ok {
			t.Errorf("%s has %s, which the chart does not render", what, k)
		}
	}
}

// renderValues renders the chart with vals and keeps the objects of the
// kinds named, or all when none is.
func renderValues(t *testing.T, vals map[string]any, kinds ...string) []document {
	t.Helper()
	f := filepath.Join(t.TempDir(), "values.yaml")
	data, err := yaml.Marshal(vals)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f, data, 0o600); err != nil {
		t.Fatal(err)
	}
	var out []document
	for _, d := range renderChart(t, f) {
		if k := dig(plain(t, d), "kind").(string); len(kinds) == 0 || contains(kinds, k) {
			out = append(out, d)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

const generatedHeader = "# Generated from charts/parley with its default values by\n" +
	"# PARLEY_WRITE_MANIFESTS=1 go test ./test/deploy -run TestManifestsMatchChart\n" +
	"# Change the chart, then regenerate; the test fails while the two differ.\n"

// writeManifests writes the base, one file per chart template, and the
// overlay's monitoring objects.
func writeManifests(t *testing.T, chart, monitoring []document) {
	t.Helper()
	files := map[string][]document{}
	for _, d := range chart {
		files[d.source] = append(files[d.source], d)
	}
	var names []string
	for name, docs := range files {
		writeDocs(t, filepath.Join(baseDir, name), docs)
		names = append(names, name)
	}
	sort.Strings(names)
	kust := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"
	for _, n := range names {
		kust += "  - " + n + "\n"
	}
	err := os.WriteFile(filepath.Join(baseDir, "kustomization.yaml"), []byte(generatedHeader+kust), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	writeDocs(t, filepath.Join(overlayDir, "monitoring.yaml"), monitoring)
}

func writeDocs(t *testing.T, file string, docs []document) {
	t.Helper()
	var parts []string
	for _, d := range docs {
		data, err := yaml.Marshal(plain(t, d))
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, string(data))
	}
	out := generatedHeader + strings.Join(parts, "---\n")
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestManifestsDecodeStrictly builds the base and the production
// overlay and decodes every object, and checks what the overlay changes.
func TestManifestsDecodeStrictly(t *testing.T) {
	decodeAll(t, kustomize(t, baseDir))
	objs := decodeAll(t, kustomize(t, overlayDir))
	kinds := map[string]int{}
	for _, o := range objs {
		kinds[o.kind]++
		m := plain(t, document{source: o.source, data: o.raw})
		if ns := dig(m, "metadata", "namespace"); o.kind != "Namespace" && ns != "parley" {
			t.Errorf("%s/%s is in namespace %v, want parley", o.kind, o.name, ns)
		}
	}
	for _, k := range []string{"Namespace", "ServiceMonitor", "PrometheusRule", "Deployment", "Ingress"} {
		if kinds[k] == 0 {
			t.Errorf("the production overlay has no %s", k)
		}
	}
}

// TestManifestFilesDecode decodes every YAML file under k8s/ on its own,
// so that a file kustomize would not reach is still checked.
func TestManifestFilesDecode(t *testing.T) {
	err := filepath.WalkDir("../../k8s", func(p string, d os.DirEntry, err error) error {
		skip := d != nil && (d.IsDir() || !strings.HasSuffix(p, ".yaml") ||
			filepath.Base(p) == "kustomization.yaml")
		if err != nil || skip {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, doc := range splitDocuments(t, p, data) {
			if _, err := decode(doc); err != nil {
				t.Errorf("%v", err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
