package auth

import (
	"errors"
	"fmt"
	"net/http"

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

// revoke serves POST /auth/jwt/revoke/ and <refresh path>revoke/: the
// session of the refresh token (field or cookie) ends, and the cookie is
// cleared. The second path exists for browsers, which send the cookie
// only below the refresh path.
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
	if err := s.revoker.revoke(ctx, sess); err != nil {
		return revokeError(err)
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
	if _, err := s.revoker.User(r.Context(), id.User.ID); err != nil {
		return revokeError(err)
	}
	http.SetCookie(w, s.refreshCookie(r, "", -1))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// revokeError answers a failed revocation: 503 when the denylist failed,
// which a retry can mend, and our own failure otherwise.
func revokeError(err error) error {
	if errors.Is(err, ErrDenylist) {
		return unavailable("revoking", err)
	}
	return err
}

// jwks serves GET /auth/jwks.json.
func (s *Service) jwks(w http.ResponseWriter, _ *http.Request) {
	// A minute of caching bounds how long a key added before use can go
	// unseen; verifiers refetch at once on an unknown kid anyway.
	w.Header().Set("Cache-Control", "public, max-age=60")
	rest.WriteJSON(w, http.StatusOK, s.keys.JWKS())
}
