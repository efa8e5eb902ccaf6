package edge

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/parley-chat/parley/pkg/hub"
	"github.com/parley-chat/parley/pkg/stream"
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

// replay hands emit every stored message of chat with an id above
// after, in order, until the stream holds no more.
//
// It reads one message per request, asking for the next one on the
// chat's subject. An ordered consumer would stream them instead, but it
// costs a consumer's creation and removal on the server per replay;
// BenchmarkReplay compares the two. Most replays are a reconnect's few
// missed messages, where single reads win.
func (s *Server) replay(ctx context.Context, chat string, after int64,
	emit func(context.Context, *hub.Frame) error) error {
	st, err := s.stream.get(ctx, s.js)
	if err != nil {
		return err
	}
	subject := stream.Subject(chat)
	for seq := uint64(after) + 1; ; {
		rctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
		raw, err := st.GetMsg(rctx, seq, jetstream.WithGetMsgSubject(subject))
		cancel()
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading chat %s from %d: %w", chat, seq, err)
		}
		seq = raw.Sequence + 1
		f, err := storedFrame(raw)
		if err != nil {
			s.log.Error("skipping stored message", "chat", chat, "err", err)
			continue
		}
		if err := emit(ctx, f); err != nil {
			return err
		}
	}
}

func storedFrame(raw *jetstream.RawStreamMsg) (*hub.Frame, error) {
	m, err := stream.DecodeRaw(raw)
	if err != nil {
		return nil, err
	}
	return hub.NewFrame(m)
}
