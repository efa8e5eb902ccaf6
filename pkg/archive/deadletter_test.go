package archive

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-chat/parley/pkg/store"
	"github.com/parley-chat/parley/pkg/stream"
	"github.com/parley-chat/parley/pkg/wire"
)

// deadLetters lists the whole dead-letter stream.
func deadLetters(t *testing.T, e *env) []DeadLetter {
	t.Helper()
	d, err := DeadLetters(context.Background(), e.js, 1, 100)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestRefusedGoesToDeadLetters: a message the database keeps refusing is
// tried MaxDeliver times, moved to dead letters, and stops holding up the
// history of everyone behind it; resurrected, it takes its place by id.
func TestRefusedGoesToDeadLetters(t *testing.T) {
	e := newEnv(t, "", Config{NakDelay: 10 * time.Millisecond, MaxDeliver: 3})
	stop := e.run(e.svc)
	uri := e.newChat(alice)
	other := e.newChat(bob)
	stop()
	first := e.post(alice, uri, "a")
	poison := e.post(alice, uri, "poison")
	behind := e.post(bob, other, "b")

	rec := &recordingChats{Chats: e.db, refuse: "poison"}
	svc, err := New(e.cfg, rec, e.nc, e.auth, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.run(svc)
	settled(t, e)
	if h := e.history(bob, other, ""); !slices.Equal(ids(h.Messages), []int64{behind}) {
		t.Fatalf("history behind the refused message = %v, want [%d]", ids(h.Messages), behind)
	}
	if ci := consumerState(t, e); ci.NumRedelivered != 0 || ci.NumAckPending != 0 {
		t.Fatalf("consumer still busy: %d redelivered, %d pending", ci.NumRedelivered, ci.NumAckPending)
	}

	dead := deadLetters(t, e)
	if len(dead) != 1 || dead[0].ID != poison || dead[0].Chat != uri || dead[0].Message == nil ||
		dead[0].Reason != "refused by the database" || dead[0].Error == "" {
		t.Fatalf("dead letters = %+v, want message %d refused", dead, poison)
	}
	if tries := len(rec.sizes()); tries < 3 {
		t.Fatalf("%d writes, want the refused message tried 3 times", tries)
	}

	m, err := Resurrect(context.Background(), e.js, e.db, dead[0].Seq)
	if err != nil || m.ID != poison || m.Message != "poison" {
		t.Fatalf("Resurrect = %+v, %v", m, err)
	}
	if h := e.history(alice, uri, ""); !slices.Equal(ids(h.Messages), []int64{first, poison}) {
		t.Fatalf("history after resurrecting = %v, want [%d %d]", ids(h.Messages), first, poison)
	}
	if d := deadLetters(t, e); len(d) != 0 {
		t.Fatalf("dead letters after resurrecting = %+v", d)
	}
}

// TestMalformedGoesToDeadLetters keeps what does not decode for an
// operator to look at.
func TestMalformedGoesToDeadLetters(t *testing.T) {
	e := newEnv(t, "", Config{})
	e.run(e.svc)
	uri := e.newChat(alice)
	if _, err := e.js.Publish(context.Background(), stream.Subject(uri), []byte("{nope")); err != nil {
		t.Fatal(err)
	}
	settled(t, e)
	dead := deadLetters(t, e)
	if len(dead) != 1 || dead[0].Reason != "malformed" || dead[0].Message != nil || dead[0].Chat != uri {
		t.Fatalf("dead letters = %+v", dead)
	}
	if _, err := Resurrect(context.Background(), e.js, e.db, dead[0].Seq); !errors.Is(err, stream.ErrMalformed) {
		t.Fatalf("Resurrect of a malformed letter = %v, want ErrMalformed", err)
	}
}

// downChats is the real store behind a switch that makes every call fail
// as a database that does not answer would.
type downChats struct {
	store.Chats
	down  atomic.Bool
	tries atomic.Int64 // writes refused while down
}

var errDown = errors.New("connection refused")

func (d *downChats) AddMessages(ctx context.Context, msgs []wire.Message) error {
	if d.down.Load() {
		d.tries.Add(1)
		return errDown
	}
	return d.Chats.AddMessages(ctx, msgs)
}

func (d *downChats) LastMessageID(ctx context.Context, uri string) (int64, error) {
	if d.down.Load() {
		return 0, errDown
	}
	return d.Chats.LastMessageID(ctx, uri)
}

// TestOutageUsesNoDeliveries: while the database is down for far longer
// than MaxDeliver tries would last, the batch is held, not redelivered;
// when it is back, everything is stored and nothing is dead.
func TestOutageUsesNoDeliveries(t *testing.T) {
	e := newEnv(t, "", Config{NakDelay: 10 * time.Millisecond, MaxDeliver: 2, AckWait: time.Second})
	stop := e.run(e.svc)
	uri := e.newChat(alice)
	stop()

	dc := &downChats{Chats: e.db}
	dc.down.Store(true)
	svc, err := New(e.cfg, dc, e.nc, e.auth, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.run(svc)
	var want []int64
	for _, text := range []string{"a", "b", "c"} {
		want = append(want, e.post(alice, uri, text))
	}
	// Held writes back off to AckWait/3, so fourteen of them span about
	// three AckWaits: without InProgress the batch would have been
	// redelivered, and buried, by then.
	eventually(t, "fourteen refused writes", func() bool { return dc.tries.Load() >= 14 })
	if ci := consumerState(t, e); ci.NumRedelivered != 0 {
		t.Fatalf("%d messages redelivered during the outage", ci.NumRedelivered)
	}

	dc.down.Store(false)
	settled(t, e)
	if h := e.history(alice, uri, ""); !slices.Equal(ids(h.Messages), want) {
		t.Fatalf("history after the outage = %v, want %v", ids(h.Messages), want)
	}
	if d := deadLetters(t, e); len(d) != 0 {
		t.Fatalf("dead letters after an outage = %+v", d)
	}
}
