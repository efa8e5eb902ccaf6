package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/parley-chat/parley/pkg/authn"
	"github.com/parley-chat/parley/pkg/rest"
	"github.com/parley-chat/parley/pkg/store"
	"github.com/parley-chat/parley/pkg/token"
)

// refresh serves POST <refresh path>: a refresh token (field or cookie)
// is rotated; a body with only an access token, as the original tutorial
// sends, gets a new access token of the same session.
func (s *Service) refresh(w http.ResponseWriter, r *http.Request) error {
	f, err := rest.ReadFields(w, r)
	if err != nil {
		return err
	}
	if f["refresh"] == "" && f["token"] != "" {
		return s.extend(w, r, f["token"])
	}
	raw := refreshToken(r, f)
	if raw == "" {
		return rest.FieldError("refresh", msgRequired)
	}
	return s.rotate(w, r, raw)
}

// rotate exchanges a refresh token for its successor and a new access
// token.
func (s *Service) rotate(w http.ResponseWriter, r *http.Request, raw string) error {
	ctx := r.Context()
	c, err := s.verifier.Verify(ctx, raw, token.TypeRefresh)
	if err != nil {
		return authn.HTTPError(err)
	}
	now := s.now()
	sess, err := s.liveSession(ctx, c, now)
	if err != nil {
		return err
	}
	next, err := s.successor(ctx, c, sess, now)
	if err != nil {
		return err
	}
	return s.writeTokens(w, r, c.Username, sess, now, next.token, next.RefreshToken)
}

// extend serves the tutorial-style refresh. It answers no refresh token:
// an access token, which scripts and logs see far more often, must not
// be worth more than its own few minutes plus this session's limits.
func (s *Service) extend(w http.ResponseWriter, r *http.Request, raw string) error {
	id, err := s.authn.Access(r.Context(), raw)
	if err != nil {
		return authn.HTTPError(err)
	}
	now := s.now()
	sess, err := s.liveSession(r.Context(), id.Claims, now)
	if err != nil {
		return err
	}
	access, err := s.signAccess(id.User.Username, sess, now, "")
	if err != nil {
		return err
	}
	rest.WriteJSON(w, http.StatusOK, tokens{Token: access, Access: access})
	return nil
}

// liveSession returns the session of c when it is neither revoked nor
// past its maximum age.
func (s *Service) liveSession(ctx context.Context, c *token.Claims, now time.Time) (
	store.Session, error) {
	revoked, err := s.deny.SessionRevoked(ctx, c.SessionID)
	if err != nil {
		return store.Session{}, unavailable("checking revocation", err)
	}
	if revoked {
		return store.Session{}, rest.ErrTokenRevoked
	}
	sess, err := s.users.Session(ctx, c.SessionID)
	switch {
	case errors.Is(err, store.ErrNotFound) || (err == nil && sess.UserID != c.UserID()):
		return store.Session{}, rest.ErrTokenInvalid
	case err != nil:
		return store.Session{}, fmt.Errorf("finding session: %w", err)
	case sess.RevokedAt != nil:
		return store.Session{}, rest.ErrTokenRevoked
	case !now.Before(sess.ExpiresAt):
		return store.Session{}, rest.ErrTokenExpired
	}
	return sess, nil
}

// signed is a refresh token with its record.
type signed struct {
	token string
	store.RefreshToken
}

// successor rotates the refresh token of c, or, when it was rotated
// already, answers as reuse demands. The denylist's atomic first use
// turns a replayed token away before it costs a database write; the
// database's conditional update is what finally decides between
// concurrent rotations.
func (s *Service) successor(ctx context.Context, c *token.Claims, sess store.Session,
	now time.Time) (signed, error) {
	first, err := s.deny.UseToken(ctx, c.ID, c.Expiry().Add(token.Leeway))
	if err != nil {
		return signed{}, unavailable("recording refresh token use", err)
	}
	if !first {
		old, err := s.refreshRecord(ctx, c.ID)
		if err != nil {
			return signed{}, err
		}
		// A use the database does not know of is a rotation that failed
		// half way, or one in flight now; the update below settles it.
		if old.UsedAt != nil {
			return s.reused(ctx, c, old, sess, now)
		}
	}
	next, err := s.rotateInDB(ctx, c, sess, now)
	if !errors.Is(err, store.ErrTokenUsed) {
		return next, err
	}
	old, err := s.refreshRecord(ctx, c.ID)
	if err != nil {
		return signed{}, err
	}
	return s.reused(ctx, c, old, sess, now)
}

// rotateInDB stores a new successor of c's token, or fails with
// store.ErrTokenUsed when c's token was rotated already.
func (s *Service) rotateInDB(ctx context.Context, c *token.Claims, sess store.Session,
	now time.Time) (signed, error) {
	tok, rec, err := s.signRefresh(c.Username, sess, now)
	if err != nil {
		return signed{}, err
	}
	err = s.users.RotateRefreshToken(ctx, c.ID, rec, now)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return signed{}, rest.ErrTokenInvalid
	case err != nil:
		return signed{}, fmt.Errorf("rotating refresh token: %w", err)
	}
	return signed{tok, rec}, nil
}

// refreshRecord finds a refresh token's record; a token we signed but
// never recorded is treated as forged.
func (s *Service) refreshRecord(ctx context.Context, jti string) (store.RefreshToken, error) {
	rec, err := s.users.RefreshToken(ctx, jti)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.RefreshToken{}, rest.ErrTokenInvalid
	case err != nil:
		return store.RefreshToken{}, fmt.Errorf("finding refresh token: %w", err)
	}
	return rec, nil
}

// reused answers a refresh token presented after its rotation. Within
// the grace window it gets the same successor again; after it, the
// token must have been copied, and the whole session is revoked so that
// neither the thief nor the owner can go on with it.
func (s *Service) reused(ctx context.Context, c *token.Claims, old store.RefreshToken,
	sess store.Session, now time.Time) (signed, error) {
	if old.UsedAt == nil || old.ReplacedBy == "" {
		return signed{}, fmt.Errorf("refresh token %s is marked used without a successor", old.ID)
	}
	if s.cfg.RefreshGrace > 0 && now.Sub(*old.UsedAt) <= s.cfg.RefreshGrace {
		next, err := s.refreshRecord(ctx, old.ReplacedBy)
		if err != nil {
			return signed{}, err
		}
		tok, err := s.resign(c.Username, next)
		return signed{tok, next}, err
	}
	s.log.Info("rotated refresh token presented again; revoking its session", "user", c.UserID())
	if err := s.revoker.revoke(ctx, sess); err != nil {
		return signed{}, revokeError(err)
	}
	return signed{}, rest.ErrTokenRevoked
}
