package archive

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/parley-chat/parley/pkg/history"
	"github.com/parley-chat/parley/pkg/membership"
	"github.com/parley-chat/parley/pkg/metrics"
	"github.com/parley-chat/parley/pkg/store"
	"github.com/parley-chat/parley/pkg/stream"
	"github.com/parley-chat/parley/pkg/wire"
)

// drainTimeout bounds waiting for in-flight membership answers at shutdown.
const drainTimeout = 10 * time.Second

// Run ensures the streams, stores messages through the shared durable
// consumer and answers the edges' questions (membership, history, sent
// client_ids) until ctx is cancelled. It returns after the consumer has
// stopped and the subscriptions have drained; the error is nil after a
// clean stop.
func (s *Service) Run(ctx context.Context) error {
	str, cons, err := s.setUp(ctx)
	if err != nil {
		if ctx.Err() != nil {
			// Stopped while still setting up: nothing was consumed, so
			// there is nothing to hand back, and stopping is no failure.
			return nil
		}
		return err
	}
	s.setHandles(str, cons)

	sub, err := membership.Serve(s.nc, s.lookup)
	if err != nil {
		return err
	}
	hist, err := history.Serve(s.nc, recall{s}, 0)
	if err != nil {
		return errors.Join(err, drain(sub))
	}
	s.consuming.Store(true)
	defer s.consuming.Store(false)
	err = s.consume(ctx, cons)
	return errors.Join(err, drain(sub), stopHistory(hist))
}

func stopHistory(h *history.Server) error {
	ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	return h.Stop(ctx)
}

// setUpFor bounds how long Run keeps trying to set up the streams and
// the consumer while JetStream is not ready to answer.
const setUpFor = 2 * time.Minute

// setUp ensures both streams and the consumer. A NATS cluster that has
// just started answers nothing until it has elected its leaders, and
// replicas starting together race to create the same stream, so a
// timeout is tried again, for a while, rather than ending the process.
func (s *Service) setUp(ctx context.Context) (jetstream.Stream, jetstream.Consumer, error) {
	give := time.Now().Add(setUpFor)
	wait := 100 * time.Millisecond
	for {
		str, cons, err := s.trySetUp(ctx)
		if err == nil || !transient(err) || time.Now().After(give) {
			return str, cons, err
		}
		s.log.Warn("setting up the stream, trying again", "err", err)
		if err := sleepOrWake(ctx, wait, nil); err != nil {
			return nil, nil, fmt.Errorf("setting up the stream: %w", err)
		}
		wait = min(2*wait, 2*time.Second)
	}
}

func (s *Service) trySetUp(ctx context.Context) (jetstream.Stream, jetstream.Consumer, error) {
	// A stream created anew, its storage lost, starts above every id
	// the archive holds; see stream.Config.FirstSeq.
	top, err := s.chats.MaxMessageID(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("finding the archive's largest id: %w", err)
	}
	cfg := s.cfg.Stream
	cfg.FirstSeq = uint64(top) + 1
	str, err := stream.Ensure(ctx, s.js, cfg)
	if err != nil {
		return nil, nil, err
	}
	if _, err := stream.EnsureDead(ctx, s.js, s.cfg.Stream); err != nil {
		return nil, nil, err
	}
	cons, err := str.CreateOrUpdateConsumer(ctx, s.consumerConfig())
	if err != nil {
		return nil, nil, fmt.Errorf("creating consumer %s: %w", s.cfg.Consumer, err)
	}
	return str, cons, nil
}

// transient tells a JetStream that is not ready yet from one that said
// no: a timeout, nobody answering, or an API error in the 5xx range.
func transient(err error) bool {
	var apiErr *jetstream.APIError
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout),
		errors.Is(err, nats.ErrNoResponders), errors.Is(err, jetstream.ErrNoStreamResponse):
		return true
	case errors.As(err, &apiErr):
		return apiErr.Code >= 500
	}
	return false
}

