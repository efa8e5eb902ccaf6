package archive

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/parley-chat/parley/pkg/rest"
	"github.com/parley-chat/parley/pkg/store"
	"github.com/parley-chat/parley/pkg/stream"
)

// Read-your-writes. A 201 is sent once JetStream holds a message, and the
// consumer stores it a moment later, so history could miss a message its
// author was already told is durable. History therefore waits, briefly and
// boundedly, until the consumer's ack floor reaches the chat's newest
// message in the stream.
//
// Waiting was chosen over merging the missing tail from the stream because
// the missing part is not always a tail: with several replicas, or after a
// batch that the database refused and that comes back later, newer
// messages can be stored before older ones, and comparing the store's
// newest id with the stream's would not see the hole. The ack floor is
// exact: the consumer acks only after the commit (or after giving up on a
// message that cannot be decoded), so every sequence at or below the floor
// is settled, in every chat and whichever replica stored it. Past the
// bound the request answers 503 rather than a history with a hole.

// floor caches the highest ack floor seen and wakes waiters when this
// process commits a batch, so that a single archiver answers at once
// rather than at its next poll.
type floor struct {
	mu   sync.Mutex
	seq  uint64
	wake chan struct{}
}

func (f *floor) init() { f.wake = make(chan struct{}) }

// state returns the known floor and a channel closed at the next commit.
func (f *floor) state() (uint64, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seq, f.wake
}

func (f *floor) raise(seq uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq = max(f.seq, seq)
}

// committed wakes every waiter.
func (f *floor) committed() {
	f.mu.Lock()
	defer f.mu.Unlock()
	close(f.wake)
	f.wake = make(chan struct{})
}

// Polling bounds while waiting for another replica's commit, which does
// not wake this process.
const (
	firstPoll = time.Millisecond
	maxPoll   = 50 * time.Millisecond
)

// catchUp returns once the store holds every message of chat uri that the
// page can show and that the stream held when it was called.
func (s *Service) catchUp(ctx context.Context, uri string, p store.Page) error {
	str, err := s.lookupStream(ctx)
	if err != nil {
		return unavailable(err)
	}
	last, err := stream.LastID(ctx, str, uri)
	if err != nil {
		return unavailable(err)
	}
	// Messages at or past before cannot be on this page.
	if p.Before > 0 {
		last = min(last, p.Before-1)
	}
	if known, _ := s.floor.state(); last <= 0 || uint64(last) <= known {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CatchUp)
	defer cancel()
	return s.waitFloor(ctx, uint64(last))
}

// waitFloor polls the consumer's ack floor until it reaches seq.
func (s *Service) waitFloor(ctx context.Context, seq uint64) error {
	poll := firstPoll
	for {
		// Taking the wake channel before asking means a commit that
		// lands in between is not missed.
		_, wake := s.floor.state()
		at, err := s.ackFloor(ctx)
		if err != nil {
			return unavailable(err)
		}
		if at >= seq {
			return nil
		}
		t := time.NewTimer(poll)
		select {
		case <-wake:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return unavailable(fmt.Errorf("waiting for the archive to reach %d: %w", seq, ctx.Err()))
		}
		t.Stop()
		poll = min(2*poll, maxPoll)
	}
}

// ackFloor asks JetStream for the consumer's ack floor and remembers it.
func (s *Service) ackFloor(ctx context.Context) (uint64, error) {
	cons, err := s.lookupConsumer(ctx)
	if err != nil {
		return 0, err
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("reading consumer state: %w", err)
	}
	s.floor.raise(info.AckFloor.Stream)
	return info.AckFloor.Stream, nil
}

// unavailable marks err as the contract's 503 while keeping its cause
// for the log.
func unavailable(err error) error {
	return fmt.Errorf("%w: %w", rest.ErrUnavailable, err)
}
