package authn

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/parley-chat/parley/pkg/rest"
	"github.com/parley-chat/parley/pkg/revocation"
	"github.com/parley-chat/parley/pkg/token"
)

// brokenDenylist stands for a Redis that cannot be reached.
type brokenDenylist struct{ revocation.Denylist }

func (brokenDenylist) SessionRevoked(context.Context, string) (bool, error) {
	return false, errors.New("connection refused")
}

func TestAccess(t *testing.T) {
	key, err := token.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	other, err := token.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := token.NewKeySet([]token.Key{key})
	otherKeys, _ := token.NewKeySet([]token.Key{other})
	iss := &token.Issuer{Keys: keys, Issuer: "parley", Audience: "parley"}
	forger := &token.Issuer{Keys: otherKeys, Issuer: "parley", Audience: "parley"}
	deny := revocation.NewMemory()
	ctx := context.Background()
	if err := deny.RevokeSession(ctx, "gone", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}

	issue := func(i *token.Issuer, sid, typ string, ttl time.Duration) string {
		s, _, err := i.Issue(token.Grant{UserID: 7, Username: "al", SessionID: sid, Type: typ, TTL: ttl})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	verifier := &token.Verifier{Keys: keys, Issuer: "parley", Audience: "parley"}
	tests := []struct {
		name    string
		deny    revocation.Denylist
		raw     string
		want    *rest.Error
		wantErr error
	}{
		{"valid", deny, issue(iss, "s1", token.TypeAccess, time.Minute), nil, nil},
		{"expired", deny, issue(iss, "s1", token.TypeAccess, -time.Hour), rest.ErrTokenExpired, token.ErrExpired},
		{"forged and expired", deny, issue(forger, "s1", token.TypeAccess, -time.Hour), rest.ErrTokenInvalid, token.ErrInvalid},
		{"refresh token", deny, issue(iss, "s1", token.TypeRefresh, time.Minute), rest.ErrTokenInvalid, token.ErrInvalid},
		{"revoked session", deny, issue(iss, "gone", token.TypeAccess, time.Minute), rest.ErrTokenRevoked, ErrRevoked},
		{"no denylist lets a revoked session through", nil, issue(iss, "gone", token.TypeAccess, time.Minute), nil, nil},
		{"denylist down", brokenDenylist{}, issue(iss, "s1", token.TypeAccess, time.Minute), rest.ErrUnavailable, ErrUnavailable},
		{"garbage", deny, "not.a.token", rest.ErrTokenInvalid, token.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &Authenticator{Verifier: verifier, Denylist: tt.deny}
			id, err := a.Access(ctx, tt.raw)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Access err = %v, want %v", err, tt.wantErr)
			}
			if err == nil && (id.User.ID != 7 || id.User.Username != "al") {
				t.Fatalf("identity = %+v", id.User)
			}
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("Authorization", "Bearer "+tt.raw)
			_, err = a.Request(req)
			if tt.want == nil && err != nil || tt.want != nil && err != tt.want {
				t.Fatalf("Request err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestRequestWithoutCredentials(t *testing.T) {
	a := &Authenticator{Verifier: &token.Verifier{}}
	if _, err := a.Request(httptest.NewRequest("GET", "/", nil)); err != rest.ErrNoCredentials {
		t.Fatalf("err = %v, want ErrNoCredentials", err)
	}
}
