package deploy

import (
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/parley-chat/parley/pkg/embednats"
	"github.com/parley-chat/parley/pkg/testenv"
	"github.com/parley-chat/parley/pkg/token"
	"github.com/parley-chat/parley/test/harness"
)

const componentLabel = "app.kubernetes.io/component"

// rendered is the chart's default objects, by kind.
type rendered struct {
	deployments map[string]*appsv1.Deployment // by component
	services    map[string]*corev1.Service    // by name
	ingress     *networkingv1.Ingress
	objects     []object
}

// singleNATS is the one value the local cluster changes: its NATS is a
// single server, which cannot hold three replicas of a stream.
var singleNATS = map[string]any{"nats": map[string]any{"streamReplicas": 1}}

// renderLocal renders the chart's defaults, but for singleNATS.
func renderLocal(t *testing.T) rendered {
	t.Helper()
	r := rendered{deployments: map[string]*appsv1.Deployment{}, services: map[string]*corev1.Service{}}
	r.objects = decodeAll(t, renderValues(t, singleNATS))
	for _, o := range r.objects {
		switch v := o.obj.(type) {
		case *appsv1.Deployment:
			r.deployments[v.Spec.Template.Labels[componentLabel]] = v
		case *corev1.Service:
			r.services[v.Name] = v
		case *networkingv1.Ingress:
			r.ingress = v
		}
	}
	for _, c := range []string{"edge", "auth", "archiver"} {
		if r.deployments[c] == nil {
			t.Fatalf("no Deployment for %s", c)
		}
	}
	return r
}

// instance is one local process standing in for a pod.
type instance struct {
	component string
	addr      string // host:port it listens on
	p         *harness.Proc
}

func (in *instance) base() string { return "http://" + in.addr }

// localCluster is the chart's Deployments run as local processes, with
// the Services and the Ingress played by a map and a reverse proxy.
type localCluster struct {
	t         *testing.T
	r         rendered
	instances map[string][]*instance // by component
	ingress   string                 // base URL of the local ingress
	secrets   map[string]map[string]string
	externals map[string]string // values of the chart's backing service URLs, replaced
}

// TestChartRunsLocally starts the chart's Deployments, as rendered but
// for addresses and the stream's replicas, and chats through them.
func TestChartRunsLocally(t *testing.T) {
	lc := startLocalCluster(t)
	aliceTok, bobTok, chat := lc.chat()
	lc.checkMetrics(t)
	lc.checkDrain(t, aliceTok, bobTok, chat)
	lc.checkLogs(t, aliceTok, bobTok)
}

