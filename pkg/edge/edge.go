// Package edge serves Parley's live WebSocket at /ws, as the contract's
// edge section describes, and the web client's static files at /. It
// authenticates sockets with access tokens, checks membership with the
// archiver over NATS, publishes what clients send to the JetStream stream
// and fans out live messages through a hub.Hub: one NATS subscription per
// followed chat, each message encoded once and packed with whatever else
// waits for a socket into one frame.
//
// An idle socket costs one goroutine (its reader) and one timer, which
// serves both the ping schedule and the token's expiry; a writer
// goroutine runs only while frames wait for the socket, and borrows a
// pooled write buffer only while it writes. A Server is safe for
// concurrent use; Shutdown may be called more than once.
package edge

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/parley-chat/parley/pkg/authn"
	"github.com/parley-chat/parley/pkg/hub"
	"github.com/parley-chat/parley/pkg/membership"
	"github.com/parley-chat/parley/pkg/rest"
)

// Config tunes the edge. The zero value means the contract's defaults.
type Config struct {
	// AllowedOrigins lists the origins ("https://chat.example.com")
	// whose pages may open /ws; "*" allows any. Empty allows only the
	// request's own host. A request without Origin is always allowed.
	AllowedOrigins []string
	// AuthTimeout is how long a new socket has to send its auth frame.
	AuthTimeout time.Duration // 10s
	// MaxFrame is the largest client frame; a larger one closes the
	// socket with 1009. Server frames are packed up to the same size.
	MaxFrame int // 64 KiB
	// PingInterval is how often the server pings; PongTimeout how long
	// a silent peer is kept.
	PingInterval time.Duration // 25s
	PongTimeout  time.Duration // 60s
	// SendRate and SendBurst are each socket's token bucket for send.
	SendRate  float64 // 10 per second
	SendBurst int     // 20
	// QueueLen bounds the frames waiting for one socket; a socket that
	// overflows it is too slow and is closed with 1013.
	QueueLen int // 256
	// MaxViolations is how many malformed or unknown frames a socket may
	// send; the next one closes it with 1008.
	MaxViolations int // 10
	// Coalesce is how long a socket's writer, after a write, waits for
	// more frames before it writes again, so that a busy socket gets
	// fewer, fuller frames; the first frame after a quiet spell goes out
	// at once. Each frame costs a system call on both ends, which at a
	// thousand sockets and hundreds of messages a second is most of the
	// work. Negative turns it off.
	Coalesce time.Duration // 5ms
	// WriteTimeout bounds one write to a socket.
	WriteTimeout time.Duration // 10s
	// RequestTimeout bounds each call to NATS, JetStream or the archiver.
	RequestTimeout time.Duration // 5s
	// DrainWindow is the time over which Shutdown spreads closing the
	// open sockets, so that their clients do not all reconnect to the
	// other edges at once. Zero closes them all at once.
	DrainWindow time.Duration
}

func (c Config) withDefaults() Config {
	setDuration(&c.AuthTimeout, 10*time.Second)
	setDuration(&c.PingInterval, 25*time.Second)
	setDuration(&c.PongTimeout, 60*time.Second)
	setDuration(&c.WriteTimeout, 10*time.Second)
	setDuration(&c.RequestTimeout, 5*time.Second)
	setDuration(&c.Coalesce, 5*time.Millisecond)
	if c.MaxFrame == 0 {
		c.MaxFrame = 64 << 10
	}
	if c.SendRate == 0 {
		c.SendRate = 10
	}
	if c.SendBurst == 0 {
		c.SendBurst = 20
	}
	if c.QueueLen == 0 {
		c.QueueLen = 256
	}
	if c.MaxViolations == 0 {
		c.MaxViolations = 10
	}
	return c
}

func setDuration(d *time.Duration, def time.Duration) {
	if *d == 0 {
		*d = def
	}
}

// validate reports the first bad setting.
func (c Config) validate() error {
	switch {
	case c.AuthTimeout < 0, c.PingInterval < 0, c.WriteTimeout < 0, c.RequestTimeout < 0,
		c.DrainWindow < 0:
		return errors.New("edge: timeouts and intervals must be positive")
	case c.PongTimeout <= c.PingInterval:
		return fmt.Errorf("edge: PongTimeout %v must exceed PingInterval %v",
			c.PongTimeout, c.PingInterval)
	case c.MaxFrame < 1024:
		return fmt.Errorf("edge: MaxFrame %d is below 1024 bytes", c.MaxFrame)
	case c.SendRate < 0 || c.SendBurst < 1:
		return errors.New("edge: SendRate must be positive and SendBurst at least 1")
	case c.QueueLen < 8:
		return fmt.Errorf("edge: QueueLen %d is below 8", c.QueueLen)
	case c.MaxViolations < 1:
		return errors.New("edge: MaxViolations must be at least 1")
	}
	for _, o := range c.AllowedOrigins {
		if err := checkOriginSetting(o); err != nil {
			return err
		}
	}
	return nil
}

func checkOriginSetting(o string) error {
	if o == "*" {
		return nil
	}
	u, err := url.Parse(o)
	if err != nil || u.Scheme == "" || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return fmt.Errorf("edge: allowed origin %q is not scheme://host[:port]", o)
	}
	return nil
}

