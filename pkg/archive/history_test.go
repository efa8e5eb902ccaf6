package archive

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/parley-chat/parley/pkg/stream"
	"github.com/parley-chat/parley/pkg/wire"
)

func TestHistoryPaging(t *testing.T) {
	e := newEnv(t, "", Config{})
	e.run(e.svc)
	uri := e.newChat(alice)
	other := e.newChat(alice)
	var all []int64
	for i := range 120 {
		all = append(all, e.post(alice, uri, fmt.Sprintf("m%d", i)))
		// Another chat's messages in between make the ids of this one
		// not consecutive, as the contract allows.
		if i%10 == 0 {
			e.post(alice, other, "elsewhere")
		}
	}

	cases := []struct {
		query string
		want  []int64
		more  bool
	}{
		{"", all[20:], true},
		{"?limit=50", all[70:], true},
		{"?limit=500", all, false},
		{"?limit=120", all, false},
		{"?limit=119", all[1:], true},
		{fmt.Sprintf("?before=%d&limit=50", all[70]), all[20:70], true},
		{fmt.Sprintf("?before=%d&limit=50", all[20]), all[:20], false},
		{fmt.Sprintf("?before=%d", all[0]), nil, false},
		{fmt.Sprintf("?after=%d&limit=10", all[9]), all[10:20], true},
		{fmt.Sprintf("?after=%d&limit=50", all[99]), all[100:], false},
		{fmt.Sprintf("?after=%d", all[119]), nil, false},
		{fmt.Sprintf("?after=%d&before=%d&limit=10", all[9], all[30]), all[10:20], true},
		{fmt.Sprintf("?after=%d&before=%d&limit=50", all[9], all[30]), all[10:30], false},
		{fmt.Sprintf("?after=%d&before=%d", all[9], all[10]), nil, false},
		// A bound between two ids of this chat works like the next id.
		{fmt.Sprintf("?before=%d&limit=1", all[11]-1), all[10:11], true},
	}
	for _, c := range cases {
		h := e.history(alice, uri, c.query)
		if !slices.Equal(ids(h.Messages), c.want) || h.HasMore != c.more {
			t.Errorf("%q: ids %v more %v\nwant %v more %v",
				c.query, ids(h.Messages), h.HasMore, c.want, c.more)
			continue
		}
		wantID := int64(0)
		if len(c.want) > 0 {
			wantID = c.want[len(c.want)-1]
		}
		if h.ID != wantID {
			t.Errorf("%q: id %d, want %d", c.query, h.ID, wantID)
		}
	}

	// Walking back page by page visits every message once.
	var walked []int64
	q := "?limit=7"
	for {
		h := e.history(alice, uri, q)
		walked = append(ids(h.Messages), walked...)
		if !h.HasMore {
			break
		}
		q = fmt.Sprintf("?limit=7&before=%d", h.Messages[0].ID)
	}
	if !slices.Equal(walked, all) {
		t.Fatalf("walking back gave %v", walked)
	}
}

// TestHistoryWaitsForConsumer holds the consumer back to show that a
// history request waits for messages the stream has acknowledged, and
// gives up with 503 rather than answer with a hole.
func TestHistoryWaitsForConsumer(t *testing.T) {
	e := newEnv(t, "", Config{CatchUp: 200 * time.Millisecond})
	stop := e.run(e.svc)
	uri := e.newChat(alice)
	first := e.post(alice, uri, "stored")
	e.history(alice, uri, "")
	stop()

	// With the consumer stopped, the handler still publishes.
	second := e.post(alice, uri, "streamed")
	code, body := e.as(alice, "GET", "/api/chats/"+uri+"/messages/", "")
	if want := `{"detail":"Service temporarily unavailable, try again later."}`; code != 503 ||
		body != want {
		t.Fatalf("history with a stopped consumer: %d %s", code, body)
	}
	// A page that ends before the unstored message needs no wait.
	h := e.history(alice, uri, fmt.Sprintf("?before=%d", second))
	if !slices.Equal(ids(h.Messages), []int64{first}) {
		t.Fatalf("page before the unstored message = %v", ids(h.Messages))
	}

	// A request that is waiting when a consumer comes back answers in full.
	e.cfg.CatchUp = 10 * time.Second
	svc := e.newService()
	e.api = svc.Handler()
	got := make(chan historyReply, 1)
	go func() {
		code, body := e.as(alice, "GET", "/api/chats/"+uri+"/messages/", "")
		if code != 200 {
			t.Errorf("waiting history: %d %s", code, body)
		}
		var h historyReply
		if err := json.Unmarshal([]byte(body), &h); err != nil {
			t.Errorf("decoding %s: %v", body, err)
		}
		got <- h
	}()
	waitForWaiter(t, svc)
	e.run(svc)
	select {
	case h := <-got:
		if !slices.Equal(ids(h.Messages), []int64{first, second}) {
			t.Fatalf("history after the consumer came back = %v", ids(h.Messages))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("history request never answered")
	}
}

// waitForWaiter returns once a history request of svc has looked up the
// consumer, which it does only on its way to waiting for the ack floor.
func waitForWaiter(t *testing.T, svc *Service) {
	t.Helper()
	eventually(t, "a history request to wait", func() bool {
		svc.mu.Lock()
		defer svc.mu.Unlock()
		return svc.cons != nil
	})
}

// TestReadYourWrites posts and reads at once, many times, across two
// chats so that the stream's newest message is often in the other chat.
func TestReadYourWrites(t *testing.T) {
	e := newEnv(t, "", Config{BatchSize: 4})
	e.run(e.svc)
	a, b := e.newChat(alice), e.newChat(alice)
	var last int64
	for i := range 40 {
		uri := []string{a, b}[i%2]
		id := e.post(alice, uri, "now")
		h := e.history(alice, uri, "?limit=1")
		if len(h.Messages) != 1 || h.Messages[0].ID != id || id <= last {
			t.Fatalf("post %d got id %d, history right after shows %v", i, id, ids(h.Messages))
		}
		last = id
	}
}

// TestReadYourWritesAfterHole stores a newer message before an older one
// of the same chat, as a second replica or a redelivery can, and checks
// that history waits for the hole instead of trusting the newest id.
func TestReadYourWritesAfterHole(t *testing.T) {
	e := newEnv(t, "", Config{CatchUp: 300 * time.Millisecond})
	stop := e.run(e.svc)
	uri := e.newChat(alice)
	stop()

	older := e.post(alice, uri, "older")
	newer := e.post(alice, uri, "newer")
	// Store only the newer one, behind the consumer's back.
	ctx := context.Background()
	str, err := e.svc.lookupStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	storeSeq(t, e, str, newer)
	if last, err := e.db.LastMessageID(ctx, uri); err != nil || last != newer {
		t.Fatalf("store's last id = %d, %v", last, err)
	}
	if code, _ := e.as(alice, "GET", "/api/chats/"+uri+"/messages/", ""); code != 503 {
		t.Fatalf("history with a hole answered %d, want 503", code)
	}

	e.run(e.newService())
	h := e.history(alice, uri, "")
	if !slices.Equal(ids(h.Messages), []int64{older, newer}) {
		t.Fatalf("history = %v", ids(h.Messages))
	}
}

func storeSeq(t *testing.T, e *env, str jetstream.Stream, seq int64) {
	t.Helper()
	raw, err := str.GetMsg(context.Background(), uint64(seq))
	if err != nil {
		t.Fatal(err)
	}
	m, err := stream.DecodeRaw(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.AddMessages(context.Background(), []wire.Message{m}); err != nil {
		t.Fatal(err)
	}
}
