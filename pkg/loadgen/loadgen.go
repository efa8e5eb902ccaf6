// Package loadgen drives a running Parley through its public API, as many
// browser users would: it signs users up, creates chats, opens one socket
// per user spread over the edges, and sends messages at a fixed offered
// rate, whatever the answers, so that slow answers show as latency rather
// than as a lower rate. It measures send-to-ack and send-to-delivery
// latency, and records what each sender had acknowledged and what each
// member received, for the checker.
//
// Sockets behave like a careful client: one that loses its edge
// reconnects to the next, subscribes again with since, and resends what
// was not acknowledged with the same client_id.
//
// A Run is used from one goroutine, except Acked, Chats, Reconnects and
// Refusals, which may be called from any goroutine while it sends.
package loadgen

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/parley-chat/parley/pkg/checker"
)

// Config describes a run. The zero value of each field is its default.
type Config struct {
	// AuthURL and APIURL are the base URLs of the auth service and the
	// archiver (one load balancer may serve both). Required.
	AuthURL string
	APIURL  string
	// EdgeURLs are the edges' base URLs; sockets are spread over them in
	// turn, and a socket that loses its edge moves to the next. Required.
	EdgeURLs []string
	// Chats and Members shape the run: Chats chats of Members members
	// each, every member a user of its own. 4 and 5.
	Chats   int
	Members int
	// Rate is the offered rate, messages per second over all senders;
	// 50. An edge lets one socket send 10 a second, so Rate may not pass
	// 8 per user.
	Rate float64
	// Duration is how long messages are sent; 10s.
	Duration time.Duration
	// Settle bounds the wait, after sending, for acks and deliveries to
	// complete; 30s.
	Settle time.Duration
	// AckTimeout is how long an unacknowledged send waits before it is
	// sent again; 3s.
	AckTimeout time.Duration
	// Text is the body of every message, "hello" when empty.
	Text string
	// Log receives progress and reconnects; nil discards.
	Log *slog.Logger
}

