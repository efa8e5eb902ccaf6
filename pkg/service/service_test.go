package service

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
)

func TestHealth(t *testing.T) {
	var h Health
	dbErr := errors.New("connection refused")
	var failing atomic.Bool
	h.Add("database", func(context.Context) error {
		if failing.Load() {
			return dbErr
		}
		return nil
	})
	mux := http.NewServeMux()
	h.Mount(mux)
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	srv := &Server{Addr: "127.0.0.1:0", Handler: mux, Log: slog.New(slog.DiscardHandler)}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})

	get := func(path string) (int, map[string]string) {
		resp, err := http.Get(srv.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		var body map[string]string
		_ = json.Unmarshal(data, &body)
		return resp.StatusCode, body
	}
	steps := []struct {
		name       string
		before     func()
		path       string
		status     int
		wantReason string
	}{
		{"alive", nil, "/healthz", 200, ""},
		{"ready", nil, "/readyz", 200, ""},
		{"dependency down", func() { failing.Store(true) }, "/readyz", 503, "database: connection refused"},
		{"still alive", nil, "/healthz", 200, ""},
		{"draining", func() { failing.Store(false); h.Drain() }, "/readyz", 503, "draining"},
	}
	for _, st := range steps {
		if st.before != nil {
			st.before()
		}
		code, body := get(st.path)
		if code != st.status || body["reason"] != st.wantReason {
			t.Fatalf("%s: %s = %d %v, want %d reason %q", st.name, st.path, code, body, st.status, st.wantReason)
		}
	}
	if code, _ := get("/metrics"); code != 200 {
		t.Fatalf("/metrics = %d", code)
	}
}
