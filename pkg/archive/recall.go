package archive

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/parley-chat/parley/pkg/history"
	"github.com/parley-chat/parley/pkg/store"
	"github.com/parley-chat/parley/pkg/stream"
	"github.com/parley-chat/parley/pkg/wire"
)

// The archive serves the history package's questions: it is the
// history.Archive of this replica.
var _ history.Archive = (*recall)(nil)

type recall struct{ s *Service }

// Messages answers an edge's replay beyond the stream: the stored page
// after req.After, once the store holds what the stream acknowledged.
func (r recall) Messages(ctx context.Context, req history.MessagesRequest) ([]wire.Message, bool, error) {
	page := store.Page{After: req.After, Before: req.Before, Limit: req.Limit}
	err := r.s.catchUp(ctx, req.Chat, page)
	var msgs []wire.Message
	var more bool
	if err == nil {
		msgs, more, err = r.s.chats.Messages(ctx, req.Chat, page)
	}
	if err != nil {
		r.s.log.Error("answering history", "chat", req.Chat, "err", err)
		return nil, false, err
	}
	return msgs, more, nil
}

// Sent answers whether a client_id was already used.
func (r recall) Sent(ctx context.Context, req history.SentRequest) (wire.Message, bool, error) {
	m, found, err := r.s.sent(ctx, req.Chat, req.UserID, req.ClientID)
	if err != nil {
		r.s.log.Error("answering client_id lookup", "chat", req.Chat, "user", req.UserID, "err", err)
	}
	return m, found, err
}

// sent finds the message user sent to chat with clientID. The window
// check comes before the lookup: once every message older than the window
// is known to be stored, the lookup that follows cannot miss one of them.
func (s *Service) sent(ctx context.Context, chat string, user int64,
	clientID string) (wire.Message, bool, error) {
	if err := s.coverWindow(ctx); err != nil {
		return wire.Message{}, false, err
	}
	m, err := s.chats.MessageByClientID(ctx, chat, user, clientID)
	switch {
	case err == nil:
		return m, true, nil
	case errors.Is(err, store.ErrNotFound):
		return wire.Message{}, false, nil
	}
	return wire.Message{}, false, unavailable(fmt.Errorf("finding client_id: %w", err))
}

// Idempotency past the dedupe window. The stream drops a repeated
// client_id only within its window (2 minutes by default); the store
// drops one for ever, but only once the consumer has stored the first
// copy. A client_id is therefore safe to publish when every message older
// than the window is in the store: an older first copy is found there,
// and a younger one is still in the stream's window when the repeat
// arrives. coverWindow proves this from the timestamp of the oldest
// message the consumer has not settled: every older message is settled.
//
// margin is subtracted from the window for the time between the answer
// and the publish it allows, and for clock skew between this host and the
// stream leader, which stamps messages.
func (s *Service) margin() time.Duration { return s.cfg.Stream.DedupeWindow() / 4 }

// settledBefore caches the newest "every message stamped before t is
// settled" seen; it only moves forward, as the ack floor does.
type settledBefore struct {
	mu sync.Mutex
	t  time.Time
}

func (b *settledBefore) get() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.t
}

func (b *settledBefore) raise(t time.Time) time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	if t.After(b.t) {
		b.t = t
	}
	return b.t
}

// coverWindow returns nil once every message stamped earlier than the
// dedupe window less the margin is settled. It costs nothing while the
// cached bound suffices, which in a healthy cluster is almost always, and
// otherwise waits for the consumer up to CatchUp: when the archive falls
// that far behind, a send with a client_id is refused rather than risk
// storing it twice.
func (s *Service) coverWindow(ctx context.Context) error {
	reach := s.cfg.Stream.DedupeWindow() - s.margin()
	covered := func(t time.Time) bool { return time.Since(t) < reach }
	if covered(s.settled.get()) {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CatchUp)
	defer cancel()
	poll := firstPoll
	for {
		_, wake := s.floor.state()
		t, err := s.oldestUnsettled(ctx)
		if err != nil {
			return unavailable(err)
		}
		if covered(s.settled.raise(t)) {
			return nil
		}
		if err := sleepOrWake(ctx, poll, wake); err != nil {
			return unavailable(fmt.Errorf("waiting for the archive to reach the dedupe window: %w", err))
		}
		poll = min(2*poll, maxPoll)
	}
}

// oldestUnsettled returns the stamp of the first message above the ack
// floor, or, when there is none, the time just before asking: whatever
// is stored later is stamped later still.
func (s *Service) oldestUnsettled(ctx context.Context) (time.Time, error) {
	asked := time.Now()
	floor, err := s.ackFloor(ctx)
	if err != nil {
		return time.Time{}, err
	}
	str, err := s.lookupStream(ctx)
	if err != nil {
		return time.Time{}, err
	}
	// The next message at or after floor+1 on any chat subject: floor+1
	// itself may have been removed by the stream's limits.
	raw, err := str.GetMsg(ctx, floor+1, jetstream.WithGetMsgSubject(stream.AllChats))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return asked, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("reading the first unsettled message: %w", err)
	}
	return raw.Time, nil
}

// sleepOrWake waits d, or until wake is closed, or until ctx ends.
func sleepOrWake(ctx context.Context, d time.Duration, wake <-chan struct{}) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-wake:
	case <-t.C:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}
