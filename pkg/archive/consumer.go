package archive

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/parley-chat/parley/pkg/membership"
	"github.com/parley-chat/parley/pkg/store"
	"github.com/parley-chat/parley/pkg/stream"
	"github.com/parley-chat/parley/pkg/wire"
)

// drainTimeout bounds waiting for in-flight membership answers at shutdown.
const drainTimeout = 10 * time.Second

// Run ensures the stream, stores its messages through the shared durable
// consumer and answers membership questions until ctx is cancelled. It
// returns after the consumer has stopped and the membership subscription
// has drained; the error is nil after a clean stop.
func (s *Service) Run(ctx context.Context) error {
	str, err := stream.Ensure(ctx, s.js, s.cfg.Stream)
	if err != nil {
		return err
	}
	cons, err := str.CreateOrUpdateConsumer(ctx, s.consumerConfig())
	if err != nil {
		return fmt.Errorf("creating consumer %s: %w", s.cfg.Consumer, err)
	}
	s.setHandles(str, cons)

	sub, err := membership.Serve(s.nc, s.lookup)
	if err != nil {
		return err
	}
	err = s.consume(ctx, cons)
	return errors.Join(err, drain(sub))
}

func (s *Service) consumerConfig() jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       s.cfg.Consumer,
		Description:   "Parley archiver: stores every chat message in the database",
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       s.cfg.AckWait,
		MaxDeliver:    s.cfg.MaxDeliver,
	}
}

// drain stops taking membership questions and waits until those already
// taken are answered.
func drain(sub *nats.Subscription) error {
	closed := sub.StatusChanged(nats.SubscriptionClosed)
	if err := sub.Drain(); err != nil {
		return fmt.Errorf("draining membership subscription: %w", err)
	}
	t := time.NewTimer(drainTimeout)
	defer t.Stop()
	select {
	case <-closed:
		return nil
	case <-t.C:
		return fmt.Errorf("draining membership subscription: not done after %v", drainTimeout)
	}
}

// consume feeds the consumer's messages to the batch loop until ctx is
// cancelled. The client library's callback only hands messages over, so
// the loop can take whatever has arrived, up to a batch, without waiting
// for more: a lone message is stored at once, and under load batches
// fill by themselves.
func (s *Service) consume(ctx context.Context, cons jetstream.Consumer) error {
	in := make(chan jetstream.Msg, s.cfg.BatchSize)
	stop := make(chan struct{})
	cc, err := cons.Consume(func(m jetstream.Msg) {
		select {
		case in <- m:
		case <-stop:
			s.nak(m, 0)
		}
	},
		jetstream.PullMaxMessages(s.cfg.BatchSize),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			s.log.Warn("archive consumer", "err", err)
		}))
	if err != nil {
		return fmt.Errorf("consuming %s: %w", s.cfg.Consumer, err)
	}

	err = newBatcher(s).loop(ctx, in, cc.Closed())
	close(stop)
	return errors.Join(err, s.handBack(cc, in))
}

// handBack stops consuming and returns what was handed over but not
// stored, and what the client library still buffers, now rather than
// after AckWait, so another replica can take it at once.
func (s *Service) handBack(cc jetstream.ConsumeContext, in <-chan jetstream.Msg) error {
	cc.Drain()
	t := time.NewTimer(drainTimeout)
	defer t.Stop()
	select {
	case <-cc.Closed():
	case <-t.C:
		cc.Stop()
		return fmt.Errorf("draining consumer %s: not done after %v", s.cfg.Consumer, drainTimeout)
	}
	for {
		select {
		case m := <-in:
			s.nak(m, 0)
		default:
			return nil
		}
	}
}

// batcher reuses its slices from one batch to the next.
type batcher struct {
	s     *Service
	batch []jetstream.Msg
	msgs  []wire.Message
	kept  []jetstream.Msg // the messages behind msgs, index for index
}

func newBatcher(s *Service) *batcher {
	n := s.cfg.BatchSize
	return &batcher{
		s:     s,
		batch: make([]jetstream.Msg, 0, n),
		msgs:  make([]wire.Message, 0, n),
		kept:  make([]jetstream.Msg, 0, n),
	}
}

