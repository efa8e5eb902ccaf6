// Package hub fans out live chat messages on one edge. It holds one core
// NATS subscription on a chat's live subject for as long as at least one
// local subscriber follows the chat, however many do; it decodes each
// delivered message once and encodes it once into a shared Frame, then
// hands that frame to every local subscriber without blocking. It also
// provides Queue, the bounded per-socket queue that subscribers usually
// feed. A Hub is safe for concurrent use.
package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/parley-chat/parley/pkg/metrics"
	"github.com/parley-chat/parley/pkg/stream"
)

// Subscriber receives a chat's frames, in id order, each once. Deliver is
// called from the chat's delivery goroutine and must not block: a
// subscriber that cannot keep up records that and lets its owner drop it.
type Subscriber interface {
	Deliver(f *Frame)
}

// ErrClosed means the hub was closed.
var ErrClosed = errors.New("hub closed")

// Hub is the per-edge fan-out of live chat messages.
type Hub struct {
	nc  *nats.Conn
	log *slog.Logger

	gaps atomic.Uint64
	str  streamHandle // for filling gaps; see fill.go

	mu     sync.Mutex
	chats  map[string]*chat
	closed bool
}

// chat is one followed chat and its NATS subscription.
type chat struct {
	uri   string
	ready chan struct{} // closed once the subscription is live or failed
	err   error         // why it failed; read after ready is closed

	// The delivery loop holds mu for reading. Subscribers are added and
	// removed in O(1) (removal swaps the last one in), so that thousands
	// of sockets joining one chat cost no more each than the first.
	mu    sync.RWMutex
	subs  []Subscriber
	index map[Subscriber]int

	sub *nats.Subscription // guarded by Hub.mu

	// Written only by the delivery goroutine; read by LastID.
	last       atomic.Int64
	reconnects atomic.Uint64 // nc's reconnect count when last was set
}

// New returns a hub that subscribes on nc. log may be nil.
func New(nc *nats.Conn, log *slog.Logger) *Hub {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Hub{nc: nc, log: log, chats: map[string]*chat{}}
}

// Subscribe adds s to chat uri's subscribers. It returns once the edge's
// subscription is registered with the NATS server, so that every message
// stored after Subscribe returns reaches s. On error s is not subscribed.
func (h *Hub) Subscribe(ctx context.Context, uri string, s Subscriber) error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return ErrClosed
	}
	c, found := h.chats[uri]
	if !found {
		c = newChat(uri)
		h.chats[uri] = c
		metrics.EdgeChats.Inc()
	}
	c.add(s)
	h.mu.Unlock()

	if !found {
		h.open(ctx, c)
	}
	select {
	case <-c.ready:
	case <-ctx.Done():
		h.Unsubscribe(uri, s)
		return ctx.Err()
	}
	if c.err != nil {
		h.Unsubscribe(uri, s)
		return c.err
	}
	return nil
}

// open subscribes to c's live subject and waits for the server to
// confirm it, then releases everyone waiting on c.ready.
func (h *Hub) open(ctx context.Context, c *chat) {
	defer close(c.ready)
	sub, err := h.nc.Subscribe(stream.LiveSubject(c.uri), c.handler(h))
	if err == nil {
		// The round trip proves the server holds the interest, so
		// nothing stored from now on can be missed.
		err = h.nc.FlushWithContext(ctx)
	}
	if err != nil {
		c.err = fmt.Errorf("subscribing to chat %s: %w", c.uri, err)
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	current := h.chats[c.uri] == c
	switch {
	case c.err != nil && current:
		delete(h.chats, c.uri)
		metrics.EdgeChats.Dec()
	case c.err == nil && current:
		c.sub = sub
		return
	}
	// Failed, or every subscriber left while the subscription was being
	// set up.
	if sub != nil {
		_ = sub.Unsubscribe() // the connection may be gone; so is the interest
	}
}

// Unsubscribe removes s from chat uri; the last one out ends the edge's
// NATS subscription. Removing a subscriber that is not there is harmless.
func (h *Hub) Unsubscribe(uri string, s Subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.chats[uri]
	if c == nil || c.remove(s) > 0 {
		return
	}
	delete(h.chats, uri)
	metrics.EdgeChats.Dec()
	if c.sub != nil {
		_ = c.sub.Unsubscribe() // a closed connection has no interest left to end
	}
}

// LastID returns the newest message id the hub has delivered for chat
// uri, and whether that is known to be the newest id in the stream: true
// only while the hub follows the chat, has delivered at least one of its
// messages and the NATS connection has not reconnected since, for
// messages stored during a reconnect may never have arrived.
func (h *Hub) LastID(uri string) (int64, bool) {
	h.mu.Lock()
	c := h.chats[uri]
	live := c != nil && c.sub != nil
	h.mu.Unlock()
	if !live {
		return 0, false
	}
	id := c.last.Load()
	if id == 0 || c.reconnects.Load() != h.nc.Stats().Reconnects {
		return 0, false
	}
	return id, true
}

// Chats returns how many chats the hub follows.
func (h *Hub) Chats() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.chats)
}

