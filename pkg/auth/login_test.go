package auth

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/parley-chat/parley/pkg/password"
	"github.com/parley-chat/parley/pkg/throttle"
	"github.com/parley-chat/parley/pkg/token"
)

const badCredentials = `{"non_field_errors":["Unable to log in with provided credentials."]}`

func loginReq(username, pw string) *http.Request {
	return request("POST", "/auth/jwt/create/", map[string]string{"username": username, "password": pw})
}

func TestLogin(t *testing.T) {
	e := newEnv(t, Config{})
	user := e.signUp("Lena", "a-fine-Passphrase")
	p := e.login("lena", "a-fine-Passphrase")

	ctx := context.Background()
	ac, err := e.svc.Verifier().Verify(ctx, p.Access, token.TypeAccess)
	if err != nil {
		t.Fatal(err)
	}
	if ac.Username != "Lena" || ac.UserID() != int64(user["id"].(float64)) || ac.SessionID == "" {
		t.Fatalf("access claims = %+v", ac)
	}
	if ttl := ac.Expiry().Sub(ac.IssuedAt.Time); ttl != 5*time.Minute {
		t.Errorf("access token lives %v, want 5m", ttl)
	}
	rc, err := e.svc.Verifier().Verify(ctx, p.Refresh, token.TypeRefresh)
	if err != nil {
		t.Fatal(err)
	}
	if rc.SessionID != ac.SessionID || rc.ID == ac.ID {
		t.Fatalf("refresh claims %+v do not belong to the access token's session", rc)
	}
	if ttl := rc.Expiry().Sub(rc.IssuedAt.Time); ttl != 168*time.Hour {
		t.Errorf("refresh token lives %v, want 168h", ttl)
	}
}

func TestLoginFailuresLookAlike(t *testing.T) {
	e := newEnv(t, Config{})
	e.signUp("known", "a-fine-Passphrase")
	for _, c := range []struct{ username, pw string }{
		{"known", "wrong-Passphrase"}, {"unknown", "a-fine-Passphrase"}, {"known", "A-FINE-PASSPHRASE"},
	} {
		w := e.serve(loginReq(c.username, c.pw))
		if w.Code != 400 || cookie(w) != nil {
			t.Fatalf("login %s/%s = %d, cookie %v", c.username, c.pw, w.Code, cookie(w))
		}
		wantJSON(t, w, badCredentials)
	}
	w := e.serve(request("POST", "/auth/jwt/create/", map[string]string{"username": "known"}))
	if w.Code != 400 {
		t.Fatalf("login without a password = %d", w.Code)
	}
	wantJSON(t, w, `{"password":[`+quote(msgRequired)+`]}`)
}

// TestLoginTimeDoesNotTellUsersApart guards against an unknown username
// being answered without spending a hash; the margin is wide because
// only that difference, a hash against none, is the failure.
func TestLoginTimeDoesNotTellUsersApart(t *testing.T) {
	e := newEnv(t, Config{Password: password.Params{Time: 1, Memory: 16 << 10, Threads: 1},
		LoginPerUser: throttle.Rate{Burst: 100, Every: time.Second},
		LoginPerAddr: throttle.Rate{Burst: 100, Every: time.Second}})
	e.signUp("timed", "a-fine-Passphrase")
	// The fastest of several alternating tries measures the work itself,
	// not whatever else the machine was doing at the time.
	fastest := map[string]time.Duration{}
	for range 7 {
		for _, username := range []string{"timed", "nobody-here"} {
			start := time.Now()
			if w := e.serve(loginReq(username, "not-the-Passphrase")); w.Code != 400 {
				t.Fatalf("login = %d", w.Code)
			}
			if d := time.Since(start); fastest[username] == 0 || d < fastest[username] {
				fastest[username] = d
			}
		}
	}
	known, unknown := fastest["timed"], fastest["nobody-here"]
	if unknown < known/3 {
		t.Fatalf("a failed login takes %v for a known user and %v for an unknown one", known, unknown)
	}
}

func wantThrottled(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	secs, err := strconv.Atoi(w.Header().Get("Retry-After"))
	if w.Code != 429 || err != nil || secs < 1 || secs > 60 {
		t.Fatalf("answer %d with Retry-After %q, want 429 within a minute",
			w.Code, w.Header().Get("Retry-After"))
	}
	wantDetail(t, w, 429, fmt.Sprintf("Request was throttled. Expected available in %d seconds.", secs))
}

