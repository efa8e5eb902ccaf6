// Package archive is the archiver: it owns chats, membership and history.
// It serves the /api/ half of the contract over HTTP, stores every message
// of the JetStream stream in the database through a durable pull consumer
// shared by all archiver replicas, and answers the edges' membership
// questions over NATS.
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
	// message again; it also bounds one batch's database write. 30s when
	// zero.
	AckWait time.Duration
	// MaxDeliver is how often a message is tried before JetStream gives
	// up on it. Zero means without limit, so that a long database outage
	// loses no history.
	MaxDeliver int
	// NakDelay is how long a message that the database refused waits
	// before it is delivered again. 1s when zero.
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
		c.AckWait = 30 * time.Second
	}
	if c.MaxDeliver == 0 {
		c.MaxDeliver = -1
	}
	if c.NakDelay == 0 {
		c.NakDelay = time.Second
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
	case c.MaxDeliver < -1:
		return fmt.Errorf("max deliver %d is negative", c.MaxDeliver)
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

// Ready reports whether NATS is connected and the store answers.
func (s *Service) Ready(ctx context.Context) error {
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
