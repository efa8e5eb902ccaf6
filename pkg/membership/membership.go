// Package membership answers "may this user use this chat?" across
// processes. The archiver, which owns chats, serves the question over NATS
// request/reply; edges ask it through a Client that caches yes answers
// briefly. No answers are never cached, so a user who has just joined is
// let in at once. Clients and servers are safe for concurrent use.
package membership

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// Subject is where membership questions are asked.
const Subject = "parley.api.membership"

// queue makes every archiver replica share the questions.
const queue = "archiver"

// Request asks about one user in one chat.
type Request struct {
	Chat   string `json:"chat"`
	UserID int64  `json:"user_id"`
}

// Reply answers a Request. LastID is the newest archived message id of
// the chat, a floor for the edge's own view of the stream.
type Reply struct {
	Exists bool   `json:"exists"`
	Member bool   `json:"member"`
	LastID int64  `json:"last_id"`
	Error  string `json:"error,omitempty"`
}

// Lookup answers a Request from the store.
type Lookup func(ctx context.Context, req Request) (Reply, error)

// ErrUnavailable means nobody could answer.
var ErrUnavailable = errors.New("membership service unavailable")

// Serve answers membership questions on nc with lookup until the returned
// subscription is drained or unsubscribed. Each question is answered with
// a timeout so a stuck database cannot pile up handlers.
func Serve(nc *nats.Conn, lookup Lookup) (*nats.Subscription, error) {
	sub, err := nc.QueueSubscribe(Subject, queue, func(m *nats.Msg) {
		var req Request
		var rep Reply
		if err := json.Unmarshal(m.Data, &req); err != nil {
			rep.Error = "invalid request"
		} else {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			rep, err = lookup(ctx, req)
			cancel()
			if err != nil {
				rep = Reply{Error: "unavailable"}
			}
		}
		data, _ := json.Marshal(rep)
		// A failed respond means the asker is gone; it will time out
		// and ask again.
		_ = m.Respond(data)
	})
	if err != nil {
		return nil, fmt.Errorf("serving membership: %w", err)
	}
	return sub, nil
}

// Client asks the archiver and caches yes answers for TTL.
type Client struct {
	NC      *nats.Conn
	TTL     time.Duration // 30s when zero
	Timeout time.Duration // 3s when zero

	mu    sync.Mutex
	cache map[Request]time.Time // expiry of a cached yes
}

// Check asks whether req's user is a member of req's chat. It returns
// ErrUnavailable wrapped when no archiver answered.
func (c *Client) Check(ctx context.Context, req Request) (Reply, error) {
	if c.cached(req) {
		return Reply{Exists: true, Member: true}, nil
	}
	data, err := json.Marshal(req)
	if err != nil {
		return Reply{}, fmt.Errorf("encoding membership request: %w", err)
	}
	timeout := c.Timeout
	if timeout == 0 {
		timeout = 3 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	m, err := c.NC.RequestWithContext(ctx, Subject, data)
	if err != nil {
		return Reply{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	var rep Reply
	if err := json.Unmarshal(m.Data, &rep); err != nil {
		return Reply{}, fmt.Errorf("%w: decoding reply: %w", ErrUnavailable, err)
	}
	if rep.Error != "" {
		return Reply{}, fmt.Errorf("%w: %s", ErrUnavailable, rep.Error)
	}
	if rep.Member {
		c.remember(req)
	}
	return rep, nil
}

func (c *Client) cached(req Request) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	exp, ok := c.cache[req]
	if ok && time.Now().After(exp) {
		delete(c.cache, req)
		return false
	}
	return ok
}

func (c *Client) remember(req Request) {
	ttl := c.TTL
	if ttl == 0 {
		ttl = 30 * time.Second
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cache == nil {
		c.cache = map[Request]time.Time{}
	}
	// Expired entries are swept on the way in so the map stays bounded
	// by the number of recent yes answers.
	if len(c.cache) > 10000 {
		now := time.Now()
		for k, exp := range c.cache {
			if now.After(exp) {
				delete(c.cache, k)
			}
		}
	}
	c.cache[req] = time.Now().Add(ttl)
}
