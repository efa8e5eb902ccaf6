// Package stream defines how chat messages travel through NATS JetStream:
// the stream, its subjects, the payload, publishing with deduplication and
// decoding what the stream hands back. Publishers and decoders are safe
// for concurrent use.
//
// Subjects. A message for chat U is published to "parley.chat.U", which
// the stream stores. After storing it, the stream itself republishes the
// message on "parley.live.U" with the headers Nats-Sequence (the stream
// sequence) and Nats-Last-Sequence (the previous stored sequence on the
// same subject). Edges subscribe to the live subject of each chat they
// serve, with core NATS.
//
// Order. The stream sequence is the message id. The stream leader assigns
// sequences one at a time and republishes in that order, so every edge
// sees a chat's messages in id order, whichever edge published them: when
// two edges publish to one chat at the same instant, whichever the leader
// stores first gets the lower id, and everyone sees it first. Because the
// live copy is sent only after the message is stored, no subscriber ever
// sees a message that a crash could lose. Nats-Last-Sequence lets a
// subscriber notice a gap and ask the stream for what it missed.
package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/parley-chat/parley/pkg/wire"
)

// Name is the JetStream stream that holds chat messages.
const Name = "PARLEY_MESSAGES"

const (
	chatPrefix = "parley.chat."
	livePrefix = "parley.live."
)

// Subject is where messages of chat uri are published and stored.
func Subject(uri string) string { return chatPrefix + uri }

// LiveSubject is where the stream republishes chat uri's stored messages.
func LiveSubject(uri string) string { return livePrefix + uri }

// Config sets the stream's limits. The zero value is a single-replica
// stream keeping a week of messages, up to 10 GiB.
type Config struct {
	Replicas   int
	MaxAge     time.Duration
	MaxBytes   int64
	Duplicates time.Duration // JetStream's dedupe window; 2m when zero
}

func (c Config) withDefaults() Config {
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.MaxAge == 0 {
		c.MaxAge = 7 * 24 * time.Hour
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = 10 << 30
	}
	if c.Duplicates == 0 {
		c.Duplicates = 2 * time.Minute
	}
	return c
}

// Ensure creates the stream, or updates it to cfg, and returns it.
func Ensure(ctx context.Context, js jetstream.JetStream, cfg Config) (jetstream.Stream, error) {
	cfg = cfg.withDefaults()
	s, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        Name,
		Description: "Parley chat messages",
		Subjects:    []string{chatPrefix + "*"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		Replicas:    cfg.Replicas,
		MaxAge:      cfg.MaxAge,
		MaxBytes:    cfg.MaxBytes,
		Duplicates:  cfg.Duplicates,
		RePublish: &jetstream.RePublish{
			Source:      chatPrefix + "*",
			Destination: livePrefix + "{{wildcard(1)}}",
		},
	})
	if err != nil {
		return nil, fmt.Errorf("creating stream %s: %w", Name, err)
	}
	return s, nil
}

// Payload is what is published for one message. The id and time are not
// in it: the stream assigns both when it stores the message.
type Payload struct {
	Chat     string    `json:"chat"`
	User     wire.User `json:"user"`
	Message  string    `json:"message"`
	ClientID *string   `json:"client_id"`
}

// Published is the stream's answer to a publish.
type Published struct {
	ID        int64
	Duplicate bool // the stream already held this message; ID is the first one's
}

// Publish stores p in the stream and returns once JetStream has stored it.
// A message with a client_id is deduplicated by chat, user and client_id
// within the stream's dedupe window.
func Publish(ctx context.Context, js jetstream.JetStream, p Payload) (Published, error) {
	data, err := json.Marshal(p)
	if err != nil {
		return Published{}, fmt.Errorf("encoding message: %w", err)
	}
	msg := nats.NewMsg(Subject(p.Chat))
	msg.Data = data
	if p.ClientID != nil {
		// The user id is inside the key so that one user's client_id can
		// never collide with, and so swallow, another user's message.
		msg.Header.Set(jetstream.MsgIDHeader,
			p.Chat+"/"+strconv.FormatInt(p.User.ID, 10)+"/"+*p.ClientID)
	}
	ack, err := js.PublishMsg(ctx, msg)
	if err != nil {
		return Published{}, fmt.Errorf("publishing to %s: %w", msg.Subject, err)
	}
	return Published{ID: int64(ack.Sequence), Duplicate: ack.Duplicate}, nil
}

// ErrMalformed marks a stream message that cannot be decoded.
var ErrMalformed = errors.New("malformed stream message")

// Decode turns a message delivered on a live subject into the contract's
// message, taking id and time from the headers the stream adds.
func Decode(msg *nats.Msg) (wire.Message, error) {
	seq, err := strconv.ParseInt(msg.Header.Get(jetstream.SequenceHeader), 10, 64)
	if err != nil {
		return wire.Message{}, fmt.Errorf("%w: sequence header: %w", ErrMalformed, err)
	}
	ts, err := time.Parse(time.RFC3339Nano, msg.Header.Get(jetstream.TimeStampHeaer))
	if err != nil {
		return wire.Message{}, fmt.Errorf("%w: time stamp header: %w", ErrMalformed, err)
	}
	return decode(msg.Data, seq, ts)
}

// DecodeStored turns a message read from the stream by a consumer into
// the contract's message.
func DecodeStored(msg jetstream.Msg) (wire.Message, error) {
	md, err := msg.Metadata()
	if err != nil {
		return wire.Message{}, fmt.Errorf("%w: metadata: %w", ErrMalformed, err)
	}
	return decode(msg.Data(), int64(md.Sequence.Stream), md.Timestamp)
}

// DecodeRaw turns a message fetched by sequence into the contract's message.
func DecodeRaw(m *jetstream.RawStreamMsg) (wire.Message, error) {
	return decode(m.Data, int64(m.Sequence), m.Time)
}

func decode(data []byte, seq int64, ts time.Time) (wire.Message, error) {
	var p Payload
	if err := json.Unmarshal(data, &p); err != nil {
		return wire.Message{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if p.Chat == "" || p.User.ID == 0 {
		return wire.Message{}, fmt.Errorf("%w: chat or user missing", ErrMalformed)
	}
	return wire.Message{
		ID:        seq,
		Chat:      p.Chat,
		User:      p.User,
		Message:   p.Message,
		ClientID:  p.ClientID,
		CreatedAt: wire.Time(ts),
	}, nil
}

// LastID returns the id of the newest message of chat uri still in the
// stream, or 0 when it holds none.
func LastID(ctx context.Context, s jetstream.Stream, uri string) (int64, error) {
	m, err := s.GetLastMsgForSubject(ctx, Subject(uri))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading last message of %s: %w", uri, err)
	}
	return int64(m.Sequence), nil
}
