package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-chat/parley/pkg/wire"
)

// socket is one user's WebSocket, kept open across edge failures.
type socket struct {
	r    *Run
	user *user
	edge int // index of the edge to dial next

	subscribed chan struct{} // closed once every chat was first subscribed
	once       sync.Once

	mu      sync.Mutex
	out     chan []byte // frames for the current connection; nil between connections
	pending map[string]*pendingSend
	since   map[string]int64 // newest id seen per chat, the next since
	known   map[string]bool  // chats subscribed at least once
}

// pendingSend is a send not yet acknowledged.
type pendingSend struct {
	frame   []byte
	retryAt time.Time
}

func newSocket(r *Run, u *user, edge int) *socket {
	s := &socket{
		r: r, user: u, edge: edge,
		subscribed: make(chan struct{}),
		pending:    map[string]*pendingSend{},
		since:      map[string]int64{},
		known:      map[string]bool{},
	}
	u.sock = s
	return s
}

// run keeps the socket connected until ctx ends, moving to the next edge
// after each failure.
func (s *socket) run(ctx context.Context) {
	for failures := 0; ; failures++ {
		err := s.connectOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		s.r.rec.reconnected()
		s.r.cfg.Log.Info("loadgen: socket reconnecting", "user", s.user.id, "err", err)
		s.edge = (s.edge + 1) % len(s.r.cfg.EdgeURLs)
		t := time.NewTimer(time.Duration(min(failures, 10)) * 50 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

const (
	readTimeout = 75 * time.Second // the server pings every 25
	outQueue    = 1024
)

// connectOnce runs one connection: authenticate, subscribe, resend what is
// pending, then read until the connection fails.
func (s *socket) connectOnce(ctx context.Context) error {
	tok, err := s.r.freshToken(ctx, s.user)
	if err != nil {
		return err
	}
	url := "ws" + strings.TrimPrefix(s.r.cfg.EdgeURLs[s.edge], "http") + "/ws"
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, _, err := websocket.DefaultDialer.DialContext(dctx, url, nil)
	cancel()
	if err != nil {
		return fmt.Errorf("dialing %s: %w", url, err)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	defer conn.Close()

	out := make(chan []byte, outQueue)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { s.write(conn, out, done) })
	defer wg.Wait()
	defer close(done)

	out <- mustJSON(map[string]any{"type": "auth", "token": tok})
	for _, f := range s.subscribeFrames() {
		out <- f
	}
	s.attach(out)
	defer s.attach(nil)
	return s.read(conn)
}

// subscribeFrames subscribes to every chat, with since after the first
// time.
func (s *socket) subscribeFrames() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	var frames [][]byte
	for _, c := range s.user.chats {
		f := map[string]any{"type": "subscribe", "chat": c}
		if s.known[c] {
			f["since"] = s.since[c]
		}
		frames = append(frames, mustJSON(f))
	}
	return frames
}

// attach makes out the connection sends go to, and queues every pending
// send on it again, with its client_id, so nothing unacknowledged is
// dropped by a failover.
func (s *socket) attach(out chan []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.out = out
	if out == nil {
		return
	}
	for _, p := range s.pending {
		p.retryAt = time.Now().Add(s.r.cfg.AckTimeout)
		select {
		case out <- p.frame:
		default:
			p.retryAt = time.Now()
		}
	}
}

// send queues one message; the writer sends it again until it is
// acknowledged.
func (s *socket) send(chat, clientID, text string) {
	f := mustJSON(map[string]any{"type": "send", "chat": chat, "message": text, "client_id": clientID})
	s.mu.Lock()
	defer s.mu.Unlock()
	p := &pendingSend{frame: f, retryAt: time.Now().Add(s.r.cfg.AckTimeout)}
	s.pending[clientID] = p
	if s.out == nil {
		return // attach sends it on the next connection
	}
	select {
	case s.out <- f:
	default:
		p.retryAt = time.Now()
	}
}

// write writes frames, and every so often the sends that are due again,
// until done is closed.
func (s *socket) write(conn *websocket.Conn, out <-chan []byte, done <-chan struct{}) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		var frames [][]byte
		select {
		case <-done:
			return
		case f := <-out:
			frames = [][]byte{f}
		case <-tick.C:
			frames = s.due()
		}
		for _, f := range frames {
			_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if err := conn.WriteMessage(websocket.TextMessage, f); err != nil {
				_ = conn.Close() // the reader sees it and reconnects
				return
			}
		}
	}
}

