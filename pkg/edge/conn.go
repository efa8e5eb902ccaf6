package edge

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-chat/parley/pkg/hub"
	"github.com/parley-chat/parley/pkg/metrics"
	"github.com/parley-chat/parley/pkg/rest"
	"github.com/parley-chat/parley/pkg/wire"
)

// Buffer sizes. Reads go through a small per-socket buffer (a larger
// frame is read past it, straight into a pooled one); writes borrow a
// pooled buffer only while writing, so an idle socket holds none.
const (
	readBufferSize  = 512
	writeBufferSize = 16 << 10
)

// closeGrace is how long a socket we are closing has to answer our close
// frame before its connection is cut.
const closeGrace = time.Second

// Close codes of the contract.
const (
	closeAuth      = 4001
	closeOtherUser = 4003
	closePolicy    = websocket.ClosePolicyViolation
	closeRestart   = websocket.CloseServiceRestart
	closeTryLater  = websocket.CloseTryAgainLater
)

// Close reasons for 4001; the contract says the text tells them apart.
const (
	reasonNotAuth = "not authenticated"
	reasonExpired = "token expired"
	reasonRevoked = "session revoked"
)

// frameBufs holds read buffers between frames, so an idle socket keeps
// none of its own.
var frameBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// conn is one socket. Its reader goroutine owns it: it handles every
// client frame and on the way out stops and waits for everything else.
// An idle socket has no other goroutine: a writer runs only while frames
// wait, and the clock is a timer function.
type conn struct {
	s     *Server
	ws    *websocket.Conn
	id    uint64
	q     *hub.Queue
	clock *time.Timer // pings and the token's expiry; see clock.go

	// gmu guards starting goroutines, so that none starts once the
	// reader has begun waiting for them.
	gmu     sync.Mutex
	writing bool // a writer is running
	stopped bool // no goroutine may start
	wg      sync.WaitGroup

	tmu      sync.Mutex // guards nextPing
	nextPing time.Time

	closing atomic.Bool
	expires atomic.Int64           // token expiry in Unix nanoseconds; 0 before auth
	sid     atomic.Pointer[string] // the token's session

	// Owned by the reader goroutine.
	authed     bool
	user       wire.User
	subs       map[string]*subscription
	bucket     bucket
	violations int
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	if !s.admit() {
		rest.WriteError(w, rest.ErrUnavailable)
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		// The upgrader has answered the request already.
		s.wg.Done()
		return
	}
	c := s.newConn(ws)
	if !s.track(c) {
		c.closeWith(closeRestart, "server shutting down")
	}
	// The reader runs on a goroutine of its own rather than this one, so
	// that net/http's buffers for the request are freed right away.
	go c.run()
}

func (s *Server) newConn(ws *websocket.Conn) *conn {
	c := &conn{s: s, ws: ws, id: s.nextID.Add(1)}
	c.q = hub.NewQueue(s.cfg.QueueLen, c.wake)
	ws.SetReadLimit(int64(s.cfg.MaxFrame))
	ws.SetPongHandler(func(string) error {
		c.alive()
		return nil
	})
	// The auth deadline needs no timer: the first read fails when it
	// passes.
	_ = ws.SetReadDeadline(time.Now().Add(s.cfg.AuthTimeout))
	return c
}

// run is the reader goroutine.
func (c *conn) run() {
	defer c.s.wg.Done()
	metrics.EdgeConnections.Inc()
	defer metrics.EdgeConnections.Dec()
	c.startClock()
	err := c.readLoop()
	c.finish(err)
}

func (c *conn) readLoop() error {
	for {
		_, r, err := c.ws.NextReader()
		if err != nil {
			return err
		}
		if err := c.readFrame(r); err != nil {
			return err
		}
	}
}

func (c *conn) readFrame(r io.Reader) error {
	buf := frameBufs.Get().(*bytes.Buffer)
	defer func() {
		buf.Reset()
		frameBufs.Put(buf)
	}()
	if _, err := buf.ReadFrom(r); err != nil {
		return err
	}
	if c.closing.Load() {
		// Only the peer's answer to our close frame matters now.
		return nil
	}
	c.alive()
	c.handle(buf.Bytes())
	return nil
}

// alive pushes back the deadline by which an authenticated peer must be
// heard from again. Before auth the auth deadline stands.
func (c *conn) alive() {
	if !c.authed || c.closing.Load() {
		return
	}
	_ = c.ws.SetReadDeadline(time.Now().Add(c.s.cfg.PongTimeout))
	if c.closing.Load() {
		// closeWith ran between the check and the deadline; keep its
		// shorter one.
		_ = c.ws.SetReadDeadline(time.Now().Add(closeGrace))
	}
}

// finish runs when the reader leaves: it closes the socket if nobody has
// yet, stops the writer and replays, and leaves every chat.
func (c *conn) finish(err error) {
	var ne net.Error
	switch {
	case c.closing.Load():
		// We closed; the peer answered or the grace ran out.
	case errors.Is(err, websocket.ErrReadLimit):
		// The reader has sent 1009 itself.
		c.closing.Store(true)
		metrics.EdgeClosed(websocket.CloseMessageTooBig).Inc()
		c.linger()
	case !c.authed && errors.As(err, &ne) && ne.Timeout():
		metrics.EdgeAuthFailure(metrics.AuthTimeout).Inc()
		c.closeWith(closeAuth, reasonNotAuth)
		c.linger()
	default:
		metrics.EdgeClosed(peerCode(err)).Inc()
	}
	for _, sub := range c.subs {
		sub.stop()
	}
	c.clock.Stop()
	_ = c.ws.Close() // the peer may be gone already; this also ends a blocked writer
	c.gmu.Lock()
	c.stopped = true
	c.gmu.Unlock()
	c.wg.Wait()
	c.s.untrack(c)
	c.s.log.Debug("socket closed", "conn", c.id, "user", c.user.ID, "err", err)
}

// closeWith starts the closing handshake with code; the first call wins.
// It is safe from any goroutine.
func (c *conn) closeWith(code int, reason string) {
	if !c.closing.CompareAndSwap(false, true) {
		return
	}
	metrics.EdgeClosed(code).Inc()
	msg := websocket.FormatCloseMessage(code, reason)
	// A failed close frame means the connection is broken or stuck; the
	// reader finds out on its next read, at the latest when the grace
	// deadline passes.
	_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(closeGrace))
	_ = c.ws.SetReadDeadline(time.Now().Add(closeGrace))
}

// linger gives the peer time to read our close frame before the
// connection is cut, reading and discarding what it still sends, since
// the websocket reader cannot be used after a read error. Cutting at once
// could reset the connection and lose the close frame.
func (c *conn) linger() {
	nc := c.ws.NetConn()
	_ = nc.SetReadDeadline(time.Now().Add(closeGrace))
	_, _ = io.Copy(io.Discard, io.LimitReader(nc, int64(c.s.cfg.MaxFrame)*4))
}

// cut ends the connection without a handshake.
func (c *conn) cut() {
	_ = c.ws.NetConn().Close() // the reader sees the error and finishes
}

// spawn runs f on a goroutine of the socket's unless the socket is
// finishing; it reports whether f runs.
func (c *conn) spawn(f func()) bool {
	if !c.enter() {
		return false
	}
	go func() {
		defer c.wg.Done()
		f()
	}()
	return true
}

func (c *conn) session() string {
	if p := c.sid.Load(); p != nil {
		return *p
	}
	return ""
}
