package stream

import (
	"context"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/parley-chat/parley/pkg/embednats"
	"github.com/parley-chat/parley/pkg/wire"
)

// BenchmarkPublish measures what an acknowledgement costs on one server
// with and without an fsync per message, the all-in-one's choice:
//
//	go test -run - -bench Publish -benchtime 2000x ./pkg/stream
func BenchmarkPublish(b *testing.B) {
	for _, sync := range []bool{false, true} {
		b.Run(fmt.Sprintf("sync_always=%v", sync), func(b *testing.B) {
			srv, err := embednats.Start(embednats.Options{Dir: b.TempDir(), SyncAlways: sync})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(srv.Shutdown)
			nc, err := srv.Connect("bench")
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(nc.Close)
			js, err := jetstream.New(nc)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			if _, err := Ensure(ctx, js, Config{}); err != nil {
				b.Fatal(err)
			}
			p := Payload{Chat: "bench", User: wire.User{ID: 1, Username: "b"}, Message: "hello"}
			for b.Loop() {
				if _, err := Publish(ctx, js, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
