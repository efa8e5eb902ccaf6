package edge

import (
	"bytes"
	"context"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-chat/parley/pkg/hub"
	"github.com/parley-chat/parley/pkg/stream"
)

// smallDialer keeps the client side of a memory benchmark small, so that
// what is measured is mostly the edge. Throughput benchmarks use
// gorilla's defaults, closer to what browsers do.
var smallDialer = &websocket.Dialer{
	ReadBufferSize:   512,
	WriteBufferSize:  512,
	WriteBufferPool:  &sync.Pool{},
	HandshakeTimeout: 10 * time.Second,
}

// benchSockets opens n sockets as users 1..n, all subscribed to chat.
func benchSockets(b *testing.B, e *env, url, chat string, n int) []*websocket.Conn {
	return benchSocketsWith(b, websocket.DefaultDialer, e, url, chat, n)
}

func benchSocketsWith(b *testing.B, d *websocket.Dialer, e *env, url, chat string,
	n int) []*websocket.Conn {
	b.Helper()
	users := make([]int64, n)
	for i := range users {
		users[i] = int64(i + 1)
	}
	e.addChat(chat, users...)
	socks := make([]*websocket.Conn, n)
	for i := range socks {
		ws, _, err := d.Dial(url, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = ws.Close() })
		tok, _ := e.token(users[i], "s", time.Hour)
		auth := `{"type":"auth","token":"` + tok + `"}` + "\n" +
			`{"type":"subscribe","chat":"` + chat + `"}`
		if err := ws.WriteMessage(websocket.TextMessage, []byte(auth)); err != nil {
			b.Fatal(err)
		}
		// The ready and subscribed objects may come packed or apart.
		var got []byte
		for objs := 0; objs < 2; {
			_, data, err := ws.ReadMessage()
			if err != nil {
				b.Fatal(err)
			}
			objs += bytes.Count(data, newline) + 1
			got = append(append(got, data...), '\n')
		}
		if !bytes.Contains(got, []byte(`"type":"subscribed"`)) {
			b.Fatalf("socket %d was not subscribed: %s", i, got)
		}
		socks[i] = ws
	}
	return socks
}

// BenchmarkSocketFanout publishes messages to one chat through
// JetStream and measures the time until every socket has read each of
// them; ns/op is per message delivered to all sockets. The publisher
// stays at most a window of messages ahead of the readers, as a chat's
// senders do, rather than flooding the sockets until they are dropped as
// too slow.
func BenchmarkSocketFanout(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run("sockets="+strconv.Itoa(n), func(b *testing.B) { benchSocketFanout(b, n) })
	}
}

func benchSocketFanout(b *testing.B, n int) {
	// Below QueueLen, so that no socket can be dropped as too slow.
	const window = 128
	e := newEnv(b)
	_, url := e.edge(Config{})
	socks := benchSockets(b, e, url, "bench", n)
	readers := startReaders(b, socks)

	payload := []byte(`{"chat":"bench","user":{"id":1,"username":"u"},"message":"hello"}`)
	b.ResetTimer()
	for i := range b.N {
		if behind := int64(i-window) * int64(n); behind > readers.received.Load() {
			readers.wait(b, behind)
		}
		if _, err := e.js.PublishAsync(stream.Subject("bench"), payload); err != nil {
			b.Fatal(err)
		}
	}
	<-e.js.PublishAsyncComplete()
	readers.wait(b, int64(b.N)*int64(n))
	b.StopTimer()
	b.ReportMetric(float64(b.N)*float64(n)/b.Elapsed().Seconds(), "deliveries/s")
}

// BenchmarkFanoutLatency sends 500 messages a second to one chat, as the
// architecture's target says for 1000 sockets, and reports the latency
// from publishing to each socket reading the message. The readers share
// the machine's two cores with the edge and NATS, so this is an upper
// bound of what the edge alone adds.
func BenchmarkFanoutLatency(b *testing.B) {
	for _, n := range []int{300, 1000} {
		b.Run("sockets="+strconv.Itoa(n), func(b *testing.B) { benchFanoutLatency(b, n) })
	}
}

