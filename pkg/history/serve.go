package history

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/parley-chat/parley/pkg/wire"
)

// Archive answers the questions; the archiver implements it. An error is
// answered as "unavailable", so the implementation logs its causes.
type Archive interface {
	Messages(ctx context.Context, req MessagesRequest) ([]wire.Message, bool, error)
	Sent(ctx context.Context, req SentRequest) (wire.Message, bool, error)
}

// Server answers on both subjects until Stop.
type Server struct {
	archive Archive
	timeout time.Duration
	slots   chan struct{}
	subs    []*nats.Subscription
	wg      sync.WaitGroup // one per request being answered
}

// maxInFlight bounds the requests one process answers at once. Each may
// wait for the consumer to catch up, so they are answered concurrently
// rather than one after another as NATS hands them over; past the bound
// NATS buffers them.
const maxInFlight = 128

// Serve answers requests on nc with a, each within timeout (5s when
// zero), until Stop. It returns once the server routes questions to it.
func Serve(nc *nats.Conn, a Archive, timeout time.Duration) (*Server, error) {
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	s := &Server{archive: a, timeout: timeout, slots: make(chan struct{}, maxInFlight)}
	for subject, answer := range map[string]func(context.Context, []byte) any{
		SubjectMessages: s.messages,
		SubjectSent:     s.sent,
	} {
		sub, err := nc.QueueSubscribe(subject, queue, s.handler(answer))
		if err != nil {
			_ = s.Stop(context.Background()) // the subscribe error is the one to report
			return nil, fmt.Errorf("serving %s: %w", subject, err)
		}
		s.subs = append(s.subs, sub)
	}
	// The round trip makes the server hold the interest before Serve
	// returns, so a question asked next, from any connection, is heard.
	if err := nc.Flush(); err != nil {
		_ = s.Stop(context.Background()) // the flush error is the one to report
		return nil, fmt.Errorf("serving %s: %w", SubjectSent, err)
	}
	return s, nil
}

func (s *Server) handler(answer func(context.Context, []byte) any) nats.MsgHandler {
	return func(m *nats.Msg) {
		s.slots <- struct{}{}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() { <-s.slots }()
			ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
			defer cancel()
			data, _ := json.Marshal(answer(ctx, m.Data)) // plain structs always encode
			// A failed respond means the asker is gone; it times out.
			_ = m.Respond(data)
		}()
	}
}

func (s *Server) messages(ctx context.Context, data []byte) any {
	var req MessagesRequest
	if err := json.Unmarshal(data, &req); err != nil || req.Chat == "" {
		return MessagesReply{Error: "invalid request"}
	}
	req.Limit = min(max(req.Limit, 1), MaxLimit)
	msgs, more, err := s.archive.Messages(ctx, req)
	if err != nil {
		return MessagesReply{Error: "unavailable"}
	}
	if msgs == nil {
		msgs = []wire.Message{}
	}
	return MessagesReply{Messages: msgs, More: more}
}

func (s *Server) sent(ctx context.Context, data []byte) any {
	var req SentRequest
	if err := json.Unmarshal(data, &req); err != nil || req.Chat == "" || req.ClientID == "" {
		return SentReply{Error: "invalid request"}
	}
	m, found, err := s.archive.Sent(ctx, req)
	if err != nil {
		return SentReply{Error: "unavailable"}
	}
	return SentReply{Found: found, Message: m}
}

// Stop takes no more requests and waits, until ctx ends, for those
// already taken to be answered.
func (s *Server) Stop(ctx context.Context) error {
	var errs []error
	for _, sub := range s.subs {
		closed := sub.StatusChanged(nats.SubscriptionClosed)
		if err := sub.Drain(); err != nil {
			errs = append(errs, fmt.Errorf("draining %s: %w", sub.Subject, err))
			continue
		}
		select {
		case <-closed:
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("draining %s: %w", sub.Subject, ctx.Err()))
		}
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("answering requests in flight: %w", ctx.Err()))
	}
	return errors.Join(errs...)
}