func startLocalCluster(t *testing.T) *localCluster {
	t.Helper()
	ns, err := embednats.Start(embednats.Options{Dir: t.TempDir(), Listen: true, Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	key, err := token.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	pemData, err := key.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	lc := &localCluster{
		t: t, r: renderLocal(t), instances: map[string][]*instance{},
		secrets: map[string]map[string]string{
			"parley-database":     {"url": testenv.PostgresURL(t)},
			"parley-signing-keys": {"signing.pem": string(pemData)},
		},
		externals: map[string]string{
			"nats://nats:4222":            ns.ClientURL(),
			"redis://redis-master:6379/0": testenv.RedisURL(t),
		},
	}
	// Addresses first, so that every process can be told where the
	// others are; two edges, so that a chat crosses them.
	for _, c := range []string{"auth", "archiver", "edge", "edge"} {
		lc.instances[c] = append(lc.instances[c], &instance{component: c, addr: harness.FreeAddr(t)})
	}
	for _, c := range []string{"auth", "archiver", "edge"} {
		for i, in := range lc.instances[c] {
			in.p = start(t, fmt.Sprintf("%s-%d", c, i), lc.command(c), lc.env(c, in))
			lc.waitProbes(c, in)
		}
	}
	lc.ingress = lc.serveIngress()
	return lc
}

// command is the binary the component's container runs.
func (lc *localCluster) command(component string) string {
	c := lc.r.deployments[component].Spec.Template.Spec.Containers[0]
	name := commandName(c.Command[0])
	if name != component {
		lc.t.Fatalf("%s runs %v", component, c.Command)
	}
	return name
}

// env turns the container's environment into a process's: the listen
// address becomes in's, Secrets are read from the test's, mounted Secret
// files are written to a folder of their own, and every Service or
// backing service named in a value is replaced by where it runs here.
// A value still naming a host other than this machine fails the test.
func (lc *localCluster) env(component string, in *instance) []string {
	t := lc.t
	spec := lc.r.deployments[component].Spec.Template.Spec
	c := spec.Containers[0]
	mounts := lc.mountSecrets(spec, c)
	listen := fmt.Sprintf(":%d", c.Ports[0].ContainerPort)
	var env []string
	for _, e := range c.Env {
		var v string
		switch {
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			val, ok := lc.secrets[ref.Name][ref.Key]
			if !ok {
				t.Fatalf("%s: %s names Secret %s key %s, which the test lacks",
					component, e.Name, ref.Name, ref.Key)
			}
			v = val
		case e.ValueFrom != nil:
			t.Fatalf("%s: %s comes from %+v, which the test cannot provide", component, e.Name, e.ValueFrom)
		case e.Value == listen:
			v = in.addr
		default:
			v = lc.localize(e.Value, mounts)
		}
		checkLocal(t, component, e.Name, v)
		env = append(env, e.Name+"="+v)
	}
	return env
}

// mountSecrets writes the Secret volumes c mounts into folders and
// returns each mount path's folder.
func (lc *localCluster) mountSecrets(spec corev1.PodSpec, c corev1.Container) map[string]string {
	t := lc.t
	mounts := map[string]string{}
	for _, vm := range c.VolumeMounts {
		for _, v := range spec.Volumes {
			if v.Name != vm.Name || v.Secret == nil {
				continue
			}
			dir := t.TempDir()
			for _, item := range v.Secret.Items {
				val, ok := lc.secrets[v.Secret.SecretName][item.Key]
				if !ok {
					t.Fatalf("volume %s names Secret %s key %s, which the test lacks",
						v.Name, v.Secret.SecretName, item.Key)
				}
				if err := os.WriteFile(filepath.Join(dir, item.Path), []byte(val), 0o400); err != nil {
					t.Fatal(err)
				}
			}
			mounts[vm.MountPath] = dir
		}
	}
	return mounts
}

// localize rewrites a value's cluster addresses to this machine's.
func (lc *localCluster) localize(v string, mounts map[string]string) string {
	if ext, ok := lc.externals[v]; ok {
		return ext
	}
	for mountPath, dir := range mounts {
		v = strings.ReplaceAll(v, mountPath+"/", dir+"/")
	}
	for name, svc := range lc.r.services {
		for _, port := range svc.Spec.Ports {
			host := fmt.Sprintf("%s:%d", name, port.Port)
			if strings.Contains(v, "//"+host) {
				v = strings.ReplaceAll(v, "//"+host, "//"+lc.backend(svc).addr)
			}
		}
	}
	return v
}

// checkLocal fails when a URL in v points anywhere but this machine.
func checkLocal(t *testing.T, component, name, v string) {
	t.Helper()
	for _, part := range strings.Split(v, ",") {
		u, err := url.Parse(part)
		if err != nil || u.Scheme == "" || u.Host == "" {
			continue
		}
		if h := u.Hostname(); h != "127.0.0.1" && h != "localhost" {
			t.Fatalf("%s: %s=%s still names host %s", component, name, v, h)
		}
	}
}

// backend returns the first instance of the component svc selects.
func (lc *localCluster) backend(svc *corev1.Service) *instance {
	lc.t.Helper()
	list := lc.backends(svc)
	return list[0]
}

// backends returns the instances of the component svc selects, checking
// that the selector matches that Deployment's pods.
func (lc *localCluster) backends(svc *corev1.Service) []*instance {
	lc.t.Helper()
	for component, d := range lc.r.deployments {
		if selects(svc.Spec.Selector, d.Spec.Template.Labels) {
			return lc.instances[component]
		}
	}
	lc.t.Fatalf("Service %s selects no Deployment's pods", svc.Name)
	return nil
}

func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// waitProbes waits for the container's startup and readiness probes to
// pass on in, then checks its liveness probe.
func (lc *localCluster) waitProbes(component string, in *instance) {
	c := lc.r.deployments[component].Spec.Template.Spec.Containers[0]
	for _, pr := range []*corev1.Probe{c.StartupProbe, c.ReadinessProbe, c.LivenessProbe} {
		if pr == nil || pr.HTTPGet == nil {
			lc.t.Fatalf("%s: a probe is not an HTTP GET", component)
		}
		if pr.HTTPGet.Port.String() != c.Ports[0].Name {
			lc.t.Fatalf("%s: probe port %s is not the container's port", component, pr.HTTPGet.Port.String())
		}
		harness.WaitStatus(lc.t, in.p, in.base()+pr.HTTPGet.Path, http.StatusOK)
	}
}

// serveIngress plays the rendered Ingress: a reverse proxy that routes
// each request by the Ingress's paths to its Service's instances, round
// robin, WebSockets included. It returns the proxy's base URL.
func (lc *localCluster) serveIngress() string {
	t := lc.t
	ing := lc.r.ingress
	if ing == nil || len(ing.Spec.Rules) != 1 || ing.Spec.Rules[0].HTTP == nil {
		t.Fatal("the default Ingress has not exactly one HTTP rule")
	}
	paths := ing.Spec.Rules[0].HTTP.Paths
	var turn atomic.Uint64
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		p := route(paths, pr.In.URL.Path)
		if p == nil {
			t.Errorf("the Ingress routes %s nowhere", pr.In.URL.Path)
			return
		}
		svc := lc.r.services[p.Backend.Service.Name]
		if svc == nil {
			t.Errorf("the Ingress names Service %s, which is not rendered", p.Backend.Service.Name)
			return
		}
		list := lc.backends(svc)
		in := list[int(turn.Add(1))%len(list)]
		pr.SetURL(&url.URL{Scheme: "http", Host: in.addr})
		pr.Out.Header.Set("X-Routed-To", in.component)
	}}
	// Tell the client where its request went.
	proxy.ModifyResponse = func(resp *http.Response) error {
		resp.Header.Set("X-Routed-To", resp.Request.Header.Get("X-Routed-To"))
		return nil
	}
	addr := harness.FreeAddr(t)
	srv := &http.Server{Addr: addr, Handler: proxy}
	done := make(chan error, 1)
	go func() { done <- srv.ListenAndServe() }()
	t.Cleanup(func() {
		_ = srv.Close() // the test is over; in-flight proxying may be cut
		<-done
	})
	base := "http://" + addr
	harness.WaitStatus(t, lc.instances["edge"][0].p, base+"/healthz", http.StatusOK)
	return base
}

