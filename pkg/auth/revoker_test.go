package auth

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/parley-chat/parley/pkg/revocation"
	"github.com/parley-chat/parley/pkg/store"
	"github.com/parley-chat/parley/pkg/testenv"
	"github.com/parley-chat/parley/pkg/token"
)

// announcements records what OnRevoke is told.
type announcements struct {
	mu  sync.Mutex
	ids []string
}

func (a *announcements) record(_ context.Context, ids []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ids = append(a.ids, ids...)
}

func (a *announcements) got() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.ids)
}

func TestRevokeByCookieBelowRefreshPath(t *testing.T) {
	e := newEnv(t, Config{RefreshPath: "/auth/hidden/renew/"})
	e.signUp("browser", "a-fine-Passphrase")
	c := cookie(e.serve(loginReq("browser", "a-fine-Passphrase")))
	if c == nil || c.Path != "/auth/hidden/renew/" {
		t.Fatalf("login cookie %+v", c)
	}

	// A browser sends the cookie to every path below its Path, and the
	// revoke path lies there; the old default path does not exist.
	unknown := e.serve(request("POST", "/auth/no-such-thing/", nil))
	for _, path := range []string{"/auth/jwt/refresh/revoke/", "/auth/jwt/refresh/"} {
		r := request("POST", path, nil)
		r.AddCookie(c)
		if w := e.serve(r); w.Code != 404 || w.Body.String() != unknown.Body.String() {
			t.Fatalf("POST %s = %d %s, want the unknown path's 404", path, w.Code, w.Body)
		}
	}
	r := request("POST", "/auth/hidden/renew/revoke/", nil)
	r.AddCookie(c)
	w := e.serve(r)
	if w.Code != 204 {
		t.Fatalf("revoke by cookie = %d %s", w.Code, w.Body)
	}
	if cleared := cookie(w); cleared == nil || cleared.MaxAge >= 0 || cleared.Path != c.Path {
		t.Fatalf("revoke did not clear the cookie: %+v", cleared)
	}
	r = request("POST", "/auth/hidden/renew/", nil)
	r.AddCookie(c)
	wantDetail(t, e.serve(r), 401, "Token has been revoked.")

	// The body field works at both revoke paths, as the contract says.
	for _, path := range []string{"/auth/hidden/renew/revoke/", "/auth/jwt/revoke/"} {
		p := e.login("browser", "a-fine-Passphrase")
		e.do("POST", path, map[string]string{"refresh": p.Refresh}, 204)
		wantDetail(t, e.as(p.Access, "GET", "/auth/users/me/", 401), 401, "Token has been revoked.")
	}
}

func TestRefreshPathMayNotHideAnotherRoute(t *testing.T) {
	c := Config{RefreshPath: "/auth/jwt/"}
	if err := c.Validate(); err == nil {
		t.Fatal("a refresh path whose revoke path is /auth/jwt/revoke/ was accepted")
	}
}

func TestReuseAnnouncesTheSession(t *testing.T) {
	var a announcements
	e := newEnv(t, Config{OnRevoke: a.record})
	p0 := e.newUser("copied")
	decodePair(t, e.refresh(p0.Refresh, 200))
	e.clock.Advance(11 * time.Second)
	wantDetail(t, e.refresh(p0.Refresh, 401), 401, "Token has been revoked.")
	if got, want := a.got(), []string{sessionOf(t, e, p0.Access)}; !slices.Equal(got, want) {
		t.Fatalf("OnRevoke was told %q, want %q", got, want)
	}
}