// due returns the pending sends whose ack is overdue, and pushes their
// next try back.
func (s *socket) due() [][]byte {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var frames [][]byte
	for _, p := range s.pending {
		if now.After(p.retryAt) {
			p.retryAt = now.Add(s.r.cfg.AckTimeout)
			frames = append(frames, p.frame)
		}
	}
	return frames
}

// inFrame is any server object.
type inFrame struct {
	Type     string    `json:"type"`
	Chat     string    `json:"chat"`
	LastID   int64     `json:"last_id"`
	ID       int64     `json:"id"`
	User     wire.User `json:"user"`
	ClientID *string   `json:"client_id"`
	Code     string    `json:"code"`
	Detail   string    `json:"detail"`
	Ref      string    `json:"ref"`
}

var errResubscribe = errors.New("a subscription failed")

// read handles frames until the connection fails.
func (s *socket) read(conn *websocket.Conn) error {
	conn.SetPingHandler(func(data string) error {
		_ = conn.SetReadDeadline(time.Now().Add(readTimeout))
		return conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	for {
		_ = conn.SetReadDeadline(time.Now().Add(readTimeout))
		_, data, err := conn.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) && ce.Code == 4001 {
				s.user.forgetToken()
			}
			return err
		}
		for line := range bytes.SplitSeq(data, []byte("\n")) {
			if err := s.handle(line); err != nil {
				return err
			}
		}
	}
}

func (s *socket) handle(line []byte) error {
	var f inFrame
	if err := json.Unmarshal(line, &f); err != nil {
		s.r.rec.failed("undecodable frame")
		return nil
	}
	now := time.Now()
	switch f.Type {
	case "message":
		s.message(f, now)
	case "ack":
		if f.ClientID != nil {
			s.acked(*f.ClientID, f.ID, now)
		}
	case "subscribed":
		s.subscribedTo(f.Chat, f.LastID)
	case "error":
		return s.refused(f)
	}
	return nil
}

func (s *socket) message(f inFrame, now time.Time) {
	cid := ""
	if f.ClientID != nil {
		cid = *f.ClientID
	}
	s.r.rec.delivered(s.user.id, f.Chat, f.ID, f.User.ID, cid, now)
	s.mu.Lock()
	s.since[f.Chat] = max(s.since[f.Chat], f.ID)
	s.mu.Unlock()
}

func (s *socket) acked(clientID string, id int64, now time.Time) {
	s.mu.Lock()
	delete(s.pending, clientID)
	s.mu.Unlock()
	s.r.rec.acked(clientID, id, now)
}

func (s *socket) subscribedTo(chat string, last int64) {
	s.mu.Lock()
	first := !s.known[chat]
	if first {
		s.known[chat], s.since[chat] = true, last
	}
	all := len(s.known) == len(s.user.chats)
	s.mu.Unlock()
	if first {
		s.r.rec.subscribed(s.user.id, chat, last)
	}
	if all {
		s.once.Do(func() { close(s.subscribed) })
	}
}

// refused handles an error frame. A send refused for a passing reason
// is tried again soon; one refused for good is dropped and counted. A
// failed subscription ends the connection, so the next one subscribes
// again with since.
func (s *socket) refused(f inFrame) error {
	s.r.rec.failed(f.Code)
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pending[f.Ref]
	switch {
	case p == nil && f.Ref != "" && s.isChat(f.Ref):
		return fmt.Errorf("%w: %s %s", errResubscribe, f.Code, f.Detail)
	case p == nil:
	case f.Code == "unavailable":
		p.retryAt = time.Now().Add(300 * time.Millisecond)
	case f.Code == "rate_limited":
		// The edge refills a socket's sends over a second or so.
		p.retryAt = time.Now().Add(time.Second)
	default:
		delete(s.pending, f.Ref)
	}
	return nil
}

func (s *socket) isChat(ref string) bool {
	for _, c := range s.user.chats {
		if c == ref {
			return true
		}
	}
	return false
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("encoding a client frame: %v", err)) // maps of strings always encode
	}
	return b
}
