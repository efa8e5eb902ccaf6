package archive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/parley-chat/parley/pkg/membership"
	"github.com/parley-chat/parley/pkg/stream"
)

// consumerState reads the durable consumer's state from JetStream.
func consumerState(t *testing.T, e *env) *jetstream.ConsumerInfo {
	t.Helper()
	cons, err := e.js.Consumer(context.Background(), stream.Name, "archiver")
	if err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// settled waits until the consumer has acked or dropped everything the
// stream holds.
func settled(t *testing.T, e *env) {
	t.Helper()
	str, err := e.js.Stream(context.Background(), stream.Name)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the consumer to settle", func() bool {
		si, err := str.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		ci := consumerState(t, e)
		return ci.AckFloor.Stream >= si.State.LastSeq && ci.NumAckPending == 0
	})
}

// TestRedeliveryStoresOnce replays the whole stream to a new consumer, as
// after a crash between commit and ack, and checks nothing is doubled.
func TestRedeliveryStoresOnce(t *testing.T) {
	e := newEnv(t, "", Config{BatchSize: 8})
	stop := e.run(e.svc)
	uri := e.newChat(alice)
	var want []int64
	for i := range 30 {
		want = append(want, e.post(alice, uri, fmt.Sprint(i)))
	}
	settled(t, e)
	stop()

	if err := e.js.DeleteConsumer(context.Background(), stream.Name, "archiver"); err != nil {
		t.Fatal(err)
	}
	e.run(e.newService())
	settled(t, e)
	if ci := consumerState(t, e); ci.Delivered.Stream < uint64(want[len(want)-1]) {
		t.Fatalf("the new consumer was delivered only up to %d", ci.Delivered.Stream)
	}
	h := e.history(alice, uri, "")
	if !slices.Equal(ids(h.Messages), want) {
		t.Fatalf("history after replay = %v, want %v", ids(h.Messages), want)
	}
}

