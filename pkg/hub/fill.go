package hub

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/parley-chat/parley/pkg/stream"
)

// Filling gaps. Live messages travel over core NATS, which drops what is
// republished while this edge's connection is down, as when its NATS
// server dies and it reconnects to another. The next live message of the
// chat shows the gap (its Nats-Last-Sequence is not the last id
// delivered), and fill reads what is missing from the stream and hands
// it on, in order, before that message, so no subscriber sees the hole.
// A chat that receives nothing more after the gap gets its missing
// messages with its next message.

// fillTimeout bounds reading one gap from the stream.
const fillTimeout = 5 * time.Second

// streamHandle looks the stream up once, when a gap first needs it.
type streamHandle struct {
	mu sync.Mutex
	s  jetstream.Stream
}

func (h *Hub) stream(ctx context.Context) (jetstream.Stream, error) {
	h.str.mu.Lock()
	defer h.str.mu.Unlock()
	if h.str.s != nil {
		return h.str.s, nil
	}
	js, err := jetstream.New(h.nc)
	if err != nil {
		return nil, fmt.Errorf("opening JetStream: %w", err)
	}
	s, err := js.Stream(ctx, stream.Name)
	if err != nil {
		return nil, fmt.Errorf("looking up stream %s: %w", stream.Name, err)
	}
	h.str.s = s
	return s, nil
}

// fill hands on the messages of c stored after its last delivered id and
// up to through. It runs on the chat's delivery goroutine, which holds
// back the chat's newer messages meanwhile. On failure the gap stays,
// and the error says so.
func (c *chat) fill(h *Hub, through int64) error {
	ctx, cancel := context.WithTimeout(context.Background(), fillTimeout)
	defer cancel()
	str, err := h.stream(ctx)
	if err != nil {
		return err
	}
	subject := stream.Subject(c.uri)
	for next := c.last.Load() + 1; next <= through; {
		raw, err := str.GetMsg(ctx, uint64(next), jetstream.WithGetMsgSubject(subject))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading chat %s from %d: %w", c.uri, next, err)
		}
		if int64(raw.Sequence) > through {
			return nil
		}
		next = int64(raw.Sequence) + 1
		if err := c.fillOne(raw); err != nil {
			h.log.Error("skipping stored message", "chat", c.uri, "err", err)
		}
	}
	return nil
}

func (c *chat) fillOne(raw *jetstream.RawStreamMsg) error {
	// The id moves on even for a message no client could use.
	defer c.last.Store(int64(raw.Sequence))
	msg, err := stream.DecodeRaw(raw)
	if err != nil {
		return err
	}
	f, err := NewFrame(msg)
	if err != nil {
		return err
	}
	c.fanout(f)
	return nil
}
