package edge

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/parley-chat/parley/pkg/metrics"
)

// TestShutdownSpreadsCloses checks that Shutdown closes sockets over the
// drain window, not all at once, and each with 1012.
func TestShutdownSpreadsCloses(t *testing.T) {
	const n = 4
	window := 800 * time.Millisecond
	e := newEnv(t)
	s, url := e.edge(Config{DrainWindow: window})
	var clients []*client
	for i := range n {
		c, _ := e.login(url, int64(i+1))
		clients = append(clients, c)
	}
	closedBefore := testutil.ToFloat64(metrics.EdgeClosed(closeRestart))

	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Shutdown(ctx) }()
	at := make(chan time.Duration, n)
	for _, c := range clients {
		go func() {
			c.expectClose(closeRestart, "")
			at <- time.Since(start)
		}()
	}
	var times []time.Duration
	for range n {
		times = append(times, <-at)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	// The i-th of n closes window*i/n after the start.
	if first, last := times[0], times[n-1]; first > window/4 || last < window*(n-1)/n-window/8 {
		t.Errorf("closes at %v, want spread from 0 to about %v", times, window*(n-1)/n)
	}
	if got := testutil.ToFloat64(metrics.EdgeClosed(closeRestart)) - closedBefore; got != n {
		t.Errorf("parley_edge_connections_closed_total{code=1012} went up by %v, want %d", got, n)
	}
}

// TestMetricsOfASend checks that a socket's life shows in the metrics:
// it is counted open, its frames by type, its send's latency, and its
// subscription, and all of it is undone when it closes.
func TestMetricsOfASend(t *testing.T) {
	e := newEnv(t)
	e.addChat("c", 1)
	s, url := e.edge(Config{})
	conns := testutil.ToFloat64(metrics.EdgeConnections)
	subs := testutil.ToFloat64(metrics.EdgeSubscriptions)
	sends := testutil.ToFloat64(metrics.EdgeReceived("send"))
	acks := testutil.ToFloat64(metrics.EdgeSent("ack"))
	messages := testutil.ToFloat64(metrics.EdgeSent("message"))

	c, _ := e.login(url, 1)
	c.send(subscribeMsg("c"))
	c.expect("subscribed")
	c.send(sendMsg("c", "hello", "m1"))
	c.expectPair("ack", "message")
	// The writer counts a message after writing it, so just after the
	// client has read it.
	waitFor(t, "the message to be counted", func() bool {
		return testutil.ToFloat64(metrics.EdgeSent("message"))-messages == 1
	})

	checks := []struct {
		name      string
		got, want float64
	}{
		{"connections", testutil.ToFloat64(metrics.EdgeConnections) - conns, 1},
		{"subscriptions", testutil.ToFloat64(metrics.EdgeSubscriptions) - subs, 1},
		{"send frames received", testutil.ToFloat64(metrics.EdgeReceived("send")) - sends, 1},
		{"acks sent", testutil.ToFloat64(metrics.EdgeSent("ack")) - acks, 1},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s went up by %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	if testutil.CollectAndCount(metrics.EdgeSendAck) != 1 {
		t.Error("parley_edge_send_ack_seconds is not collected")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(metrics.EdgeConnections) - conns; got != 0 {
		t.Errorf("%v sockets still counted after shutdown", got)
	}
	if got := testutil.ToFloat64(metrics.EdgeSubscriptions) - subs; got != 0 {
		t.Errorf("%v subscriptions still counted after shutdown", got)
	}
}
