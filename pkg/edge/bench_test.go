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

// benchDialer keeps the client side of a benchmark small, so that what
// is measured is mostly the edge.
var benchDialer = websocket.Dialer{
	ReadBufferSize:   512,
	WriteBufferSize:  512,
	WriteBufferPool:  &sync.Pool{},
	HandshakeTimeout: 10 * time.Second,
}

// benchSockets opens n sockets as users 1..n, all subscribed to chat.
func benchSockets(b *testing.B, e *env, url, chat string, n int) []*websocket.Conn {
	b.Helper()
	users := make([]int64, n)
	for i := range users {
		users[i] = int64(i + 1)
	}
	e.addChat(chat, users...)
	socks := make([]*websocket.Conn, n)
	for i := range socks {
		ws, _, err := benchDialer.Dial(url, nil)
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
		for got := 0; got < 2; {
			_, data, err := ws.ReadMessage()
			if err != nil {
				b.Fatal(err)
			}
			got += bytes.Count(data, newline) + 1
		}
		socks[i] = ws
	}
	return socks
}

// BenchmarkSocketFanout publishes messages to one chat through
// JetStream and measures the time until every socket has read each of
// them; ns/op is per message delivered to all sockets.
func BenchmarkSocketFanout(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run("sockets="+strconv.Itoa(n), func(b *testing.B) { benchSocketFanout(b, n) })
	}
}

func benchSocketFanout(b *testing.B, n int) {
	e := newEnv(b)
	_, url := e.edge(Config{QueueLen: 4096})
	socks := benchSockets(b, e, url, "bench", n)

	var received atomic.Int64
	var wg sync.WaitGroup
	for _, ws := range socks {
		wg.Go(func() {
			for {
				_, data, err := ws.ReadMessage()
				if err != nil {
					return
				}
				received.Add(int64(bytes.Count(data, newline) + 1))
			}
		})
	}
	b.Cleanup(func() {
		for _, ws := range socks {
			_ = ws.Close()
		}
		wg.Wait()
	})

	payload := []byte(`{"chat":"bench","user":{"id":1,"username":"u"},"message":"hello"}`)
	want := int64(b.N) * int64(n)
	b.ResetTimer()
	for range b.N {
		// Asynchronous publishing keeps the stream busy, as many
		// senders would.
		if _, err := e.js.PublishAsync(stream.Subject("bench"), payload); err != nil {
			b.Fatal(err)
		}
	}
	<-e.js.PublishAsyncComplete()
	deadline := time.Now().Add(time.Minute)
	for received.Load() < want {
		if time.Now().After(deadline) {
			b.Fatalf("delivered %d of %d", received.Load(), want)
		}
		runtime.Gosched()
	}
	b.StopTimer()
	b.ReportMetric(float64(want)/b.Elapsed().Seconds(), "deliveries/s")
}

// BenchmarkFanoutLatency sends 500 messages a second to one chat of 1000
// sockets, as the architecture's target says, and reports the latency
// from publishing to each socket reading the message.
func BenchmarkFanoutLatency(b *testing.B) {
	const n, rate = 1000, 500
	e := newEnv(b)
	_, url := e.edge(Config{})
	socks := benchSockets(b, e, url, "lat", n)

	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	for _, ws := range socks {
		wg.Go(func() { readLatencies(ws, &mu, &lat) })
	}
	b.Cleanup(func() {
		for _, ws := range socks {
			_ = ws.Close()
		}
		wg.Wait()
	})

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
	want := b.N * n
	deadline := time.Now().Add(time.Minute)
	for {
		mu.Lock()
		got := len(lat)
		mu.Unlock()
		if got >= want {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("delivered %d of %d", got, want)
		}
		runtime.Gosched()
	}
	b.StopTimer()
	mu.Lock()
	defer mu.Unlock()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// readLatencies records, for each message ws reads, how long ago its
// text (a Unix time in nanoseconds) was stamped.
func readLatencies(ws *websocket.Conn, mu *sync.Mutex, lat *[]time.Duration) {
	key := []byte(`"message":"`)
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return
		}
		now := time.Now().UnixNano()
		var got []time.Duration
		for line := range bytes.SplitSeq(data, newline) {
			i := bytes.Index(line, key)
			if i < 0 {
				continue
			}
			rest := line[i+len(key):]
			end := bytes.IndexByte(rest, '"')
			if end < 0 {
				continue
			}
			stamp, err := strconv.ParseInt(string(rest[:end]), 10, 64)
			if err == nil {
				got = append(got, time.Duration(now-stamp))
			}
		}
		mu.Lock()
		*lat = append(*lat, got...)
		mu.Unlock()
	}
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
		socks := benchSockets(b, e, url, "idle", n)
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
