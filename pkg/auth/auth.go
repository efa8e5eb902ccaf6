// Package auth is Parley's auth service: sign-up, password login, access
// and refresh tokens with rotation and reuse detection, revocation, and
// the JSON Web Key Set, served under /auth/ as API.md describes. A
// Service is safe for concurrent use once New returns.
package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/parley-chat/parley/pkg/authn"
	"github.com/parley-chat/parley/pkg/metrics"
	"github.com/parley-chat/parley/pkg/password"
	"github.com/parley-chat/parley/pkg/rest"
	"github.com/parley-chat/parley/pkg/revocation"
	"github.com/parley-chat/parley/pkg/store"
	"github.com/parley-chat/parley/pkg/throttle"
	"github.com/parley-chat/parley/pkg/token"
)

// DefaultRefreshPath is where refresh tokens are exchanged unless
// Config.RefreshPath names another path.
const DefaultRefreshPath = "/auth/jwt/refresh/"

// Config configures a Service; the zero value of each field means its
// default.
type Config struct {
	AccessTTL     time.Duration // 5m
	RefreshTTL    time.Duration // 168h
	SessionMaxAge time.Duration // 168h: no token of a login outlives this
	RefreshPath   string        // DefaultRefreshPath; must lie under /auth/
	// RefreshGrace is how long a rotated refresh token may be presented
	// again and get the same successor, so that two tabs refreshing at
	// once do not sign the user out. 10s, or half of AccessTTL when that
	// is shorter, since a grace answer repeats an access token that must
	// still be valid; negative means no grace.
	RefreshGrace time.Duration
	Issuer       string // token.DefaultIssuer
	Audience     string // token.DefaultAudience

	// LoginPerUser and LoginPerAddr limit failed logins per username and
	// per client address: 5 then one a minute, and 20 then one each 10s.
	LoginPerUser throttle.Rate
	LoginPerAddr throttle.Rate
	// SignUpPerAddr limits sign-ups per client address: 100, then one
	// a second, enough for a load test's users and too few for a flood
	// of expensive password hashes to starve logins for long.
	SignUpPerAddr throttle.Rate
	// Limiter counts failed logins; nil counts them in this process,
	// which lets each replica allow its own share.
	Limiter throttle.Limiter
	// TrustedProxies are the load balancers whose X-Forwarded-For names
	// the client; without them the peer address is the client.
	TrustedProxies []netip.Prefix

	// Password sets the hashing costs; zero means password.Default.
	Password password.Params
	// OnRevoke, when set, is told the ids of sessions just revoked, so
	// that the caller can announce them and edges close their sockets
	// at once rather than at their next denylist check. It is called in
	// the revoking request and should not block.
	OnRevoke func(ctx context.Context, sessionIDs []string)
	// Now replaces time.Now, for tests.
	Now func() time.Time
}

// Validate fills in defaults and reports the first bad setting.
func (c *Config) Validate() error {
	c.defaults()
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"AccessTTL", c.AccessTTL}, {"RefreshTTL", c.RefreshTTL}, {"SessionMaxAge", c.SessionMaxAge}} {
		if d.v < time.Second {
			return fmt.Errorf("auth: %s %v is shorter than a second", d.name, d.v)
		}
	}
	if c.RefreshGrace >= c.AccessTTL {
		// A grace answer repeats the first answer's access token, which
		// must still be valid when it is repeated.
		return fmt.Errorf("auth: RefreshGrace %v must be shorter than AccessTTL %v",
			c.RefreshGrace, c.AccessTTL)
	}
	if err := c.LoginPerUser.Check(); err != nil {
		return fmt.Errorf("auth: LoginPerUser: %w", err)
	}
	if err := c.LoginPerAddr.Check(); err != nil {
		return fmt.Errorf("auth: LoginPerAddr: %w", err)
	}
	if err := c.SignUpPerAddr.Check(); err != nil {
		return fmt.Errorf("auth: SignUpPerAddr: %w", err)
	}
	return c.checkRefreshPath()
}

func (c *Config) defaults() {
	setDefault(&c.AccessTTL, 5*time.Minute)
	setDefault(&c.RefreshTTL, 168*time.Hour)
	setDefault(&c.SessionMaxAge, 168*time.Hour)
	setDefault(&c.RefreshGrace, min(10*time.Second, c.AccessTTL/2))
	setDefault(&c.RefreshPath, DefaultRefreshPath)
	setDefault(&c.Issuer, token.DefaultIssuer)
	setDefault(&c.Audience, token.DefaultAudience)
	setDefault(&c.LoginPerUser, throttle.Rate{Burst: 5, Every: time.Minute})
	setDefault(&c.LoginPerAddr, throttle.Rate{Burst: 20, Every: 10 * time.Second})
	setDefault(&c.SignUpPerAddr, throttle.Rate{Burst: 100, Every: time.Second})
	if c.Now == nil {
		c.Now = time.Now
	}
	if !strings.HasSuffix(c.RefreshPath, "/") {
		c.RefreshPath += "/"
	}
}

