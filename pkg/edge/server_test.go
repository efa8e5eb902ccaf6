package edge

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gorilla/websocket"
	"github.com/nats-io/nats.go"

	"github.com/parley-chat/parley/pkg/hub"
	"github.com/parley-chat/parley/pkg/membership"
	"github.com/parley-chat/parley/pkg/stream"
)

func TestOrigin(t *testing.T) {
	e := newEnv(t)
	_, own := e.edge(Config{})
	_, listed := e.edge(Config{AllowedOrigins: []string{"https://chat.example.com/"}})
	host := strings.TrimPrefix(own, "ws://")
	host = strings.TrimSuffix(host, "/ws")
	tests := []struct {
		url, origin string
		ok          bool
	}{
		{own, "", true},
		{own, "http://" + host, true},
		{own, "http://evil.example.com", false},
		{listed, "https://chat.example.com", true},
		{listed, "https://CHAT.example.com", true},
		{listed, "http://" + strings.TrimSuffix(strings.TrimPrefix(listed, "ws://"), "/ws"), false},
		{listed, "https://evil.example.com", false},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.origin != "" {
			h.Set("Origin", tt.origin)
		}
		ws, resp, err := websocket.DefaultDialer.Dial(tt.url, h)
		if tt.ok != (err == nil) {
			t.Errorf("origin %q at %s: err %v, want ok=%v", tt.origin, tt.url, err, tt.ok)
		}
		if err == nil {
			ws.Close()
			continue
		}
		if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("origin %q refused with %v, want 403", tt.origin, resp)
			continue
		}
		wantJSONDetail(t, resp, "You do not have permission to perform this action.")
	}
}

func TestPlainRequestToWS(t *testing.T) {
	e := newEnv(t)
	_, url := e.edge(Config{})
	resp, err := http.Get("http" + strings.TrimPrefix(url, "ws"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("GET /ws without an upgrade = %d, want 400", resp.StatusCode)
	}
	wantJSONDetail(t, resp, "WebSocket upgrade refused.")
}

// wantJSONDetail checks that resp carries the contract's error shape.
func wantJSONDetail(t *testing.T, resp *http.Response, detail string) {
	t.Helper()
	defer resp.Body.Close()
	var body struct{ Detail string }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil ||
		resp.Header.Get("Content-Type") != "application/json" || body.Detail != detail {
		t.Errorf("refusal body: %q (%v) as %q, want detail %q",
			body.Detail, err, resp.Header.Get("Content-Type"), detail)
	}
}

func TestShutdown(t *testing.T) {
	e := newEnv(t)
	e.addChat("c", 1, 2)
	s, url := e.edge(Config{})
	a, _ := e.login(url, 1)
	b, _ := e.login(url, 2)
	b.send(subscribeMsg("c"))
	b.expect("subscribed")
	idle := dial(t, url, nil) // not yet authenticated

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Shutdown(ctx) }()
	for _, c := range []*client{a, b, idle} {
		c.expectClose(closeRestart, "")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s.Sockets() != 0 || s.hub.Chats() != 0 {
		t.Fatalf("after Shutdown: %d sockets, %d chats", s.Sockets(), s.hub.Chats())
	}
	if err := s.Ready(); err == nil {
		t.Fatal("Ready is nil after Shutdown")
	}
	_, resp, err := websocket.DefaultDialer.Dial(url, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("dial after Shutdown: %v %v, want 503", err, resp)
	}
}

func TestShutdownDeadline(t *testing.T) {
	e := newEnv(t)
	s, url := e.edge(Config{})
	// This peer never reads, so it never answers the close frame.
	e.login(url, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want the deadline", err)
	}
	if s.Sockets() != 0 {
		t.Fatalf("%d sockets left after Shutdown returned", s.Sockets())
	}
}

func TestReadiness(t *testing.T) {
	e := newEnv(t)
	s, _ := e.edge(Config{})
	if err := s.Ready(); err != nil {
		t.Fatal(err)
	}
	s.deps.NC.Close()
	if err := s.Ready(); err == nil {
		t.Fatal("Ready is nil without NATS")
	}
}

// fillLive publishes n live messages of size bytes straight to the live
// subject, as the stream would, faster than any socket reads them.
func fillLive(nc *nats.Conn, chat string, n, size int) error {
	text := strings.Repeat("x", size)
	for i := range n {
		m := nats.NewMsg(stream.LiveSubject(chat))
		m.Header.Set("Nats-Sequence", strconv.Itoa(i+1))
		m.Header.Set("Nats-Time-Stamp", time.Now().UTC().Format(time.RFC3339Nano))
		m.Data = []byte(`{"chat":"` + chat + `","user":{"id":1,"username":"u"},"message":"` + text + `"}`)
		if err := nc.PublishMsg(m); err != nil {
			return err
		}
	}
	return nc.Flush()
}

func TestSlowConsumerClosed(t *testing.T) {
	e := newEnv(t)
	e.addChat("c", 7)
	s, url := e.edge(Config{QueueLen: 8})
	c, _ := e.login(url, 7)
	c.send(subscribeMsg("c"))
	c.expect("subscribed")

	// The client reads nothing until its queue has overflowed: far more
	// than the socket buffers hold is sent.
	filled := make(chan error, 1)
	go func() { filled <- fillLive(e.nc, "c", 20000, 1500) }()
	waitFor(t, "the queue to overflow", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		for sc := range s.conns {
			if sc.q.Slow() {
				return true
			}
		}
		return false
	})
	c.expectClose(closeTryLater, "too slow")
	if err := <-filled; err != nil {
		t.Fatal(err)
	}
}

