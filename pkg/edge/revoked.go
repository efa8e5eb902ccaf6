package edge

import (
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/parley-chat/parley/pkg/revocation"
)

// recentFor is how long the edge remembers an announced revocation. It
// covers a socket whose auth frame passed the denylist check just before
// the revocation was stored and that is admitted only after the
// announcement went past: the check can take up to RequestTimeout.
const recentFor = time.Minute

// revokedSessions closes the sockets of sessions the auth service
// announces as revoked on revocation.Subject, within the time NATS takes
// to deliver the announcement.
//
// An edge that misses an announcement, being cut off from NATS when it
// went out, still refuses the session at the socket's next auth frame,
// since the Authenticator checks the denylist on every auth frame: give
// the edge PARLEY_REDIS_URL for that. Until then such a socket lives at
// most until its access token expires, since refreshing is refused.
type revokedSessions struct {
	sub *nats.Subscription

	mu     sync.Mutex
	recent map[string]time.Time // announced session id → when
}

// watch subscribes s to announcements.
func (r *revokedSessions) watch(s *Server) error {
	sub, err := revocation.Listen(s.deps.NC, s.log, func(sids []string) {
		r.remember(sids)
		s.closeSessions(sids)
	})
	if err != nil {
		return err
	}
	r.sub = sub
	return nil
}

// stop ends the subscription; announcements after it are not acted on.
func (r *revokedSessions) stop() {
	if r.sub != nil {
		// Unsubscribing fails only on a closed connection, which has
		// stopped delivering anyway.
		_ = r.sub.Unsubscribe()
	}
}

// remember records sids as revoked now, and forgets what is older than
// recentFor, so the map holds only a minute's revocations.
func (r *revokedSessions) remember(sids []string) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.recent == nil {
		r.recent = map[string]time.Time{}
	}
	for sid, at := range r.recent {
		if now.Sub(at) > recentFor {
			delete(r.recent, sid)
		}
	}
	for _, sid := range sids {
		r.recent[sid] = now
	}
}

// revoked reports whether sid was announced within recentFor. A socket
// stores its session before asking, and an announcement is remembered
// before sockets are scanned, so of the two one always sees the other.
func (r *revokedSessions) revoked(sid string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	at, ok := r.recent[sid]
	return ok && time.Since(at) <= recentFor
}

// closeSessions closes every socket authenticated in one of sids with
// 4001 "session revoked". Each close runs on a goroutine of its socket,
// since a close frame waits for a write in progress, and one slow
// socket must not hold back the others beyond the promised second.
func (s *Server) closeSessions(sids []string) {
	set := make(map[string]struct{}, len(sids))
	for _, sid := range sids {
		set[sid] = struct{}{}
	}
	s.mu.Lock()
	conns := s.snapshot()
	s.mu.Unlock()
	for _, c := range conns {
		if _, ok := set[c.session()]; !ok {
			continue
		}
		s.log.Debug("closing socket of revoked session", "conn", c.id)
		c.spawn(func() { c.closeWith(closeAuth, reasonRevoked) })
	}
}
