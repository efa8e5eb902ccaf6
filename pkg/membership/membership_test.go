package membership

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/parley-chat/parley/pkg/natstest"
)

func connect(t *testing.T) *nats.Conn {
	t.Helper()
	nc, _ := natstest.JetStream(t, "test")
	return nc
}

func TestCheck(t *testing.T) {
	nc := connect(t)
	var asked atomic.Int32
	members := map[Request]bool{{Chat: "c1", UserID: 1}: true}
	sub, err := Serve(nc, func(_ context.Context, req Request) (Reply, error) {
		asked.Add(1)
		if req.Chat == "broken" {
			return Reply{}, errors.New("database down")
		}
		if req.Chat != "c1" {
			return Reply{}, nil
		}
		return Reply{Exists: true, Member: members[req], LastID: 42}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })

	c := &Client{NC: nc}
	ctx := context.Background()
	tests := []struct {
		name      string
		req       Request
		want      Reply
		wantErr   error
		wantAsked int32
	}{
		{"member", Request{"c1", 1}, Reply{Exists: true, Member: true, LastID: 42}, nil, 1},
		{"member again is cached", Request{"c1", 1}, Reply{Exists: true, Member: true}, nil, 1},
		{"not a member", Request{"c1", 2}, Reply{Exists: true, LastID: 42}, nil, 2},
		{"no is never cached", Request{"c1", 2}, Reply{Exists: true, LastID: 42}, nil, 3},
		{"unknown chat", Request{"c9", 1}, Reply{}, nil, 4},
		{"store failure", Request{"broken", 1}, Reply{}, ErrUnavailable, 5},
	}
	for _, tt := range tests {
		got, err := c.Check(ctx, tt.req)
		if !errors.Is(err, tt.wantErr) || got != tt.want {
			t.Fatalf("%s: Check = %+v, %v; want %+v, %v", tt.name, got, err, tt.want, tt.wantErr)
		}
		if n := asked.Load(); n != tt.wantAsked {
			t.Fatalf("%s: archiver asked %d times, want %d", tt.name, n, tt.wantAsked)
		}
	}
}

func TestCheckWithoutArchiver(t *testing.T) {
	c := &Client{NC: connect(t), Timeout: 200 * time.Millisecond}
	_, err := c.Check(context.Background(), Request{"c1", 1})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
}

func TestCacheExpires(t *testing.T) {
	nc := connect(t)
	var asked atomic.Int32
	sub, err := Serve(nc, func(context.Context, Request) (Reply, error) {
		asked.Add(1)
		return Reply{Exists: true, Member: true}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	c := &Client{NC: nc, TTL: time.Nanosecond}
	for range 3 {
		if _, err := c.Check(context.Background(), Request{"c", 1}); err != nil {
			t.Fatal(err)
		}
	}
	if n := asked.Load(); n != 3 {
		t.Fatalf("asked %d times with an expired cache, want 3", n)
	}
}