// Gaps returns how many times a chat's messages arrived with some
// missing in between, as the stream's Nats-Last-Sequence header shows.
// The hub reads what was missing from the stream and hands it on before
// the message that showed the gap; see fill.go.
func (h *Hub) Gaps() uint64 { return h.gaps.Load() }

// Close ends every subscription; later Subscribe calls fail.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for uri, c := range h.chats {
		if c.sub != nil {
			_ = c.sub.Unsubscribe() // see Unsubscribe
		}
		delete(h.chats, uri)
		metrics.EdgeChats.Dec()
	}
}

func newChat(uri string) *chat {
	return &chat{uri: uri, ready: make(chan struct{}), index: map[Subscriber]int{}}
}

// add and remove change the subscriber list; the caller holds Hub.mu.
// Adding one already there is a no-op.
func (c *chat) add(s Subscriber) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.index[s]; ok {
		return
	}
	c.index[s] = len(c.subs)
	c.subs = append(c.subs, s)
}

// remove takes s out, if there, and returns how many are left.
func (c *chat) remove(s Subscriber) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.index[s]
	if !ok {
		return len(c.subs)
	}
	last := len(c.subs) - 1
	c.subs[i] = c.subs[last]
	c.index[c.subs[i]] = i
	c.subs[last] = nil
	c.subs = c.subs[:last]
	delete(c.index, s)
	return len(c.subs)
}

// handler returns the NATS callback of c. NATS calls it from one
// goroutine per subscription, in order, so last needs no lock.
func (c *chat) handler(h *Hub) nats.MsgHandler {
	return func(m *nats.Msg) {
		start := time.Now()
		f, err := c.frame(h, m)
		if err != nil {
			h.log.Error("dropping live message", "chat", c.uri, "err", err)
			return
		}
		if f == nil {
			return
		}
		c.fanout(f)
		// Once per message and edge, however many subscribers it has.
		metrics.EdgeFanout.Observe(time.Since(start).Seconds())
	}
}

// fanout hands f to every subscriber. It is the per-subscriber hot loop:
// one interface call each, nothing allocated. Subscribers joining or
// leaving wait for it, which is short because Deliver never blocks.
func (c *chat) fanout(f *Frame) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, s := range c.subs {
		s.Deliver(f)
	}
}

// frame decodes m and encodes it once for every subscriber. It returns
// nil, nil for a message already delivered.
func (c *chat) frame(h *Hub, m *nats.Msg) (*Frame, error) {
	msg, err := stream.Decode(m)
	if err != nil {
		return nil, err
	}
	last := c.last.Load()
	if msg.ID <= last {
		return nil, nil
	}
	if prev := m.Header.Get(jetstream.LastSequenceHeader); last != 0 && prev != "" {
		if p, err := strconv.ParseInt(prev, 10, 64); err == nil && p != last {
			h.gaps.Add(1)
			metrics.EdgeLiveGaps.Inc()
			h.log.Warn("gap in live messages", "chat", c.uri,
				"after", last, "missing_before", msg.ID, "expected_after", p)
			if err := c.fill(h, p); err != nil {
				h.log.Error("filling gap in live messages", "chat", c.uri, "err", err)
			}
		}
	}
	f, err := NewFrame(msg)
	if err != nil {
		return nil, err
	}
	c.reconnects.Store(h.nc.Stats().Reconnects)
	c.last.Store(msg.ID)
	return f, nil
}
