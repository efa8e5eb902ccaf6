package auth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/pkg/testenv"
	"github.com/parley-chat/parley/pkg/token"
)

func TestVerify(t *testing.T) {
	e := newEnv(t, Config{})
	p := e.newUser("veri")
	w := e.do("POST", "/auth/jwt/verify/", map[string]string{"token": p.Access}, 200)
	wantJSON(t, w, `{}`)
	e.do("POST", "/auth/jwt/verify/", url.Values{"token": {p.Access}}, 200)

	wantDetail(t, e.do("POST", "/auth/jwt/verify/", map[string]string{"token": p.Refresh}, 401),
		401, "Error decoding signature.")
	wantDetail(t, e.do("POST", "/auth/jwt/verify/", map[string]string{"token": "abc"}, 401),
		401, "Error decoding signature.")
	wantJSON(t, e.do("POST", "/auth/jwt/verify/", `{}`, 400), `{"token":[`+quote(msgRequired)+`]}`)

	e.clock.Advance(6 * time.Minute)
	wantDetail(t, e.do("POST", "/auth/jwt/verify/", map[string]string{"token": p.Access}, 401),
		401, "Signature has expired.")
}

func TestRevoke(t *testing.T) {
	e := newEnv(t, Config{})
	p := e.newUser("leaver")
	other := e.login("leaver", "a-fine-Passphrase")

	w := e.do("POST", "/auth/jwt/revoke/", map[string]string{"refresh": p.Refresh}, 204)
	if c := cookie(w); c == nil || c.MaxAge >= 0 || c.Path != "/auth/jwt/refresh/" {
		t.Fatalf("revoke does not clear the refresh cookie: %+v", c)
	}
	wantDetail(t, e.refresh(p.Refresh, 401), 401, "Token has been revoked.")
	wantDetail(t, e.as(p.Access, "GET", "/auth/users/me/", 401), 401, "Token has been revoked.")
	wantDetail(t, e.do("POST", "/auth/jwt/verify/", map[string]string{"token": p.Access}, 401),
		401, "Token has been revoked.")

	// Another session of the same user is untouched; revoking it by
	// cookie works too, and revoking twice is harmless.
	e.as(other.Access, "GET", "/auth/users/me/", 200)
	for range 2 {
		r := request("POST", "/auth/jwt/revoke/", nil)
		r.AddCookie(&http.Cookie{Name: CookieName, Value: other.Refresh})
		if w := e.serve(r); w.Code != 204 {
			t.Fatalf("revoke by cookie = %d %s", w.Code, w.Body)
		}
	}
	wantDetail(t, e.as(other.Access, "GET", "/auth/users/me/", 401), 401, "Token has been revoked.")

	wantDetail(t, e.do("POST", "/auth/jwt/revoke/", map[string]string{"refresh": other.Access}, 401),
		401, "Error decoding signature.")
	wantJSON(t, e.do("POST", "/auth/jwt/revoke/", `{}`, 400), `{"refresh":[`+quote(msgRequired)+`]}`)
}

func TestRevokeAll(t *testing.T) {
	var mu sync.Mutex
	var announced []string
	e := newEnv(t, Config{OnRevoke: func(_ context.Context, ids []string) {
		mu.Lock()
		defer mu.Unlock()
		announced = append(announced, ids...)
	}})
	a := e.newUser("many")
	b := e.login("many", "a-fine-Passphrase")
	stranger := e.newUser("stranger")

	e.as(a.Access, "POST", "/auth/sessions/revoke-all/", 204)
	for _, p := range []pair{a, b} {
		wantDetail(t, e.as(p.Access, "GET", "/auth/users/me/", 401), 401, "Token has been revoked.")
		wantDetail(t, e.refresh(p.Refresh, 401), 401, "Token has been revoked.")
	}
	e.as(stranger.Access, "GET", "/auth/users/me/", 200)
	decodePair(t, e.refresh(stranger.Refresh, 200))

	mu.Lock()
	defer mu.Unlock()
	want := []string{sessionOf(t, e, a.Access), sessionOf(t, e, b.Access)}
	slices.Sort(want)
	slices.Sort(announced)
	if !slices.Equal(announced, want) {
		t.Fatalf("OnRevoke was told %q, want %q", announced, want)
	}
	e.do("POST", "/auth/sessions/revoke-all/", nil, 401)
}

