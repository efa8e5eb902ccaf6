package throttle

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/parley-chat/parley/pkg/testenv"
)

// redisLimiters returns two limiters on separate connections sharing
// one key prefix, as two replicas of a service would, and deletes the
// prefix's keys when the test ends.
func redisLimiters(t *testing.T) (*Redis, *Redis, *redis.Client, string) {
	t.Helper()
	opts, err := redis.ParseURL(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	a, b := redis.NewClient(opts), redis.NewClient(opts)
	prefix := "parley-test:" + testenv.Suffix() + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		if keys, _ := a.Keys(ctx, prefix+"*").Result(); len(keys) > 0 {
			a.Del(ctx, keys...)
		}
		_ = a.Close()
		_ = b.Close()
	})
	return NewRedis(a, prefix), NewRedis(b, prefix), a, prefix
}

// near checks that got lies within a second below want.
func near(t *testing.T, what string, got, want time.Duration) {
	t.Helper()
	if got > want || got < want-time.Second {
		t.Fatalf("%s = %v, want about %v", what, got, want)
	}
}

func TestRedisSharesOneCountAcrossReplicas(t *testing.T) {
	one, two, c, prefix := redisLimiters(t)
	ctx := context.Background()
	r := Rate{Burst: 3, Every: time.Minute}

	// Failures counted by either replica hold back both.
	for i, l := range []*Redis{one, two, one} {
		w, err := l.Wait(ctx, "k", r)
		if err != nil || w != 0 {
			t.Fatalf("Wait before failure %d = %v, %v; want 0", i+1, w, err)
		}
		if err := l.Fail(ctx, "k", r); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range []*Redis{one, two} {
		w, err := l.Wait(ctx, "k", r)
		if err != nil {
			t.Fatal(err)
		}
		near(t, "Wait after the burst", w, time.Minute)
	}
	if w, _ := two.Wait(ctx, "other", r); w != 0 {
		t.Fatalf("another key waits %v", w)
	}

	// The key lives exactly as long as its backlog, then Redis forgets it.
	ttl, err := c.PTTL(ctx, prefix+"throttle:k").Result()
	if err != nil {
		t.Fatal(err)
	}
	near(t, "PTTL of the throttle key", ttl, 3*time.Minute)

	if err := two.Reset(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if w, _ := one.Wait(ctx, "k", r); w != 0 {
		t.Fatalf("Wait after Reset on the other replica = %v", w)
	}
}

func TestRedisCountsConcurrentFailures(t *testing.T) {
	one, two, _, _ := redisLimiters(t)
	ctx := context.Background()
	r := Rate{Burst: 1, Every: time.Second}
	var wg sync.WaitGroup
	for i := range 20 {
		l := one
		if i%2 == 1 {
			l = two
		}
		wg.Go(func() {
			if err := l.Fail(ctx, "k", r); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	w, err := one.Wait(ctx, "k", r)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "Wait after 20 concurrent failures", w, 20*time.Second)
}

func TestRedisDrains(t *testing.T) {
	one, _, _, _ := redisLimiters(t)
	ctx := context.Background()
	r := Rate{Burst: 1, Every: 200 * time.Millisecond}
	if err := one.Fail(ctx, "k", r); err != nil {
		t.Fatal(err)
	}
	if w, _ := one.Wait(ctx, "k", r); w <= 0 {
		t.Fatalf("Wait right after a failure with burst 1 = %v", w)
	}
	// Poll until the backlog drains; Redis's expiry does the work.
	deadline := time.After(5 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		w, err := one.Wait(ctx, "k", r)
		if err != nil {
			t.Fatal(err)
		}
		if w == 0 {
			return
		}
		select {
		case <-deadline:
			t.Fatalf("still waiting %v long after the interval", w)
		case <-tick.C:
		}
	}
}
