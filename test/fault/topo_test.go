package fault

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/pkg/checker"
	"github.com/parley-chat/parley/pkg/embednats"
	"github.com/parley-chat/parley/pkg/loadgen"
	"github.com/parley-chat/parley/pkg/testenv"
	"github.com/parley-chat/parley/pkg/token"
	"github.com/parley-chat/parley/test/harness"
)

// topo is one cluster under test: auth, archivers and edges as separate
// processes over one NATS (embedded here, or a cluster of processes),
// PostgreSQL and Redis.
type topo struct {
	t         *testing.T
	natsURL   string
	dbURL     string
	authURL   string
	archivers []*harness.Proc
	archURLs  []string
	edges     []*harness.Proc
	edgeURLs  []string
}

// options shape a topo; zero values take the defaults.
type options struct {
	edges, archivers int    // 1 each
	natsURL          string // an embedded server when empty
	dbURL            string // a fresh database on the test PostgreSQL when empty
	replicas         int    // stream replicas, 1
}

// ackWait is the archivers' AckWait: short, so that what a killed
// archiver held is delivered to another within the test.
const ackWait = "2s"

func startTopo(t *testing.T, o options) *topo {
	t.Helper()
	o.edges, o.archivers, o.replicas = max(o.edges, 1), max(o.archivers, 1), max(o.replicas, 1)
	tp := &topo{t: t, natsURL: o.natsURL, dbURL: o.dbURL}
	if tp.natsURL == "" {
		tp.natsURL = embeddedNATS(t)
	}
	if tp.dbURL == "" {
		tp.dbURL = testenv.PostgresURL(t)
	}
	common := []string{
		"PARLEY_NATS_URL=" + tp.natsURL, "PARLEY_DATABASE_URL=" + tp.dbURL,
		"PARLEY_REDIS_URL=" + testenv.RedisURL(t), "PARLEY_LOG_FORMAT=text",
	}
	port := harness.FreePort(t)
	tp.authURL = fmt.Sprintf("http://127.0.0.1:%d", port)
	common = append(common, "PARLEY_AUTH_URL="+tp.authURL)
	auth := spawn(t, "auth", "auth", with(common, fmt.Sprintf("PARLEY_ADDR=127.0.0.1:%d", port),
		"PARLEY_SIGNING_KEYS="+signingKey(t)))
	harness.WaitStatus(tp.t, auth, tp.authURL+"/readyz", http.StatusOK)

	for i := range o.archivers {
		env := with(common, "PARLEY_ACK_WAIT="+ackWait, fmt.Sprintf("PARLEY_STREAM_REPLICAS=%d", o.replicas))
		tp.archivers, tp.archURLs = tp.service(fmt.Sprintf("archiver%d", i), "archiver", env,
			tp.archivers, tp.archURLs)
	}
	for i := range o.edges {
		tp.edges, tp.edgeURLs = tp.service(fmt.Sprintf("edge%d", i), "edge", common, tp.edges, tp.edgeURLs)
	}
	return tp
}

// service starts one more process of binary on a free port and waits
// until it is ready.
func (tp *topo) service(name, binary string, env []string, ps []*harness.Proc,
	urls []string) ([]*harness.Proc, []string) {
	tp.t.Helper()
	port := harness.FreePort(tp.t)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	p := spawn(tp.t, name, binary, with(env, fmt.Sprintf("PARLEY_ADDR=127.0.0.1:%d", port)))
	harness.WaitStatus(tp.t, p, url+"/readyz", http.StatusOK)
	return append(ps, p), append(urls, url)
}

// with returns base and more in a new slice, so that environments built
// from one base never share storage.
func with(base []string, more ...string) []string { return slices.Concat(base, more) }

func embeddedNATS(t *testing.T) string {
	t.Helper()
	srv, err := embednats.Start(embednats.Options{Dir: t.TempDir(), Listen: true, Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return srv.ClientURL()
}

func signingKey(t *testing.T) string {
	t.Helper()
	k, err := token.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	pem, err := k.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	return string(pem)
}

// load is the modest load every fault test runs under: two chats of
// three members, 15 messages a second for 8 seconds.
func (tp *topo) load() loadgen.Config {
	return loadgen.Config{
		AuthURL:    tp.authURL,
		APIURL:     tp.archURLs[len(tp.archURLs)-1],
		EdgeURLs:   tp.edgeURLs,
		Chats:      2,
		Members:    3,
		Rate:       15,
		Duration:   8 * time.Second,
		AckTimeout: time.Second,
		Settle:     40 * time.Second,
		Log:        slog.New(slog.NewTextHandler(testWriter{tp.t}, nil)),
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// withFault runs the load, calls fault once 20 messages are
// acknowledged, and when sending is over checks that every member and
// the history got every acknowledged message once and in order, those
// fault reports it stored by itself included.
func (tp *topo) withFault(fault func(run *loadgen.Run) []checker.Send) *loadgen.Result {
	t := tp.t
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	run, err := loadgen.Prepare(ctx, tp.load())
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		run.Send(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-sent
		run.Close()
	})
	eventually(t, 20*time.Second, "20 acknowledged messages", func() bool { return run.Acked() >= 20 })
	extra := fault(run)
	<-sent
	res, err := run.Finish(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	res.Input.Sends = append(res.Input.Sends, extra...)
	report := checker.Check(res.Input)
	t.Logf("load:\n%s\nchecker:\n%s", res, report)
	switch {
	case !report.OK():
		t.Fatalf("the checker found defects:\n%s", report)
	case report.Unacked > 0:
		t.Fatalf("%d of %d sends were never acknowledged", report.Unacked, report.Sends)
	case report.Received.Expected == 0 || report.History.Expected == 0:
		t.Fatal("the checker had nothing to check")
	}
	return res
}

// progress waits until n more messages are acknowledged than now.
func progress(t *testing.T, run *loadgen.Run, n int, why string) {
	t.Helper()
	want := run.Acked() + n
	eventually(t, 30*time.Second, fmt.Sprintf("%d more acks %s", n, why), func() bool {
		return run.Acked() >= want
	})
}

// writeFile writes a file the test needs and returns its path.
func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
