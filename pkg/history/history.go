// Package history is the archive's API inside the cluster, over NATS
// request/reply. It answers two questions that only the archive can: the
// stored messages of a chat after an id, which an edge replays when the
// stream no longer holds them, and the message a user already sent to a
// chat with a client_id, which keeps a send idempotent after the stream's
// dedupe window has passed. The archiver serves both with Serve; edges ask
// through a Client, and send through Publish.
//
// Clients, Publish and a running Server are safe for concurrent use.
package history

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/parley-chat/parley/pkg/stream"
	"github.com/parley-chat/parley/pkg/wire"
)

// Subjects the archive answers on, shared by its replicas as one queue.
const (
	SubjectMessages = "parley.api.history"
	SubjectSent     = "parley.api.sent"
)

const queue = "archiver"

// MaxLimit bounds the messages of one answer, so that a reply stays well
// under NATS's default payload limit of 1 MiB.
const MaxLimit = 200

// MessagesRequest asks for the oldest stored messages of Chat with an id
// above After and, when Before is set, below Before.
type MessagesRequest struct {
	Chat   string `json:"chat"`
	After  int64  `json:"after"`
	Before int64  `json:"before,omitempty"`
	Limit  int    `json:"limit"`
}

// MessagesReply answers a MessagesRequest in ascending id order; More says
// that more messages lie beyond the last one.
type MessagesReply struct {
	Messages []wire.Message `json:"messages"`
	More     bool           `json:"more"`
	Error    string         `json:"error,omitempty"`
}

// SentRequest asks for the message User sent to Chat with ClientID.
type SentRequest struct {
	Chat     string `json:"chat"`
	UserID   int64  `json:"user_id"`
	ClientID string `json:"client_id"`
}

// SentReply answers a SentRequest. Found false is a promise: had the
// message been stored earlier than the stream's dedupe window reaches,
// the archive would hold it.
type SentReply struct {
	Found   bool         `json:"found"`
	Message wire.Message `json:"message"`
	Error   string       `json:"error,omitempty"`
}

// ErrUnavailable means no archiver gave an answer.
var ErrUnavailable = errors.New("archive unavailable")

// Client asks the archive.
type Client struct {
	NC      *nats.Conn
	Timeout time.Duration // 5s when zero
}

// Messages returns a page of chat history after req.After.
func (c *Client) Messages(ctx context.Context, req MessagesRequest) ([]wire.Message, bool, error) {
	var rep MessagesReply
	if err := c.ask(ctx, SubjectMessages, req, &rep); err != nil {
		return nil, false, err
	}
	if rep.Error != "" {
		return nil, false, fmt.Errorf("%w: %s", ErrUnavailable, rep.Error)
	}
	return rep.Messages, rep.More, nil
}

// Sent returns the message req's user sent with req's client_id, and
// whether there is one.
func (c *Client) Sent(ctx context.Context, req SentRequest) (wire.Message, bool, error) {
	var rep SentReply
	if err := c.ask(ctx, SubjectSent, req, &rep); err != nil {
		return wire.Message{}, false, err
	}
	if rep.Error != "" {
		return wire.Message{}, false, fmt.Errorf("%w: %s", ErrUnavailable, rep.Error)
	}
	return rep.Message, rep.Found, nil
}

func (c *Client) ask(ctx context.Context, subject string, req, rep any) error {
	data, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("encoding %s request: %w", subject, err)
	}
	timeout := c.Timeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	m, err := c.NC.RequestWithContext(ctx, subject, data)
	if err != nil {
		return fmt.Errorf("%w: asking %s: %w", ErrUnavailable, subject, err)
	}
	if err := json.Unmarshal(m.Data, rep); err != nil {
		return fmt.Errorf("%w: decoding %s reply: %w", ErrUnavailable, subject, err)
	}
	return nil
}

// Publish stores p once. A p without a client_id is simply published.
// With one, the archive is asked first, because it remembers client_ids
// for ever and the stream only within its dedupe window; a message found
// there is answered as a duplicate with its id and nothing is stored.
//
// Two sends of one new client_id at once both hear "not found" and both
// publish; the stream keeps the first and answers the second with the
// first's id. That holds because the archive says "not found" only when
// every message older than the window, less a margin, is stored: a first
// copy that the archive has not stored yet is young enough for the stream
// to remember it when the second copy arrives.
func Publish(ctx context.Context, js jetstream.JetStream, c *Client,
	p stream.Payload) (stream.Published, error) {
	if p.ClientID != nil {
		m, found, err := c.Sent(ctx, SentRequest{Chat: p.Chat, UserID: p.User.ID, ClientID: *p.ClientID})
		if err != nil {
			return stream.Published{}, fmt.Errorf("looking up client_id: %w", err)
		}
		if found {
			return stream.Published{ID: m.ID, Duplicate: true}, nil
		}
	}
	return stream.Publish(ctx, js, p)
}