func TestPingAndPongTimeout(t *testing.T) {
	e := newEnv(t)
	s, url := e.edge(Config{PingInterval: 50 * time.Millisecond, PongTimeout: 300 * time.Millisecond})

	// A client that reads answers pings and stays.
	c, _ := e.login(url, 7)
	var pings atomic.Int32
	c.ws.SetPingHandler(func(data string) error {
		pings.Add(1)
		return c.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	readErr := make(chan error, 1)
	go func() {
		_, _, err := c.ws.ReadMessage()
		readErr <- err
	}()
	waitFor(t, "a dozen pings", func() bool { return pings.Load() >= 12 })
	if s.Sockets() != 1 {
		t.Fatalf("a client answering pings was dropped after %d pings", pings.Load())
	}

	// One that never reads never answers, and is dropped.
	e.login(url, 8)
	waitFor(t, "the silent peer to be dropped", func() bool { return s.Sockets() == 1 })
	c.ws.Close()
	<-readErr
}

func TestStatic(t *testing.T) {
	e := newEnv(t)
	files := fstest.MapFS{
		"index.html":          {Data: []byte("<!doctype html><title>Parley</title>")},
		"assets/app-1a2b.js":  {Data: []byte("console.log(1)")},
		"assets/app-1a2b.css": {Data: []byte("body{}")},
		"favicon.svg":         {Data: []byte("<svg/>")},
	}
	s, _ := e.edge(Config{}, func(d *Deps) { d.Static = files })
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	tests := []struct {
		path, status, ctype, cache, body string
	}{
		{"/", "200", "text/html", cacheNever, "<!doctype"},
		{"/chat/abc123", "200", "text/html", cacheNever, "<!doctype"},
		{"/index.html", "200", "text/html", cacheNever, "<!doctype"},
		{"/assets/app-1a2b.js", "200", "text/javascript", cacheForever, "console"},
		{"/assets/app-1a2b.css", "200", "text/css", cacheForever, "body"},
		{"/favicon.svg", "200", "image/svg+xml", "", "<svg"},
		{"/assets/gone.js", "404", "application/json", "", `{"detail":"Not found."}`},
		{"/missing.png", "404", "application/json", "", `{"detail":"Not found."}`},
		{"/../index.html", "200", "text/html", cacheNever, "<!doctype"},
	}
	for _, tt := range tests {
		resp, err := http.Get(hs.URL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		var body strings.Builder
		_, _ = io.Copy(&body, resp.Body)
		resp.Body.Close()
		got := []string{strconv.Itoa(resp.StatusCode), resp.Header.Get("Content-Type"),
			resp.Header.Get("Cache-Control")}
		if got[0] != tt.status || !strings.HasPrefix(got[1], tt.ctype) || got[2] != tt.cache ||
			!strings.HasPrefix(body.String(), tt.body) {
			t.Errorf("GET %s: %v %q, want %s %s %q %q", tt.path, got, body.String(),
				tt.status, tt.ctype, tt.cache, tt.body)
		}
	}
}

func TestConfig(t *testing.T) {
	e := newEnv(t)
	deps := Deps{NC: e.nc, Authn: e.auth, Members: &membership.Client{NC: e.nc}}
	s, err := New(Config{}, deps)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		AuthTimeout: 10 * time.Second, MaxFrame: 64 << 10, PingInterval: 25 * time.Second,
		PongTimeout: 60 * time.Second, SendRate: 10, SendBurst: 20, QueueLen: 256,
		MaxViolations: 10, WriteTimeout: 10 * time.Second, RequestTimeout: 5 * time.Second,
		Coalesce: 5 * time.Millisecond,
	}
	if s.cfg.AuthTimeout != want.AuthTimeout || s.cfg.MaxFrame != want.MaxFrame ||
		s.cfg.PingInterval != want.PingInterval || s.cfg.PongTimeout != want.PongTimeout ||
		s.cfg.SendRate != want.SendRate || s.cfg.SendBurst != want.SendBurst ||
		s.cfg.QueueLen != want.QueueLen || s.cfg.MaxViolations != want.MaxViolations ||
		s.cfg.WriteTimeout != want.WriteTimeout || s.cfg.RequestTimeout != want.RequestTimeout ||
		s.cfg.Coalesce != want.Coalesce {
		t.Fatalf("defaults = %+v, want %+v", s.cfg, want)
	}
	bad := []Config{
		{AuthTimeout: -time.Second},
		{PingInterval: time.Minute, PongTimeout: 30 * time.Second},
		{MaxFrame: 100},
		{SendRate: -1},
		{QueueLen: 4},
		{MaxViolations: -1},
		{AllowedOrigins: []string{"chat.example.com"}},
		{AllowedOrigins: []string{"https://chat.example.com/app"}},
	}
	for _, cfg := range bad {
		if _, err := New(cfg, deps); err == nil {
			t.Errorf("New(%+v) accepted a bad setting", cfg)
		}
	}
	if _, err := New(Config{}, Deps{NC: e.nc}); err == nil {
		t.Error("New without Authn and Members succeeded")
	}
}

// TestWriterPacks queues several frames before the writer starts: it
// must send them as one frame joined by newlines, and split at MaxFrame.
func TestWriterPacks(t *testing.T) {
	e := newEnv(t)
	s, _ := e.edge(Config{MaxFrame: 1024})
	conns := make(chan *conn, 1)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := s.upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		conns <- s.newConn(ws)
	}))
	t.Cleanup(hs.Close)
	cl := dial(t, "ws"+strings.TrimPrefix(hs.URL, "http"), nil)
	c := <-conns
	t.Cleanup(func() {
		c.ws.Close()
		c.gmu.Lock()
		c.stopped = true
		c.gmu.Unlock()
		c.wg.Wait()
	})

	// Hold the writer back, as if it were busy, while frames pile up.
	c.gmu.Lock()
	c.writing = true
	c.gmu.Unlock()
	for i := range 3 {
		c.q.Push(&hub.Frame{Data: []byte(`{"type":"n","id":` + strconv.Itoa(i) + `}`)})
	}
	big := `{"type":"big","detail":"` + strings.Repeat("y", 1000) + `"}`
	c.q.Push(&hub.Frame{Data: []byte(big)})
	c.gmu.Lock()
	c.writing = false
	c.gmu.Unlock()
	c.wake()

	_, first, err := cl.ws.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"type":"n","id":0}` + "\n" + `{"type":"n","id":1}` + "\n" +
		`{"type":"n","id":2}`; string(first) != want {
		t.Fatalf("first frame %q, want %q", first, want)
	}
	_, second, err := cl.ws.ReadMessage()
	if err != nil || string(second) != big {
		t.Fatalf("second frame %d bytes (%v), want the big object alone", len(second), err)
	}
}

func TestBucket(t *testing.T) {
	var b bucket
	now := time.Unix(1000, 0)
	for i := range 3 {
		if _, ok := b.take(now, 2, 3); !ok {
			t.Fatalf("take %d of a burst of 3 refused", i)
		}
	}
	wait, ok := b.take(now, 2, 3)
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("fourth take = %v %v, want refused for 500ms", wait, ok)
	}
	if _, ok := b.take(now.Add(500*time.Millisecond), 2, 3); !ok {
		t.Fatal("refused after a token was earned")
	}
	if _, ok := b.take(now.Add(time.Hour), 2, 3); !ok || b.tokens != 2 {
		t.Fatalf("after an hour the bucket holds %v, want the burst less one", b.tokens)
	}
}
