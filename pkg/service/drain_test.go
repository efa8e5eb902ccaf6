package service

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// serve starts srv and returns a function that stops it and returns
// Serve's error.
func serve(t *testing.T, srv *Server) func() error {
	t.Helper()
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// gauge returns the value of metric name with the label pair, or -1.
func gauge(t *testing.T, name, label, value string) float64 {
	t.Helper()
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return -1
}

// TestServerDrain checks the order of shutdown: not ready first, then the
// service's drain while the server still answers, then the stop.
func TestServerDrain(t *testing.T) {
	health := &Health{Service: "drain_test"}
	health.Add("store", func(context.Context) error { return nil })
	mux := http.NewServeMux()
	health.Mount(mux)
	srv := &Server{Addr: "127.0.0.1:0", Handler: mux, Log: slog.New(slog.DiscardHandler), Health: health}
	drained := make(chan int, 1)
	srv.Drain = func(ctx context.Context) error {
		resp, err := http.Get(srv.URL() + "/readyz")
		if err != nil {
			t.Errorf("the server stopped answering before its drain: %v", err)
			drained <- 0
			return nil
		}
		resp.Body.Close()
		drained <- resp.StatusCode
		return nil
	}
	stop := serve(t, srv)

	if resp, err := http.Get(srv.URL() + "/readyz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("readyz before shutdown: %v %v", resp, err)
	}
	if v := gauge(t, "parley_ready", "service", "drain_test"); v != 1 {
		t.Errorf("parley_ready = %v while ready, want 1", v)
	}
	if v := gauge(t, "parley_dependency_up", "dependency", "store"); v != 1 {
		t.Errorf("parley_dependency_up{store} = %v, want 1", v)
	}
	if err := stop(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if code := <-drained; code != http.StatusServiceUnavailable {
		t.Errorf("readyz during the drain answered %d, want 503", code)
	}
	if v := gauge(t, "parley_ready", "service", "drain_test"); v != 0 {
		t.Errorf("parley_ready = %v after drain, want 0", v)
	}
}

// TestServerGrace checks that a drain that does not finish is cut at the
// grace deadline, and Serve says so.
func TestServerGrace(t *testing.T) {
	grace := 200 * time.Millisecond
	srv := &Server{
		Addr: "127.0.0.1:0", Handler: http.NotFoundHandler(),
		Log: slog.New(slog.DiscardHandler), Grace: grace,
		Drain: func(ctx context.Context) error {
			<-ctx.Done()
			return ctx.Err()
		},
	}
	stop := serve(t, srv)
	start := time.Now()
	err := stop()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Serve = %v, want the deadline's error", err)
	}
	if took := time.Since(start); took < grace || took > grace+2*time.Second {
		t.Errorf("shutdown took %v, want about %v", took, grace)
	}
}

func TestAfterGrace(t *testing.T) {
	parent, cancelParent := context.WithCancel(context.Background())
	grace := 100 * time.Millisecond
	ctx, cancel := AfterGrace(parent, grace)
	defer cancel()
	select {
	case <-ctx.Done():
		t.Fatal("ended before its parent")
	default:
	}
	start := time.Now()
	cancelParent()
	<-ctx.Done()
	if took := time.Since(start); took < grace {
		t.Errorf("ended %v after its parent, want at least %v", took, grace)
	}

	// Cancelling it early ends it at once.
	ctx2, cancel2 := AfterGrace(context.Background(), time.Hour)
	cancel2()
	<-ctx2.Done()
}
