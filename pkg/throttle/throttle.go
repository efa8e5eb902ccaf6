// Package throttle limits repeated failures, such as failed logins, per
// key. A Limiter is the contract; Memory keeps the counts in this process,
// and Redis keeps them in Redis, so that every replica of a service sees
// one count. Both are safe for concurrent use.
package throttle

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Rate allows Burst failures in a row, then one more each Every.
type Rate struct {
	Burst int
	Every time.Duration
}

// Check returns an error when r cannot limit anything.
func (r Rate) Check() error {
	if r.Burst < 1 || r.Every <= 0 {
		return errors.New("a rate needs a burst of at least 1 and a positive interval")
	}
	return nil
}

// Limiter counts failures per key.
type Limiter interface {
	// Wait returns how long key must wait under r before its next
	// attempt; zero means it may try now.
	Wait(ctx context.Context, key string, r Rate) (time.Duration, error)
	// Fail records one failed attempt of key under r.
	Fail(ctx context.Context, key string, r Rate) error
	// Reset forgets key's failures.
	Reset(ctx context.Context, key string) error
}

// Memory is a Limiter held in this process.
//
// Each key keeps one time, the moment its failures will have drained at
// one per Every; a key whose time has passed is as good as absent, which
// is what lets sweeping forget it and keeps memory bounded by the keys
// that failed within the last Burst × Every.
type Memory struct {
	now func() time.Time

	mu        sync.Mutex
	drained   map[string]time.Time
	nextSweep time.Time
	sweepAt   int
}

var _ Limiter = (*Memory)(nil)

// NewMemory returns an empty in-process limiter.
func NewMemory() *Memory {
	return &Memory{now: time.Now, drained: map[string]time.Time{}, sweepAt: 1024}
}

// Wait implements Limiter.
func (m *Memory) Wait(_ context.Context, key string, r Rate) (time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	drained, ok := m.drained[key]
	if !ok {
		return 0, nil
	}
	// Burst-1 failures still waiting to drain leave room for one more try.
	allowed := time.Duration(r.Burst-1) * r.Every
	return max(0, drained.Sub(m.now())-allowed), nil
}

// Fail implements Limiter.
func (m *Memory) Fail(_ context.Context, key string, r Rate) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	m.drained[key] = later(m.drained[key], now).Add(r.Every)
	m.maybeSweep(now)
	return nil
}

// Reset implements Limiter.
func (m *Memory) Reset(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.drained, key)
	return nil
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// maybeSweep drops drained keys once a minute, or sooner when the map
// has doubled since the last sweep; the caller holds mu.
func (m *Memory) maybeSweep(now time.Time) {
	if now.Before(m.nextSweep) && len(m.drained) < m.sweepAt {
		return
	}
	for k, t := range m.drained {
		if !t.After(now) {
			delete(m.drained, k)
		}
	}
	m.nextSweep = now.Add(time.Minute)
	m.sweepAt = max(1024, 2*len(m.drained))
}
