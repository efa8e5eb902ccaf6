package hub

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/parley-chat/parley/pkg/natstest"
	"github.com/parley-chat/parley/pkg/stream"
	"github.com/parley-chat/parley/pkg/wire"
)

// startNATS runs an embedded server with the message stream and returns
// a connection to it.
func startNATS(t testing.TB) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, js := natstest.JetStream(t, "hub-test")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := stream.Ensure(ctx, js, stream.Config{}); err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// recorder is a subscriber that keeps every frame it is handed.
type recorder struct {
	mu     sync.Mutex
	frames []*Frame
	got    chan struct{}
}

func newRecorder() *recorder { return &recorder{got: make(chan struct{}, 1)} }

func (r *recorder) Deliver(f *Frame) {
	r.mu.Lock()
	r.frames = append(r.frames, f)
	r.mu.Unlock()
	select {
	case r.got <- struct{}{}:
	default:
	}
}

// wait returns once r holds n frames, failing the test after 5 seconds.
func (r *recorder) wait(t *testing.T, n int) []*Frame {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		r.mu.Lock()
		frames := append([]*Frame(nil), r.frames...)
		r.mu.Unlock()
		if len(frames) >= n {
			return frames
		}
		select {
		case <-r.got:
		case <-deadline:
			t.Fatalf("got %d frames, want %d", len(frames), n)
		}
	}
}

