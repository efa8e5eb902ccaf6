package hub

import (
	"context"
	"errors"
	"testing"
	"time"
)

func frames(n int) []*Frame {
	fs := make([]*Frame, n)
	for i := range fs {
		fs[i] = &Frame{ID: int64(i + 1)}
	}
	return fs
}

func TestQueuePushDrain(t *testing.T) {
	wakes := 0
	q := NewQueue(4, func() { wakes++ })
	fs := frames(5)
	for _, f := range fs[:4] {
		if !q.Push(f) {
			t.Fatalf("push %d refused below the limit", f.ID)
		}
	}
	if wakes != 4 || !q.Pending() {
		t.Fatalf("after 4 pushes: %d wakes, pending %v", wakes, q.Pending())
	}
	items, slow := q.Drain(nil)
	if slow || len(items) != 4 || items[0] != fs[0] || items[3] != fs[3] {
		t.Fatalf("Drain = %d items, slow %v", len(items), slow)
	}
	if items, _ := q.Drain(items); len(items) != 0 || q.Pending() {
		t.Fatalf("second Drain returned %d items", len(items))
	}
}

func TestQueueOverflowMarksSlow(t *testing.T) {
	q := NewQueue(2, nil)
	fs := frames(3)
	q.Push(fs[0])
	q.Push(fs[1])
	if q.Push(fs[2]) {
		t.Fatal("push into a full queue accepted")
	}
	if !q.Slow() || !q.Pending() {
		t.Fatal("overflowed queue not slow")
	}
	q.Drain(nil)
	if q.Push(fs[2]) {
		t.Fatal("a slow queue accepted a push after draining")
	}
	if err := q.PushWait(context.Background(), fs[2]); !errors.Is(err, ErrSlow) {
		t.Fatalf("PushWait on a slow queue = %v, want ErrSlow", err)
	}
}

func TestQueuePushWaitLeavesHalfForLive(t *testing.T) {
	q := NewQueue(4, nil)
	ctx := context.Background()
	fs := frames(5)
	for _, f := range fs[:2] {
		if err := q.PushWait(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- q.PushWait(ctx, fs[2]) }()
	select {
	case err := <-done:
		t.Fatalf("PushWait into a half-full queue returned %v without waiting", err)
	case <-time.After(20 * time.Millisecond):
	}
	// Live traffic still fits while the bulk producer waits.
	if !q.Push(fs[3]) {
		t.Fatal("live push refused while a bulk producer waits")
	}
	q.Drain(nil)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if items, _ := q.Drain(nil); len(items) != 1 || items[0] != fs[2] {
		t.Fatalf("after the wait the queue holds %d items", len(items))
	}
}

func TestQueuePushWaitCancelled(t *testing.T) {
	q := NewQueue(2, nil)
	q.Push(&Frame{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := q.PushWait(ctx, &Frame{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("PushWait = %v, want context.Canceled", err)
	}
}

func TestQueueDropsLargeSpare(t *testing.T) {
	q := NewQueue(100, nil)
	big := make([]*Frame, 0, keepCap+1)
	q.Drain(big)
	q.Push(&Frame{})
	items, _ := q.Drain(nil)
	if cap(items) > keepCap {
		t.Fatalf("queue kept a spare of capacity %d, over %d", cap(items), keepCap)
	}
}
