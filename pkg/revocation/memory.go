package revocation

import (
	"context"
	"sync"
	"time"
)

// sweepEvery is the longest a Memory goes between sweeps of expired
// entries while it is being written to.
const sweepEvery = time.Minute

// Memory is a Denylist held in this process, for the all-in-one, where
// every verifier shares it. Expired entries are swept as new ones are
// added, so it holds only what still blocks something plus at most one
// minute's or one doubling's worth of expired entries.
type Memory struct {
	now func() time.Time

	mu        sync.Mutex
	sessions  map[string]time.Time
	tokens    map[string]time.Time
	nextSweep time.Time
	// sweepAt is the size that forces a sweep before nextSweep, so that
	// a burst of writes cannot outgrow the work of sweeping it.
	sweepAt int
}

var _ Denylist = (*Memory)(nil)

// NewMemory returns an empty in-process denylist.
func NewMemory() *Memory {
	return &Memory{
		now:      time.Now,
		sessions: map[string]time.Time{},
		tokens:   map[string]time.Time{},
		sweepAt:  1024,
	}
}

// RevokeSession implements Denylist. Revoking again extends the block
// when until is later, and never shortens it.
func (m *Memory) RevokeSession(_ context.Context, sid string, until time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if !until.After(now) {
		return nil
	}
	if until.After(m.sessions[sid]) {
		m.sessions[sid] = until
	}
	m.maybeSweep(now)
	return nil
}

// SessionRevoked implements Denylist.
func (m *Memory) SessionRevoked(_ context.Context, sid string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sessions[sid].After(m.now()), nil
}

// UseToken implements Denylist. An until already past records nothing:
// such a token is refused by every verifier anyway.
func (m *Memory) UseToken(_ context.Context, jti string, until time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if m.tokens[jti].After(now) {
		return false, nil
	}
	if !until.After(now) {
		return true, nil
	}
	m.tokens[jti] = until
	m.maybeSweep(now)
	return true, nil
}

// maybeSweep drops expired entries when a minute has passed or the maps
// have doubled since the last sweep; the caller holds mu.
func (m *Memory) maybeSweep(now time.Time) {
	if now.Before(m.nextSweep) && len(m.sessions)+len(m.tokens) < m.sweepAt {
		return
	}
	for _, set := range []map[string]time.Time{m.sessions, m.tokens} {
		for k, until := range set {
			if !until.After(now) {
				delete(set, k)
			}
		}
	}
	m.nextSweep = now.Add(sweepEvery)
	m.sweepAt = max(1024, 2*(len(m.sessions)+len(m.tokens)))
}
