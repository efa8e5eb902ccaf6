// Package service runs one of Parley's HTTP services: it adds the health
// and metrics endpoints every service exposes, listens, and shuts down in
// order when its context ends. A Health is safe for concurrent use.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/parley-chat/parley/pkg/rest"
)

// Check reports whether one dependency is usable.
type Check func(ctx context.Context) error

// Health answers /healthz and /readyz.
type Health struct {
	mu       sync.Mutex
	names    []string
	checks   map[string]Check
	draining atomic.Bool
}

// Add registers a readiness check under name.
func (h *Health) Add(name string, c Check) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.checks == nil {
		h.checks = map[string]Check{}
	}
	if _, ok := h.checks[name]; !ok {
		h.names = append(h.names, name)
	}
	h.checks[name] = c
}

// Drain makes the service report not ready from now on, so a load
// balancer stops sending it new work before it stops.
func (h *Health) Drain() { h.draining.Store(true) }

// Ready runs every check and returns the first failure.
func (h *Health) Ready(ctx context.Context) error {
	if h.draining.Load() {
		return errors.New("draining")
	}
	h.mu.Lock()
	names := append([]string(nil), h.names...)
	checks := make([]Check, len(names))
	for i, n := range names {
		checks[i] = h.checks[n]
	}
	h.mu.Unlock()
	for i, c := range checks {
		if err := c(ctx); err != nil {
			return fmt.Errorf("%s: %w", names[i], err)
		}
	}
	return nil
}

// Mount adds /healthz, /readyz and /metrics to mux.
func (h *Health) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		rest.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := h.Ready(ctx); err != nil {
			rest.WriteJSON(w, http.StatusServiceUnavailable,
				map[string]string{"status": "not ready", "reason": err.Error()})
			return
		}
		rest.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	mux.Handle("GET /metrics", promhttp.Handler())
}

// Server is an HTTP server with ordered shutdown.
type Server struct {
	Addr    string
	Handler http.Handler
	Log     *slog.Logger
	// Grace bounds how long shutdown waits for requests in flight.
	Grace time.Duration

	ln  net.Listener
	srv *http.Server
}

// Listen binds the address, so that callers learn the port (":0") and
// failures before anything starts.
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", s.Addr, err)
	}
	s.ln = ln
	return nil
}

// URL is the base URL of the listening server.
func (s *Server) URL() string {
	return "http://" + s.ln.Addr().String()
}

// Serve serves until ctx ends, then stops accepting, waits up to Grace for
// requests in flight and returns. Hijacked connections (WebSockets) are
// not waited for here; their owner closes them.
func (s *Server) Serve(ctx context.Context) error {
	if s.ln == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	s.srv = &http.Server{
		Handler:           s.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.Log.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	s.Log.Info("listening", "addr", s.ln.Addr().String())

	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	grace := s.Grace
	if grace == 0 {
		grace = 10 * time.Second
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := s.srv.Shutdown(sctx)
	<-errc
	if err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	return nil
}
