package edge

import (
	"strconv"
	"sync"
	"testing"

	"github.com/parley-chat/parley/pkg/membership"
)

func TestSubscribeErrors(t *testing.T) {
	e := newEnv(t)
	e.addChat("theirs", 8)
	_, url := e.edge(Config{})
	c, _ := e.login(url, 7)
	tests := []struct {
		chat, code string
	}{
		{"nosuchchat", "not_found"},
		{"theirs", "forbidden"},
		{brokenChat, "unavailable"},
		{"bad.chat.>", "not_found"},
	}
	for _, tt := range tests {
		c.send(subscribeMsg(tt.chat))
		c.expectError(tt.code, tt.chat)
	}
}

func TestSubscribeThenLive(t *testing.T) {
	e := newEnv(t)
	e.addChat("c", 7)
	_, url := e.edge(Config{})
	before := e.publish("c", "old")
	c, _ := e.login(url, 7)
	c.send(subscribeMsg("c"))
	if s := c.expect("subscribed"); s.Chat != "c" || s.LastID != before {
		t.Fatalf("subscribed = %+v, want chat c last_id %d", s, before)
	}
	id := e.publish("c", "new")
	m := c.expect("message")
	if m.ID != id || m.Chat != "c" || m.Message != "new" || m.User.ID != 99 {
		t.Fatalf("message = %+v, want id %d text new", m, id)
	}
}

func TestSubscribeEmptyChat(t *testing.T) {
	e := newEnv(t)
	e.addChat("c", 7)
	_, url := e.edge(Config{})
	c, _ := e.login(url, 7)
	c.send(subscribeMsg("c"))
	if s := c.expect("subscribed"); s.LastID != 0 {
		t.Fatalf("last_id of an empty chat = %d, want 0", s.LastID)
	}
}

func TestSubscribeSinceReplaysMissed(t *testing.T) {
	e := newEnv(t)
	e.addChat("c", 7)
	e.addChat("other", 7)
	_, url := e.edge(Config{})
	var ids []int64
	for i := range 5 {
		ids = append(ids, e.publish("c", "m"+strconv.Itoa(i)))
		e.publish("other", "noise") // ids are stream-wide
	}
	c, _ := e.login(url, 7)
	c.send(sinceMsg("c", ids[1]))
	if s := c.expect("subscribed"); s.LastID != ids[4] {
		t.Fatalf("last_id = %d, want %d", s.LastID, ids[4])
	}
	for _, want := range ids[2:] {
		if m := c.expect("message"); m.ID != want {
			t.Fatalf("replayed id %d, want %d", m.ID, want)
		}
	}
	live := e.publish("c", "live")
	if m := c.expect("message"); m.ID != live {
		t.Fatalf("after the replay got id %d, want the live %d", m.ID, live)
	}
}

func TestSubscribeSinceNothingMissed(t *testing.T) {
	e := newEnv(t)
	e.addChat("c", 7)
	_, url := e.edge(Config{})
	last := e.publish("c", "seen")
	c, _ := e.login(url, 7)
	c.send(sinceMsg("c", last))
	c.expect("subscribed")
	live := e.publish("c", "live")
	if m := c.expect("message"); m.ID != live {
		t.Fatalf("got id %d, want only the live %d", m.ID, live)
	}
}

// TestReplayRacesLive publishes while a socket replays a long history:
// every message must arrive once, in order, whether it came from the
// stream or live. A small queue makes live frames overflow while the
// replay runs, which sends the replay back to the stream.
func TestReplayRacesLive(t *testing.T) {
	e := newEnv(t)
	e.addChat("c", 7)
	_, url := e.edge(Config{QueueLen: 8})
	var want []int64
	for i := range 200 {
		want = append(want, e.publish("c", "old"+strconv.Itoa(i)))
	}
	c, _ := e.login(url, 7)

	var wg sync.WaitGroup
	var live []int64
	wg.Go(func() {
		for i := range 100 {
			live = append(live, e.publish("c", "new"+strconv.Itoa(i)))
		}
	})
	c.send(sinceMsg("c", 0))
	c.expect("subscribed")
	var got []int64
	for range 300 {
		got = append(got, c.expect("message").ID)
	}
	wg.Wait()
	want = append(want, live...)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("message %d has id %d, want %d", i, got[i], want[i])
		}
	}
}

func TestUnsubscribe(t *testing.T) {
	e := newEnv(t)
	e.addChat("a", 7)
	e.addChat("b", 7)
	s, url := e.edge(Config{})
	c, _ := e.login(url, 7)
	c.send(subscribeMsg("a"), subscribeMsg("b"))
	c.expect("subscribed")
	c.expect("subscribed")
	c.send(map[string]any{"type": "unsubscribe", "chat": "a"})
	c.send(map[string]any{"type": "unsubscribe", "chat": "never"}) // ignored
	waitFor(t, "the edge to leave chat a", func() bool { return s.hub.Chats() == 1 })
	e.publish("a", "unseen")
	id := e.publish("b", "seen")
	if m := c.expect("message"); m.ID != id {
		t.Fatalf("got %+v, want only chat b's message %d", m, id)
	}
}

func TestSubscribeWhenNATSDown(t *testing.T) {
	e := newEnv(t)
	e.addChat("c", 7)
	// The archiver still answers, over a connection of its own, but the
	// edge loses NATS.
	s, url := e.edge(Config{}, func(d *Deps) { d.Members = &membership.Client{NC: e.nc} })
	c, _ := e.login(url, 7)
	s.deps.NC.Close()
	c.send(subscribeMsg("c"))
	c.expectError("unavailable", "c")
	c.send(sendMsg("c", "hello", "k1"))
	c.expectError("unavailable", "k1")
}

func TestTwoEdgesSameOrder(t *testing.T) {
	e := newEnv(t)
	e.addChat("c", 1, 2, 3, 4)
	_, urlA := e.edge(Config{})
	_, urlB := e.edge(Config{})
	var clients []*client
	for i, url := range []string{urlA, urlA, urlB, urlB} {
		c, _ := e.login(url, int64(i+1))
		c.send(subscribeMsg("c"))
		c.expect("subscribed")
		clients = append(clients, c)
	}

	// One sender on each edge, sending at once.
	const perSender = 20
	var wg sync.WaitGroup
	for n, url := range []string{urlA, urlB} {
		sender, _ := e.login(url, 1)
		wg.Go(func() {
			for i := range perSender {
				k := strconv.Itoa(n) + "-" + strconv.Itoa(i)
				sender.send(sendMsg("c", "m"+k, k))
			}
		})
	}
	wg.Wait()

	var first []int64
	for n, c := range clients {
		var ids []int64
		for range 2 * perSender {
			ids = append(ids, c.expect("message").ID)
		}
		if n == 0 {
			first = ids
			continue
		}
		for i := range ids {
			if ids[i] != first[i] || (i > 0 && ids[i] <= ids[i-1]) {
				t.Fatalf("socket %d got ids %v, socket 0 got %v", n, ids, first)
			}
		}
	}
}

func TestMembershipLastIDIsAFloor(t *testing.T) {
	e := newEnv(t)
	e.addChat("c", 7)
	e.publish("c", "x")
	// The archiver has seen a newer message than the stream still holds.
	e.mu.Lock()
	e.floors["c"] = 1_000_000
	e.mu.Unlock()
	_, url := e.edge(Config{})
	c, _ := e.login(url, 7)
	c.send(subscribeMsg("c"))
	if s := c.expect("subscribed"); s.LastID != 1_000_000 {
		t.Fatalf("last_id = %d, want the archiver's 1000000", s.LastID)
	}
}
