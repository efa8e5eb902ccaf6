package auth

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/pkg/password"
)

func TestSignUpValidation(t *testing.T) {
	e := newEnv(t, Config{})
	cases := []struct {
		name string
		body any
		want string
	}{
		{"nothing", `{}`,
			`{"username":[` + quote(msgRequired) + `],"password":[` + quote(msgRequired) + `]}`},
		{"bad characters", map[string]string{"username": "al ice", "password": "a-fine-Passphrase"},
			`{"username":[` + quote(msgUsernameChars) + `]}`},
		{"slash", map[string]string{"username": "al/ice", "password": "a-fine-Passphrase"},
			`{"username":[` + quote(msgUsernameChars) + `]}`},
		{"full-width letters", map[string]string{"username": "ａｌｉｃｅ", "password": "a-fine-Passphrase"},
			`{"username":[` + quote(msgUsernameForm) + `]}`},
		{"too long", map[string]string{"username": strings.Repeat("a", 151), "password": "a-fine-Passphrase"},
			`{"username":[` + quote(msgUsernameLong) + `]}`},
		{"short numeric password", map[string]string{"username": "bob", "password": "8301"},
			`{"password":[` + quote(password.TooShort) + `,` + quote(password.AllNumeric) + `]}`},
		{"password is the username", map[string]string{"username": "Robertson", "password": "robertson"},
			`{"password":[` + quote(password.TooSimilar) + `]}`},
		{"common password", map[string]string{"username": "carol", "password": "Sunshine1"},
			`{"password":[` + quote(password.TooCommon) + `]}`},
		{"bad email", map[string]string{"username": "dave", "password": "a-fine-Passphrase",
			"email": "dave at home"}, `{"email":[` + quote(msgEmail) + `]}`},
		{"email with a name", map[string]string{"username": "dave", "password": "a-fine-Passphrase",
			"email": "Dave <dave@example.com>"}, `{"email":[` + quote(msgEmail) + `]}`},
		{"nested value", `{"username":{"a":1},"password":"a-fine-Passphrase"}`,
			`{"username":["Not a valid string."]}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := e.serve(request("POST", "/auth/users/", c.body))
			if w.Code != 400 {
				t.Fatalf("status = %d %s, want 400", w.Code, w.Body)
			}
			wantJSON(t, w, c.want)
		})
	}
}

func TestSignUp(t *testing.T) {
	e := newEnv(t, Config{})
	long := strings.Repeat("z", 150)
	for _, c := range []struct {
		path, username, email string
	}{
		{"/auth/users/", "ali.ce+1@x_y-z", "alice@example.com"},
		{"/auth/users/create/", "bob", ""},
		{"/auth/users", "José", ""},
		{"/auth/users/create", long, ""},
	} {
		w := e.do("POST", c.path, map[string]string{
			"username": c.username, "password": "a-fine-Passphrase", "email": c.email}, 201)
		got := decode(t, w)
		if got["username"] != c.username || got["email"] != c.email || got["id"].(float64) < 1 {
			t.Errorf("POST %s answered %s", c.path, w.Body)
		}
		if _, ok := got["password"]; ok || len(got) != 3 {
			t.Errorf("POST %s answered fields beyond id, username and email: %s", c.path, w.Body)
		}
	}
}

func TestSignUpDuplicateInOtherCase(t *testing.T) {
	e := newEnv(t, Config{})
	e.signUp("Alice", "a-fine-Passphrase")
	w := e.serve(request("POST", "/auth/users/",
		map[string]string{"username": "aLICE", "password": "another-Passphrase"}))
	if w.Code != 400 {
		t.Fatalf("duplicate sign-up = %d %s", w.Code, w.Body)
	}
	wantJSON(t, w, `{"username":["A user with that username already exists."]}`)
}

func TestSignUpFormEncoded(t *testing.T) {
	e := newEnv(t, Config{})
	w := e.do("POST", "/auth/users/", url.Values{
		"username": {"formuser"}, "password": {"a-fine-Passphrase"}, "email": {"f@example.org"}}, 201)
	if got := decode(t, w); got["username"] != "formuser" || got["email"] != "f@example.org" {
		t.Fatalf("form sign-up answered %s", w.Body)
	}
	e.do("POST", "/auth/jwt/create/", url.Values{
		"username": {"FORMUSER"}, "password": {"a-fine-Passphrase"}}, 200)
}

func TestMe(t *testing.T) {
	e := newEnv(t, Config{})
	e.do("POST", "/auth/users/", map[string]string{
		"username": "meg", "password": "a-fine-Passphrase", "email": "meg@example.com"}, 201)
	p := e.login("meg", "a-fine-Passphrase")

	w := e.as(p.Access, "GET", "/auth/users/me/", 200)
	got := decode(t, w)
	if got["username"] != "meg" || got["email"] != "meg@example.com" {
		t.Fatalf("me = %s", w.Body)
	}
	if w.Header().Get("Cache-Control") != "no-store" {
		t.Error("me answer may be cached")
	}

	r := request("GET", "/auth/users/me", nil)
	r.Header.Set("Authorization", "bearer "+p.Access)
	if w := e.serve(r); w.Code != 200 {
		t.Fatalf("me with a Bearer scheme = %d %s", w.Code, w.Body)
	}
	wantDetail(t, e.serve(request("GET", "/auth/users/me/", nil)), 401,
		"Authentication credentials were not provided.")
	wantDetail(t, e.as(p.Refresh, "GET", "/auth/users/me/", 401), 401, "Error decoding signature.")
	wantDetail(t, e.as(p.Access+"x", "GET", "/auth/users/me/", 401), 401, "Error decoding signature.")

	e.clock.Advance(6 * time.Minute)
	wantDetail(t, e.as(p.Access, "GET", "/auth/users/me/", 401), 401, "Signature has expired.")
}

func TestUnknownPathsAndMethods(t *testing.T) {
	e := newEnv(t, Config{})
	wantDetail(t, e.serve(request("GET", "/auth/nothing/", nil)), 404, "Not found.")
	w := e.serve(request("GET", "/auth/jwt/create/", nil))
	if w.Code != 405 {
		t.Fatalf("GET /auth/jwt/create/ = %d", w.Code)
	}
}