// loop stores batches until ctx is cancelled, or fails when the client
// library stops consuming by itself, as when the consumer is deleted:
// then Run ends with an error instead of idling while history falls
// behind.
func (b *batcher) loop(ctx context.Context, in <-chan jetstream.Msg, closed <-chan struct{}) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-closed:
			return fmt.Errorf("consumer %s stopped", b.s.cfg.Consumer)
		case m := <-in:
			b.batch = append(b.batch[:0], m)
		}
		b.fill(in)
		b.store(ctx)
	}
}

// fill adds what has already arrived, up to a full batch.
func (b *batcher) fill(in <-chan jetstream.Msg) {
	for len(b.batch) < cap(b.batch) {
		select {
		case m := <-in:
			b.batch = append(b.batch, m)
		default:
			return
		}
	}
}

// store writes the batch in one call and acks each message after the
// commit. The write outlives a cancelled ctx, bounded by AckWait, so a
// shutdown does not throw away a batch that is almost stored.
func (b *batcher) store(ctx context.Context) {
	b.decode()
	if len(b.msgs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.s.cfg.AckWait)
	defer cancel()
	if err := b.s.chats.AddMessages(ctx, b.msgs); err != nil {
		b.s.log.Error("archiving batch", "messages", len(b.msgs), "err", err)
		b.storeEach(ctx)
		return
	}
	for _, m := range b.kept {
		b.s.ack(m)
	}
	b.s.floor.committed()
}

// decode fills msgs and kept from batch and terminates what cannot be
// decoded: it never will be, and redelivering it would only hold up the
// ack floor that history waits on.
func (b *batcher) decode() {
	b.msgs, b.kept = b.msgs[:0], b.kept[:0]
	for _, m := range b.batch {
		wm, err := stream.DecodeStored(m)
		if err != nil {
			b.s.log.Error("dropping malformed stream message", "err", err)
			b.s.term(m)
			continue
		}
		b.msgs = append(b.msgs, storable(wm))
		b.kept = append(b.kept, m)
	}
	clear(b.batch)
}

// storable replaces U+0000, which PostgreSQL text cannot hold, with
// U+FFFD. Posting refuses it, so only a message published around the API
// carries one; as it is, the database would refuse it forever and hold
// up the ack floor that history waits on.
func storable(m wire.Message) wire.Message {
	m.Chat = noNull(m.Chat)
	m.User.Username = noNull(m.User.Username)
	m.Message = noNull(m.Message)
	if m.ClientID != nil && strings.IndexByte(*m.ClientID, 0) >= 0 {
		id := noNull(*m.ClientID)
		m.ClientID = &id
	}
	return m
}

func noNull(s string) string {
	if strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}

// storeEach retries a refused batch one message at a time, so that one
// message the database will never take holds back only itself. The rest
// of a batch that fails as a whole, as in an outage, comes back after
// NakDelay.
func (b *batcher) storeEach(ctx context.Context) {
	failed := 0
	for i, m := range b.kept {
		err := b.s.chats.AddMessages(ctx, b.msgs[i:i+1])
		switch {
		case errors.Is(err, store.ErrNotFound):
			// Chats are never deleted and posting needs membership, so
			// a message for an unknown chat came from elsewhere and no
			// retry will place it.
			b.s.log.Error("dropping message for unknown chat", "chat", b.msgs[i].Chat)
			b.s.term(m)
		case err != nil:
			failed++
			b.s.nak(m, b.s.cfg.NakDelay)
		default:
			b.s.ack(m)
		}
	}
	if failed < len(b.kept) {
		b.s.floor.committed()
	}
	if failed > 0 {
		b.s.log.Warn("messages left for redelivery", "messages", failed)
	}
}

// ack and nak failures leave the message unsettled; JetStream delivers it
// again after AckWait and the store skips what it already holds.
func (s *Service) ack(m jetstream.Msg) {
	if err := m.Ack(); err != nil {
		s.log.Warn("acking stream message", "err", err)
	}
}

func (s *Service) term(m jetstream.Msg) {
	if err := m.TermWithReason("not storable"); err != nil {
		s.log.Warn("dropping stream message", "err", err)
	}
}

func (s *Service) nak(m jetstream.Msg, delay time.Duration) {
	if err := m.NakWithDelay(delay); err != nil {
		s.log.Warn("returning stream message", "err", err)
	}
}