func (s *Service) consumerConfig() jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       s.cfg.Consumer,
		Description:   "Parley archiver: stores every chat message in the database",
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       s.cfg.AckWait,
		// The deliveries past MaxDeliver serve only to retry moving a
		// message to dead letters; see bury.
		MaxDeliver: s.cfg.MaxDeliver + buryTries,
		// Bounds what one replica holds through an outage (see hold)
		// while leaving every replica room for a batch in flight and
		// the next one buffered.
		MaxAckPending: 8 * s.cfg.BatchSize,
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

	err = newBatcher(s, in).loop(ctx, cc.Closed())
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
	in    <-chan jetstream.Msg
	batch []jetstream.Msg
	msgs  []wire.Message
	kept  []jetstream.Msg // the messages behind msgs, index for index
	// backlog holds what arrived while a batch was held through an
	// outage; it is stored first once the outage ends.
	backlog []jetstream.Msg
}

func newBatcher(s *Service, in <-chan jetstream.Msg) *batcher {
	n := s.cfg.BatchSize
	return &batcher{
		s:     s,
		in:    in,
		batch: make([]jetstream.Msg, 0, n),
		msgs:  make([]wire.Message, 0, n),
		kept:  make([]jetstream.Msg, 0, n),
	}
}

// loop stores batches until ctx is cancelled, or fails when the client
// library stops consuming by itself, as when the consumer is deleted:
// then Run ends with an error instead of idling while history falls
// behind.
func (b *batcher) loop(ctx context.Context, closed <-chan struct{}) error {
	for {
		if ctx.Err() != nil {
			b.release(nil)
			return nil
		}
		if !b.fromBacklog() {
			select {
			case <-ctx.Done():
				return nil
			case <-closed:
				return fmt.Errorf("consumer %s stopped", b.s.cfg.Consumer)
			case m := <-b.in:
				b.batch = append(b.batch[:0], m)
			}
			b.fill()
		}
		b.store(ctx)
	}
}

// fromBacklog starts a batch from the backlog, if there is one.
func (b *batcher) fromBacklog() bool {
	if len(b.backlog) == 0 {
		return false
	}
	n := min(len(b.backlog), cap(b.batch))
	b.batch = append(b.batch[:0], b.backlog[:n]...)
	b.backlog = b.backlog[n:]
	if len(b.backlog) == 0 {
		b.backlog = nil
	}
	return true
}

// fill adds what has already arrived, up to a full batch.
func (b *batcher) fill() {
	for len(b.batch) < cap(b.batch) {
		select {
		case m := <-b.in:
			b.batch = append(b.batch, m)
		default:
			return
		}
	}
}

// absorb moves what has arrived to the backlog, so that it too can be
// kept from redelivery. The consumer's MaxAckPending bounds it.
func (b *batcher) absorb() {
	for {
		select {
		case m := <-b.in:
			b.backlog = append(b.backlog, m)
		default:
			return
		}
	}
}

// release hands held back messages, and held, back at once.
func (b *batcher) release(held []jetstream.Msg) {
	for _, m := range held {
		b.s.nak(m, 0)
	}
	for _, m := range b.backlog {
		b.s.nak(m, 0)
	}
	b.backlog = nil
}

// store writes the batch in one call and acks each message after the
// commit. The write outlives a cancelled ctx, bounded by AckWait, so a
// shutdown does not throw away a batch that is almost stored.
func (b *batcher) store(ctx context.Context) {
	b.decode(ctx)
	if len(b.msgs) == 0 {
		return
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.s.cfg.AckWait)
	defer cancel()
	start := time.Now()
	err := b.s.chats.AddMessages(wctx, b.msgs)
	if err != nil {
		metrics.ArchiverDBErrors.Inc()
	}
	switch {
	case err == nil:
		observeCommit(len(b.msgs), time.Since(start))
		b.acked()
	case b.s.databaseDown(wctx):
		b.s.log.Error("archiving batch, database down", "messages", len(b.msgs), "err", err)
		b.hold(ctx)
	default:
		b.s.log.Error("archiving batch", "messages", len(b.msgs), "err", err)
		b.storeEach(wctx)
	}
}

// acked acks the whole stored batch.
func (b *batcher) acked() {
	for _, m := range b.kept {
		b.s.ack(m)
	}
	metrics.ArchiverPersisted.Add(float64(len(b.kept)))
	b.s.floor.committed()
}

// holdMax bounds the wait between two writes of a held batch.
const holdMax = 2 * time.Second

