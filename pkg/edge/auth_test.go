package edge

import (
	"context"
	"testing"
	"time"

	"github.com/parley-chat/parley/pkg/wire"
)

func authMsg(tok string) map[string]any { return map[string]any{"type": "auth", "token": tok} }

func TestReady(t *testing.T) {
	e := newEnv(t)
	_, url := e.edge(Config{})
	c := dial(t, url, nil)
	tok, claims := e.token(7, "s7", time.Hour)
	c.send(authMsg(tok))
	r := c.expect("ready")
	want, _ := wire.Time(claims.Expiry()).MarshalJSON()
	if r.User == nil || r.User.ID != 7 || r.User.Username != "user7" ||
		`"`+r.ExpiresAt+`"` != string(want) {
		t.Fatalf("ready = %+v user %+v, want user 7 until %s", r, r.User, want)
	}
}

func TestNotAuthenticated(t *testing.T) {
	e := newEnv(t)
	_, url := e.edge(Config{AuthTimeout: 200 * time.Millisecond})
	tests := []struct {
		name  string
		frame string // "" sends nothing
	}{
		{"auth timeout", ""},
		{"first frame not auth", `{"type":"subscribe","chat":"c"}`},
		{"first frame malformed", `{"type":`},
		{"forged token", `{"type":"auth","token":"eyJhbGciOiJFZERTQSJ9.e30.c2ln"}`},
		{"auth without token", `{"type":"auth"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, url, nil)
			if tt.frame != "" {
				c.sendRaw(tt.frame)
			}
			c.expectClose(closeAuth, reasonNotAuth)
		})
	}
}

func TestTokenExpires(t *testing.T) {
	e := newEnv(t)
	_, url := e.edge(Config{})
	c := dial(t, url, nil)
	tok, claims := e.token(7, "s7", 2*time.Second)
	c.send(authMsg(tok))
	c.expect("ready")
	c.expectClose(closeAuth, reasonExpired)
	if now := time.Now(); now.Before(claims.Expiry()) {
		t.Fatalf("closed at %v, before the token expired at %v", now, claims.Expiry())
	}
}

func TestExpiredTokenRefused(t *testing.T) {
	e := newEnv(t)
	_, url := e.edge(Config{})
	c := dial(t, url, nil)
	// Expired, but within the verifier's clock skew allowance.
	tok, _ := e.token(7, "s7", -time.Second)
	c.send(authMsg(tok))
	c.expectClose(closeAuth, reasonExpired)
}

func TestAuthAgainExtends(t *testing.T) {
	e := newEnv(t)
	e.addChat("c", 7)
	_, url := e.edge(Config{})
	c := dial(t, url, nil)
	short, first := e.token(7, "s7", 2*time.Second)
	c.send(authMsg(short))
	c.expect("ready")
	long, _ := e.token(7, "s7b", time.Hour)
	c.send(authMsg(long))
	r := c.expect("ready")
	exp, err := time.Parse(time.RFC3339, r.ExpiresAt)
	if err != nil || time.Until(exp) < 59*time.Minute {
		t.Fatalf("second ready expires at %s, want about an hour from now", r.ExpiresAt)
	}
	// Round trips until well past the first token's expiry prove the
	// socket outlived it.
	for time.Now().Before(first.Expiry().Add(500 * time.Millisecond)) {
		c.send(subscribeMsg("c"))
		c.expect("subscribed")
	}
}

func TestAuthAsAnotherUser(t *testing.T) {
	e := newEnv(t)
	_, url := e.edge(Config{})
	c, _ := e.login(url, 7)
	tok, _ := e.token(8, "s8", time.Hour)
	c.send(authMsg(tok))
	c.expectClose(closeOtherUser, "")
}

func TestBadTokenLaterCloses(t *testing.T) {
	e := newEnv(t)
	_, url := e.edge(Config{})
	c, _ := e.login(url, 7)
	c.send(authMsg("not-a-token"))
	c.expectClose(closeAuth, reasonNotAuth)
}

func TestRevokedSession(t *testing.T) {
	e := newEnv(t)
	s, url := e.edge(Config{})
	ctx := context.Background()

	// A revoked session cannot open a socket.
	if err := e.deny.RevokeSession(ctx, "gone", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	c := dial(t, url, nil)
	tok, _ := e.token(7, "gone", time.Hour)
	c.send(authMsg(tok))
	c.expectClose(closeAuth, reasonRevoked)

	// A socket in a session revoked later is closed when told.
	live, _ := e.login(url, 8) // session s8
	other, _ := e.login(url, 9)
	s.CloseSession("s8")
	live.expectClose(closeAuth, reasonRevoked)
	other.send(subscribeMsg("nochat"))
	other.expectError("not_found", "nochat")
}
