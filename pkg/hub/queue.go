package hub

import (
	"context"
	"errors"
	"sync"
)

// ErrSlow means a queue overflowed: its reader fell too far behind and
// its owner must drop it.
var ErrSlow = errors.New("queue overflowed")

// keepCap is the largest backing array a drained queue keeps for reuse.
// An idle socket should cost little; one that just took a burst would
// otherwise keep a full-size array forever.
const keepCap = 32

// Queue is one socket's bounded queue of outgoing frames. Producers never
// block on it: a push into a full queue fails and marks the queue slow,
// which the socket's writer notices and ends the connection. One writer
// drains everything queued at once, so that it can pack it into one
// frame. A Queue is safe for concurrent use.
type Queue struct {
	wake func() // called after every push, outside the lock

	mu    sync.Mutex
	items []*Frame
	limit int
	slow  bool
	room  chan struct{} // closed by the next drain; nil when nobody waits
}

// NewQueue returns a queue that holds at most limit frames. wake is
// called after each push, accepted or not, so that the owner can start
// or nudge its writer; it must not block. Calls may come from many
// goroutines at once.
func NewQueue(limit int, wake func()) *Queue {
	if limit < 2 {
		limit = 2
	}
	if wake == nil {
		wake = func() {}
	}
	return &Queue{wake: wake, limit: limit}
}

// Push appends f without blocking. It reports false, and marks the queue
// slow, when the queue is full.
func (q *Queue) Push(f *Frame) bool {
	q.mu.Lock()
	ok := !q.slow && len(q.items) < q.limit
	if ok {
		q.items = append(q.items, f)
	} else {
		q.slow = true
	}
	q.mu.Unlock()
	q.wake()
	return ok
}

// Pending reports whether frames wait or the queue is slow: whether a
// writer has work.
func (q *Queue) Pending() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items) > 0 || q.slow
}

// PushWait appends f, waiting while the queue is at least half full. It
// is for bulk producers such as a replay of stored messages: they move at
// the reader's pace and leave the other half of the queue to live
// traffic, which must never wait.
func (q *Queue) PushWait(ctx context.Context, f *Frame) error {
	for {
		q.mu.Lock()
		if q.slow {
			q.mu.Unlock()
			return ErrSlow
		}
		if len(q.items) < q.limit/2 {
			q.items = append(q.items, f)
			q.mu.Unlock()
			q.wake()
			return nil
		}
		if q.room == nil {
			q.room = make(chan struct{})
		}
		room := q.room
		q.mu.Unlock()

		select {
		case <-room:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Drain takes every waiting frame, in order, and reports whether the
// queue is slow. spare, if not nil, becomes the queue's next backing
// array; the caller may pass back the previous result once written, so
// that a busy socket reuses two arrays instead of allocating.
func (q *Queue) Drain(spare []*Frame) ([]*Frame, bool) {
	if cap(spare) > keepCap {
		spare = nil
	}
	q.mu.Lock()
	items := q.items
	q.items = spare[:0]
	room, slow := q.room, q.slow
	q.room = nil
	q.mu.Unlock()
	if room != nil {
		close(room)
	}
	return items, slow
}

// Slow reports whether the queue overflowed.
func (q *Queue) Slow() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.slow
}