// hold keeps a batch through a database outage and writes it once the
// database answers again. Meanwhile it tells JetStream, before each try,
// that the batch and whatever arrived behind it are still being worked
// on: that stops redelivery without counting a delivery, so an outage
// sends nothing to dead letters and never reaches JetStream's own
// delivery limit. At shutdown all of it goes back at once for another
// replica.
func (b *batcher) hold(ctx context.Context) {
	wait := b.s.cfg.NakDelay
	for {
		b.absorb()
		for _, m := range b.kept {
			b.s.inProgress(m)
		}
		for _, m := range b.backlog {
			b.s.inProgress(m)
		}
		if err := sleepOrWake(ctx, wait, nil); err != nil {
			b.release(b.kept)
			return
		}
		wait = min(2*wait, holdMax, b.s.cfg.AckWait/3)
		if b.retry(ctx) {
			return
		}
	}
}

// retry writes a held batch once more. It reports whether the batch is
// settled, or handed on to storeEach because the database, up again,
// refuses some of it.
func (b *batcher) retry(ctx context.Context) bool {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.s.cfg.AckWait)
	defer cancel()
	err := b.s.chats.AddMessages(wctx, b.msgs)
	if err != nil {
		metrics.ArchiverDBErrors.Inc()
	}
	switch {
	case err == nil:
		b.s.log.Info("archived held batch", "messages", len(b.msgs))
		b.acked()
	case b.s.databaseDown(wctx):
		return false
	default:
		b.storeEach(wctx)
	}
	return true
}

// databaseDown tells an outage from a refusal: the readiness probe's
// lookup fails only when the database does not answer at all.
func (s *Service) databaseDown(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := s.chats.LastMessageID(ctx, readyProbe)
	return err != nil && !errors.Is(err, store.ErrNotFound)
}

// decode fills msgs and kept from batch and sends what cannot be decoded
// to dead letters: it never will be, and redelivering it would only hold
// up the ack floor that history waits on.
func (b *batcher) decode(ctx context.Context) {
	b.msgs, b.kept = b.msgs[:0], b.kept[:0]
	for _, m := range b.batch {
		observeDelivery(m)
		wm, err := stream.DecodeStored(m)
		if err != nil {
			b.s.bury(ctx, m, "malformed", err)
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
// message the database will never take holds back only itself. A refused
// message comes back later, and goes to dead letters on its last try.
func (b *batcher) storeEach(ctx context.Context) {
	failed := 0
	for i, m := range b.kept {
		err := b.s.chats.AddMessages(ctx, b.msgs[i:i+1])
		if err != nil {
			metrics.ArchiverDBErrors.Inc()
		}
		switch {
		case errors.Is(err, store.ErrNotFound):
			// Chats are never deleted and posting needs membership, so
			// a message for an unknown chat came from elsewhere and no
			// retry will place it.
			b.s.bury(ctx, m, "unknown chat", err)
		case err != nil:
			failed++
			b.s.retryLater(ctx, m, err)
		default:
			b.s.ack(m)
			metrics.ArchiverPersisted.Inc()
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

func (s *Service) term(m jetstream.Msg, reason string) {
	if err := m.TermWithReason(reason); err != nil {
		s.log.Warn("dropping stream message", "err", err)
	}
}

func (s *Service) inProgress(m jetstream.Msg) {
	if err := m.InProgress(); err != nil {
		s.log.Warn("extending stream message", "err", err)
	}
}

// maxNakDelay bounds the wait before a refused message's next try.
const maxNakDelay = 5 * time.Second

// retryLater returns a refused message for another try, each further
// from the last, or buries it when this was its last try.
func (s *Service) retryLater(ctx context.Context, m jetstream.Msg, cause error) {
	n := uint64(1)
	if md, err := m.Metadata(); err == nil {
		n = md.NumDelivered
	}
	if n >= uint64(s.cfg.MaxDeliver) {
		s.bury(ctx, m, "refused by the database", cause)
		return
	}
	delay := s.cfg.NakDelay
	for range n - 1 {
		delay = min(2*delay, maxNakDelay)
	}
	s.nak(m, delay)
}

func (s *Service) nak(m jetstream.Msg, delay time.Duration) {
	if err := m.NakWithDelay(delay); err != nil {
		s.log.Warn("returning stream message", "err", err)
	}
}