func publish(t *testing.T, js jetstream.JetStream, chat, text string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p, err := stream.Publish(ctx, js, stream.Payload{
		Chat: chat, User: wire.User{ID: 7, Username: "ann"}, Message: text,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p.ID
}

func subscribe(t *testing.T, h *Hub, chat string, s Subscriber) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.Subscribe(ctx, chat, s); err != nil {
		t.Fatal(err)
	}
}

func TestFanoutSharesOneFrameInOrder(t *testing.T) {
	nc, js := startNATS(t)
	h := New(nc, nil)
	t.Cleanup(h.Close)
	a, b := newRecorder(), newRecorder()
	subscribe(t, h, "c1", a)
	subscribe(t, h, "c1", b)

	var ids []int64
	for i := range 20 {
		ids = append(ids, publish(t, js, "c1", "m"+strconv.Itoa(i)))
	}
	fa, fb := a.wait(t, 20), b.wait(t, 20)
	for i, id := range ids {
		if fa[i].ID != id || fb[i].ID != id {
			t.Fatalf("frame %d: ids %d and %d, want %d", i, fa[i].ID, fb[i].ID, id)
		}
		if fa[i] != fb[i] {
			t.Fatalf("frame %d was encoded once per subscriber, want once per edge", i)
		}
	}

	var m struct {
		Type string `json:"type"`
		wire.Message
	}
	if err := json.Unmarshal(fa[3].Data, &m); err != nil {
		t.Fatal(err)
	}
	if m.Type != "message" || m.ID != ids[3] || m.Chat != "c1" || m.Message.Message != "m3" ||
		m.User.Username != "ann" || m.ClientID != nil {
		t.Fatalf("frame decodes to %+v", m)
	}
}

func TestOneSubscriptionPerChat(t *testing.T) {
	nc, js := startNATS(t)
	h := New(nc, nil)
	t.Cleanup(h.Close)
	base := nc.NumSubscriptions()
	subs := []*recorder{newRecorder(), newRecorder(), newRecorder()}
	for _, s := range subs {
		subscribe(t, h, "a", s)
	}
	other := newRecorder()
	subscribe(t, h, "b", other)
	if got := nc.NumSubscriptions() - base; got != 2 || h.Chats() != 2 {
		t.Fatalf("%d NATS subscriptions for %d chats, want 2 and 2", got, h.Chats())
	}

	h.Unsubscribe("a", subs[0])
	h.Unsubscribe("a", subs[1])
	publish(t, js, "a", "hello")
	subs[2].wait(t, 1)
	h.Unsubscribe("a", subs[2])
	h.Unsubscribe("a", subs[2]) // twice is harmless
	if got := nc.NumSubscriptions() - base; got != 1 || h.Chats() != 1 {
		t.Fatalf("after the last left: %d subscriptions, %d chats; want 1 and 1", got, h.Chats())
	}
	if n := len(subs[0].frames); n != 0 {
		t.Fatalf("an unsubscribed subscriber got %d frames", n)
	}
}

func TestManySubscribersJoinAndLeave(t *testing.T) {
	nc, js := startNATS(t)
	h := New(nc, nil)
	t.Cleanup(h.Close)
	subs := make([]*recorder, 50)
	for i := range subs {
		subs[i] = newRecorder()
		subscribe(t, h, "c", subs[i])
	}
	// Leaving in an order that moves survivors around the list.
	for i := 0; i < len(subs); i += 2 {
		h.Unsubscribe("c", subs[i])
	}
	id := publish(t, js, "c", "x")
	for i := 1; i < len(subs); i += 2 {
		if f := subs[i].wait(t, 1); len(f) != 1 || f[0].ID != id {
			t.Fatalf("subscriber %d got %d frames", i, len(f))
		}
	}
	// The next message reaching the survivors proves the first was the
	// only one, and that nobody who left got anything.
	publish(t, js, "c", "y")
	for i := 1; i < len(subs); i += 2 {
		subs[i].wait(t, 2)
	}
	for i := 0; i < len(subs); i += 2 {
		subs[i].mu.Lock()
		n := len(subs[i].frames)
		subs[i].mu.Unlock()
		if n != 0 {
			t.Fatalf("subscriber %d got %d frames after leaving", i, n)
		}
	}
}

// queued feeds a Queue, as a socket does.
type queued struct{ q *Queue }

func (s queued) Deliver(f *Frame) { s.q.Push(f) }

func TestSlowSubscriberDoesNotHoldOthers(t *testing.T) {
	nc, js := startNATS(t)
	h := New(nc, nil)
	t.Cleanup(h.Close)
	slow := queued{NewQueue(2, nil)}
	fast := newRecorder()
	subscribe(t, h, "c", slow)
	subscribe(t, h, "c", fast)

	for i := range 10 {
		publish(t, js, "c", "m"+strconv.Itoa(i))
	}
	fast.wait(t, 10)
	items, isSlow := slow.q.Drain(nil)
	if !isSlow || len(items) != 2 {
		t.Fatalf("slow queue: %d items, slow=%v; want 2, true", len(items), isSlow)
	}
}

func TestLastID(t *testing.T) {
	nc, js := startNATS(t)
	h := New(nc, nil)
	t.Cleanup(h.Close)
	r := newRecorder()
	if _, known := h.LastID("c"); known {
		t.Fatal("LastID known for a chat nobody follows")
	}
	subscribe(t, h, "c", r)
	if _, known := h.LastID("c"); known {
		t.Fatal("LastID known before any message was delivered")
	}
	id := publish(t, js, "c", "x")
	r.wait(t, 1)
	if got, known := h.LastID("c"); got != id || !known {
		t.Fatalf("LastID = %d, %v; want %d, true", got, known, id)
	}
}

// liveMsg builds what the stream republishes for sequence seq whose
// predecessor on the subject was prev.
func liveMsg(chat string, seq, prev int64) *nats.Msg {
	m := nats.NewMsg(stream.LiveSubject(chat))
	m.Header.Set(jetstream.SequenceHeader, strconv.FormatInt(seq, 10))
	m.Header.Set(jetstream.LastSequenceHeader, strconv.FormatInt(prev, 10))
	m.Header.Set(jetstream.TimeStampHeaer, time.Now().UTC().Format(time.RFC3339Nano))
	m.Data = []byte(`{"chat":"` + chat + `","user":{"id":1,"username":"u"},"message":"hi"}`)
	return m
}

func TestGapsAndDuplicatesOnTheLiveSubject(t *testing.T) {
	nc, _ := startNATS(t)
	h := New(nc, nil)
	t.Cleanup(h.Close)
	r := newRecorder()
	subscribe(t, h, "g", r)

	for _, m := range []*nats.Msg{
		liveMsg("g", 10, 0),
		liveMsg("g", 11, 10),
		liveMsg("g", 11, 10), // delivered twice: dropped
		liveMsg("g", 15, 13), // 13 never arrived: a gap
		liveMsg("g", 16, 15),
	} {
		if err := nc.PublishMsg(m); err != nil {
			t.Fatal(err)
		}
	}
	frames := r.wait(t, 4)
	var ids []int64
	for _, f := range frames {
		ids = append(ids, f.ID)
	}
	if len(ids) != 4 || ids[0] != 10 || ids[1] != 11 || ids[2] != 15 || ids[3] != 16 {
		t.Fatalf("ids %v, want [10 11 15 16]", ids)
	}
	if h.Gaps() != 1 {
		t.Fatalf("Gaps = %d, want 1", h.Gaps())
	}
}

func TestMalformedLiveMessageIsDropped(t *testing.T) {
	nc, _ := startNATS(t)
	h := New(nc, nil)
	t.Cleanup(h.Close)
	r := newRecorder()
	subscribe(t, h, "m", r)
	bad := liveMsg("m", 1, 0)
	bad.Data = []byte("not json")
	if err := nc.PublishMsg(bad); err != nil {
		t.Fatal(err)
	}
	if err := nc.PublishMsg(liveMsg("m", 2, 1)); err != nil {
		t.Fatal(err)
	}
	if f := r.wait(t, 1); f[0].ID != 2 {
		t.Fatalf("first frame has id %d, want 2", f[0].ID)
	}
}

func TestSubscribeFails(t *testing.T) {
	nc, _ := startNATS(t)
	h := New(nc, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	nc.Close()
	if err := h.Subscribe(ctx, "c", newRecorder()); err == nil {
		t.Fatal("Subscribe on a closed connection succeeded")
	}
	if h.Chats() != 0 {
		t.Fatalf("a failed chat stayed: %d chats", h.Chats())
	}
	h.Close()
	if err := h.Subscribe(ctx, "c", newRecorder()); err != ErrClosed {
		t.Fatalf("Subscribe after Close = %v, want ErrClosed", err)
	}
}

func TestNewFrame(t *testing.T) {
	cid := "k1"
	f, err := NewFrame(wire.Message{
		ID: 5, Chat: "c", User: wire.User{ID: 2, Username: "bo"}, Message: "hi",
		ClientID:  &cid,
		CreatedAt: wire.Time(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"message","id":5,"chat":"c","user":{"id":2,"username":"bo"},` +
		`"message":"hi","client_id":"k1","created_at":"2026-01-02T03:04:05.000Z"}`
	if string(f.Data) != want || f.ID != 5 {
		t.Fatalf("NewFrame = %d %s\nwant %s", f.ID, f.Data, want)
	}
}
