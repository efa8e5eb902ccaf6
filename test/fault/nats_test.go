package fault

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/parley-chat/parley/pkg/checker"
	"github.com/parley-chat/parley/pkg/loadgen"
	"github.com/parley-chat/parley/pkg/stream"
	"github.com/parley-chat/parley/test/harness"
)

// natsNode is one nats-server process of a test cluster.
type natsNode struct {
	name      string
	client    int
	monitor   int
	proc      *harness.Proc
	healthURL string
}

// startNATSCluster starts three nats-server processes with JetStream,
// routed to each other, and returns them and the client URL list.
func startNATSCluster(t *testing.T) ([]*natsNode, string) {
	t.Helper()
	nodes := make([]*natsNode, 3)
	routes := make([]string, 3)
	clusterPorts := make([]int, 3)
	for i := range nodes {
		clusterPorts[i] = harness.FreePort(t)
		routes[i] = fmt.Sprintf("nats://127.0.0.1:%d", clusterPorts[i])
	}
	var urls []string
	dir := t.TempDir()
	for i := range nodes {
		n := &natsNode{name: fmt.Sprintf("n%d", i+1),
			client: harness.FreePort(t), monitor: harness.FreePort(t)}
		conf := writeFile(t, dir, n.name+".conf", fmt.Sprintf(`server_name: %s
listen: 127.0.0.1:%d
http: 127.0.0.1:%d
jetstream { store_dir: %q, sync_interval: 1s }
cluster { name: fault, listen: 127.0.0.1:%d, routes: [%s] }
`, n.name, n.client, n.monitor, dir+"/"+n.name, clusterPorts[i], strings.Join(routes, ", ")))
		n.proc = spawn(t, "nats "+n.name, "nats-server", nil, "-c", conf)
		n.healthURL = fmt.Sprintf("http://127.0.0.1:%d/healthz?js-enabled-only=true", n.monitor)
		nodes[i] = n
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", n.client))
	}
	for _, n := range nodes {
		harness.WaitStatus(t, n.proc, n.healthURL, http.StatusOK)
	}
	return nodes, strings.Join(urls, ",")
}

// streamLeader names the server leading the message stream.
func streamLeader(t *testing.T, urls string) string {
	t.Helper()
	nc, err := nats.Connect(urls)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	str, err := js.Stream(ctx, stream.Name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := str.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Cluster == nil || info.Cluster.Leader == "" || info.Config.Replicas != 3 {
		t.Fatalf("stream cluster info %+v with %d replicas: want a leader and 3", info.Cluster,
			info.Config.Replicas)
	}
	return info.Cluster.Leader
}

// TestNATSNodeKilled kills the server leading the message stream, which
// is stored on all three, and restarts it later. Publishes fail over to
// the new leader; edges whose connection was on the dead server fill
// the live messages they missed from the stream.
func TestNATSNodeKilled(t *testing.T) {
	nodes, urls := startNATSCluster(t)
	tp := startTopo(t, options{natsURL: urls, edges: 2, archivers: 2, replicas: 3})
	tp.withFault(func(run *loadgen.Run) []checker.Send {
		leader := streamLeader(t, urls)
		var victim *natsNode
		for _, n := range nodes {
			if n.name == leader {
				victim = n
			}
		}
		if victim == nil {
			t.Fatalf("the stream leader %q is not one of the test's servers", leader)
		}
		t.Logf("killing %s, the stream leader", leader)
		victim.proc.Kill()
		progress(t, run, 20, "with two servers of three")
		victim.proc.Restart()
		harness.WaitStatus(t, victim.proc, victim.healthURL, http.StatusOK)
		return nil
	})
}
