package archive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/parley-chat/parley/pkg/metrics"
	"github.com/parley-chat/parley/pkg/store"
	"github.com/parley-chat/parley/pkg/stream"
	"github.com/parley-chat/parley/pkg/wire"
)

// Headers of a dead letter. Its data is the original message's, as
// published.
const (
	HeaderID     = "Parley-Id"     // the message id: its sequence in the chat stream
	HeaderTime   = "Parley-Time"   // when the chat stream stored it, RFC 3339
	HeaderReason = "Parley-Reason" // why the archiver gave up
	HeaderError  = "Parley-Error"  // the last error, when there was one
)

// buryTries is how many deliveries past MaxDeliver the consumer allows,
// used only when the dead-letter stream itself could not take a message.
const buryTries = 3

// deadLetter builds the dead-letter copy of m. Its Nats-Msg-Id is the
// message id, so burying one message twice keeps one copy.
func deadLetter(m jetstream.Msg, reason string, cause error) (*nats.Msg, int64) {
	var id int64
	var at time.Time
	if md, err := m.Metadata(); err == nil {
		id, at = int64(md.Sequence.Stream), md.Timestamp
	}
	dead := nats.NewMsg(stream.DeadSubject(deadChat(m.Subject())))
	dead.Data = m.Data()
	dead.Header.Set(HeaderID, strconv.FormatInt(id, 10))
	dead.Header.Set(HeaderTime, at.UTC().Format(time.RFC3339Nano))
	dead.Header.Set(HeaderReason, reason)
	if cause != nil {
		dead.Header.Set(HeaderError, cause.Error())
	}
	dead.Header.Set(jetstream.MsgIDHeader, "dead/"+strconv.FormatInt(id, 10))
	return dead, id
}

// deadChat is the chat of a stored subject; the stream's subjects make it
// one token, but a stand-in keeps a dead letter storable whatever comes.
func deadChat(subject string) string {
	if uri := stream.ChatOf(subject); uri != "" {
		return uri
	}
	return "_"
}

// bury moves m to the dead-letter stream and terminates it, so that it is
// settled and holds up nothing behind it. When the dead-letter stream
// does not take it, m goes back for another try.
func (s *Service) bury(ctx context.Context, m jetstream.Msg, reason string, cause error) {
	dead, id := deadLetter(m, reason, cause)
	chat := deadChat(m.Subject())
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.PublishTimeout)
	defer cancel()
	if _, err := s.js.PublishMsg(pctx, dead); err != nil {
		s.log.Error("moving message to dead letters", "chat", chat, "id", id, "err", err)
		s.nak(m, s.cfg.NakDelay)
		return
	}
	s.log.Error("moved message to dead letters", "chat", chat, "id", id,
		"reason", reason, "err", cause)
	s.term(m, reason)
	metrics.ArchiverDeadLetters.Inc()
}

// DeadLetter is a message the archiver gave up on.
type DeadLetter struct {
	Seq    uint64    // its sequence in the dead-letter stream
	ID     int64     // its message id
	Chat   string    // its chat
	At     time.Time // when the chat stream stored it
	Buried time.Time // when it was moved to dead letters
	Reason string
	Error  string
	// Message is the decoded message; nil when it does not decode.
	Message *wire.Message
}

// DeadLetters returns up to limit dead letters, oldest first, starting at
// sequence from of the dead-letter stream (1 for the beginning).
func DeadLetters(ctx context.Context, js jetstream.JetStream, from uint64,
	limit int) ([]DeadLetter, error) {
	str, err := js.Stream(ctx, stream.DeadName)
	if err != nil {
		return nil, fmt.Errorf("opening dead letters: %w", err)
	}
	var out []DeadLetter
	seq := max(from, 1)
	for len(out) < limit {
		raw, err := str.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(stream.DeadSubject("*")))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break
		}
		if err != nil {
			return out, fmt.Errorf("reading dead letter %d: %w", seq, err)
		}
		out = append(out, readDead(raw))
		seq = raw.Sequence + 1
	}
	return out, nil
}

func readDead(raw *jetstream.RawStreamMsg) DeadLetter {
	d := DeadLetter{
		Seq:    raw.Sequence,
		Chat:   stream.ChatOf(raw.Subject),
		Buried: raw.Time,
		Reason: raw.Header.Get(HeaderReason),
		Error:  raw.Header.Get(HeaderError),
	}
	d.ID, _ = strconv.ParseInt(raw.Header.Get(HeaderID), 10, 64)
	d.At, _ = time.Parse(time.RFC3339Nano, raw.Header.Get(HeaderTime))
	var p stream.Payload
	if json.Unmarshal(raw.Data, &p) == nil && p.Chat != "" && p.User.ID != 0 {
		d.Message = &wire.Message{
			ID: d.ID, Chat: p.Chat, User: p.User, Message: p.Message,
			ClientID: p.ClientID, CreatedAt: wire.Time(d.At),
		}
	}
	return d
}

// Resurrect stores dead letter seq in chats under its original id and
// time, which its chat's subscribers already saw live, then removes it
// from the dead-letter stream. Storing is idempotent, so a Resurrect cut
// short is simply run again.
func Resurrect(ctx context.Context, js jetstream.JetStream, chats store.Chats,
	seq uint64) (wire.Message, error) {
	str, err := js.Stream(ctx, stream.DeadName)
	if err != nil {
		return wire.Message{}, fmt.Errorf("opening dead letters: %w", err)
	}
	raw, err := str.GetMsg(ctx, seq)
	if err != nil {
		return wire.Message{}, fmt.Errorf("reading dead letter %d: %w", seq, err)
	}
	d := readDead(raw)
	if d.Message == nil || d.ID == 0 {
		return wire.Message{}, fmt.Errorf("dead letter %d: %w", seq, stream.ErrMalformed)
	}
	if err := chats.AddMessages(ctx, []wire.Message{storable(*d.Message)}); err != nil {
		return wire.Message{}, fmt.Errorf("storing dead letter %d: %w", seq, err)
	}
	if err := str.DeleteMsg(ctx, seq); err != nil {
		return *d.Message, fmt.Errorf("removing dead letter %d after storing it: %w", seq, err)
	}
	return *d.Message, nil
}
