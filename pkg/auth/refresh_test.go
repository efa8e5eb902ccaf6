package auth

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/pkg/token"
)

// newUser signs up a user and logs in once.
func (e *env) newUser(username string) pair {
	e.t.Helper()
	e.signUp(username, "a-fine-Passphrase")
	return e.login(username, "a-fine-Passphrase")
}

func TestRefreshRotates(t *testing.T) {
	e := newEnv(t, Config{})
	p0 := e.newUser("rota")
	e.clock.Advance(time.Second)

	p1 := decodePair(t, e.refresh(p0.Refresh, 200))
	if p1.Refresh == p0.Refresh || p1.Access == p0.Access {
		t.Fatal("refresh did not issue new tokens")
	}
	e.as(p1.Access, "GET", "/auth/users/me/", 200)
	e.clock.Advance(time.Minute)
	p2 := decodePair(t, e.refresh(p1.Refresh, 200))

	c0, _ := e.svc.Verifier().Verify(context.Background(), p0.Refresh, token.TypeRefresh)
	c2, err := e.svc.Verifier().Verify(context.Background(), p2.Refresh, token.TypeRefresh)
	if err != nil || c0 == nil || c2.SessionID != c0.SessionID || c2.ID == c0.ID {
		t.Fatalf("rotated token is not a new token of the same session: %v", err)
	}
}

func TestRefreshRefusesOtherTokens(t *testing.T) {
	e := newEnv(t, Config{})
	p := e.newUser("picky")
	wantDetail(t, e.refresh(p.Access, 401), 401, "Error decoding signature.")
	wantDetail(t, e.refresh("not.a.token", 401), 401, "Error decoding signature.")
	w := e.do("POST", "/auth/jwt/refresh/", `{}`, 400)
	wantJSON(t, w, `{"refresh":[`+quote(msgRequired)+`]}`)

	e.clock.Advance(169 * time.Hour)
	wantDetail(t, e.refresh(p.Refresh, 401), 401, "Signature has expired.")
}

func TestRefreshReuseOutsideGraceRevokesSession(t *testing.T) {
	e := newEnv(t, Config{})
	p0 := e.newUser("victim")
	p1 := decodePair(t, e.refresh(p0.Refresh, 200))
	e.clock.Advance(11 * time.Second)

	wantDetail(t, e.refresh(p0.Refresh, 401), 401, "Token has been revoked.")
	wantDetail(t, e.refresh(p1.Refresh, 401), 401, "Token has been revoked.")
	wantDetail(t, e.as(p1.Access, "GET", "/auth/users/me/", 401), 401, "Token has been revoked.")
	wantDetail(t, e.as(p0.Access, "GET", "/auth/users/me/", 401), 401, "Token has been revoked.")

	// The user can still log in again: only that session ended.
	p := e.login("victim", "a-fine-Passphrase")
	e.as(p.Access, "GET", "/auth/users/me/", 200)
}

func TestRefreshReuseWithinGraceReturnsSameSuccessor(t *testing.T) {
	e := newEnv(t, Config{})
	p0 := e.newUser("twotabs")
	p1 := decodePair(t, e.refresh(p0.Refresh, 200))
	e.clock.Advance(5 * time.Second)

	w := e.refresh(p0.Refresh, 200)
	again := decodePair(t, w)
	if again != p1 {
		t.Fatal("a refresh within the grace window got another pair")
	}
	if c := cookie(w); c == nil || c.Value != p1.Refresh {
		t.Fatal("the grace answer does not set the successor as the cookie")
	}
	e.as(again.Access, "GET", "/auth/users/me/", 200)
	decodePair(t, e.refresh(p1.Refresh, 200))
}

func TestConcurrentRefreshesAgree(t *testing.T) {
	e := newEnv(t, Config{})
	p0 := e.newUser("racer")
	const n = 8
	var wg sync.WaitGroup
	results := make([]pair, n)
	for i := range n {
		wg.Go(func() {
			w := e.serve(request("POST", "/auth/jwt/refresh/", map[string]string{"refresh": p0.Refresh}))
			if w.Code != 200 {
				t.Errorf("concurrent refresh = %d %s", w.Code, w.Body)
				return
			}
			results[i] = decodePair(t, w)
		})
	}
	wg.Wait()
	for _, r := range results[1:] {
		if r != results[0] {
			t.Fatal("concurrent refreshes of one token got different pairs")
		}
	}
}

func TestTutorialRefresh(t *testing.T) {
	e := newEnv(t, Config{SessionMaxAge: 10 * time.Minute})
	p := e.newUser("tutor")
	access := p.Access
	for range 2 {
		e.clock.Advance(4 * time.Minute)
		w := e.do("POST", "/auth/jwt/refresh/", map[string]string{"token": access}, 200)
		got := decode(t, w)
		if _, ok := got["refresh"]; ok || got["token"] != got["access"] || cookie(w) != nil {
			t.Fatalf("tutorial refresh answered %s", w.Body)
		}
		access = got["token"].(string)
		e.as(access, "GET", "/auth/users/me/", 200)
	}
	c, err := e.svc.Verifier().Verify(context.Background(), access, token.TypeAccess)
	if err != nil || !c.Expiry().Equal(c.IssuedAt.Add(2*time.Minute)) {
		t.Fatalf("an access token outlives its session: %+v, %v", c, err)
	}

	// Past the session's maximum age, though within the verifiers'
	// clock-skew allowance, the last access token is refused.
	e.clock.Advance(2*time.Minute + 10*time.Second)
	wantDetail(t, e.do("POST", "/auth/jwt/refresh/", map[string]string{"token": access}, 401),
		401, "Signature has expired.")
}