// route picks the Ingress path that serves p, as Kubernetes specifies:
// the longest match, Exact before Prefix of the same length, and Prefix
// matching whole path elements.
func route(paths []networkingv1.HTTPIngressPath, p string) *networkingv1.HTTPIngressPath {
	var best *networkingv1.HTTPIngressPath
	score := -1
	for i := range paths {
		ip := &paths[i]
		s := -1
		switch *ip.PathType {
		case networkingv1.PathTypeExact:
			if p == ip.Path {
				s = 2*len(ip.Path) + 1
			}
		case networkingv1.PathTypePrefix:
			pre := strings.TrimSuffix(ip.Path, "/")
			if pre == "" || p == pre || strings.HasPrefix(p, pre+"/") {
				s = 2 * len(pre)
			}
		}
		if s > score {
			best, score = ip, s
		}
	}
	return best
}

// routedTo asks the local ingress which component serves path.
func (lc *localCluster) routedTo(path string) string {
	lc.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, lc.ingress+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		lc.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get("X-Routed-To")
}

// password is the test users' password; the logs must never show it.
const password = "correct horse battery staple 42"

// messageText is what alice says; the logs must never show it either.
const messageText = "meet me at the north gate at noon"

// chat walks two users through the local cluster by way of the Ingress,
// with a socket on each edge: sign-up, a chat, a send and its delivery.
func (lc *localCluster) chat() (aliceTok, bobTok, chat string) {
	t := lc.t
	suffix := testenv.Suffix()
	aliceTok, _ = harness.SignUp(t, lc.ingress, "alice_"+suffix, password)
	bobTok, _ = harness.SignUp(t, lc.ingress, "bob_"+suffix, password)

	var created struct{ URI string }
	alice := harness.Client{T: t, Base: lc.ingress, Token: aliceTok}
	bob := harness.Client{T: t, Base: lc.ingress, Token: bobTok}
	if st := alice.Do("POST", "/api/chats/", nil, &created); st != 201 {
		t.Fatalf("creating a chat through the Ingress: status %d", st)
	}
	chat = created.URI
	if st := bob.Do("PATCH", "/api/chats/"+chat+"/", nil, nil); st != 200 {
		t.Fatalf("joining through the Ingress: status %d", st)
	}

	// Straight to each edge, so that the chat surely crosses them.
	edges := lc.instances["edge"]
	as := dial(t, edges[0].base(), aliceTok)
	bs := dial(t, edges[1].base(), bobTok)
	for _, s := range []*socket{as, bs} {
		s.Send(map[string]any{"type": "subscribe", "chat": chat})
		if f := s.nextOf("subscribed"); f.Chat != chat {
			t.Fatalf("subscribed to %q, want %q", f.Chat, chat)
		}
	}
	as.Send(map[string]any{"type": "send", "chat": chat, "message": messageText, "client_id": "c1"})
	ack := as.nextOf("ack")
	got := bs.nextOf("message")
	if got.Message != messageText || got.ID != ack.ID || ack.ClientID != "c1" {
		t.Fatalf("bob got %+v for ack %+v", got, ack)
	}

	// And through the Ingress, as a browser would.
	ws := dial(t, lc.ingress, bobTok)
	ws.Send(map[string]any{"type": "subscribe", "chat": chat, "since": 0})
	ws.nextOf("subscribed")
	if f := ws.nextOf("message"); f.ID != ack.ID {
		t.Fatalf("replay through the Ingress gave %+v, want message %d", f, ack.ID)
	}
	var hist struct{ Messages []frame }
	path := "/api/chats/" + chat + "/messages/"
	if st := bob.Do("GET", path, nil, &hist); st != 200 ||
		len(hist.Messages) != 1 || hist.Messages[0].ID != ack.ID {
		t.Fatalf("history through the Ingress: status %d, %+v", st, hist.Messages)
	}
	// Only the drain check's socket is to be left on the first edge, so
	// that its close comes at the start of the drain window.
	as.Close()
	ws.Close()
	for p, want := range map[string]string{
		"/auth/jwks.json": "auth", "/api/chats/": "archiver",
		"/ws": "edge", "/": "edge", "/index.html": "edge",
	} {
		if got := lc.routedTo(p); got != want {
			t.Errorf("the Ingress sends %s to %q, want %q", p, got, want)
		}
	}
	return aliceTok, bobTok, chat
}

