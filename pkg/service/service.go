// Package service runs one of Parley's HTTP services: it adds the health
// and metrics endpoints every service exposes, logs one line per request,
// listens, and shuts down in order when its context ends: not ready
// first, then the service's own drain, then the requests in flight, all
// within one grace period. A Health is safe for concurrent use; a Server
// is served once.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/parley-chat/parley/pkg/metrics"
	"github.com/parley-chat/parley/pkg/rest"
)

// Check reports whether one dependency is usable.
type Check func(ctx context.Context) error

// Health answers /healthz and /readyz.
type Health struct {
	// Service names the service in the parley_ready metric ("edge");
	// empty records no metric.
	Service string

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
func (h *Health) Drain() {
	h.draining.Store(true)
	if h.Service != "" {
		metrics.SetReady(h.Service, false)
	}
}

// Ready runs every check and returns the first failure. Every check runs
// even after one fails, so that parley_dependency_up tells them apart.
func (h *Health) Ready(ctx context.Context) error {
	h.mu.Lock()
	names := append([]string(nil), h.names...)
	checks := make([]Check, len(names))
	for i, n := range names {
		checks[i] = h.checks[n]
	}
	h.mu.Unlock()
	var first error
	for i, c := range checks {
		err := c(ctx)
		metrics.SetDependencyUp(names[i], err == nil)
		if err != nil && first == nil {
			first = fmt.Errorf("%s: %w", names[i], err)
		}
	}
	if h.draining.Load() {
		first = errors.New("draining")
	}
	if h.Service != "" {
		metrics.SetReady(h.Service, first == nil)
	}
	return first
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
	// Grace bounds the whole shutdown, from the end of Serve's context:
	// the drain and the requests in flight together. Zero means 10s.
	Grace time.Duration
	// Health, when set, turns not ready as soon as shutdown begins.
	Health *Health
	// Drain, when set, runs at shutdown after Health turns not ready and
	// before the server stops, while it still answers requests; it gets
	// the grace deadline. The edge closes its sockets here.
	Drain func(ctx context.Context) error

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
// A server listening on every interface is named by localhost, which is
// what a person at this machine types into a browser.
func (s *Server) URL() string {
	addr, ok := s.ln.Addr().(*net.TCPAddr)
	if ok && addr.IP.IsUnspecified() {
		return "http://localhost:" + strconv.Itoa(addr.Port)
	}
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
		Handler:           LogRequests(s.Log, s.Handler),
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
	return s.shutdown(errc)
}

// shutdown turns not ready, drains and stops the server, all within the
// grace period.
func (s *Server) shutdown(errc <-chan error) error {
	grace := s.Grace
	if grace == 0 {
		grace = 10 * time.Second
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if s.Health != nil {
		s.Health.Drain()
	}
	s.Log.Info("shutting down", "grace", grace.String())
	var drainErr error
	if s.Drain != nil {
		drainErr = s.Drain(sctx)
	}
	err := s.srv.Shutdown(sctx)
	<-errc
	if err != nil {
		err = fmt.Errorf("shutting down: %w", err)
	}
	return errors.Join(drainErr, err)
}

// AfterGrace returns a context that ends grace after ctx does: the
// deadline by which a process must have stopped once told to. Work that
// outlives the HTTP server, such as a consumer, waits on it.
func AfterGrace(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	out, cancel := context.WithCancel(context.Background())
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(grace, cancel)
		context.AfterFunc(out, func() { t.Stop() })
	})
	return out, func() {
		stop()
		cancel()
	}
}
