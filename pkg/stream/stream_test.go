package stream

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/parley-chat/parley/pkg/natstest"
	"github.com/parley-chat/parley/pkg/wire"
)

func startJS(t *testing.T) (*nats.Conn, jetstream.JetStream, jetstream.Stream) {
	t.Helper()
	return startJSWith(t, Config{})
}

func startJSWith(t *testing.T, cfg Config) (*nats.Conn, jetstream.JetStream, jetstream.Stream) {
	t.Helper()
	nc, js := natstest.JetStream(t, "test")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	s, err := Ensure(ctx, js, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js, s
}

func TestPublishRepublishesInOrderWithIDs(t *testing.T) {
	nc, js, s := startJS(t)
	ctx := context.Background()
	live := make(chan *nats.Msg, 10)
	sub, err := nc.ChanSubscribe(LiveSubject("abc"), live)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })

	var ids []int64
	for _, text := range []string{"one", "two", "three"} {
		p, err := Publish(ctx, js, Payload{Chat: "abc", User: wire.User{ID: 7, Username: "al"}, Message: text})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID)
	}
	for i, text := range []string{"one", "two", "three"} {
		select {
		case m := <-live:
			got, err := Decode(m)
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != ids[i] || got.Message != text || got.Chat != "abc" || got.User.Username != "al" {
				t.Fatalf("live message %d = %+v, want id %d text %q", i, got, ids[i], text)
			}
			if time.Since(time.Time(got.CreatedAt)) > time.Minute {
				t.Fatalf("created_at %v is not the store time", time.Time(got.CreatedAt))
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("live message %d never arrived", i)
		}
	}
	last, err := LastID(ctx, s, "abc")
	if err != nil || last != ids[2] {
		t.Fatalf("LastID = %d, %v; want %d", last, err, ids[2])
	}
	if last, err := LastID(ctx, s, "other"); err != nil || last != 0 {
		t.Fatalf("LastID(other) = %d, %v; want 0", last, err)
	}
}

func TestPublishDeduplicatesByUserAndClientID(t *testing.T) {
	_, js, _ := startJS(t)
	ctx := context.Background()
	cid := "c-1"
	tests := []struct {
		name    string
		user    int64
		wantDup bool
	}{
		{"first", 1, false},
		{"same user again", 1, true},
		{"another user, same client_id", 2, false},
	}
	var first int64
	for _, tt := range tests {
		p, err := Publish(ctx, js, Payload{Chat: "c", User: wire.User{ID: tt.user, Username: "u"}, Message: "hi", ClientID: &cid})
		if err != nil {
			t.Fatal(err)
		}
		if p.Duplicate != tt.wantDup {
			t.Fatalf("%s: duplicate = %v, want %v", tt.name, p.Duplicate, tt.wantDup)
		}
		if tt.name == "first" {
			first = p.ID
		}
		if tt.wantDup && p.ID != first {
			t.Fatalf("%s: id = %d, want the first id %d", tt.name, p.ID, first)
		}
	}
}

func TestDecodeRejectsMalformed(t *testing.T) {
	tests := []struct {
		name string
		data string
		seq  string
	}{
		{"not json", "{", "1"},
		{"no chat", `{"user":{"id":1,"username":"a"},"message":"x"}`, "1"},
		{"bad sequence", `{"chat":"c","user":{"id":1,"username":"a"},"message":"x"}`, "x"},
	}
	for _, tt := range tests {
		m := nats.NewMsg(LiveSubject("c"))
		m.Data = []byte(tt.data)
		m.Header.Set(jetstream.SequenceHeader, tt.seq)
		m.Header.Set(jetstream.TimeStampHeaer, time.Now().Format(time.RFC3339Nano))
		if _, err := Decode(m); err == nil {
			t.Errorf("%s: Decode succeeded, want an error", tt.name)
		}
	}
}

// TestEnsureKeepsFirstSeq: FirstSeq numbers a new stream; ensuring the
// stream again, with any FirstSeq, leaves what it was created with.
func TestEnsureKeepsFirstSeq(t *testing.T) {
	_, js, _ := startJSWith(t, Config{FirstSeq: 500})
	ctx := context.Background()
	p, err := Publish(ctx, js, Payload{Chat: "c", User: wire.User{ID: 1, Username: "a"}, Message: "x"})
	if err != nil || p.ID != 500 {
		t.Fatalf("first id = %d, %v; want 500", p.ID, err)
	}
	s, err := Ensure(ctx, js, Config{FirstSeq: 9, MaxAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.FirstSeq != 500 || info.Config.MaxAge != time.Hour {
		t.Fatalf("config after Ensure: first seq %d, max age %v; want 500 and 1h",
			info.Config.FirstSeq, info.Config.MaxAge)
	}
}