// Deps are the services the edge talks to.
type Deps struct {
	NC      *nats.Conn
	Authn   *authn.Authenticator
	Members *membership.Client
	// Static holds the web client's built files; nil serves none.
	Static fs.FS
	Log    *slog.Logger
}

// Server is one edge.
type Server struct {
	cfg      Config
	deps     Deps
	log      *slog.Logger
	js       jetstream.JetStream
	hub      *hub.Hub
	upgrader websocket.Upgrader
	origins  []string

	stream  streamHandle
	revoked revokedSessions // announced revocations; see revoked.go

	nextID atomic.Uint64

	mu      sync.Mutex
	conns   map[*conn]struct{}
	closing bool
	wg      sync.WaitGroup // one per socket, held by its reader
}

// New checks cfg and deps and returns an edge ready to serve.
func New(cfg Config, deps Deps) (*Server, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if deps.NC == nil || deps.Authn == nil || deps.Members == nil {
		return nil, errors.New("edge: NC, Authn and Members are required")
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	js, err := jetstream.New(deps.NC)
	if err != nil {
		return nil, fmt.Errorf("edge: opening JetStream: %w", err)
	}
	s := &Server{
		cfg:   cfg,
		deps:  deps,
		log:   deps.Log,
		js:    js,
		hub:   hub.New(deps.NC, deps.Log),
		conns: map[*conn]struct{}{},
	}
	for _, o := range cfg.AllowedOrigins {
		s.origins = append(s.origins, strings.TrimSuffix(o, "/"))
	}
	s.upgrader = websocket.Upgrader{
		HandshakeTimeout: cfg.WriteTimeout,
		// A small read buffer, and no write buffer of its own: each
		// socket borrows one from the pool only while it writes.
		ReadBufferSize:  readBufferSize,
		WriteBufferSize: writeBufferSize,
		WriteBufferPool: &sync.Pool{},
		CheckOrigin:     s.checkOrigin,
		Error:           upgradeError,
	}
	if err := s.revoked.watch(s); err != nil {
		return nil, fmt.Errorf("edge: %w", err)
	}
	return s, nil
}

// upgradeError answers a refused upgrade in the contract's JSON shape
// rather than gorilla's plain text.
func upgradeError(w http.ResponseWriter, _ *http.Request, status int, _ error) {
	detail := "WebSocket upgrade refused."
	if status == http.StatusForbidden {
		detail = rest.ErrForbidden.Detail
	}
	w.Header().Set("Sec-Websocket-Version", "13")
	rest.WriteError(w, &rest.Error{Status: status, Detail: detail})
}

// Handler serves GET /ws and, when Deps.Static is set, the web client.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws", s.serveWS)
	if s.deps.Static != nil {
		mux.Handle("GET /", staticFiles{s.deps.Static})
	} else {
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			rest.WriteError(w, rest.ErrNotFound)
		})
	}
	return mux
}

// Ready reports why the edge cannot take sockets, or nil.
func (s *Server) Ready() error {
	s.mu.Lock()
	closing := s.closing
	s.mu.Unlock()
	if closing {
		return errors.New("edge is shutting down")
	}
	if st := s.deps.NC.Status(); st != nats.CONNECTED {
		return fmt.Errorf("edge: NATS connection is %v", st)
	}
	return nil
}

// Shutdown stops taking sockets, closes every open one with 1012, spread
// over Config.DrainWindow, and waits for their goroutines, which finish
// the sends they have in flight. When ctx ends first, the remaining
// sockets are cut without a closing handshake.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	conns := s.snapshot()
	s.mu.Unlock()

	// Close frames go out on a goroutine of their own: a stuck socket can
	// hold one up for a second, and ctx must still be able to end it all.
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		closeSpread(ctx, conns, s.cfg.DrainWindow)
	}()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()

	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("edge: shutting down: %w", ctx.Err())
		s.mu.Lock()
		left := s.snapshot()
		s.mu.Unlock()
		for _, c := range left {
			c.cut()
		}
		<-done
	}
	<-closed
	s.revoked.stop()
	s.hub.Close()
	return err
}

// CloseSession closes every socket authenticated in session sid with
// 4001 "session revoked". It is how a revocation reaches live sockets.
func (s *Server) CloseSession(sid string) {
	s.mu.Lock()
	conns := s.snapshot()
	s.mu.Unlock()
	for _, c := range conns {
		if c.session() == sid {
			c.closeWith(closeAuth, reasonRevoked)
		}
	}
}

// Sockets returns how many sockets are open.
func (s *Server) Sockets() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

func (s *Server) snapshot() []*conn {
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	return conns
}

// admit counts a new socket unless the edge is shutting down; the count
// is taken under the lock so that Shutdown's wait cannot miss it.
func (s *Server) admit() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.wg.Add(1)
	return true
}

// track records an open socket. It reports false when the edge started
// shutting down after admitting it: Shutdown's snapshot may have missed
// it, so the caller closes it itself.
func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conns[c] = struct{}{}
	return !s.closing
}

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// checkOrigin allows programs (no Origin), the configured origins, or by
// default a page served by this same host.
func (s *Server) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	if len(s.origins) == 0 {
		u, err := url.Parse(origin)
		return err == nil && strings.EqualFold(u.Host, r.Host)
	}
	for _, o := range s.origins {
		if o == "*" || strings.EqualFold(o, origin) {
			return true
		}
	}
	return false
}