func TestRevokerOutsideTheService(t *testing.T) {
	var a announcements
	e := newEnv(t, Config{})
	p := e.newUser("operator")
	sid := sessionOf(t, e, p.Access)
	rv := &Revoker{Users: e.svc.users, Deny: e.deny, OnRevoke: a.record}

	if err := rv.Session(t.Context(), "no-such-session"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoking an unknown session: %v", err)
	}
	if err := rv.Session(t.Context(), sid); err != nil {
		t.Fatal(err)
	}
	wantDetail(t, e.as(p.Access, "GET", "/auth/users/me/", 401), 401, "Token has been revoked.")
	wantDetail(t, e.refresh(p.Refresh, 401), 401, "Token has been revoked.")

	b, c := e.login("operator", "a-fine-Passphrase"), e.login("operator", "a-fine-Passphrase")
	u, err := e.svc.users.UserByUsername(t.Context(), "operator")
	if err != nil {
		t.Fatal(err)
	}
	ids, err := rv.User(t.Context(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{sessionOf(t, e, b.Access), sessionOf(t, e, c.Access)}
	slices.Sort(ids)
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Fatalf("User revoked %q, want %q", ids, want)
	}
	for _, q := range []pair{b, c} {
		wantDetail(t, e.as(q.Access, "GET", "/auth/users/me/", 401), 401, "Token has been revoked.")
	}
	if got := a.got(); len(got) != 3 || got[0] != sid {
		t.Fatalf("OnRevoke was told %q, want %s then the other two", got, sid)
	}
}

// TestDenylistEntriesExpireWithWhatTheyBlock checks, in Redis, that each
// revoked session is kept exactly until its own maximum age runs out,
// and each used refresh token until it would have expired, both plus
// the verifiers' clock-skew allowance.
func TestDenylistEntriesExpireWithWhatTheyBlock(t *testing.T) {
	opts, err := redis.ParseURL(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	rc := redis.NewClient(opts)
	prefix := "parley-test:" + testenv.Suffix() + ":"
	t.Cleanup(func() {
		if keys, _ := rc.Keys(context.Background(), prefix+"*").Result(); len(keys) > 0 {
			rc.Del(context.Background(), keys...)
		}
		_ = rc.Close()
	})
	e := newEnvDeny(t, Config{}, filepath.Join(t.TempDir(), "parley.db"), revocation.NewRedis(rc, prefix))
	start := time.Now()

	// Two logins an hour apart (by the service's clock) end an hour apart.
	first := e.newUser("ttl")
	firstSID := sessionOf(t, e, first.Access)
	e.clock.Advance(time.Hour)
	second := e.login("ttl", "a-fine-Passphrase")
	secondSID := sessionOf(t, e, second.Access)
	e.clock.Advance(time.Minute)
	next := decodePair(t, e.refresh(second.Refresh, 200))
	rc2, err := e.svc.Verifier().Verify(t.Context(), second.Refresh, token.TypeRefresh)
	if err != nil {
		t.Fatal(err)
	}
	e.as(next.Access, "POST", "/auth/sessions/revoke-all/", 204)

	elapsed := time.Since(start)
	wantPTTL(t, rc, prefix+"revoked:sid:"+firstSID, 168*time.Hour+token.Leeway-elapsed)
	wantPTTL(t, rc, prefix+"revoked:sid:"+secondSID, 169*time.Hour+token.Leeway-elapsed)
	// The used token was issued an hour in, for 168 hours.
	wantPTTL(t, rc, prefix+"used:jti:"+rc2.ID, 169*time.Hour+token.Leeway-elapsed)
}

// wantPTTL checks that key expires in want, give or take two seconds:
// tokens carry whole seconds.
func wantPTTL(t *testing.T, rc *redis.Client, key string, want time.Duration) {
	t.Helper()
	got, err := rc.PTTL(context.Background(), key).Result()
	if err != nil || got < want-2*time.Second || got > want+2*time.Second {
		t.Fatalf("PTTL(%s) = %v, %v; want %v", key, got, err, want)
	}
}

func TestRevokeAllClearsTheCookie(t *testing.T) {
	e := newEnv(t, Config{})
	p := e.newUser("everywhere")
	w := e.as(p.Access, "POST", "/auth/sessions/revoke-all/", 204)
	if c := cookie(w); c == nil || c.MaxAge >= 0 || c.Path != DefaultRefreshPath {
		t.Fatalf("revoke-all left the refresh cookie: %+v", c)
	}
}