func setDefault[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

// fixedPaths are the routes other than the refresh path.
var fixedPaths = []string{
	"/auth/users/", "/auth/users/create/", "/auth/users/me/", "/auth/jwt/create/",
	"/auth/jwt/verify/", "/auth/jwt/revoke/", "/auth/sessions/revoke-all/",
}

// checkRefreshPath keeps the refresh path under /auth/, which is all a
// load balancer sends to this service, and it and the revoke path below
// it (<refresh path>revoke/) apart from the other routes.
func (c *Config) checkRefreshPath() error {
	p := c.RefreshPath
	switch {
	case !strings.HasPrefix(p, "/auth/") || p == "/auth/":
		return fmt.Errorf("auth: RefreshPath %q must lie under /auth/", p)
	case strings.ContainsAny(p, "{}?#%; \t") || strings.Contains(p, "//"):
		return fmt.Errorf("auth: RefreshPath %q is not a plain path", p)
	case slices.Contains(fixedPaths, p) || slices.Contains(fixedPaths, p+"revoke/"):
		return fmt.Errorf("auth: RefreshPath %q or its revoke path is taken by another route", p)
	}
	return nil
}

// Service is the auth service.
type Service struct {
	cfg      Config
	users    store.Users
	deny     revocation.Denylist
	keys     *token.KeySet
	issuer   *token.Issuer
	verifier *token.Verifier
	authn    *authn.Authenticator
	hasher   *password.Hasher
	limiter  throttle.Limiter
	revoker  *Revoker
	log      *slog.Logger
	handler  http.Handler
}

// New returns a Service that keeps users and sessions in users, records
// revocations in deny and signs with keys.
func New(cfg Config, users store.Users, deny revocation.Denylist, keys *token.KeySet,
	log *slog.Logger) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if users == nil || deny == nil || keys == nil || log == nil {
		return nil, errors.New("auth: users, denylist, keys and logger are all required")
	}
	hasher, err := password.NewHasher(cfg.Password)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	s := &Service{cfg: cfg, users: users, deny: deny, keys: keys, hasher: hasher, log: log}
	s.issuer = &token.Issuer{Keys: keys, Issuer: cfg.Issuer, Audience: cfg.Audience, Now: cfg.Now}
	s.verifier = &token.Verifier{Keys: keys, Issuer: cfg.Issuer, Audience: cfg.Audience, Now: cfg.Now}
	s.authn = &authn.Authenticator{Verifier: s.verifier, Denylist: deny}
	s.revoker = &Revoker{Users: users, Deny: deny, OnRevoke: cfg.OnRevoke, Now: s.now}
	s.limiter = cfg.Limiter
	if s.limiter == nil {
		s.limiter = throttle.NewMemory()
	}
	s.handler = s.routes()
	return s, nil
}

// Handler serves every /auth/ route.
func (s *Service) Handler() http.Handler { return s.handler }

// Authenticator verifies access tokens with this service's keys and
// denylist, for services running in the same process.
func (s *Service) Authenticator() *authn.Authenticator { return s.authn }

// Verifier verifies tokens with this service's keys, issuer and audience.
func (s *Service) Verifier() *token.Verifier { return s.verifier }

func (s *Service) routes() http.Handler {
	rt := rest.NewRouter()
	rt.Handle("POST", "/auth/users/", s.serve(s.signUp))
	rt.Handle("POST", "/auth/users/create/", s.serve(s.signUp))
	rt.Handle("GET", "/auth/users/me/", s.serve(s.me))
	rt.Handle("POST", "/auth/jwt/create/", s.serve(counted(metrics.AuthLogins, s.login)))
	rt.Handle("POST", s.cfg.RefreshPath, s.serve(counted(metrics.AuthRefreshes, s.refresh)))
	rt.Handle("POST", "/auth/jwt/verify/", s.serve(s.verify))
	rt.Handle("POST", "/auth/jwt/revoke/", s.serve(counted(metrics.AuthRevocations, s.revoke)))
	rt.Handle("POST", s.cfg.RefreshPath+"revoke/", s.serve(counted(metrics.AuthRevocations, s.revoke)))
	rt.Handle("POST", "/auth/sessions/revoke-all/", s.serve(counted(metrics.AuthRevocations, s.revokeAll)))
	rt.Handle("GET", "/auth/jwks.json", http.HandlerFunc(s.jwks))
	return rt
}

// serve adapts a handler that returns its error. Answers of the
// contract's table go to the client as they are; anything else is our
// own failure, logged here and answered with a bare 500 or 503.
func (s *Service) serve(h func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Answers carry tokens or personal data: no cache may keep them.
		w.Header().Set("Cache-Control", "no-store")
		err := h(w, r)
		if err == nil {
			return
		}
		var e *rest.Error
		if !errors.As(err, &e) || e.Status >= 500 {
			s.log.Error("auth request failed", "err", err)
		}
		rest.WriteError(w, err)
	})
}

// unavailable marks err, a failure of the denylist or the limiter, as
// the contract's 503 while keeping its cause for the log.
func unavailable(what string, err error) error {
	return fmt.Errorf("%s: %w: %w", what, rest.ErrUnavailable, err)
}

// now is the request's time, in whole seconds as tokens carry it, so
// that what is stored and what is signed agree exactly.
func (s *Service) now() time.Time {
	return s.cfg.Now().Truncate(time.Second)
}
