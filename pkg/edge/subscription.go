package edge

import (
	"context"
	"errors"
	"sync"

	"github.com/parley-chat/parley/pkg/hub"
	"github.com/parley-chat/parley/pkg/metrics"
)

// subscription is one socket following one chat. It is the hub's
// subscriber: live frames pass through it to the socket's queue. While
// a replay of stored messages runs, it holds live frames back, and lets
// none through twice: it remembers the last id it passed on.
type subscription struct {
	c      *conn
	chat   string
	cancel context.CancelFunc // ends the replay; nil without one

	mu       sync.Mutex
	live     bool
	last     int64        // newest id passed to the queue, or skipped as seen
	held     []*hub.Frame // live frames that arrived during a replay
	overflow bool         // held overflowed and was dropped
}

// Deliver implements hub.Subscriber.
func (sub *subscription) Deliver(f *hub.Frame) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	switch {
	case f.ID <= sub.last:
	case sub.live:
		sub.last = f.ID
		sub.c.q.Push(f) // a full queue marks the socket slow; its writer closes it
	case sub.overflow:
		// Dropped: the replay will find it in the stream.
	case len(sub.held) >= sub.c.s.cfg.QueueLen/2:
		sub.held, sub.overflow = nil, true
	default:
		sub.held = append(sub.held, f)
	}
}

// subscribe handles a subscribe frame. With since, the chat's stored
// messages above it are replayed first; either way, live ones follow
// with no gap and no duplicate.
func (c *conn) subscribe(chat string, since *int64) {
	if old := c.subs[chat]; old != nil {
		// Subscribing again restarts the subscription, replaying what
		// the client now asks for.
		old.stop()
		delete(c.subs, chat)
	}
	rep, ok := c.member(chat, chat)
	if !ok {
		return
	}
	sub := &subscription{c: c, chat: chat}
	ctx, cancel := c.request()
	defer cancel()
	// Registering first, and reading the newest id after, means every
	// message is either at most that id or reaches sub live.
	if err := c.s.hub.Subscribe(ctx, chat, sub); err != nil {
		c.s.log.Error("following chat", "conn", c.id, "chat", chat, "err", err)
		c.fail(errUnavailable.with(chat))
		return
	}
	stored, err := c.s.lastID(ctx, chat)
	if err != nil {
		c.s.hub.Unsubscribe(chat, sub)
		c.s.log.Error("reading newest message", "conn", c.id, "chat", chat, "err", err)
		c.fail(errUnavailable.with(chat))
		return
	}
	if c.subs == nil {
		c.subs = map[string]*subscription{}
	}
	c.subs[chat] = sub
	metrics.EdgeSubscriptions.Inc()
	sub.start(max(stored, rep.LastID), stored, since)
}

// start sends subscribed and either goes live at once or starts a
// replay. last is the newest id the client is told of; stored is the
// newest the stream holds.
func (sub *subscription) start(last, stored int64, since *int64) {
	sub.mu.Lock()
	sub.c.reply(encode(subscribedFrame{Type: "subscribed", Chat: sub.chat, LastID: last}))
	if since == nil {
		sub.last = last
	} else {
		sub.last = *since
	}
	// last, not only stored: the stream may have aged out what the
	// archive still holds, and the replay reads the archive for those.
	replay := since != nil && *since < last
	if !replay {
		sub.flush()
	}
	sub.mu.Unlock()
	if !replay {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	sub.cancel = cancel
	sub.c.spawn(func() { sub.replay(ctx) })
}

// replay passes on the stored messages after the last one passed on,
// then goes live. When live frames overflowed meanwhile it reads the
// stream again from where it stopped: they are stored there too.
func (sub *subscription) replay(ctx context.Context) {
	c := sub.c
	for {
		err := c.s.replay(ctx, sub.chat, sub.cursor(), sub.replayed)
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, hub.ErrSlow):
			return // the writer closes the socket
		case err != nil:
			c.s.log.Error("replaying chat", "conn", c.id, "chat", sub.chat, "err", err)
			// Closing with 1013 tells the client to come back with
			// since, which loses nothing.
			c.closeWith(closeTryLater, "message history unavailable")
			return
		}
		if sub.goLive() {
			return
		}
	}
}

func (sub *subscription) cursor() int64 {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	return sub.last
}

// replayed passes on one stored message, at the pace of the socket.
func (sub *subscription) replayed(ctx context.Context, f *hub.Frame) error {
	if f.ID <= sub.cursor() {
		return nil
	}
	if err := sub.c.q.PushWait(ctx, f); err != nil {
		return err
	}
	sub.mu.Lock()
	sub.last = f.ID
	sub.mu.Unlock()
	return nil
}

// goLive passes on the held frames and lets live ones through. It
// reports false, and forgets the overflow, when held frames were lost.
func (sub *subscription) goLive() bool {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if sub.overflow {
		sub.overflow = false
		return false
	}
	sub.flush()
	return true
}

// flush passes on held frames the client has not seen and goes live; the
// caller holds mu.
func (sub *subscription) flush() {
	for _, f := range sub.held {
		if f.ID > sub.last {
			sub.last = f.ID
			sub.c.q.Push(f)
		}
	}
	sub.held, sub.live = nil, true
}

// stop ends the subscription and its replay.
func (sub *subscription) stop() {
	metrics.EdgeSubscriptions.Dec()
	if sub.cancel != nil {
		sub.cancel()
	}
	sub.c.s.hub.Unsubscribe(sub.chat, sub)
}

// unsubscribe handles an unsubscribe frame; an unknown chat is ignored.
func (c *conn) unsubscribe(chat string) {
	if sub := c.subs[chat]; sub != nil {
		sub.stop()
		delete(c.subs, chat)
	}
}
