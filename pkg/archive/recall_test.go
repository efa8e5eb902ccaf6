package archive

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/pkg/history"
	"github.com/parley-chat/parley/pkg/stream"
)

// TestHistoryOverNATS asks the archive for pages after an id, as an edge
// replaying beyond the stream does.
func TestHistoryOverNATS(t *testing.T) {
	e := newEnv(t, "", Config{})
	e.run(e.svc)
	uri := e.newChat(alice)
	var want []int64
	for _, text := range []string{"a", "b", "c", "d", "e"} {
		want = append(want, e.post(alice, uri, text))
	}
	c := &history.Client{NC: e.nc}
	ctx := context.Background()
	msgs, more, err := c.Messages(ctx, history.MessagesRequest{Chat: uri, After: want[0], Limit: 2})
	if err != nil || !more || !slices.Equal(ids(msgs), want[1:3]) {
		t.Fatalf("first page = %v, more %v, %v; want %v and more", ids(msgs), more, err, want[1:3])
	}
	msgs, more, err = c.Messages(ctx, history.MessagesRequest{Chat: uri, After: want[2], Before: want[4], Limit: 10})
	if err != nil || more || !slices.Equal(ids(msgs), want[3:4]) {
		t.Fatalf("bounded page = %v, more %v, %v; want %v", ids(msgs), more, err, want[3:4])
	}
	if _, _, err := c.Messages(ctx, history.MessagesRequest{Chat: "ghost"}); !errors.Is(err, history.ErrUnavailable) {
		t.Fatalf("unknown chat: %v, want ErrUnavailable", err)
	}
}

// TestSentFindsClientIDAfterWindow: once the stream's dedupe window has
// passed, only the archive knows a client_id; history.Publish asks it and
// stores nothing new, also for two repeats at once.
func TestSentFindsClientIDAfterWindow(t *testing.T) {
	window := 400 * time.Millisecond
	e := newEnv(t, "", Config{Stream: stream.Config{Duplicates: window}})
	e.run(e.svc)
	uri := e.newChat(alice)
	c := &history.Client{NC: e.nc}
	cid := "k-1"
	p := stream.Payload{Chat: uri, User: alice, Message: "once", ClientID: &cid}
	ctx := context.Background()
	first, err := history.Publish(ctx, e.js, c, p)
	if err != nil || first.Duplicate {
		t.Fatalf("first publish = %+v, %v", first, err)
	}
	// A probe published just after shows when the stream has forgotten
	// the first message: a repeat of the probe stops being a duplicate.
	probeID := "probe"
	probe := stream.Payload{Chat: uri, User: bob, Message: "probe", ClientID: &probeID}
	if _, err := stream.Publish(ctx, e.js, probe); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the dedupe window to pass", func() bool {
		pub, err := stream.Publish(ctx, e.js, probe)
		return err == nil && !pub.Duplicate
	})
	settled(t, e)

	var wg sync.WaitGroup
	got := make([]int64, 2)
	for i := range got {
		wg.Go(func() {
			pub, err := history.Publish(ctx, e.js, c, p)
			if err != nil || !pub.Duplicate {
				t.Errorf("repeat %d = %+v, %v; want a duplicate", i, pub, err)
			}
			got[i] = pub.ID
		})
	}
	wg.Wait()
	if got[0] != first.ID || got[1] != first.ID {
		t.Fatalf("repeats answered %v, want %d", got, first.ID)
	}
	m, err := e.db.MessageByClientID(ctx, uri, alice.ID, cid)
	if err != nil || m.ID != first.ID {
		t.Fatalf("stored = %+v, %v", m, err)
	}
}