// TestUnstorableDoesNotBlock puts a message that does not decode and one
// for a chat that does not exist ahead of good ones in the same batch.
func TestUnstorableDoesNotBlock(t *testing.T) {
	e := newEnv(t, "", Config{})
	stop := e.run(e.svc)
	uri := e.newChat(alice)
	stop()

	ctx := context.Background()
	if _, err := e.js.Publish(ctx, stream.Subject(uri), []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.js.Publish(ctx, stream.Subject(uri), []byte(`{"chat":"`+uri+`"}`)); err != nil {
		t.Fatal(err)
	}
	ghost := stream.Payload{Chat: "ghost", User: alice, Message: "boo"}
	if _, err := stream.Publish(ctx, e.js, ghost); err != nil {
		t.Fatal(err)
	}
	good := e.post(alice, uri, "good")

	e.run(e.newService())
	settled(t, e)
	later := e.post(alice, uri, "later")
	h := e.history(alice, uri, "")
	if !slices.Equal(ids(h.Messages), []int64{good, later}) {
		t.Fatalf("history = %v, want %d and %d", ids(h.Messages), good, later)
	}
	if ci := consumerState(t, e); ci.NumRedelivered != 0 {
		t.Fatalf("%d messages are waiting for redelivery", ci.NumRedelivered)
	}
}

func TestMembershipAnswers(t *testing.T) {
	e := newEnv(t, "", Config{})
	e.run(e.svc)
	uri := e.newChat(alice)
	empty := e.newChat(bob)
	id := e.post(alice, uri, "hello")

	c := &membership.Client{NC: e.nc}
	cases := []struct {
		chat string
		user int64
		want membership.Reply
	}{
		{uri, alice.ID, membership.Reply{Exists: true, Member: true, LastID: id}},
		{uri, bob.ID, membership.Reply{Exists: true}},
		{empty, bob.ID, membership.Reply{Exists: true, Member: true}},
		{"ghost", alice.ID, membership.Reply{}},
		{"", alice.ID, membership.Reply{}},
	}
	for _, tc := range cases {
		got, err := c.Check(context.Background(), membership.Request{Chat: tc.chat, UserID: tc.user})
		if err != nil || got != tc.want {
			t.Errorf("%q user %d: %+v, %v; want %+v", tc.chat, tc.user, got, err, tc.want)
		}
	}

	m, err := e.nc.Request(membership.Subject, []byte("not json"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var rep membership.Reply
	if err := json.Unmarshal(m.Data, &rep); err != nil || rep.Error == "" || rep.Member {
		t.Fatalf("garbage request answered %s", m.Data)
	}
}

// TestLastIDIncludesStream shows that a member's last id covers what the
// stream holds before the database does, so an edge never starts behind.
func TestLastIDIncludesStream(t *testing.T) {
	e := newEnv(t, "", Config{})
	stop := e.run(e.svc)
	uri := e.newChat(alice)
	stop()
	id := e.post(alice, uri, "not yet stored")

	rep, err := e.newService().member(context.Background(),
		membership.Request{Chat: uri, UserID: alice.ID})
	if err != nil || rep.LastID != id {
		t.Fatalf("member reply = %+v, %v; want last id %d", rep, err, id)
	}
}

func TestRunStopsCleanly(t *testing.T) {
	e := newEnv(t, "", Config{})
	stop := e.run(e.svc)
	uri := e.newChat(alice)
	e.post(alice, uri, "hi")
	e.history(alice, uri, "")
	stop()

	// Nobody answers membership any more, and nothing is left pending.
	_, err := e.nc.Request(membership.Subject, []byte(`{}`), time.Second)
	if !errors.Is(err, nats.ErrNoResponders) {
		t.Fatalf("membership after stop: %v, want no responders", err)
	}
	if ci := consumerState(t, e); ci.NumAckPending != 0 {
		t.Fatalf("%d messages left unacked after stop", ci.NumAckPending)
	}
}

func TestRunFailsWithoutJetStream(t *testing.T) {
	e := newEnv(t, "", Config{})
	e.nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.svc.Run(ctx); err == nil {
		t.Fatal("Run succeeded on a closed connection")
	}
}

func TestReady(t *testing.T) {
	e := newEnv(t, "", Config{})
	ctx := context.Background()
	if err := e.svc.Ready(ctx); err == nil {
		t.Fatal("Ready before Run is nil")
	}
	stop := e.run(e.svc)
	if err := e.svc.Ready(ctx); err != nil {
		t.Fatalf("Ready = %v", err)
	}
	_ = e.db.Close()
	if err := e.svc.Ready(ctx); err == nil {
		t.Fatal("Ready with a closed store is nil")
	}
	stop()
	if err := e.svc.Ready(ctx); err == nil {
		t.Fatal("Ready after Run returned is nil")
	}
}

// TestReadyNeedsNATS: a replica cut off from NATS is not ready.
func TestReadyNeedsNATS(t *testing.T) {
	e := newEnv(t, "", Config{})
	svc := e.newService()
	svc.consuming.Store(true) // as while Run consumes
	if err := svc.Ready(context.Background()); err != nil {
		t.Fatalf("Ready = %v", err)
	}
	e.nc.Close()
	if err := svc.Ready(context.Background()); err == nil {
		t.Fatal("Ready with a closed connection is nil")
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	e := newEnv(t, "", Config{})
	bad := []Config{
		{Consumer: "has.dot"},
		{Consumer: "has space"},
		{BatchSize: -1},
		{AckWait: time.Millisecond},
		{MaxDeliver: -1},
		{NakDelay: -time.Second},
	}
	for _, cfg := range bad {
		if _, err := New(cfg, e.db, e.nc, e.auth, nil); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
	if _, err := New(Config{}, nil, e.nc, e.auth, nil); err == nil {
		t.Error("New without a store succeeded")
	}
	svc, err := New(Config{}, e.db, e.nc, e.auth, nil)
	if err != nil {
		t.Fatal(err)
	}
	if svc.cfg.BatchSize != 256 || svc.cfg.Consumer != "archiver" || svc.cfg.MaxDeliver != 5 {
		t.Fatalf("defaults = %+v", svc.cfg)
	}
}

// TestBatchesTakeWhatIsWaiting checks that a backlog is written several
// messages to a call, and never more than BatchSize.
func TestBatchesTakeWhatIsWaiting(t *testing.T) {
	e := newEnv(t, "", Config{BatchSize: 16})
	stop := e.run(e.svc)
	uri := e.newChat(alice)
	stop()
	ctx := context.Background()
	for i := range 40 {
		p := stream.Payload{Chat: uri, User: alice, Message: fmt.Sprint(i)}
		if _, err := stream.Publish(ctx, e.js, p); err != nil {
			t.Fatal(err)
		}
	}
	rec := &recordingChats{Chats: e.db}
	svc, err := New(e.cfg, rec, e.nc, e.auth, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.run(svc)
	settled(t, e)
	sizes := rec.sizes()
	if len(sizes) == 0 || slices.Max(sizes) < 2 || slices.Max(sizes) > 16 {
		t.Fatalf("batch sizes for a backlog of 40 = %v", sizes)
	}
}

// TestDatabaseErrorRedelivers has the database refuse one message: the
// rest of its batch is stored at once, and the refused one after the
// database takes it again, within its tries.
func TestDatabaseErrorRedelivers(t *testing.T) {
	e := newEnv(t, "", Config{
		NakDelay: 50 * time.Millisecond, CatchUp: 200 * time.Millisecond, MaxDeliver: 1000,
	})
	stop := e.run(e.svc)
	uri := e.newChat(alice)
	stop()
	var want []int64
	for _, text := range []string{"a", "poison", "b", "c"} {
		want = append(want, e.post(alice, uri, text))
	}

	rec := &recordingChats{Chats: e.db, refuse: "poison"}
	svc, err := New(e.cfg, rec, e.nc, e.auth, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.run(svc)
	eventually(t, "the others to be stored", func() bool {
		last, err := e.db.LastMessageID(context.Background(), uri)
		return err == nil && last == want[3]
	})
	// The hole holds history back rather than showing a gap.
	if code, _ := e.as(alice, "GET", "/api/chats/"+uri+"/messages/", ""); code != 503 {
		t.Fatalf("history with a refused message answered %d, want 503", code)
	}
	if ci := consumerState(t, e); ci.AckFloor.Stream >= uint64(want[1]) {
		t.Fatalf("ack floor %d passed the refused message %d", ci.AckFloor.Stream, want[1])
	}

	rec.setRefuse("")
	settled(t, e)
	h := e.history(alice, uri, "")
	if !slices.Equal(ids(h.Messages), want) {
		t.Fatalf("history = %v, want %v", ids(h.Messages), want)
	}
}

// TestStopHandsBack stops a replica while a batch is being written and
// more messages wait behind it: the batch is finished and acked, and the
// waiting messages go back at once, not after AckWait.
func TestStopHandsBack(t *testing.T) {
	e := newEnv(t, "", Config{AckWait: time.Minute})
	stop := e.run(e.svc)
	uri := e.newChat(alice)
	stop()

	rec := &recordingChats{Chats: e.db, hold: make(chan struct{})}
	svc, err := New(e.cfg, rec, e.nc, e.auth, nil)
	if err != nil {
		t.Fatal(err)
	}
	stop = e.run(svc)
	want := []int64{e.post(alice, uri, "first")}
	eventually(t, "the first write to start", func() bool { return len(rec.sizes()) == 1 })
	want = append(want, e.post(alice, uri, "second"), e.post(alice, uri, "third"))
	eventually(t, "the waiting messages to reach the replica", func() bool {
		return consumerState(t, e).NumPending == 0
	})

	stopped := make(chan struct{})
	go func() {
		stop()
		close(stopped)
	}()
	close(rec.hold)
	<-stopped
	if last, err := e.db.LastMessageID(context.Background(), uri); err != nil || last < want[0] {
		t.Fatalf("the batch being written at stop was lost: last id %d, %v", last, err)
	}

	e.run(e.newService())
	h := e.history(alice, uri, "")
	if !slices.Equal(ids(h.Messages), want) {
		t.Fatalf("history = %v, want %v", ids(h.Messages), want)
	}
}

// TestRunEndsWhenConsumerDeleted: a replica whose consumer vanishes must
// say so, not idle while history falls behind.
func TestRunEndsWhenConsumerDeleted(t *testing.T) {
	e := newEnv(t, "", Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.svc.Run(ctx) }()
	e.waitServing(done)
	if err := e.js.DeleteConsumer(ctx, stream.Name, "archiver"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Run returned nil after its consumer was deleted")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run kept going without its consumer")
	}
}

// TestStreamCreatedAgainStartsAboveTheArchive: when the stream's storage
// is lost and the stream created again, new ids start above the
// archive's, so no new message is taken for one already stored.
func TestStreamCreatedAgainStartsAboveTheArchive(t *testing.T) {
	e := newEnv(t, "", Config{})
	stop := e.run(e.svc)
	uri := e.newChat(alice)
	old := []int64{e.post(alice, uri, "a"), e.post(alice, uri, "b")}
	settled(t, e)
	stop()
	if err := e.js.DeleteStream(context.Background(), stream.Name); err != nil {
		t.Fatal(err)
	}

	e.run(e.newService())
	fresh := e.post(alice, uri, "c")
	if fresh <= old[1] {
		t.Fatalf("new id %d is not above the archive's %d", fresh, old[1])
	}
	h := e.history(alice, uri, "")
	if !slices.Equal(ids(h.Messages), append(old, fresh)) {
		t.Fatalf("history = %v, want %v", ids(h.Messages), append(old, fresh))
	}
}
