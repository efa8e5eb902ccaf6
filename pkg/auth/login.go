package auth

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/parley-chat/parley/pkg/rest"
	"github.com/parley-chat/parley/pkg/store"
	"github.com/parley-chat/parley/pkg/throttle"
	"github.com/parley-chat/parley/pkg/token"
)

// errBadCredentials is the one answer to every failed login, whether the
// user exists or not.
var errBadCredentials = &rest.Error{
	Status: http.StatusBadRequest,
	Fields: map[string][]string{"non_field_errors": {"Unable to log in with provided credentials."}},
}

// login serves POST /auth/jwt/create/.
func (s *Service) login(w http.ResponseWriter, r *http.Request) error {
	f, err := rest.ReadFields(w, r)
	if err != nil {
		return err
	}
	if err := required(f, "username", "password"); err != nil {
		return err
	}
	ctx := r.Context()
	keys := s.loginKeys(f["username"], r)
	if err := s.throttled(ctx, keys[:]); err != nil {
		return err
	}
	u, ok, err := s.checkPassword(ctx, f["username"], f["password"])
	if err != nil {
		return err
	}
	if !ok {
		return s.failed(ctx, keys)
	}
	if err := s.limiter.Reset(ctx, keys[0].key); err != nil {
		return unavailable("resetting login failures", err)
	}
	return s.startSession(w, r, u)
}

// required answers a 400 naming every missing field.
func required(f rest.Fields, names ...string) error {
	var errs rest.FieldErrors
	for _, n := range names {
		if f[n] == "" {
			errs.Add(n, msgRequired)
		}
	}
	return errs.Err()
}

// checkPassword reports whether password is username's. An unknown user
// costs one hash, like a known one, so that timing does not tell which
// usernames exist.
func (s *Service) checkPassword(ctx context.Context, username, pw string) (store.User, bool, error) {
	u, err := s.users.UserByUsername(ctx, username)
	hash := u.PasswordHash
	switch {
	case errors.Is(err, store.ErrNotFound):
		hash = s.hasher.Dummy()
	case err != nil:
		return store.User{}, false, fmt.Errorf("finding user: %w", err)
	}
	ok, err := s.hasher.Verify(ctx, pw, hash)
	if err != nil {
		return store.User{}, false, fmt.Errorf("verifying password of user %d: %w", u.ID, err)
	}
	return u, ok && u.ID != 0, nil
}

// startSession records a new login and answers with its first tokens.
func (s *Service) startSession(w http.ResponseWriter, r *http.Request, u store.User) error {
	now := s.now()
	sess := store.Session{
		ID: token.NewID(), UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(s.cfg.SessionMaxAge),
	}
	if err := s.users.CreateSession(r.Context(), sess); err != nil {
		return fmt.Errorf("creating session: %w", err)
	}
	refresh, rec, err := s.signRefresh(u.Username, sess, now)
	if err != nil {
		return err
	}
	if err := s.users.CreateRefreshToken(r.Context(), rec); err != nil {
		return fmt.Errorf("storing refresh token: %w", err)
	}
	return s.writeTokens(w, r, u.Username, sess, now, refresh, rec)
}

// limitKey is one count a login attempt is held to.
type limitKey struct {
	key  string
	rate throttle.Rate
}

// loginKeys are the counts of a login attempt: its username first, then
// its client address. Usernames are compared ignoring case, as the store
// does, so that changing case does not buy more guesses.
func (s *Service) loginKeys(username string, r *http.Request) [2]limitKey {
	return [2]limitKey{
		{"login:user:" + strings.ToLower(username), s.cfg.LoginPerUser},
		{"login:addr:" + s.clientAddr(r), s.cfg.LoginPerAddr},
	}
}

// throttled answers 429 when any of the counts is exhausted.
func (s *Service) throttled(ctx context.Context, keys []limitKey) error {
	var wait time.Duration
	for _, k := range keys {
		d, err := s.limiter.Wait(ctx, k.key, k.rate)
		if err != nil {
			return unavailable("checking login throttle", err)
		}
		wait = max(wait, d)
	}
	if wait > 0 {
		return rest.Throttled(int(math.Ceil(wait.Seconds())))
	}
	return nil
}

// failed counts a failed login against both keys and answers it.
func (s *Service) failed(ctx context.Context, keys [2]limitKey) error {
	for _, k := range keys {
		if err := s.limiter.Fail(ctx, k.key, k.rate); err != nil {
			return unavailable("recording login failure", err)
		}
	}
	return errBadCredentials
}

// clientAddr names the client of r for throttling. Behind trusted
// proxies it is the last X-Forwarded-For hop that is not one of them;
// anything a client writes further left is its own claim and ignored.
// IPv6 clients are counted per /64, the block one subscriber holds.
func (s *Service) clientAddr(r *http.Request) string {
	addr, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	a := addr.Addr().Unmap()
	if s.trusted(a) {
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break
			}
			if a = hop.Unmap(); !s.trusted(a) {
				break
			}
		}
	}
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

func (s *Service) trusted(a netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
