// Package authn turns the access token of a request or an auth frame into
// an authenticated identity, checking signature, claims and, when a
// denylist is configured, whether the session was revoked. It is shared
// by the archiver's HTTP API and the edge's WebSocket. An Authenticator
// is safe for concurrent use.
package authn

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/parley-chat/parley/pkg/rest"
	"github.com/parley-chat/parley/pkg/revocation"
	"github.com/parley-chat/parley/pkg/token"
	"github.com/parley-chat/parley/pkg/wire"
)

// ErrRevoked means the token's session was revoked.
var ErrRevoked = errors.New("session revoked")

// ErrUnavailable means revocation could not be checked.
var ErrUnavailable = errors.New("revocation check unavailable")

// Authenticator verifies access tokens.
type Authenticator struct {
	Verifier *token.Verifier
	// Denylist, when set, is asked whether the token's session was
	// revoked. Without it a revoked session's access tokens stay valid
	// until they expire, at most the access token lifetime.
	Denylist revocation.Denylist
}

// Identity is who an access token speaks for.
type Identity struct {
	User   wire.User
	Claims *token.Claims
}

// Access verifies raw as an access token. Errors wrap token.ErrInvalid,
// token.ErrExpired, ErrRevoked or ErrUnavailable.
func (a *Authenticator) Access(ctx context.Context, raw string) (Identity, error) {
	c, err := a.Verifier.Verify(ctx, raw, token.TypeAccess)
	if err != nil {
		return Identity{}, err
	}
	if a.Denylist != nil {
		revoked, err := a.Denylist.SessionRevoked(ctx, c.SessionID)
		if err != nil {
			return Identity{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		if revoked {
			return Identity{}, ErrRevoked
		}
	}
	return Identity{User: wire.User{ID: c.UserID(), Username: c.Username}, Claims: c}, nil
}

// Request authenticates an HTTP request by its Authorization header. Its
// errors are the contract's *rest.Error values.
func (a *Authenticator) Request(r *http.Request) (Identity, error) {
	raw, err := rest.BearerToken(r)
	if err != nil {
		return Identity{}, err
	}
	id, err := a.Access(r.Context(), raw)
	if err != nil {
		return Identity{}, HTTPError(err)
	}
	return id, nil
}

// HTTPError maps an error of Access to the contract's answer.
func HTTPError(err error) *rest.Error {
	switch {
	case errors.Is(err, token.ErrExpired):
		return rest.ErrTokenExpired
	case errors.Is(err, ErrRevoked):
		return rest.ErrTokenRevoked
	case errors.Is(err, ErrUnavailable):
		return rest.ErrUnavailable
	default:
		return rest.ErrTokenInvalid
	}
}