func TestLoginThrottledPerUsername(t *testing.T) {
	e := newEnv(t, Config{LoginPerUser: throttle.Rate{Burst: 3, Every: time.Minute}})
	e.signUp("target", "a-fine-Passphrase")
	e.signUp("bystander", "a-fine-Passphrase")
	for range 3 {
		wantJSON(t, e.serve(loginReq("target", "guess")), badCredentials)
	}
	wantThrottled(t, e.serve(loginReq("target", "a-fine-Passphrase")))
	wantThrottled(t, e.serve(loginReq("TARGET", "guess")))
	e.login("bystander", "a-fine-Passphrase")

	// A success forgets the username's failures.
	for range 2 {
		e.serve(loginReq("bystander", "guess"))
	}
	e.login("bystander", "a-fine-Passphrase")
	for range 2 {
		wantJSON(t, e.serve(loginReq("bystander", "guess")), badCredentials)
	}
}

func TestLoginThrottledPerAddress(t *testing.T) {
	e := newEnv(t, Config{LoginPerAddr: throttle.Rate{Burst: 4, Every: time.Minute}})
	e.signUp("someone", "a-fine-Passphrase")
	for i := range 4 {
		wantJSON(t, e.serve(loginReq(fmt.Sprintf("user%d", i), "guess")), badCredentials)
	}
	wantThrottled(t, e.serve(loginReq("someone", "a-fine-Passphrase")))

	other := loginReq("someone", "a-fine-Passphrase")
	other.RemoteAddr = "198.51.100.7:5555"
	if w := e.serve(other); w.Code != 200 {
		t.Fatalf("login from another address = %d %s", w.Code, w.Body)
	}
}

func TestClientAddr(t *testing.T) {
	s := &Service{cfg: Config{TrustedProxies: []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}}}
	cases := []struct {
		remote string
		xff    []string
		want   string
	}{
		{"192.0.2.1:1000", nil, "192.0.2.1"},
		{"192.0.2.1:1000", []string{"203.0.113.9"}, "192.0.2.1"},
		{"10.1.2.3:1000", []string{"203.0.113.9"}, "203.0.113.9"},
		{"10.1.2.3:1000", []string{"6.6.6.6, 203.0.113.9, 10.9.9.9"}, "203.0.113.9"},
		{"10.1.2.3:1000", []string{"6.6.6.6", "203.0.113.9"}, "203.0.113.9"},
		{"10.1.2.3:1000", []string{"nonsense, 10.9.9.9"}, "10.9.9.9"},
		{"[::1]:1000", []string{"2001:db8:1:2:3:4:5:6"}, "2001:db8:1:2::/64"},
		{"[2001:db8::1]:1000", nil, "2001:db8::/64"},
		{"[::ffff:192.0.2.4]:1000", nil, "192.0.2.4"},
		{"pipe", nil, "pipe"},
	}
	for _, c := range cases {
		r := httptest.NewRequest("POST", "/", nil)
		r.RemoteAddr = c.remote
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := s.clientAddr(r); got != c.want {
			t.Errorf("clientAddr(%s, %q) = %q, want %q", c.remote, c.xff, got, c.want)
		}
	}
}

func TestLoginSessionsAreDistinct(t *testing.T) {
	e := newEnv(t, Config{})
	e.signUp("twice", "a-fine-Passphrase")
	a, b := e.login("twice", "a-fine-Passphrase"), e.login("twice", "a-fine-Passphrase")
	ca, _ := e.svc.Verifier().Verify(context.Background(), a.Access, token.TypeAccess)
	cb, _ := e.svc.Verifier().Verify(context.Background(), b.Access, token.TypeAccess)
	if ca == nil || cb == nil || ca.SessionID == cb.SessionID {
		t.Fatal("two logins share a session")
	}
}

func TestSignUpThrottledPerAddress(t *testing.T) {
	e := newEnv(t, Config{SignUpPerAddr: throttle.Rate{Burst: 2, Every: time.Minute}})
	e.signUp("first", "a-fine-Passphrase")
	e.signUp("second", "a-fine-Passphrase")
	body := map[string]string{"username": "third", "password": "a-fine-Passphrase"}
	wantThrottled(t, e.serve(request("POST", "/auth/users/", body)))

	other := request("POST", "/auth/users/", body)
	other.RemoteAddr = "198.51.100.7:5555"
	if w := e.serve(other); w.Code != 201 {
		t.Fatalf("sign-up from another address = %d %s", w.Code, w.Body)
	}
	// Invalid sign-ups cost nothing: they are refused before the count.
	bad := map[string]string{"username": "x y", "password": "a-fine-Passphrase"}
	if w := e.serve(request("POST", "/auth/users/", bad)); w.Code != 400 {
		t.Fatalf("invalid sign-up while throttled = %d, want 400", w.Code)
	}
}
