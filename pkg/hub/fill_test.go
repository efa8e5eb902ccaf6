package hub

import (
	"slices"
	"testing"

	"github.com/parley-chat/parley/pkg/stream"
)

// TestGapIsFilledFromTheStream cuts the hub's live subscription while
// messages are stored, as a NATS server failover does: the next live
// message shows the gap, and the missing messages are handed on first.
func TestGapIsFilledFromTheStream(t *testing.T) {
	nc, js := startNATS(t)
	h := New(nc, nil)
	t.Cleanup(h.Close)
	r := newRecorder()
	subscribe(t, h, "f", r)
	want := []int64{publish(t, js, "f", "seen")}
	r.wait(t, 1)

	h.mu.Lock()
	c := h.chats["f"]
	old := c.sub
	h.mu.Unlock()
	if err := old.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	want = append(want, publish(t, js, "f", "missed 1"), publish(t, js, "f", "missed 2"))
	sub, err := nc.Subscribe(stream.LiveSubject("f"), c.handler(h))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	want = append(want, publish(t, js, "f", "after"))

	var got []int64
	for _, f := range r.wait(t, 4) {
		got = append(got, f.ID)
	}
	if !slices.Equal(got, want) || h.Gaps() != 1 {
		t.Fatalf("ids %v with %d gaps, want %v with 1", got, h.Gaps(), want)
	}
}
