package archive

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/parley-chat/parley/pkg/stream"
)

// BenchmarkConsumer measures how fast a backlog of b.N messages, spread
// over a few chats, goes from the stream into SQLite in batches.
func BenchmarkConsumer(b *testing.B) {
	e := newEnv(b, "", Config{})
	stop := e.run(e.svc)
	chats := make([]string, 8)
	for i := range chats {
		chats[i] = e.newChat(alice)
	}
	stop()
	publishBacklog(b, e, chats, b.N)
	str, err := e.js.Stream(context.Background(), stream.Name)
	if err != nil {
		b.Fatal(err)
	}
	info, err := str.Info(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	last := info.State.LastSeq

	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	e.run(e.newService())
	cons, err := e.js.Consumer(context.Background(), stream.Name, "archiver")
	if err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		ci, err := cons.Info(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if ci.AckFloor.Stream >= last {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("ack floor %d of %d after 5m", ci.AckFloor.Stream, last)
		}
		// Polling JetStream too often would compete with the consumer.
		<-time.After(2 * time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

func publishBacklog(b *testing.B, e *env, chats []string, n int) {
	b.Helper()
	var acks []jetstream.PubAckFuture
	for i := range n {
		uri := chats[i%len(chats)]
		data := fmt.Appendf(nil, `{"chat":%q,"user":{"id":1,"username":"alice"},`+
			`"message":"message number %d","client_id":null}`, uri, i)
		f, err := e.js.PublishAsync(stream.Subject(uri), data)
		if err != nil {
			b.Fatal(err)
		}
		acks = append(acks, f)
	}
	select {
	case <-e.js.PublishAsyncComplete():
	case <-time.After(time.Minute):
		b.Fatal("publishing the backlog took over a minute")
	}
	for _, f := range acks {
		select {
		case err := <-f.Err():
			b.Fatal(err)
		default:
		}
	}
}
