package edge

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/parley-chat/parley/pkg/history"
	"github.com/parley-chat/parley/pkg/stream"
	"github.com/parley-chat/parley/pkg/wire"
)

// serveArchive answers the history package's questions from e.archived,
// as the archiver would from its database.
func (e *env) serveArchive() {
	e.t.Helper()
	srv, err := history.Serve(e.nc, fakeArchive{e}, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Stop(ctx) // the connection may already be closed
	})
}

type fakeArchive struct{ e *env }

func (a fakeArchive) Messages(_ context.Context, req history.MessagesRequest) ([]wire.Message, bool, error) {
	a.e.mu.Lock()
	defer a.e.mu.Unlock()
	var out []wire.Message
	for _, m := range a.e.archived[req.Chat] {
		if m.ID > req.After && (req.Before == 0 || m.ID < req.Before) {
			out = append(out, m)
		}
	}
	more := len(out) > req.Limit
	return out[:min(len(out), req.Limit)], more, nil
}

func (a fakeArchive) Sent(_ context.Context, req history.SentRequest) (wire.Message, bool, error) {
	a.e.mu.Lock()
	defer a.e.mu.Unlock()
	for _, m := range a.e.archived[req.Chat] {
		if m.User.ID == req.UserID && m.ClientID != nil && *m.ClientID == req.ClientID {
			return m, true, nil
		}
	}
	return wire.Message{}, false, nil
}

// archive copies what the stream holds of chat into the fake archive,
// then drops from the stream every message below keepFrom, as its age
// limit would.
func (e *env) archive(chat string, keepFrom int64) {
	e.t.Helper()
	ctx := context.Background()
	str, err := e.js.Stream(ctx, stream.Name)
	if err != nil {
		e.t.Fatal(err)
	}
	var msgs []wire.Message
	for seq := uint64(1); ; {
		raw, err := str.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(stream.Subject(chat)))
		if err != nil {
			break
		}
		m, err := stream.DecodeRaw(raw)
		if err != nil {
			e.t.Fatal(err)
		}
		msgs, seq = append(msgs, m), raw.Sequence+1
	}
	e.mu.Lock()
	if e.archived == nil {
		e.archived = map[string][]wire.Message{}
	}
	e.archived[chat] = msgs
	e.mu.Unlock()
	if err := str.Purge(ctx, jetstream.WithPurgeSequence(uint64(keepFrom))); err != nil {
		e.t.Fatal(err)
	}
}

// TestSinceReachesBeyondTheStream: a client back after the stream dropped
// what it missed gets it from the archive, then the rest from the
// stream, then live messages, each once and in order.
func TestSinceReachesBeyondTheStream(t *testing.T) {
	e := newEnv(t)
	e.addChat("c", 7)
	_, url := e.edge(Config{})
	var want []int64
	for _, text := range []string{"a", "b", "c", "d", "e"} {
		want = append(want, e.publish("c", text))
	}
	e.archive("c", want[3]) // the stream keeps d and e only

	c, _ := e.login(url, 7)
	c.send(map[string]any{"type": "subscribe", "chat": "c", "since": want[0]})
	c.expect("subscribed")
	var got []int64
	for range want[1:] {
		got = append(got, c.expect("message").ID)
	}
	live := e.publish("c", "f")
	got = append(got, c.expect("message").ID)
	if !slices.Equal(got, append(want[1:], live)) {
		t.Fatalf("replayed %v, want %v", got, append(want[1:], live))
	}
}

// TestSinceWhenTheStreamHoldsNothing: the stream dropped every message
// of the chat; the archive's newest id, from the membership answer,
// still starts a replay.
func TestSinceWhenTheStreamHoldsNothing(t *testing.T) {
	e := newEnv(t)
	e.addChat("c", 7)
	_, url := e.edge(Config{})
	first := e.publish("c", "a")
	second := e.publish("c", "b")
	e.archive("c", second+1)
	e.mu.Lock()
	e.floors["c"] = second
	e.mu.Unlock()

	c, _ := e.login(url, 7)
	c.send(map[string]any{"type": "subscribe", "chat": "c", "since": first})
	if s := c.expect("subscribed"); s.LastID != second {
		t.Fatalf("subscribed = %+v, want last_id %d", s, second)
	}
	if m := c.expect("message"); m.ID != second {
		t.Fatalf("replayed %d, want %d", m.ID, second)
	}
}

// TestSendAfterTheDedupeWindow: a client_id the stream has forgotten but
// the archive holds is acked with the first message's id, and nothing
// new is stored.
func TestSendAfterTheDedupeWindow(t *testing.T) {
	e := newEnv(t)
	e.addChat("c", 7)
	_, url := e.edge(Config{})
	cid := "k1"
	e.mu.Lock()
	e.archived = map[string][]wire.Message{"c": {{
		ID: 41, Chat: "c", User: wire.User{ID: 7, Username: "user7"}, Message: "x", ClientID: &cid,
	}}}
	e.mu.Unlock()

	c, _ := e.login(url, 7)
	c.send(sendMsg("c", "again", "k1"))
	if ack := c.expect("ack"); ack.ID != 41 {
		t.Fatalf("ack = %+v, want id 41", ack)
	}
	str, err := e.js.Stream(context.Background(), stream.Name)
	if err != nil {
		t.Fatal(err)
	}
	if last, err := stream.LastID(context.Background(), str, "c"); err != nil || last != 0 {
		t.Fatalf("the stream holds %d, %v; want nothing new", last, err)
	}
}
