package service

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a log destination safe for the server's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines decodes the JSON log lines written so far.
func (b *lockedBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func TestLogRequests(t *testing.T) {
	var logs lockedBuffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := LogRequests(log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if RequestID(r.Context()) == "" {
			t.Error("handler saw no request id")
		}
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, "hello")
	}))
	tests := []struct {
		name, given string
		keep        bool
		level       string
	}{
		{"caller's id kept", "abc-123.x", true, "INFO"},
		{"no id", "", false, "INFO"},
		{"unusable id replaced", "bad id\n", false, "INFO"},
		{"too long id replaced", strings.Repeat("a", 65), false, "INFO"},
	}
	for i, tt := range tests {
		req := httptest.NewRequest("POST", "/auth/jwt/create/?token=secret", nil)
		req.Header.Set("Authorization", "JWT secret-token")
		if tt.given != "" {
			req.Header.Set(RequestIDHeader, tt.given)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		echoed := rec.Header().Get(RequestIDHeader)
		if tt.keep != (echoed == tt.given) || echoed == "" {
			t.Errorf("%s: answered id %q for %q", tt.name, echoed, tt.given)
		}
		line := logs.lines(t)[i]
		want := map[string]any{
			"msg": "http request", "method": "POST", "path": "/auth/jwt/create/",
			"status": 201.0, "bytes": 5.0, "request_id": echoed, "level": tt.level,
		}
		for k, v := range want {
			if line[k] != v {
				t.Errorf("%s: log %s = %v, want %v", tt.name, k, line[k], v)
			}
		}
		for _, k := range []string{"duration_ms", "remote"} {
			if _, ok := line[k]; !ok {
				t.Errorf("%s: log line has no %s", tt.name, k)
			}
		}
	}
	if strings.Contains(logs.buf.String(), "secret") {
		t.Errorf("the log holds a token: %s", logs.buf.String())
	}
}

func TestLogRequestsProbesAtDebug(t *testing.T) {
	var logs lockedBuffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	h := LogRequests(log, http.NotFoundHandler())
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", p, nil))
	}
	if got := logs.lines(t); len(got) != 0 {
		t.Errorf("probes logged at info: %v", got)
	}
}

// TestLogRequestsHijack checks that an upgrade still reaches the raw
// connection through the recorder and is logged as 101.
func TestLogRequestsHijack(t *testing.T) {
	var logs lockedBuffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	logged := make(chan struct{})
	upgrade := LogRequests(log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hj, ok := w.(http.Hijacker)
		if !ok {
			t.Error("the recorder hides http.Hijacker")
			return
		}
		c, rw, err := hj.Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n")
		_ = rw.Flush()
	}))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upgrade.ServeHTTP(w, r)
		close(logged)
	}))
	t.Cleanup(srv.Close)
	resp, err := http.Get(srv.URL + "/ws")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d, want 101", resp.StatusCode)
	}
	select {
	case <-logged:
	case <-time.After(5 * time.Second):
		t.Fatal("the upgrade handler did not return")
	}
	if lines := logs.lines(t); len(lines) != 1 || lines[0]["status"] != 101.0 {
		t.Errorf("logged %v, want one line with status 101", lines)
	}
}

// FuzzRequestID holds the id that reaches the logs to a short, plain
// string, whatever a client sends.
func FuzzRequestID(f *testing.F) {
	for _, seed := range []string{"", "abc-123", "a b", "x\ny", strings.Repeat("z", 65), "é", "id:1.2_3"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, given string) {
		id := requestID(given)
		if id == "" || len(id) > 64 {
			t.Fatalf("requestID(%q) = %q: empty or too long", given, id)
		}
		for _, c := range []byte(id) {
			plain := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
				strings.IndexByte("-_.:", c) >= 0
			if !plain {
				t.Fatalf("requestID(%q) = %q holds %q", given, id, c)
			}
		}
		if id != given && len(given) > 0 && len(given) <= 64 && strings.Trim(given,
			"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:") == "" {
			t.Fatalf("requestID(%q) replaced a usable id with %q", given, id)
		}
	})
}
