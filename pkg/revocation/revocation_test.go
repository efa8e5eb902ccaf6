package revocation

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/parley-chat/parley/pkg/testenv"
)

// conformance runs the Denylist contract against one implementation;
// newList returns an empty denylist that no other test touches.
func conformance(t *testing.T, newList func(t *testing.T) Denylist) {
	tests := map[string]func(t *testing.T, d Denylist){
		"revoke":           testRevoke,
		"use once":         testUseOnce,
		"concurrent use":   testConcurrentUse,
		"entries expire":   testExpiry,
		"past until":       testPastUntil,
		"revoke is sticky": testRevokeTwice,
	}
	for name, test := range tests {
		t.Run(name, func(t *testing.T) { test(t, newList(t)) })
	}
}

func testRevoke(t *testing.T, d Denylist) {
	ctx := context.Background()
	mustRevoked(t, d, "s1", false)
	if err := d.RevokeSession(ctx, "s1", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	mustRevoked(t, d, "s1", true)
	mustRevoked(t, d, "s2", false)
	// A used token id is not a revoked session, even when the ids match.
	mustUse(t, d, "s2", time.Now().Add(time.Hour), true)
	mustRevoked(t, d, "s2", false)
}

func testUseOnce(t *testing.T, d Denylist) {
	until := time.Now().Add(time.Hour)
	mustUse(t, d, "j1", until, true)
	mustUse(t, d, "j1", until, false)
	mustUse(t, d, "j1", until.Add(time.Hour), false)
	mustUse(t, d, "j2", until, true)
}

func testConcurrentUse(t *testing.T, d Denylist) {
	var wins atomic.Int32
	var wg sync.WaitGroup
	until := time.Now().Add(time.Hour)
	for range 16 {
		wg.Go(func() {
			first, err := d.UseToken(context.Background(), "shared", until)
			if err != nil {
				t.Error(err)
			}
			if first {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if n := wins.Load(); n != 1 {
		t.Fatalf("%d concurrent uses of one token won, want exactly 1", n)
	}
}

func testExpiry(t *testing.T, d Denylist) {
	ctx := context.Background()
	start := time.Now()
	until := start.Add(300 * time.Millisecond)
	if err := d.RevokeSession(ctx, "short", until); err != nil {
		t.Fatal(err)
	}
	first, err := d.UseToken(ctx, "short", until)
	if err != nil || !first {
		t.Fatalf("UseToken = %v, %v", first, err)
	}
	revoked, err := d.SessionRevoked(ctx, "short")
	if err != nil || (!revoked && time.Now().Before(until)) {
		t.Fatalf("SessionRevoked before its expiry = %v, %v", revoked, err)
	}
	waitFor(t, "the revoked session to expire", func() bool {
		revoked, err := d.SessionRevoked(ctx, "short")
		return err == nil && !revoked
	})
	waitFor(t, "the used token to expire", func() bool {
		first, err := d.UseToken(ctx, "short", time.Now().Add(time.Hour))
		return err == nil && first
	})
	if time.Now().Before(until) {
		t.Fatal("entries expired before their time")
	}
}

func testPastUntil(t *testing.T, d Denylist) {
	ctx := context.Background()
	past := time.Now().Add(-time.Minute)
	if err := d.RevokeSession(ctx, "old", past); err != nil {
		t.Fatal(err)
	}
	mustRevoked(t, d, "old", false)
	mustUse(t, d, "old", past, true)
	mustUse(t, d, "old", time.Now().Add(time.Hour), true)
}

func testRevokeTwice(t *testing.T, d Denylist) {
	ctx := context.Background()
	for _, until := range []time.Time{time.Now().Add(time.Hour), time.Now().Add(time.Second)} {
		if err := d.RevokeSession(ctx, "twice", until); err != nil {
			t.Fatal(err)
		}
	}
	mustRevoked(t, d, "twice", true)
}

func mustRevoked(t *testing.T, d Denylist, sid string, want bool) {
	t.Helper()
	got, err := d.SessionRevoked(context.Background(), sid)
	if err != nil || got != want {
		t.Fatalf("SessionRevoked(%q) = %v, %v; want %v", sid, got, err, want)
	}
}

func mustUse(t *testing.T, d Denylist, jti string, until time.Time, want bool) {
	t.Helper()
	got, err := d.UseToken(context.Background(), jti, until)
	if err != nil || got != want {
		t.Fatalf("UseToken(%q) = %v, %v; want %v", jti, got, err, want)
	}
}

// waitFor polls cond until it holds, failing the test after 5 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

func TestMemory(t *testing.T) {
	conformance(t, func(*testing.T) Denylist { return NewMemory() })
}

func TestRedis(t *testing.T) {
	conformance(t, func(t *testing.T) Denylist {
		c, prefix := redisClient(t)
		return NewRedis(c, prefix)
	})
}

// redisClient connects to the test Redis and returns a prefix unique to
// the calling test, whose keys are deleted when it ends.
func redisClient(t *testing.T) (*redis.Client, string) {
	t.Helper()
	opts, err := redis.ParseURL(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	prefix := "parley-test:" + testenv.Suffix() + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		keys, _ := c.Keys(ctx, prefix+"*").Result()
		if len(keys) > 0 {
			c.Del(ctx, keys...)
		}
		_ = c.Close()
	})
	return c, prefix
}

func TestRedisKeysEachExpire(t *testing.T) {
	c, prefix := redisClient(t)
	d := NewRedis(c, prefix)
	ctx := context.Background()
	now := time.Now()
	if err := d.RevokeSession(ctx, "s", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	mustUse(t, d, "j", now.Add(2*time.Hour), true)
	mustTTL(t, c, prefix+"revoked:sid:s", time.Hour)
	mustTTL(t, c, prefix+"used:jti:j", 2*time.Hour)

	// A shorter revocation keeps the longer expiry; a longer one extends it.
	_ = d.RevokeSession(ctx, "s", now.Add(time.Minute))
	mustTTL(t, c, prefix+"revoked:sid:s", time.Hour)
	_ = d.RevokeSession(ctx, "s", now.Add(3*time.Hour))
	mustTTL(t, c, prefix+"revoked:sid:s", 3*time.Hour)

	_ = d.RevokeSession(ctx, "gone", now.Add(-time.Second))
	mustUse(t, d, "gone", now.Add(-time.Second), true)
	if n := c.Exists(ctx, prefix+"revoked:sid:gone", prefix+"used:jti:gone").Val(); n != 0 {
		t.Fatalf("%d keys stored for entries already expired", n)
	}
}

// mustTTL checks that key expires within a few seconds before want from now.
func mustTTL(t *testing.T, c *redis.Client, key string, want time.Duration) {
	t.Helper()
	got, err := c.PTTL(context.Background(), key).Result()
	if err != nil || got > want || got < want-5*time.Second {
		t.Fatalf("PTTL(%s) = %v, %v; want about %v", key, got, err, want)
	}
}

func TestMemorySweepsExpiredEntries(t *testing.T) {
	m := NewMemory()
	now := time.Now()
	m.now = func() time.Time { return now }
	ctx := context.Background()

	// Ten thousand entries, each expired a moment after it is added: the
	// maps must stay near the sweep threshold instead of growing.
	for i := range 10000 {
		id := strconv.Itoa(i)
		_, _ = m.UseToken(ctx, id, now.Add(time.Millisecond))
		_ = m.RevokeSession(ctx, id, now.Add(time.Millisecond))
		now = now.Add(2 * time.Millisecond)
	}
	if n := len(m.tokens) + len(m.sessions); n > 2048 {
		t.Fatalf("memory denylist holds %d entries, want it swept", n)
	}

	_ = m.RevokeSession(ctx, "live", now.Add(time.Hour))
	now = now.Add(2 * sweepEvery)
	_ = m.RevokeSession(ctx, "late", now.Add(time.Hour))
	if len(m.sessions) != 2 || len(m.tokens) != 0 {
		t.Fatalf("after a sweep: %d sessions and %d tokens, want 2 and 0",
			len(m.sessions), len(m.tokens))
	}
	mustRevoked(t, m, "live", true)
}

func TestMemoryRevokeNeverShortens(t *testing.T) {
	m := NewMemory()
	now := time.Now()
	m.now = func() time.Time { return now }
	ctx := context.Background()
	_ = m.RevokeSession(ctx, "s", now.Add(time.Hour))
	_ = m.RevokeSession(ctx, "s", now.Add(time.Second))
	now = now.Add(time.Minute)
	mustRevoked(t, m, "s", true)
	now = now.Add(time.Hour)
	mustRevoked(t, m, "s", false)
}
