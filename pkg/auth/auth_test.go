package auth

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/pkg/password"
	"github.com/parley-chat/parley/pkg/revocation"
	"github.com/parley-chat/parley/pkg/store"
	"github.com/parley-chat/parley/pkg/throttle"
	"github.com/parley-chat/parley/pkg/token"
)

// clock is a settable time shared by the service and its tokens.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is one auth service over a real store, driven through Handler.
type env struct {
	t     testing.TB
	svc   *Service
	h     http.Handler
	clock *clock
	deny  revocation.Denylist
	keys  *token.KeySet
}

// newEnv starts a service over a fresh SQLite database; cfg's zero
// fields take the defaults, except that hashing is cheap and the clock
// is the env's.
func newEnv(t testing.TB, cfg Config) *env {
	t.Helper()
	return newEnvDB(t, cfg, filepath.Join(t.TempDir(), "parley.db"))
}

func newEnvDB(t testing.TB, cfg Config, dsn string) *env {
	t.Helper()
	return newEnvDeny(t, cfg, dsn, revocation.NewMemory())
}

// newEnvDeny is newEnvDB with the given denylist.
func newEnvDeny(t testing.TB, cfg Config, dsn string, deny revocation.Denylist) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	key, err := token.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := token.NewKeySet([]token.Key{key})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, clock: &clock{t: time.Now()}, deny: deny, keys: keys}
	if cfg.Password == (password.Params{}) {
		cfg.Password = password.Cheap
	}
	cfg.Now = e.clock.Now
	e.svc, err = New(cfg, db, e.deny, keys, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	e.h = e.svc.Handler()
	return e
}

// request builds a request; a body of type url.Values is sent as a form,
// a string as JSON text, anything else encoded as JSON.
func request(method, path string, body any) *http.Request {
	var r *http.Request
	switch b := body.(type) {
	case nil:
		r = httptest.NewRequest(method, path, nil)
	case url.Values:
		r = httptest.NewRequest(method, path, strings.NewReader(b.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	case string:
		r = httptest.NewRequest(method, path, strings.NewReader(b))
		r.Header.Set("Content-Type", "application/json")
	default:
		data, _ := json.Marshal(b)
		r = httptest.NewRequest(method, path, strings.NewReader(string(data)))
		r.Header.Set("Content-Type", "application/json")
	}
	return r
}

// serve runs r through the handler.
func (e *env) serve(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

// do sends a request and checks its status.
func (e *env) do(method, path string, body any, want int) *httptest.ResponseRecorder {
	e.t.Helper()
	w := e.serve(request(method, path, body))
	if w.Code != want {
		e.t.Fatalf("%s %s = %d %s, want %d", method, path, w.Code, w.Body, want)
	}
	return w
}

// as sends an authenticated request and checks its status.
func (e *env) as(access, method, path string, want int) *httptest.ResponseRecorder {
	e.t.Helper()
	r := request(method, path, nil)
	r.Header.Set("Authorization", "JWT "+access)
	w := e.serve(r)
	if w.Code != want {
		e.t.Fatalf("%s %s = %d %s, want %d", method, path, w.Code, w.Body, want)
	}
	return w
}

func (e *env) signUp(username, pw string) map[string]any {
	e.t.Helper()
	w := e.do("POST", "/auth/users/", map[string]string{"username": username, "password": pw}, 201)
	return decode(e.t, w)
}

// pair is the answer of a login or a refresh.
type pair struct {
	Token, Access, Refresh string
}

func (e *env) login(username, pw string) pair {
	e.t.Helper()
	w := e.do("POST", "/auth/jwt/create/", map[string]string{"username": username, "password": pw}, 200)
	return decodePair(e.t, w)
}

func (e *env) refresh(refresh string, want int) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.do("POST", e.svc.cfg.RefreshPath, map[string]string{"refresh": refresh}, want)
}

func decodePair(t testing.TB, w *httptest.ResponseRecorder) pair {
	t.Helper()
	var p pair
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatalf("decoding %s: %v", w.Body, err)
	}
	if p.Token == "" || p.Token != p.Access {
		t.Fatalf("answer %s: token and access must be the same access token", w.Body)
	}
	return p
}

func decode(t testing.TB, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("decoding %s: %v", w.Body, err)
	}
	return m
}

// wantJSON checks that w's body is the JSON value want.
func wantJSON(t testing.TB, w *httptest.ResponseRecorder, want string) {
	t.Helper()
	var got, exp any
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatalf("decoding %s: %v", w.Body, err)
	}
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		t.Fatalf("bad expectation %s: %v", want, err)
	}
	if !reflect.DeepEqual(got, exp) {
		t.Fatalf("body = %s, want %s", strings.TrimSpace(w.Body.String()), want)
	}
}

func wantDetail(t testing.TB, w *httptest.ResponseRecorder, status int, detail string) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status = %d %s, want %d", w.Code, w.Body, status)
	}
	wantJSON(t, w, `{"detail":`+quote(detail)+`}`)
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// cookie returns the refresh cookie a response set, or nil.
func cookie(w *httptest.ResponseRecorder) *http.Cookie {
	for _, c := range w.Result().Cookies() {
		if c.Name == CookieName {
			return c
		}
	}
	return nil
}

func TestConfigDefaults(t *testing.T) {
	var c Config
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.AccessTTL != 5*time.Minute || c.RefreshTTL != 168*time.Hour ||
		c.SessionMaxAge != 168*time.Hour || c.RefreshGrace != 10*time.Second ||
		c.RefreshPath != "/auth/jwt/refresh/" || c.Issuer != "parley" || c.Audience != "parley" {
		t.Fatalf("defaults = %+v", c)
	}
	if c.LoginPerUser.Check() != nil || c.LoginPerAddr.Check() != nil {
		t.Fatal("default login limits do not limit")
	}
}

func TestConfigRefusesBadSettings(t *testing.T) {
	for _, c := range []Config{
		{AccessTTL: -time.Second},
		{RefreshTTL: time.Millisecond},
		{RefreshPath: "/token/refresh/"},
		{RefreshPath: "/auth/"},
		{RefreshPath: "/auth/jwt/create/"},
		{RefreshPath: "/auth/users/me"},
		{RefreshPath: "/auth/{x}/"},
		{RefreshPath: "/auth//refresh/"},
		{LoginPerUser: throttle.Rate{Burst: -1, Every: time.Second}},
		{AccessTTL: 5 * time.Second, RefreshGrace: 5 * time.Second},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("Validate accepted %+v", c)
		}
	}
	short := Config{AccessTTL: 10 * time.Second}
	if err := short.Validate(); err != nil || short.RefreshGrace != 5*time.Second {
		t.Fatalf("10s tokens alone: grace %v, %v; want 5s and no error", short.RefreshGrace, err)
	}
	c := Config{RefreshPath: "/auth/token/refresh"}
	if err := c.Validate(); err != nil || c.RefreshPath != "/auth/token/refresh/" {
		t.Fatalf("RefreshPath without its slash: %q, %v", c.RefreshPath, err)
	}
}

func TestNewRefusesMissingParts(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	if _, err := New(Config{}, nil, revocation.NewMemory(), nil, log); err == nil {
		t.Fatal("New accepted a nil store and key set")
	}
}