func TestTutorialRefreshOfRevokedSession(t *testing.T) {
	e := newEnv(t, Config{})
	p := e.newUser("tutee")
	e.do("POST", "/auth/jwt/revoke/", map[string]string{"refresh": p.Refresh}, 204)
	wantDetail(t, e.do("POST", "/auth/jwt/refresh/", map[string]string{"token": p.Access}, 401),
		401, "Token has been revoked.")
	wantDetail(t, e.do("POST", "/auth/jwt/refresh/", map[string]string{"token": p.Refresh}, 401),
		401, "Error decoding signature.")
}

func TestCustomRefreshPath(t *testing.T) {
	e := newEnv(t, Config{RefreshPath: "/auth/token/refresh"})
	p := e.newUser("custom")
	unknown := e.serve(request("POST", "/auth/no-such-thing/", map[string]string{"refresh": p.Refresh}))
	for _, path := range []string{"/auth/jwt/refresh/", "/auth/jwt/refresh"} {
		w := e.serve(request("POST", path, map[string]string{"refresh": p.Refresh}))
		if w.Code != 404 || w.Body.String() != unknown.Body.String() ||
			w.Header().Get("Content-Type") != unknown.Header().Get("Content-Type") {
			t.Fatalf("POST %s = %d %s, want the unknown path's 404 %s", path, w.Code, w.Body, unknown.Body)
		}
	}
	w := e.do("POST", "/auth/token/refresh", map[string]string{"refresh": p.Refresh}, 200)
	if c := cookie(w); c == nil || c.Path != "/auth/token/refresh/" {
		t.Fatalf("refresh cookie %v is not bound to the custom path", c)
	}
}

func TestRefreshCookie(t *testing.T) {
	e := newEnv(t, Config{})
	e.signUp("crumb", "a-fine-Passphrase")
	w := e.serve(loginReq("crumb", "a-fine-Passphrase"))
	p := decodePair(t, w)
	c := cookie(w)
	if c == nil || c.Value != p.Refresh || !c.HttpOnly || !c.Secure ||
		c.SameSite != http.SameSiteStrictMode || c.Path != "/auth/jwt/refresh/" ||
		c.MaxAge != int((168*time.Hour).Seconds()) {
		t.Fatalf("login cookie = %+v", c)
	}

	// The cookie alone refreshes, and the refresh sets the successor.
	r := request("POST", "/auth/jwt/refresh/", nil)
	r.AddCookie(&http.Cookie{Name: CookieName, Value: p.Refresh})
	w = e.serve(r)
	p1 := decodePair(t, w)
	if c := cookie(w); w.Code != 200 || c == nil || c.Value != p1.Refresh {
		t.Fatalf("refresh by cookie = %d, cookie %v", w.Code, c)
	}

	// A body field wins over the cookie, whichever of them is good.
	r = request("POST", "/auth/jwt/refresh/", map[string]string{"refresh": p1.Refresh})
	r.AddCookie(&http.Cookie{Name: CookieName, Value: "garbage"})
	p2 := decodePair(t, e.serve(r))
	r = request("POST", "/auth/jwt/refresh/", map[string]string{"refresh": "garbage"})
	r.AddCookie(&http.Cookie{Name: CookieName, Value: p2.Refresh})
	wantDetail(t, e.serve(r), 401, "Error decoding signature.")
}

func TestRefreshCookieSecureExceptLocalHTTP(t *testing.T) {
	e := newEnv(t, Config{})
	e.signUp("local", "a-fine-Passphrase")
	for host, secure := range map[string]bool{
		"localhost:8000": false, "127.0.0.1:8000": false, "[::1]:8000": false, "localhost": false,
		"[::1]": false, "parley.example:8000": true, "localhost.example": true, "127.0.0.2": true,
	} {
		r := loginReq("local", "a-fine-Passphrase")
		r.Host = host
		c := cookie(e.serve(r))
		if c == nil || c.Secure != secure {
			t.Errorf("cookie for plain http to %s: %+v, want Secure %v", host, c, secure)
		}
	}
	r := loginReq("local", "a-fine-Passphrase")
	r.Host = "localhost:8443"
	r.TLS = &tls.ConnectionState{}
	if c := cookie(e.serve(r)); c == nil || !c.Secure {
		t.Errorf("cookie over https to localhost is not Secure: %+v", c)
	}
}

func TestRefreshFormEncoded(t *testing.T) {
	e := newEnv(t, Config{})
	p := e.newUser("former")
	w := e.do("POST", "/auth/jwt/refresh/", url.Values{"refresh": {p.Refresh}}, 200)
	p1 := decodePair(t, w)
	w = e.do("POST", "/auth/jwt/refresh/", url.Values{"token": {p1.Access}}, 200)
	if !strings.Contains(w.Body.String(), `"token"`) {
		t.Fatalf("form tutorial refresh answered %s", w.Body)
	}
}
