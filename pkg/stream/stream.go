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
// serve, with core NATS. Keying subjects by chat URI is what lets an edge
// follow only the chats its sockets follow, lets a replay read one chat
// with a subject filter, and lets the stream answer "newest message of
// chat U" from its per-subject index. A URI holds no dot (it is URL-safe
// base64), so it is always exactly one subject token. Messages the
// archiver gives up on are kept in a second stream under "parley.dead.U".
//
// Order. The stream sequence is the message id. The stream leader assigns
// sequences one at a time and republishes in that order, so every edge
// sees a chat's messages in id order, whichever edge published them: when
// two edges publish to one chat at the same instant, the two publishes
// reach the leader over two connections, the leader stores whichever it
// takes first under the lower sequence, and republishes it first; the
// second gets the next sequence. No edge decides the order, so no two
// edges can disagree on it. Because the live copy is sent only after the
// message is stored (in a cluster, after a quorum of replicas has it), no
// subscriber ever sees a message that a crash could lose.
// Nats-Last-Sequence lets a subscriber notice a gap and ask the stream for
// what it missed.
//
// Duplicates. A message with a client_id carries the Nats-Msg-Id header
// "chat/user/client_id"; the leader drops a second message with the same
// header within the dedupe window and answers with the first one's
// sequence. Past the window only the archive remembers a client_id, which
// is why senders go through the history package's Publish.
package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/parley-chat/parley/pkg/wire"
)

// Name is the JetStream stream that holds chat messages.
const Name = "PARLEY_MESSAGES"

// DeadName is the stream that keeps messages the archiver gave up on.
const DeadName = "PARLEY_DEAD"

const (
	chatPrefix = "parley.chat."
	livePrefix = "parley.live."
	deadPrefix = "parley.dead."
)

// AllChats matches the stored subject of every chat.
const AllChats = chatPrefix + "*"

// Subject is where messages of chat uri are published and stored.
func Subject(uri string) string { return chatPrefix + uri }

// LiveSubject is where the stream republishes chat uri's stored messages.
func LiveSubject(uri string) string { return livePrefix + uri }

// DeadSubject is where the dead-letter stream keeps chat uri's messages.
func DeadSubject(uri string) string { return deadPrefix + uri }

// ChatOf returns the chat URI of a stored or live subject, or "" for any
// other subject.
func ChatOf(subject string) string {
	for _, p := range []string{chatPrefix, livePrefix, deadPrefix} {
		if uri, ok := strings.CutPrefix(subject, p); ok {
			return uri
		}
	}
	return ""
}

// Config sets the stream's limits. The zero value is a single-replica
// stream keeping a week of messages, up to 10 GiB, and dead letters for
// 30 days.
type Config struct {
	// Replicas is how many servers hold each message: 1 on one machine,
	// 3 in a cluster, where an acknowledged message then survives the
	// loss of any one server.
	Replicas int
	// MaxAge and MaxBytes bound what the stream keeps; the oldest
	// messages go first. Replays older than that come from the archive.
	MaxAge   time.Duration
	MaxBytes int64
	// Duplicates is JetStream's dedupe window; 2m when zero.
	Duplicates time.Duration
	// DeadMaxAge is how long dead letters are kept; 30 days when zero.
	DeadMaxAge time.Duration
	// FirstSeq is the first message id of a stream created anew. Ids
	// key the archive, so a stream created again after its storage was
	// lost must start above every id the archive holds, or new messages
	// would be taken for ones already stored.
	FirstSeq uint64
}

// DedupeWindow is the dedupe window c gives the stream.
func (c Config) DedupeWindow() time.Duration { return c.withDefaults().Duplicates }

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
	if c.DeadMaxAge == 0 {
		c.DeadMaxAge = 30 * 24 * time.Hour
	}
	return c
}

// EnsureDead creates the dead-letter stream, or updates it to cfg, and
// returns it. Nothing ages it out but DeadMaxAge, so an operator has time
// to look at what failed and replay it.
func EnsureDead(ctx context.Context, js jetstream.JetStream, cfg Config) (jetstream.Stream, error) {
	cfg = cfg.withDefaults()
	s, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        DeadName,
		Description: "Parley chat messages the archiver could not store",
		Subjects:    []string{deadPrefix + "*"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Replicas:    cfg.Replicas,
		MaxAge:      cfg.DeadMaxAge,
		Duplicates:  time.Hour,
	})
	if err != nil {
		return nil, fmt.Errorf("creating stream %s: %w", DeadName, err)
	}
	return s, nil
}

// Ensure creates the stream, or updates it to cfg, and returns it.
func Ensure(ctx context.Context, js jetstream.JetStream, cfg Config) (jetstream.Stream, error) {
	cfg = cfg.withDefaults()
	sc := jetstream.StreamConfig{
		Name:        Name,
		Description: "Parley chat messages",
		Subjects:    []string{AllChats},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		Replicas:    cfg.Replicas,
		MaxAge:      cfg.MaxAge,
		MaxBytes:    cfg.MaxBytes,
		Duplicates:  cfg.Duplicates,
		RePublish: &jetstream.RePublish{
			Source:      AllChats,
			Destination: livePrefix + "{{wildcard(1)}}",
		},
	}
	s, err := update(ctx, js, sc)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		sc.FirstSeq = cfg.FirstSeq
		s, err = js.CreateStream(ctx, sc)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			s, err = update(ctx, js, sc) // another replica created it first
		}
	}
	if err != nil {
		return nil, fmt.Errorf("creating stream %s: %w", Name, err)
	}
	return s, nil
}

// update applies sc to the existing stream, keeping the FirstSeq it was
// created with. An update that changed it would be taken up by replicas
// that create their copy later, as after losing their storage, and they
// would number messages from another start than the others.
func update(ctx context.Context, js jetstream.JetStream,
	sc jetstream.StreamConfig) (jetstream.Stream, error) {
	s, err := js.Stream(ctx, sc.Name)
	if err != nil {
		return nil, err
	}
	sc.FirstSeq = s.CachedInfo().Config.FirstSeq
	return js.UpdateStream(ctx, sc)
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
// within the stream's dedupe window; past it, only the archive knows, so
// senders call history.Publish, which asks the archive first.
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
		msg.Header.Set(jetstream.MsgIDHeader, MsgID(p.Chat, p.User.ID, *p.ClientID))
	}
	ack, err := publishMsg(ctx, js, msg)
	if err != nil {
		return Published{}, fmt.Errorf("publishing to %s: %w", msg.Subject, err)
	}
	return Published{ID: int64(ack.Sequence), Duplicate: ack.Duplicate}, nil
}

// MsgID is the dedupe key of a message a user sent with a client_id.
func MsgID(chat string, user int64, clientID string) string {
	return chat + "/" + strconv.FormatInt(user, 10) + "/" + clientID
}

// errInProcess is JetStream's code for a publish whose Nats-Msg-Id
// matches one the clustered leader has proposed but not yet stored.
const errInProcess = 10158

// publishMsg publishes msg, asking again while a clustered stream is
// still storing an earlier copy of it: the two arrived together, and once
// the first is stored the answer is a duplicate with its sequence, which
// is what the sender needs. A single server never answers so, since it
// stores one message at a time.
func publishMsg(ctx context.Context, js jetstream.JetStream, msg *nats.Msg) (*jetstream.PubAck, error) {
	wait := 5 * time.Millisecond
	for {
		ack, err := js.PublishMsg(ctx, msg)
		var apiErr *jetstream.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode != errInProcess {
			return ack, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("waiting for an earlier copy to be stored: %w", ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, 200*time.Millisecond)
	}
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
