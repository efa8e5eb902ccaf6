package throttle

import (
	"context"
	"strconv"
	"testing"
	"time"
)

func fakeClock(m *Memory) *time.Time {
	now := time.Now()
	m.now = func() time.Time { return now }
	return &now
}

func mustWait(t *testing.T, m *Memory, key string, r Rate, want time.Duration) {
	t.Helper()
	got, err := m.Wait(context.Background(), key, r)
	if err != nil || got != want {
		t.Fatalf("Wait(%q) = %v, %v; want %v", key, got, err, want)
	}
}

func TestBurstThenOnePerInterval(t *testing.T) {
	m := NewMemory()
	now := fakeClock(m)
	r := Rate{Burst: 3, Every: time.Minute}
	ctx := context.Background()

	for range 3 {
		mustWait(t, m, "k", r, 0)
		_ = m.Fail(ctx, "k", r)
	}
	mustWait(t, m, "k", r, time.Minute)
	mustWait(t, m, "other", r, 0)

	*now = now.Add(40 * time.Second)
	mustWait(t, m, "k", r, 20*time.Second)
	*now = now.Add(20 * time.Second)
	mustWait(t, m, "k", r, 0)
	_ = m.Fail(ctx, "k", r)
	mustWait(t, m, "k", r, time.Minute)

	// After a long quiet spell the whole burst is back.
	*now = now.Add(time.Hour)
	for range 3 {
		mustWait(t, m, "k", r, 0)
		_ = m.Fail(ctx, "k", r)
	}
	mustWait(t, m, "k", r, time.Minute)
}

func TestReset(t *testing.T) {
	m := NewMemory()
	r := Rate{Burst: 1, Every: time.Hour}
	_ = m.Fail(context.Background(), "k", r)
	if w, _ := m.Wait(context.Background(), "k", r); w <= 0 {
		t.Fatalf("Wait after a failure with burst 1 = %v", w)
	}
	_ = m.Reset(context.Background(), "k")
	if w, _ := m.Wait(context.Background(), "k", r); w != 0 {
		t.Fatalf("Wait after Reset = %v", w)
	}
}

func TestMemoryStaysBounded(t *testing.T) {
	m := NewMemory()
	now := fakeClock(m)
	r := Rate{Burst: 5, Every: time.Millisecond}
	for i := range 20000 {
		_ = m.Fail(context.Background(), strconv.Itoa(i), r)
		*now = now.Add(time.Millisecond)
	}
	if n := len(m.drained); n > 2048 {
		t.Fatalf("limiter holds %d keys whose failures have drained", n)
	}
}

func TestRateCheck(t *testing.T) {
	for _, r := range []Rate{{}, {Burst: 1}, {Every: time.Second}, {Burst: -1, Every: 1}} {
		if r.Check() == nil {
			t.Errorf("Rate%+v passed Check", r)
		}
	}
	if err := (Rate{Burst: 1, Every: time.Second}).Check(); err != nil {
		t.Error(err)
	}
}