func (c Config) withDefaults() Config {
	setInt(&c.Chats, 4)
	setInt(&c.Members, 5)
	if c.Rate == 0 {
		c.Rate = 50
	}
	setDuration(&c.Duration, 10*time.Second)
	setDuration(&c.Settle, 30*time.Second)
	setDuration(&c.AckTimeout, 3*time.Second)
	if c.Text == "" {
		c.Text = "hello"
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

func setInt(v *int, def int) {
	if *v == 0 {
		*v = def
	}
}

func setDuration(v *time.Duration, def time.Duration) {
	if *v == 0 {
		*v = def
	}
}

// perUserLimit keeps each socket under the edge's send limit of 10 a
// second with room for the jitter of a fixed schedule.
const perUserLimit = 8

func (c Config) validate() error {
	switch {
	case c.AuthURL == "" || c.APIURL == "":
		return errors.New("loadgen: the auth and API URLs are required")
	case len(c.EdgeURLs) == 0:
		return errors.New("loadgen: at least one edge URL is required")
	case c.Chats < 1 || c.Members < 1:
		return errors.New("loadgen: chats and members must be positive")
	case c.Rate <= 0 || c.Duration <= 0:
		return errors.New("loadgen: rate and duration must be positive")
	case c.Rate/float64(c.Chats*c.Members) > perUserLimit:
		return fmt.Errorf("loadgen: %.0f messages a second over %d users is more than %d each; "+
			"add chats or members", c.Rate, c.Chats*c.Members, perUserLimit)
	}
	return nil
}

// Run is one load run, from Prepare to Finish.
type Run struct {
	cfg   Config
	http  *http.Client
	runID string
	users []*user
	chats []*chat
	socks []*socket
	rec   *recorder

	wg     sync.WaitGroup // the sockets' goroutines
	cancel context.CancelFunc

	sendStart, sendEnd time.Time
}

// chat is one chat of the run.
type chat struct {
	uri     string
	members []*user
}

// Prepare signs the users up, creates the chats, opens every socket and
// subscribes it, so that sending can start at once.
func Prepare(ctx context.Context, cfg Config) (*Run, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	r := &Run{cfg: cfg, http: &http.Client{Timeout: 30 * time.Second}, runID: newRunID()}
	r.rec = newRecorder()
	if err := r.setUp(ctx); err != nil {
		return nil, err
	}
	if err := r.connect(ctx); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

func newRunID() string {
	var b [4]byte
	_, _ = rand.Read(b[:]) // never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// connect opens one socket per user, spread over the edges, and waits
// until each has subscribed to its chats.
func (r *Run) connect(ctx context.Context) error {
	sctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	for i, u := range r.users {
		s := newSocket(r, u, i%len(r.cfg.EdgeURLs))
		r.socks = append(r.socks, s)
		r.wg.Go(func() { s.run(sctx) })
	}
	ctx, stop := context.WithTimeout(ctx, time.Minute)
	defer stop()
	for _, s := range r.socks {
		select {
		case <-s.subscribed:
		case <-ctx.Done():
			return fmt.Errorf("loadgen: waiting for socket of %s to subscribe: %w",
				s.user.name, ctx.Err())
		}
	}
	return nil
}

// Send sends at the offered rate for the configured duration, or until
// ctx ends. The i-th message goes to chat i mod Chats from its members in
// turn, at start + i/Rate, whether or not earlier ones were answered.
func (r *Run) Send(ctx context.Context) {
	interval := time.Duration(float64(time.Second) / r.cfg.Rate)
	r.sendStart = time.Now()
	t := time.NewTimer(0)
	defer t.Stop()
	for i := 0; ; i++ {
		at := r.sendStart.Add(time.Duration(i) * interval)
		if at.Sub(r.sendStart) >= r.cfg.Duration {
			break
		}
		t.Reset(time.Until(at))
		select {
		case <-ctx.Done():
			r.sendEnd = time.Now()
			return
		case <-t.C:
		}
		c := r.chats[i%len(r.chats)]
		u := c.members[(i/len(r.chats))%len(c.members)]
		cid := fmt.Sprintf("%s-%d", r.runID, i)
		r.rec.planned(c.uri, u.id, cid, at)
		u.sock.send(c.uri, cid, r.cfg.Text)
	}
	r.sendEnd = time.Now()
}

// Acked returns how many sends have been acknowledged so far.
func (r *Run) Acked() int { return r.rec.ackedCount() }

// Reconnects returns how many times sockets have reconnected so far.
func (r *Run) Reconnects() int { return r.rec.reconnectCount() }

// Chats returns the URIs of the run's chats.
func (r *Run) Chats() []string {
	out := make([]string, len(r.chats))
	for i, c := range r.chats {
		out[i] = c.uri
	}
	return out
}

// Refusals returns how many error frames the sockets have received so
// far, such as sends refused while a backend was unavailable.
func (r *Run) Refusals() int { return r.rec.refusalCount() }

// Finish waits, up to Settle, for every send to be acknowledged and
// every acknowledged message to reach every member, reads each chat's
// history, closes the sockets and returns the figures and the record.
func (r *Run) Finish(ctx context.Context) (*Result, error) {
	r.settle(ctx)
	hist, err := r.histories(ctx)
	r.Close()
	if err != nil {
		return nil, err
	}
	res := r.result()
	res.Input = r.rec.input(hist)
	return res, nil
}

// settle polls until nothing is pending or Settle has passed.
func (r *Run) settle(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Settle)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !r.rec.complete(r.expectations()) {
		select {
		case <-ctx.Done():
			r.cfg.Log.Warn("loadgen: settle time over with work outstanding")
			return
		case <-tick.C:
		}
	}
}

// expectations lists, per chat, the members whose sockets should
// receive every acknowledged message.
func (r *Run) expectations() map[string][]int64 {
	out := make(map[string][]int64, len(r.chats))
	for _, c := range r.chats {
		for _, u := range c.members {
			out[c.uri] = append(out[c.uri], u.id)
		}
	}
	return out
}

// Close stops every socket and waits for them. It may be called twice.
func (r *Run) Close() {
	if r.cancel != nil {
		r.cancel()
	}
	r.wg.Wait()
}

// Execute prepares, sends and finishes in one call.
func Execute(ctx context.Context, cfg Config) (*Result, error) {
	r, err := Prepare(ctx, cfg)
	if err != nil {
		return nil, err
	}
	r.Send(ctx)
	return r.Finish(ctx)
}

// Result is a run's figures, and its record for the checker.
type Result struct {
	Offered      float64        `json:"offered_per_second"`
	Duration     time.Duration  `json:"-"`
	Seconds      float64        `json:"duration_seconds"`
	Edges        int            `json:"edges"`
	Sockets      int            `json:"sockets"`
	Chats        int            `json:"chats"`
	Sent         int            `json:"sent"`
	Acked        int            `json:"acked"`
	Deliveries   int            `json:"deliveries"`
	DeliveryRate float64        `json:"deliveries_per_second"`
	Reconnects   int            `json:"reconnects"`
	Errors       map[string]int `json:"errors"`
	AckLatency   Percentiles    `json:"send_to_ack_ms"`
	Delivery     Percentiles    `json:"send_to_delivery_ms"`

	Input checker.Input `json:"-"`
}

func (r *Run) result() *Result {
	elapsed := r.sendEnd.Sub(r.sendStart)
	res := &Result{
		Offered:  r.cfg.Rate,
		Duration: elapsed,
		Seconds:  elapsed.Seconds(),
		Edges:    len(r.cfg.EdgeURLs),
		Sockets:  len(r.socks),
		Chats:    len(r.chats),
	}
	r.rec.fill(res)
	if elapsed > 0 {
		res.DeliveryRate = float64(res.Deliveries) / elapsed.Seconds()
	}
	return res
}

// String is the summary for people.
func (res *Result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "offered %.0f msg/s for %.1fs over %d sockets on %d edges, %d chats\n",
		res.Offered, res.Seconds, res.Sockets, res.Edges, res.Chats)
	fmt.Fprintf(&b, "sent %d, acked %d, deliveries %d (%.0f/s), reconnects %d\n",
		res.Sent, res.Acked, res.Deliveries, res.DeliveryRate, res.Reconnects)
	fmt.Fprintf(&b, "send to ack       %s\n", res.AckLatency)
	fmt.Fprintf(&b, "send to delivery  %s\n", res.Delivery)
	if len(res.Errors) == 0 {
		b.WriteString("errors none\n")
	}
	for _, k := range sortedNames(res.Errors) {
		fmt.Fprintf(&b, "errors %s: %d\n", k, res.Errors[k])
	}
	return b.String()
}
