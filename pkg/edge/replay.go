package edge

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/parley-chat/parley/pkg/history"
	"github.com/parley-chat/parley/pkg/hub"
	"github.com/parley-chat/parley/pkg/stream"
	"github.com/parley-chat/parley/pkg/wire"
)

// streamHandle looks the message stream up once and keeps it. Looking it
// up costs a request, and the edge only needs it to read back messages.
type streamHandle struct {
	mu sync.Mutex
	s  jetstream.Stream
}

func (h *streamHandle) get(ctx context.Context, js jetstream.JetStream) (jetstream.Stream, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.s != nil {
		return h.s, nil
	}
	s, err := js.Stream(ctx, stream.Name)
	if err != nil {
		return nil, fmt.Errorf("looking up stream %s: %w", stream.Name, err)
	}
	h.s = s
	return s, nil
}

// lastID returns the newest id stored for chat. The hub usually knows it
// without asking JetStream, which matters when many sockets subscribe.
func (s *Server) lastID(ctx context.Context, chat string) (int64, error) {
	if id, ok := s.hub.LastID(chat); ok {
		return id, nil
	}
	st, err := s.stream.get(ctx, s.js)
	if err != nil {
		return 0, err
	}
	return stream.LastID(ctx, st, chat)
}

// emitFunc passes on one replayed message; it may block at the
// socket's pace.
type emitFunc func(context.Context, *hub.Frame) error

// Replay strategy, from BenchmarkReplay: reading one message per request
// costs about 45µs a message; an ordered consumer costs about 500µs to
// create and remove, then about 6µs a message. A replay therefore reads
// the first few messages singly, which is all that most reconnects
// miss, and streams the rest.
const (
	replaySingly = 12
	replayBatch  = 128
)

// replay hands emit every stored message of chat with an id above
// after, in order, until the stream holds no more: first, from the
// archive, those the stream no longer holds, then the stream's.
func (s *Server) replay(ctx context.Context, chat string, after int64, emit emitFunc) error {
	after, err := s.replayArchived(ctx, chat, after, emit)
	if err != nil {
		return err
	}
	last, done, err := s.replayEach(ctx, chat, after, replaySingly, emit)
	if err != nil || done {
		return err
	}
	return s.replayOrdered(ctx, chat, last, emit)
}

// replayArchived hands emit the messages of chat above after that the
// stream has dropped by age or size, all below its first sequence, from
// the archive. It returns the id the stream's part starts after. The
// stream may drop more between the two reads; that needs a replay
// reaching back to messages at the stream's age limit, a week by default,
// at the moment of the drop.
func (s *Server) replayArchived(ctx context.Context, chat string, after int64,
	emit emitFunc) (int64, error) {
	st, err := s.stream.get(ctx, s.js)
	if err != nil {
		return after, err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return after, fmt.Errorf("reading the stream's first message: %w", err)
	}
	first := int64(info.State.FirstSeq)
	if after+1 >= first {
		return after, nil
	}
	archive := &history.Client{NC: s.deps.NC, Timeout: s.cfg.RequestTimeout}
	for {
		msgs, more, err := archive.Messages(ctx, history.MessagesRequest{
			Chat: chat, After: after, Before: first, Limit: history.MaxLimit,
		})
		if err != nil {
			return after, fmt.Errorf("replaying chat %s from the archive: %w", chat, err)
		}
		for _, m := range msgs {
			if err := s.emitStored(ctx, chat, m, nil, emit); err != nil {
				return after, err
			}
			after = m.ID
		}
		if !more || len(msgs) == 0 {
			return max(after, first-1), nil
		}
	}
}

// replayEach reads up to limit messages one request at a time. It
// returns the last id it passed on and whether the stream ran out.
func (s *Server) replayEach(ctx context.Context, chat string, after int64, limit int,
	emit emitFunc) (int64, bool, error) {
	st, err := s.stream.get(ctx, s.js)
	if err != nil {
		return after, false, err
	}
	subject := stream.Subject(chat)
	for range limit {
		rctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
		raw, err := st.GetMsg(rctx, uint64(after)+1, jetstream.WithGetMsgSubject(subject))
		cancel()
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return after, true, nil
		}
		if err != nil {
			return after, false, fmt.Errorf("reading chat %s after %d: %w", chat, after, err)
		}
		after = int64(raw.Sequence)
		m, err := stream.DecodeRaw(raw)
		if err := s.emitStored(ctx, chat, m, err, emit); err != nil {
			return after, false, err
		}
	}
	return after, false, nil
}

// replayOrdered streams chat's messages after after through an ordered
// consumer, which it removes when done.
func (s *Server) replayOrdered(ctx context.Context, chat string, after int64,
	emit emitFunc) error {
	rctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	cons, err := s.js.OrderedConsumer(rctx, stream.Name, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{stream.Subject(chat)},
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    uint64(after) + 1,
	})
	if err != nil {
		return fmt.Errorf("replaying chat %s after %d: %w", chat, after, err)
	}
	defer s.dropConsumer(ctx, cons)
	for {
		batch, err := cons.FetchNoWait(replayBatch)
		if err != nil {
			return fmt.Errorf("replaying chat %s: %w", chat, err)
		}
		n, pending, err := s.emitBatch(ctx, chat, batch, emit)
		if err != nil || n == 0 || pending == 0 {
			return err
		}
	}
}

// emitBatch passes on a fetched batch. It returns how many messages the
// batch held and how many more the consumer said were pending.
func (s *Server) emitBatch(ctx context.Context, chat string, batch jetstream.MessageBatch,
	emit emitFunc) (int, uint64, error) {
	n, pending := 0, uint64(0)
	for msg := range batch.Messages() {
		n++
		if md, err := msg.Metadata(); err == nil {
			pending = md.NumPending
		}
		m, err := stream.DecodeStored(msg)
		if err := s.emitStored(ctx, chat, m, err, emit); err != nil {
			return n, pending, err
		}
	}
	if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
		return n, pending, fmt.Errorf("replaying chat %s: %w", chat, err)
	}
	return n, pending, nil
}

// emitStored encodes and passes on one decoded message; one that did not
// decode is logged and skipped, since no client could use it.
func (s *Server) emitStored(ctx context.Context, chat string, m wire.Message, decodeErr error,
	emit emitFunc) error {
	if decodeErr != nil {
		s.log.Error("skipping stored message", "chat", chat, "err", decodeErr)
		return nil
	}
	f, err := hub.NewFrame(m)
	if err != nil {
		s.log.Error("skipping stored message", "chat", chat, "err", err)
		return nil
	}
	return emit(ctx, f)
}

// dropConsumer removes a replay's consumer at once rather than leaving
// it on the server for its inactivity threshold. It runs even when the
// socket has gone, which is when ctx ends.
func (s *Server) dropConsumer(ctx context.Context, cons jetstream.Consumer) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.RequestTimeout)
	defer cancel()
	info := cons.CachedInfo()
	if info == nil {
		return
	}
	if err := s.js.DeleteConsumer(ctx, stream.Name, info.Name); err != nil &&
		!errors.Is(err, jetstream.ErrConsumerNotFound) {
		// It expires by itself after the inactivity threshold.
		s.log.Warn("removing replay consumer", "consumer", info.Name, "err", err)
	}
}