func benchFanoutLatency(b *testing.B, n int) {
	const rate = 500
	e := newEnv(b)
	_, url := e.edge(Config{})
	socks := benchSockets(b, e, url, "lat", n)
	readers := startReaders(b, socks)

	tick := time.NewTicker(time.Second / rate)
	defer tick.Stop()
	b.ResetTimer()
	for range b.N {
		<-tick.C
		stamp := strconv.FormatInt(time.Now().UnixNano(), 10)
		payload := `{"chat":"lat","user":{"id":1,"username":"u"},"message":"` + stamp + `"}`
		if _, err := e.js.PublishAsync(stream.Subject("lat"), []byte(payload)); err != nil {
			b.Fatal(err)
		}
	}
	<-e.js.PublishAsyncComplete()
	readers.wait(b, int64(b.N)*int64(n))
	b.StopTimer()
	lat := readers.latencies()
	b.ReportMetric(float64(readers.received.Load())/float64(readers.frames.Load()), "msgs/frame")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// readers reads sockets until they close, counting messages and, for
// messages whose text is a Unix time in nanoseconds, their latency.
type readers struct {
	received atomic.Int64
	frames   atomic.Int64
	wg       sync.WaitGroup
	lat      [][]time.Duration // one slice per socket, so readers share no lock
}

func startReaders(b *testing.B, socks []*websocket.Conn) *readers {
	r := &readers{lat: make([][]time.Duration, len(socks))}
	for i, ws := range socks {
		r.wg.Go(func() { r.read(ws, &r.lat[i]) })
	}
	b.Cleanup(func() {
		for _, ws := range socks {
			_ = ws.Close()
		}
		r.wg.Wait()
	})
	return r
}

func (r *readers) read(ws *websocket.Conn, lat *[]time.Duration) {
	key := []byte(`"message":"`)
	var buf bytes.Buffer
	for {
		_, rd, err := ws.NextReader()
		if err != nil {
			return
		}
		buf.Reset()
		if _, err := buf.ReadFrom(rd); err != nil {
			return
		}
		now := time.Now().UnixNano()
		n := 0
		for line := range bytes.SplitSeq(buf.Bytes(), newline) {
			n++
			i := bytes.Index(line, key)
			if i < 0 {
				continue
			}
			rest := line[i+len(key):]
			end := bytes.IndexByte(rest, '"')
			if end < 0 {
				continue
			}
			if stamp, err := strconv.ParseInt(string(rest[:end]), 10, 64); err == nil {
				*lat = append(*lat, time.Duration(now-stamp))
			}
		}
		r.received.Add(int64(n))
		r.frames.Add(1)
	}
}

// wait returns once want messages were read, failing after a minute.
func (r *readers) wait(b *testing.B, want int64) {
	deadline := time.Now().Add(time.Minute)
	for r.received.Load() < want {
		if time.Now().After(deadline) {
			b.Fatalf("delivered %d of %d", r.received.Load(), want)
		}
		runtime.Gosched()
	}
}

// latencies stops the readers and returns every latency, sorted.
func (r *readers) latencies() []time.Duration {
	var all []time.Duration
	for _, l := range r.lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	return all
}

// BenchmarkIdleSocket opens authenticated, subscribed sockets and
// reports the memory each costs once idle: heap and stacks of the whole
// process, so the figure includes the client side (about 1.5 KB).
func BenchmarkIdleSocket(b *testing.B) {
	const n = 2000
	e := newEnv(b)
	s, url := e.edge(Config{})
	before := inUse()
	b.ResetTimer()
	for range b.N {
		socks := benchSocketsWith(b, smallDialer, e, url, "idle", n)
		after := inUse()
		b.ReportMetric(float64(after-before)/n, "bytes/socket")
		for _, ws := range socks {
			_ = ws.Close()
		}
		waitFor(b, "the sockets to close", func() bool { return s.Sockets() == 0 })
	}
}

func inUse() uint64 {
	var ms runtime.MemStats
	for range 3 {
		runtime.GC()
	}
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse
}

// BenchmarkReplay compares ways to read back a chat's missed messages
// from a stream that interleaves them with other chats': one request per
// message, an ordered consumer, and the edge's mix of the two.
func BenchmarkReplay(b *testing.B) {
	for _, missed := range []int{10, 500} {
		e := newEnv(b)
		s, _ := e.edge(Config{})
		var first int64
		for i := range missed {
			id := e.publish("r", "m"+strconv.Itoa(i))
			if i == 0 {
				first = id
			}
			e.publish("noise", "n")
		}
		ctx := context.Background()
		n := 0
		count := func(context.Context, *hub.Frame) error {
			n++
			return nil
		}
		ways := []struct {
			name string
			run  func() error
		}{
			{"singly", func() error {
				_, _, err := s.replayEach(ctx, "r", first-1, missed+1, count)
				return err
			}},
			{"ordered", func() error { return s.replayOrdered(ctx, "r", first-1, count) }},
			{"edge", func() error { return s.replay(ctx, "r", first-1, count) }},
		}
		for _, w := range ways {
			b.Run(w.name+"/missed="+strconv.Itoa(missed), func(b *testing.B) {
				for range b.N {
					n = 0
					if err := w.run(); err != nil {
						b.Fatal(err)
					}
					if n != missed {
						b.Fatalf("replayed %d, want %d", n, missed)
					}
				}
			})
		}
	}
}
