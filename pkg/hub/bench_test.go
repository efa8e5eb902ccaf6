package hub

import (
	"strconv"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

// BenchmarkFanout measures one live message through the hub: decode,
// encode once, hand to every subscriber's queue. Each queue is drained
// every 32 messages, as a socket writer packing batches would. The
// allocations per message must not grow with the subscriber count.
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run("subs="+strconv.Itoa(n), func(b *testing.B) { benchFanout(b, n) })
	}
}

func benchFanout(b *testing.B, n int) {
	nc, _ := startNATS(b)
	h := New(nc, nil)
	c := newChat("bench")
	queues := make([]*Queue, n)
	for i := range queues {
		queues[i] = NewQueue(256, nil)
		c.add(queued{queues[i]})
	}
	deliver := c.handler(h)
	m := liveMsg("bench", 1, 0)
	seqs := make([]string, b.N+1)
	for i := range seqs {
		seqs[i] = strconv.Itoa(i + 1)
	}
	spares := make([][]*Frame, n)

	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		// Header values are rewritten in place so that the harness
		// itself allocates nothing.
		m.Header[jetstream.SequenceHeader][0] = seqs[i+1]
		m.Header[jetstream.LastSequenceHeader][0] = seqs[i]
		deliver(m)
		if i%32 == 31 {
			for j, q := range queues {
				spares[j], _ = q.Drain(spares[j])
				clear(spares[j])
			}
		}
	}
	b.StopTimer()
	if h.Gaps() != 0 {
		b.Fatalf("%d gaps in a gapless run", h.Gaps())
	}
	if items, _ := queues[n-1].Drain(nil); b.N%32 != 0 && len(items) != b.N%32 {
		b.Fatalf("last queue holds %d frames, want %d", len(items), b.N%32)
	}
}
