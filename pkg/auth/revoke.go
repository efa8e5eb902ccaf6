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

// verify serves POST /auth/jwt/verify/: 200 {} for a valid access token
// of a live session, otherwise the contract's 401.
func (s *Service) verify(w http.ResponseWriter, r *http.Request) error {
	f, err := rest.ReadFields(w, r)
	if err != nil {
		return err
	}
	if err := required(f, "token"); err != nil {
		return err
	}
	if _, err := s.authn.Access(r.Context(), f["token"]); err != nil {
		return authn.HTTPError(err)
	}
	rest.WriteJSON(w, http.StatusOK, struct{}{})
	return nil
}

// revoke serves POST /auth/jwt/revoke/: the session of the refresh token
// (field or cookie) ends, and the cookie is cleared.
func (s *Service) revoke(w http.ResponseWriter, r *http.Request) error {
	f, err := rest.ReadFields(w, r)
	if err != nil {
		return err
	}
	raw := refreshToken(r, f)
	if raw == "" {
		return rest.FieldError("refresh", msgRequired)
	}
	ctx := r.Context()
	c, err := s.verifier.Verify(ctx, raw, token.TypeRefresh)
	if err != nil {
		return authn.HTTPError(err)
	}
	sess, err := s.users.Session(ctx, c.SessionID)
	switch {
	case errors.Is(err, store.ErrNotFound) || (err == nil && sess.UserID != c.UserID()):
		return rest.ErrTokenInvalid
	case err != nil:
		return fmt.Errorf("finding session: %w", err)
	}
	if err := s.users.RevokeSession(ctx, sess.ID, s.now()); err != nil {
		return fmt.Errorf("revoking session: %w", err)
	}
	if err := s.denySessions(ctx, []string{sess.ID}, sess.ExpiresAt); err != nil {
		return err
	}
	http.SetCookie(w, s.refreshCookie(r, "", -1))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// revokeAll serves POST /auth/sessions/revoke-all/: every session of the
// caller ends, the caller's own included.
func (s *Service) revokeAll(w http.ResponseWriter, r *http.Request) error {
	id, err := s.authn.Request(r)
	if err != nil {
		return err
	}
	now := s.now()
	ids, err := s.users.RevokeUserSessions(r.Context(), id.User.ID, now)
	if err != nil {
		return fmt.Errorf("revoking sessions: %w", err)
	}
	// No session began after now, so none outlives now plus the maximum
	// age; that bounds how long the denylist must hold them.
	if err := s.denySessions(r.Context(), ids, now.Add(s.cfg.SessionMaxAge)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// denySessions puts sessions already revoked in the database on the
// denylist until their tokens could no longer verify, then tells
// OnRevoke. The database alone already stops refreshes; the denylist is
// what stops the access tokens that are still out.
func (s *Service) denySessions(ctx context.Context, ids []string, end time.Time) error {
	for _, id := range ids {
		if err := s.deny.RevokeSession(ctx, id, end.Add(token.Leeway)); err != nil {
			return unavailable("adding session to the denylist", err)
		}
	}
	if s.cfg.OnRevoke != nil && len(ids) > 0 {
		s.cfg.OnRevoke(ctx, ids)
	}
	return nil
}

// jwks serves GET /auth/jwks.json.
func (s *Service) jwks(w http.ResponseWriter, _ *http.Request) {
	// A minute of caching bounds how long a key added before use can go
	// unseen; verifiers refetch at once on an unknown kid anyway.
	w.Header().Set("Cache-Control", "public, max-age=60")
	rest.WriteJSON(w, http.StatusOK, s.keys.JWKS())
}
