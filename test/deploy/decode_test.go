package deploy

import (
	"fmt"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

// strict decodes YAML into the registered Kubernetes type of its kind,
// failing on unknown and duplicate fields.
var strict = serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()

// object is one decoded manifest.
type object struct {
	kind, name string
	source     string
	obj        runtime.Object // nil for the monitoring kinds
	monitoring any            // a *serviceMonitor or *prometheusRule
	raw        []byte
}

// decode decodes doc strictly. Kubernetes' own kinds decode into their
// k8s.io/api types; the Prometheus Operator's two kinds into the structs
// below, which hold exactly the fields the chart uses: their module would
// pull newer k8s.io/utils and kube-openapi than the rest of the build.
func decode(doc document) (object, error) {
	var meta struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := yaml.Unmarshal(doc.data, &meta); err != nil {
		return object{}, fmt.Errorf("%s: %w", doc.source, err)
	}
	o := object{kind: meta.Kind, name: meta.Metadata.Name, source: doc.source, raw: doc.data}
	gv, err := schema.ParseGroupVersion(meta.APIVersion)
	if err != nil {
		return o, fmt.Errorf("%s: %w", doc.source, err)
	}
	if gv.Group == "monitoring.coreos.com" {
		o.monitoring, err = decodeMonitoring(meta.Kind, doc.data)
		if err != nil {
			return o, fmt.Errorf("%s %s/%s: %w", doc.source, meta.Kind, meta.Metadata.Name, err)
		}
		return o, nil
	}
	obj, gvk, err := strict.Decode(doc.data, nil, nil)
	if err != nil {
		return o, fmt.Errorf("%s %s/%s: %w", doc.source, meta.Kind, meta.Metadata.Name, err)
	}
	if gvk.Kind != meta.Kind {
		return o, fmt.Errorf("%s: decoded %s as %s", doc.source, meta.Kind, gvk.Kind)
	}
	o.obj = obj
	return o, nil
}

func decodeAll(t *testing.T, docs []document) []object {
	t.Helper()
	var out []object
	for _, d := range docs {
		o, err := decode(d)
		if err != nil {
			t.Fatalf("decoding: %v", err)
		}
		out = append(out, o)
	}
	return out
}

func decodeMonitoring(kind string, data []byte) (any, error) {
	switch kind {
	case "ServiceMonitor":
		var sm serviceMonitor
		return &sm, yaml.UnmarshalStrict(data, &sm)
	case "PrometheusRule":
		var pr prometheusRule
		return &pr, yaml.UnmarshalStrict(data, &pr)
	}
	return nil, fmt.Errorf("unknown monitoring kind %s", kind)
}

// objectMeta is the part of Kubernetes' ObjectMeta the monitoring kinds
// carry here.
type objectMeta struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// serviceMonitor is monitoring.coreos.com/v1 ServiceMonitor, as far as
// the chart uses it.
type serviceMonitor struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   objectMeta `json:"metadata"`
	Spec       struct {
		Selector struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"selector"`
		Endpoints []struct {
			Port     string `json:"port"`
			Path     string `json:"path"`
			Interval string `json:"interval"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// prometheusRule is monitoring.coreos.com/v1 PrometheusRule, as far as
// the chart uses it.
type prometheusRule struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   objectMeta `json:"metadata"`
	Spec       struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Alert       string            `json:"alert"`
				Expr        string            `json:"expr"`
				For         string            `json:"for,omitempty"`
				Labels      map[string]string `json:"labels,omitempty"`
				Annotations map[string]string `json:"annotations,omitempty"`
			} `json:"rules"`
		} `json:"groups"`
	} `json:"spec"`
}

// TestChartObjectsDecodeStrictly renders both values sets and decodes
// every object; it also checks what every Deployment must have.
func TestChartObjectsDecodeStrictly(t *testing.T) {
	for _, vf := range valueSets {
		for _, o := range decodeAll(t, renderChart(t, vf)) {
			if d, ok := o.obj.(*appsv1.Deployment); ok {
				checkDeployment(t, valuesName(vf), d)
			}
		}
	}
}

// checkDeployment holds a Deployment to the chart's promises: probes,
// resources, a non-root read-only container and a shutdown that fits.
func checkDeployment(t *testing.T, values string, d *appsv1.Deployment) {
	t.Helper()
	spec := d.Spec.Template.Spec
	where := values + " " + d.Name
	psc := spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		t.Errorf("%s: pod may run as root", where)
	}
	if len(spec.Containers) != 1 {
		t.Fatalf("%s: %d containers, want 1", where, len(spec.Containers))
	}
	c := spec.Containers[0]
	sc := c.SecurityContext
	if sc == nil {
		sc = &corev1.SecurityContext{}
	}
	grace := spec.TerminationGracePeriodSeconds
	checks := map[string]bool{
		"liveness probe on /healthz": probePath(c.LivenessProbe) == "/healthz",
		"readiness probe on /readyz": probePath(c.ReadinessProbe) == "/readyz",
		"memory request and limit": !c.Resources.Requests.Memory().IsZero() &&
			!c.Resources.Limits.Memory().IsZero(),
		"read-only root file system": isTrue(sc.ReadOnlyRootFilesystem),
		"no privilege escalation": sc.AllowPrivilegeEscalation != nil &&
			!*sc.AllowPrivilegeEscalation,
		"all capabilities dropped": sc.Capabilities != nil &&
			slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}),
		"no service account token": spec.AutomountServiceAccountToken != nil &&
			!*spec.AutomountServiceAccountToken,
		"grace beyond the shutdown": grace != nil &&
			*grace > envSeconds(c.Env, "PARLEY_SHUTDOWN_GRACE"),
		"command is one of the four": len(c.Command) == 1 && commandName(c.Command[0]) != "",
	}
	for what, ok := range checks {
		if !ok {
			t.Errorf("%s: missing %s", where, what)
		}
	}
}

func probePath(p *corev1.Probe) string {
	if p == nil || p.HTTPGet == nil {
		return ""
	}
	return p.HTTPGet.Path
}

func isTrue(b *bool) bool { return b != nil && *b }

// envSeconds reads a whole-second duration ("30s") from env, or 0.
func envSeconds(env []corev1.EnvVar, name string) int64 {
	for _, e := range env {
		var n int64
		if e.Name == name {
			if _, err := fmt.Sscanf(e.Value, "%ds", &n); err == nil {
				return n
			}
		}
	}
	return 0
}

// TestStrictDecodingRefusesUnknownFields makes sure decoding is strict.
func TestStrictDecodingRefusesUnknownFields(t *testing.T) {
	docs := map[string]string{
		"a misspelt field": "apiVersion: apps/v1\nkind: Deployment\n" +
			"metadata: {name: x}\nspec: {replica: 2}\n",
		"a duplicate field": "apiVersion: v1\nkind: Service\n" +
			"metadata: {name: x}\nspec: {type: ClusterIP, type: NodePort}\n",
		"a monitoring field": "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\n" +
			"metadata: {name: x}\nspec: {endpoint: []}\n",
	}
	for name, doc := range docs {
		if _, err := decode(document{source: name, data: []byte(doc)}); err == nil {
			t.Errorf("%s decoded without error", name)
		}
	}
}
