package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/parley-chat/parley/pkg/revocation"
	"github.com/parley-chat/parley/pkg/store"
	"github.com/parley-chat/parley/pkg/token"
)

// Revoker ends sessions in three steps, always in this order: the store
// marks them revoked, so no refresh token of theirs is ever rotated
// again; the denylist blocks them until their last token would have
// expired, so the access tokens already out stop working; OnRevoke is
// told, so edges close their sockets at once. The service's endpoints
// and the operator's revoke command share it. A Revoker is safe for
// concurrent use.
type Revoker struct {
	Users store.Users
	Deny  revocation.Denylist
	// OnRevoke, when set, is told the ids of the sessions just revoked;
	// see Config.OnRevoke.
	OnRevoke func(ctx context.Context, sessionIDs []string)
	Now      func() time.Time // time.Now when nil
}

// Session revokes session sid; revoking it again is harmless and
// announces it again. An unknown session wraps store.ErrNotFound.
func (r *Revoker) Session(ctx context.Context, sid string) error {
	sess, err := r.Users.Session(ctx, sid)
	if err != nil {
		return fmt.Errorf("finding session: %w", err)
	}
	return r.revoke(ctx, sess)
}

// revoke revokes sess, which the caller has just read from the store.
func (r *Revoker) revoke(ctx context.Context, sess store.Session) error {
	if err := r.Users.RevokeSession(ctx, sess.ID, r.now()); err != nil {
		return fmt.Errorf("revoking session: %w", err)
	}
	return r.deny(ctx, []store.Session{sess})
}

// User revokes every live session of user userID and returns their ids.
func (r *Revoker) User(ctx context.Context, userID int64) ([]string, error) {
	ids, err := r.Users.RevokeUserSessions(ctx, userID, r.now())
	if err != nil {
		return nil, fmt.Errorf("revoking sessions: %w", err)
	}
	sessions := make([]store.Session, 0, len(ids))
	for _, id := range ids {
		sess, err := r.Users.Session(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("finding revoked session: %w", err)
		}
		sessions = append(sessions, sess)
	}
	return ids, r.deny(ctx, sessions)
}

// ErrDenylist marks a failure of the denylist, which the service answers
// with 503 and the command reports as such.
var ErrDenylist = errors.New("denylist unavailable")

// deny puts sessions already revoked in the store on the denylist until
// the end of their maximum age plus the verifiers' clock-skew allowance:
// no token of a session is valid anywhere after that, so the entry is
// then useless and Redis drops it. Then it tells OnRevoke.
func (r *Revoker) deny(ctx context.Context, sessions []store.Session) error {
	ids := make([]string, 0, len(sessions))
	for _, sess := range sessions {
		err := r.Deny.RevokeSession(ctx, sess.ID, sess.ExpiresAt.Add(token.Leeway))
		if err != nil {
			return fmt.Errorf("adding session to the denylist: %w: %w", ErrDenylist, err)
		}
		ids = append(ids, sess.ID)
	}
	if r.OnRevoke != nil && len(ids) > 0 {
		r.OnRevoke(ctx, ids)
	}
	return nil
}

func (r *Revoker) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}