func sessionOf(t *testing.T, e *env, access string) string {
	t.Helper()
	// The verifier alone does not consult the denylist.
	c, err := e.svc.Verifier().Verify(context.Background(), access, token.TypeAccess)
	if err != nil {
		t.Fatal(err)
	}
	return c.SessionID
}

func TestJWKSVerifiesIssuedToken(t *testing.T) {
	e := newEnv(t, Config{})
	p := e.newUser("keyed")
	srv := httptest.NewServer(e.h)
	t.Cleanup(srv.Close)

	resp, err := http.Get(srv.URL + "/auth/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("jwks.json = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	v := &token.Verifier{
		Keys:   &token.JWKSClient{URL: srv.URL + "/auth/jwks.json", HTTP: srv.Client()},
		Issuer: "parley", Audience: "parley", Now: e.clock.Now,
	}
	c, err := v.Verify(context.Background(), p.Access, token.TypeAccess)
	if err != nil || c.Username != "keyed" {
		t.Fatalf("verifying with the published keys: %+v, %v", c, err)
	}
}

// TestPostgres runs the main flow against PostgreSQL.
func TestPostgres(t *testing.T) {
	e := newEnvDB(t, Config{}, testenv.PostgresURL(t))
	e.signUp("Pat", "a-fine-Passphrase")
	wantJSON(t, e.do("POST", "/auth/users/", map[string]string{
		"username": "pAT", "password": "a-fine-Passphrase"}, 400),
		`{"username":["A user with that username already exists."]}`)
	wantJSON(t, e.serve(loginReq("pat", "wrong-Passphrase")), badCredentials)
	p0 := e.login("pat", "a-fine-Passphrase")
	e.as(p0.Access, "GET", "/auth/users/me/", 200)

	p1 := decodePair(t, e.refresh(p0.Refresh, 200))
	e.clock.Advance(2 * time.Second)
	if again := decodePair(t, e.refresh(p0.Refresh, 200)); again.Refresh != p1.Refresh {
		t.Fatal("within grace PostgreSQL gave another successor")
	}
	p2 := decodePair(t, e.refresh(p1.Refresh, 200))
	e.clock.Advance(time.Minute)
	wantDetail(t, e.refresh(p1.Refresh, 401), 401, "Token has been revoked.")
	wantDetail(t, e.refresh(p2.Refresh, 401), 401, "Token has been revoked.")
	wantDetail(t, e.as(p2.Access, "GET", "/auth/users/me/", 401), 401, "Token has been revoked.")

	p := e.login("PAT", "a-fine-Passphrase")
	e.do("POST", "/auth/jwt/revoke/", map[string]string{"refresh": p.Refresh}, 204)
	wantDetail(t, e.refresh(p.Refresh, 401), 401, "Token has been revoked.")
}

// FuzzRefresh posts arbitrary text as a refresh token and as a
// tutorial-style access token: neither may ever be a server error or
// a success.
func FuzzRefresh(f *testing.F) {
	for _, s := range []string{"", "a.b.c", "eyJhbGciOiJFZERTQSJ9.e30.", "{}", "\x00", "..", "a.b"} {
		f.Add(s)
	}
	e := newEnv(f, Config{})
	f.Fuzz(func(t *testing.T, raw string) {
		for _, field := range []string{"refresh", "token"} {
			w := e.serve(request("POST", "/auth/jwt/refresh/", map[string]string{field: raw}))
			if w.Code != 400 && w.Code != 401 {
				t.Fatalf("%s %q = %d %s", field, raw, w.Code, w.Body)
			}
		}
	})
}
