package history

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/parley-chat/parley/pkg/natstest"
	"github.com/parley-chat/parley/pkg/stream"
	"github.com/parley-chat/parley/pkg/wire"
)

// fake holds one chat's messages.
type fake struct {
	msgs []wire.Message
	fail bool
}

func (f *fake) Messages(_ context.Context, req MessagesRequest) ([]wire.Message, bool, error) {
	if f.fail {
		return nil, false, errors.New("database down")
	}
	var out []wire.Message
	for _, m := range f.msgs {
		if m.Chat == req.Chat && m.ID > req.After {
			out = append(out, m)
		}
	}
	return out[:min(len(out), req.Limit)], len(out) > req.Limit, nil
}

func (f *fake) Sent(_ context.Context, req SentRequest) (wire.Message, bool, error) {
	if f.fail {
		return wire.Message{}, false, errors.New("database down")
	}
	for _, m := range f.msgs {
		same := m.ClientID != nil && *m.ClientID == req.ClientID
		if m.Chat == req.Chat && m.User.ID == req.UserID && same {
			return m, true, nil
		}
	}
	return wire.Message{}, false, nil
}

func startNATS(t *testing.T) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, js := natstest.JetStream(t, "history-test")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := stream.Ensure(ctx, js, stream.Config{}); err != nil {
		t.Fatal(err)
	}
	return nc, js
}

func serve(t *testing.T, nc *nats.Conn, a Archive) {
	t.Helper()
	srv, err := Serve(nc, a, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
}

func TestPublishAsksTheArchiveFirst(t *testing.T) {
	nc, js := startNATS(t)
	cid := "k"
	al := wire.User{ID: 1, Username: "al"}
	a := &fake{msgs: []wire.Message{{ID: 77, Chat: "c", User: al, Message: "old", ClientID: &cid}}}
	serve(t, nc, a)
	c := &Client{NC: nc}
	ctx := context.Background()

	pub, err := Publish(ctx, js, c, stream.Payload{Chat: "c", User: al, Message: "again", ClientID: &cid})
	if err != nil || pub.ID != 77 || !pub.Duplicate {
		t.Fatalf("Publish of a known client_id = %+v, %v; want 77, duplicate", pub, err)
	}
	other := "new"
	pub, err = Publish(ctx, js, c, stream.Payload{Chat: "c", User: al, Message: "hi", ClientID: &other})
	if err != nil || pub.Duplicate || pub.ID == 77 {
		t.Fatalf("Publish of a new client_id = %+v, %v", pub, err)
	}

	a.fail = true
	again := "another"
	_, err = Publish(ctx, js, c, stream.Payload{Chat: "c", User: al, Message: "hi", ClientID: &again})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Publish with the archive failing = %v, want ErrUnavailable", err)
	}
	// Without a client_id there is nothing to ask.
	if _, err := Publish(ctx, js, c, stream.Payload{Chat: "c", User: al, Message: "hi"}); err != nil {
		t.Fatalf("Publish without a client_id = %v", err)
	}
}

func TestNobodyAnswering(t *testing.T) {
	nc, _ := startNATS(t)
	c := &Client{NC: nc, Timeout: time.Second}
	_, _, err := c.Sent(context.Background(), SentRequest{Chat: "c", UserID: 1, ClientID: "k"})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Sent with no archiver = %v, want ErrUnavailable", err)
	}
}

func TestMessagesPages(t *testing.T) {
	nc, _ := startNATS(t)
	var msgs []wire.Message
	for id := range int64(5) {
		msgs = append(msgs, wire.Message{ID: id + 1, Chat: "c", User: wire.User{ID: 1}})
	}
	serve(t, nc, &fake{msgs: msgs})
	c := &Client{NC: nc}
	got, more, err := c.Messages(context.Background(), MessagesRequest{Chat: "c", After: 1, Limit: 2})
	if err != nil || !more || len(got) != 2 || got[0].ID != 2 || got[1].ID != 3 {
		t.Fatalf("Messages = %+v, %v, %v", got, more, err)
	}
}

// FuzzServe feeds the server's decoders arbitrary requests: each gets an
// answer, never a panic, and a request without a chat is refused.
func FuzzServe(f *testing.F) {
	f.Add([]byte(`{"chat":"c","after":1,"limit":2}`))
	f.Add([]byte(`{"chat":"c","user_id":1,"client_id":"k"}`))
	f.Add([]byte(`{"limit":-5}`))
	f.Add([]byte(`not json`))
	s := &Server{archive: &fake{}}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, answer := range []func(context.Context, []byte) any{s.messages, s.sent} {
			out, err := json.Marshal(answer(context.Background(), data))
			if err != nil {
				t.Fatal(err)
			}
			var rep struct {
				Error string `json:"error"`
			}
			var req struct {
				Chat string `json:"chat"`
			}
			_ = json.Unmarshal(out, &rep)
			if json.Unmarshal(data, &req) != nil || req.Chat == "" {
				if rep.Error == "" {
					t.Fatalf("request %q answered %s, want an error", data, out)
				}
			}
		}
	})
}
