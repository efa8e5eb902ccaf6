package service

import (
	"bufio"
	"context"
	"crypto/rand"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/parley-chat/parley/pkg/metrics"
)

// RequestIDHeader carries a request's id: a caller's own when it sends a
// usable one, else one made here. Either way the answer echoes it.
const RequestIDHeader = "X-Request-Id"

// maxPathLog bounds the path written to the log, since a client chooses it.
const maxPathLog = 256

type requestIDKey struct{}

// RequestID returns the id LogRequests gave the request of ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// LogRequests writes one line per request to log, with the keys method,
// path, status, bytes, duration_ms, remote and request_id, and counts it
// in parley_http_requests_total. Probes and scrapes log at debug level so
// that they do not bury the rest. Neither headers nor the query string
// are logged: they may carry tokens.
func LogRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := requestID(r.Header.Get(RequestIDHeader))
		w.Header().Set(RequestIDHeader, id)
		r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id))
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)

		took := time.Since(start)
		status := rec.code()
		metrics.HTTPRequest(r.Method, status).Inc()
		metrics.HTTPDuration.Observe(took.Seconds())
		level := slog.LevelInfo
		if quiet(r.URL.Path) {
			level = slog.LevelDebug
		}
		log.LogAttrs(r.Context(), level, "http request",
			slog.String("method", r.Method),
			slog.String("path", clip(r.URL.Path)),
			slog.Int("status", status),
			slog.Int64("bytes", rec.bytes),
			slog.Float64("duration_ms", float64(took.Microseconds())/1000),
			slog.String("remote", r.RemoteAddr),
			slog.String("request_id", id))
	})
}

// requestID keeps a caller's id when it is short and plain, so that ids
// can be followed across a proxy; anything else is replaced, since it
// goes into logs.
func requestID(given string) string {
	if len(given) == 0 || len(given) > 64 {
		return rand.Text()
	}
	for _, c := range []byte(given) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == ':'
		if !ok {
			return rand.Text()
		}
	}
	return given
}

func quiet(path string) bool {
	return path == "/healthz" || path == "/readyz" || path == "/metrics"
}

func clip(path string) string {
	if len(path) > maxPathLog {
		return path[:maxPathLog]
	}
	return path
}

// recorder notes the status and size of an answer. It passes Flush and
// Hijack through, so WebSockets and streaming answers work behind it.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	return n, err
}

func (r *recorder) code() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}

// Unwrap lets http.ResponseController reach the original writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Flush implements http.Flusher.
func (r *recorder) Flush() {
	// A writer that cannot flush sends everything at the end instead.
	_ = http.NewResponseController(r.ResponseWriter).Flush()
}

// Hijack implements http.Hijacker; a hijacked request is logged as 101,
// the answer the WebSocket upgrade writes itself.
func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(r.ResponseWriter).Hijack()
	if err == nil && r.status == 0 {
		r.status = http.StatusSwitchingProtocols
	}
	return c, rw, err
}