// checkDrain stops the first edge as Kubernetes would, with SIGTERM: its
// sockets must be closed with 1012 within the drain window and the
// process must exit cleanly within the shutdown grace the chart sets.
func (lc *localCluster) checkDrain(t *testing.T, aliceTok, bobTok, chat string) {
	edge := lc.instances["edge"][0]
	s := dial(t, edge.base(), aliceTok)
	d := lc.r.deployments["edge"]
	env := d.Spec.Template.Spec.Containers[0].Env
	grace, window := envSeconds(env, "PARLEY_SHUTDOWN_GRACE"), envSeconds(env, "PARLEY_DRAIN_WINDOW")
	if grace == 0 || window == 0 {
		t.Fatal("the edge's PARLEY_SHUTDOWN_GRACE or PARLEY_DRAIN_WINDOW is not whole seconds")
	}
	if err := edge.p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The edge closes its sockets spread over the drain window, this
	// one at some point within it.
	if code := s.CloseCode(time.Duration(window+5) * time.Second); code != 1012 {
		t.Errorf("draining edge closed the socket with %d, want 1012", code)
	}
	if err := edge.p.StopWithin(time.Duration(grace) * time.Second); err != nil {
		t.Errorf("edge exited with %v after SIGTERM:\n%s", err, edge.p.Output())
	}
	// The other edge still serves the chat.
	other := dial(t, lc.instances["edge"][1].base(), bobTok)
	other.Send(map[string]any{"type": "subscribe", "chat": chat})
	other.nextOf("subscribed")
}
