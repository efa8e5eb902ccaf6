// Package revocation keeps the denylists that end sessions early: revoked
// session ids and used refresh-token ids, each entry expiring when what it
// blocks would have expired anyway. Two implementations share one
// contract: Redis for clusters and an in-process map for the all-in-one.
// It also carries the NATS announcement of each revocation, by which
// edges close the sockets of a revoked session at once. Denylists and
// Announce are safe for concurrent use.
package revocation

import (
	"context"
	"time"
)

// Denylist records revocations.
type Denylist interface {
	// RevokeSession blocks session sid until until.
	RevokeSession(ctx context.Context, sid string, until time.Time) error
	// SessionRevoked reports whether sid is blocked.
	SessionRevoked(ctx context.Context, sid string) (bool, error)
	// UseToken records refresh token jti as used until until. It reports
	// true the first time and false when jti was already used, atomically,
	// so two concurrent refreshes with one token cannot both win.
	UseToken(ctx context.Context, jti string, until time.Time) (bool, error)
}
