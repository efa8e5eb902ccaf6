// Package archive is the archiver: it owns chats, membership and history.
// It serves the /api/ half of the contract over HTTP, stores every message
// of the JetStream stream in the database through a durable pull consumer
// shared by all archiver replicas, and answers the edges' questions over
// NATS: membership, history beyond the stream, and client_ids already
// used (the history package).
//
// Nothing lost, nothing twice. The consumer acknowledges a message only
// after the transaction holding it has committed, so a replica that dies
// mid-batch loses nothing: JetStream delivers the batch again, to this
// replica or another. Redelivery and replicas racing on one message never
// store it twice, because the message id (the stream sequence) is the
// table's primary key and the insert skips a row that is already there;
// no replica reads before it writes. History is ordered by that id, so
// the order replicas commit in never shows.
//
// A message the database refuses while it answers otherwise is tried
// MaxDeliver times, further apart each time, and then moved to the
// dead-letter stream, where DeadLetters lists it and Resurrect stores it
// once the cause is fixed; chats behind it go on meanwhile. A database that
// does not answer at all is waited for instead: the batch is held, kept
// from redelivery, and written when the database is back, so an outage
// does not use up anyone's deliveries.
//
// A Service is safe for concurrent use: Handler, Ready and Run may be
// called from any goroutine, and Run once per Service at a time.
package archive

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/parley-chat/parley/pkg/authn"
	"github.com/parley-chat/parley/pkg/store"
	"github.com/parley-chat/parley/pkg/stream"
)

// Config tunes the archiver. The zero value is the default everywhere.
type Config struct {
	// Stream is the JetStream stream's configuration, applied by Run.
	Stream stream.Config
	// Consumer is the durable consumer's name, shared by every replica
	// so that each message is stored by one of them. "archiver" when
	// empty.
	Consumer string
	// BatchSize is the most messages written in one database call. 256
	// when zero.
	BatchSize int
	// AckWait is how long JetStream waits for an ack before delivering a
	// message again; it also bounds one batch's database write. 10s when
	// zero: short, because history reads wait for the messages a killed
	// archiver held, and those come back only after AckWait.
	AckWait time.Duration
	// MaxDeliver is how often a message the database refuses is tried
	// before it goes to the dead-letter stream. An outage uses up no
	// tries: see the package comment. 5 when zero.
	MaxDeliver int
	// NakDelay is how long a message that the database refused waits
	// before its second try; each later try waits twice as long as the
	// one before, up to 5s. 100ms when zero.
	NakDelay time.Duration
	// CatchUp bounds how long a history request waits for the consumer
	// to store messages the stream already acknowledged. 3s when zero.
	CatchUp time.Duration
	// PublishTimeout bounds waiting for JetStream's acknowledgement of a
	// posted message. 5s when zero.
	PublishTimeout time.Duration
}

func (c Config) withDefaults() Config {
	if c.Consumer == "" {
		c.Consumer = "archiver"
	}
	if c.BatchSize == 0 {
		c.BatchSize = 256
	}
	if c.AckWait == 0 {
		c.AckWait = 10 * time.Second
	}
	if c.MaxDeliver == 0 {
		c.MaxDeliver = 5
	}
	if c.NakDelay == 0 {
		c.NakDelay = 100 * time.Millisecond
	}
	if c.CatchUp == 0 {
		c.CatchUp = 3 * time.Second
	}
	if c.PublishTimeout == 0 {
		c.PublishTimeout = 5 * time.Second
	}
	return c
}

// validate reports the first bad setting of a defaulted Config.
func (c Config) validate() error {
	switch {
	case strings.ContainsAny(c.Consumer, " \t\r\n.*>/\\"):
		return fmt.Errorf("consumer name %q may not hold white space, '.', '*', '>' or slashes",
			c.Consumer)
	case c.BatchSize < 1:
		return fmt.Errorf("batch size %d is not positive", c.BatchSize)
	case c.AckWait < time.Second:
		return fmt.Errorf("ack wait %v is under a second", c.AckWait)
	case c.MaxDeliver < 1:
		return fmt.Errorf("max deliver %d is not positive", c.MaxDeliver)
	case c.NakDelay < 0 || c.CatchUp < 0 || c.PublishTimeout < 0:
		return errors.New("nak delay, catch-up and publish timeout may not be negative")
	}
	return nil
}

// Service is one archiver replica.
type Service struct {
	cfg   Config
	chats store.Chats
	nc    *nats.Conn
	js    jetstream.JetStream
	auth  *authn.Authenticator
	log   *slog.Logger
	floor floor
	// settled bounds what the consumer has settled, for client_id
	// lookups; see coverWindow.
	settled settledBefore
	// consuming is true while Run has its consumer and answers the
	// edges; until then the replica is not ready.
	consuming atomic.Bool

	// mu guards the handles, which Run sets and requests look up lazily
	// when they come first.
	mu   sync.Mutex
	str  jetstream.Stream
	cons jetstream.Consumer
}

// New returns a Service storing into chats, talking to JetStream over nc
// and authenticating requests with auth. A nil log discards.
func New(cfg Config, chats store.Chats, nc *nats.Conn, auth *authn.Authenticator,
	log *slog.Logger) (*Service, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("archive config: %w", err)
	}
	if chats == nil || nc == nil || auth == nil {
		return nil, errors.New("archive needs a store, a NATS connection and an authenticator")
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("opening JetStream: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{cfg: cfg, chats: chats, nc: nc, js: js, auth: auth, log: log}
	s.floor.init()
	return s, nil
}

// readyProbe names no chat (a URI never holds a dot); asking for its last
// id costs one indexed lookup and proves the database answers.
const readyProbe = "ready.probe"

// Ready reports whether Run is consuming, NATS is connected and the
// store answers.
func (s *Service) Ready(ctx context.Context) error {
	if !s.consuming.Load() {
		return errors.New("the stream consumer is not running")
	}
	if !s.nc.IsConnected() {
		return fmt.Errorf("checking NATS: connection is %v", s.nc.Status())
	}
	_, err := s.chats.LastMessageID(ctx, readyProbe)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("checking the store: %w", err)
	}
	return nil
}

// lookupStream returns the message stream, looking it up when Run has not yet
// ensured it.
func (s *Service) lookupStream(ctx context.Context) (jetstream.Stream, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.str != nil {
		return s.str, nil
	}
	str, err := s.js.Stream(ctx, stream.Name)
	if err != nil {
		return nil, fmt.Errorf("looking up stream %s: %w", stream.Name, err)
	}
	s.str = str
	return str, nil
}

// lookupConsumer returns the durable consumer, looking it up when Run has not
// yet created it in this process.
func (s *Service) lookupConsumer(ctx context.Context) (jetstream.Consumer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cons != nil {
		return s.cons, nil
	}
	cons, err := s.js.Consumer(ctx, stream.Name, s.cfg.Consumer)
	if err != nil {
		return nil, fmt.Errorf("looking up consumer %s: %w", s.cfg.Consumer, err)
	}
	s.cons = cons
	return cons, nil
}

func (s *Service) setHandles(str jetstream.Stream, cons jetstream.Consumer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.str, s.cons = str, cons
}
