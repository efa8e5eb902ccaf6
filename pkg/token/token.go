package token

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Algorithm is the only JWS algorithm Parley signs with or accepts.
const Algorithm = "EdDSA"

// Token types, the typ claim.
const (
	TypeAccess  = "access"
	TypeRefresh = "refresh"
)

// The iss and aud claims every Parley service uses unless configured
// otherwise.
const (
	DefaultIssuer   = "parley"
	DefaultAudience = "parley"
)

// MaxLen is the longest token that is parsed at all.
const MaxLen = 4 << 10

// Leeway is the clock skew verifiers allow.
const Leeway = 30 * time.Second

// Errors a verifier returns. A token that fails for several reasons gets
// ErrInvalid unless only its expiry is wrong: the signature is checked
// before anything else.
var (
	ErrInvalid = errors.New("token invalid")
	ErrExpired = errors.New("token expired")
)

// Claims are the claims of Parley's tokens.
type Claims struct {
	jwt.RegisteredClaims
	Username  string `json:"username"`
	SessionID string `json:"sid"`
	Type      string `json:"typ"`
}

// UserID returns the subject as a user id.
func (c *Claims) UserID() int64 {
	id, _ := strconv.ParseInt(c.Subject, 10, 64)
	return id
}

// Expiry returns the exp claim; zero when absent.
func (c *Claims) Expiry() time.Time {
	if c.ExpiresAt == nil {
		return time.Time{}
	}
	return c.ExpiresAt.Time
}

// Issuer signs tokens with the signing key of a KeySet.
type Issuer struct {
	Keys     *KeySet
	Issuer   string
	Audience string
	Now      func() time.Time // time.Now when nil
}

// Grant names whose token is being issued and for how long.
type Grant struct {
	UserID    int64
	Username  string
	SessionID string
	Type      string
	TTL       time.Duration
	// ID is the jti; a random one is made when empty.
	ID string
}

// Issue signs a token for g and returns it with its claims.
func (i *Issuer) Issue(g Grant) (string, *Claims, error) {
	now := time.Now
	if i.Now != nil {
		now = i.Now
	}
	t := now().Truncate(time.Second)
	if g.ID == "" {
		g.ID = NewID()
	}
	c := &Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    i.Issuer,
			Audience:  jwt.ClaimStrings{i.Audience},
			Subject:   strconv.FormatInt(g.UserID, 10),
			ID:        g.ID,
			IssuedAt:  jwt.NewNumericDate(t),
			ExpiresAt: jwt.NewNumericDate(t.Add(g.TTL)),
		},
		Username:  g.Username,
		SessionID: g.SessionID,
		Type:      g.Type,
	}
	key := i.Keys.Signer()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	tok.Header["kid"] = key.ID
	s, err := tok.SignedString(key.Private)
	if err != nil {
		return "", nil, fmt.Errorf("signing token: %w", err)
	}
	return s, c, nil
}

// NewID returns a random identifier with 128 bits of entropy, URL-safe.
func NewID() string {
	var b [16]byte
	// crypto/rand.Read never fails on supported platforms.
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Verifier checks tokens against keys from a KeySource.
type Verifier struct {
	Keys     KeySource
	Issuer   string
	Audience string
	Now      func() time.Time // time.Now when nil
}

// Verify checks raw and returns its claims when it is a valid token of
// type typ. It returns an error wrapping ErrInvalid or ErrExpired. An
// empty Issuer or Audience means DefaultIssuer or DefaultAudience, never
// "any": every token must carry both.
func (v *Verifier) Verify(ctx context.Context, raw, typ string) (*Claims, error) {
	if len(raw) > MaxLen {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrInvalid, MaxLen)
	}
	iss, aud := cmp.Or(v.Issuer, DefaultIssuer), cmp.Or(v.Audience, DefaultAudience)
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{Algorithm}),
		jwt.WithLeeway(Leeway),
		jwt.WithIssuer(iss),
		jwt.WithAudience(aud),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
	}
	if v.Now != nil {
		opts = append(opts, jwt.WithTimeFunc(v.Now))
	}
	c := &Claims{}
	_, err := jwt.ParseWithClaims(raw, c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("no kid")
		}
		return v.Keys.PublicKey(ctx, kid)
	}, opts...)
	// The parser checks the signature before the claims, so an expiry
	// error here always belongs to a genuine token. It is reported as
	// expired only when nothing else is wrong with it: a client told
	// "expired" refreshes and retries, which for a wrong token never ends.
	if errors.Is(err, jwt.ErrTokenExpired) {
		if bad := c.complete(typ, iss, aud); bad != nil {
			return nil, fmt.Errorf("%w: %w: %w", ErrInvalid, bad, err)
		}
		return nil, fmt.Errorf("%w: %w", ErrExpired, err)
	}
	if err == nil {
		err = c.complete(typ, iss, aud)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return c, nil
}

// complete checks that every claim Parley requires is present and, for
// iss, aud and typ, what the verifier expects. The parser checks iss and
// aud too, but not when it reports an expired token.
func (c *Claims) complete(typ, iss, aud string) error {
	switch {
	case c.Type != typ:
		return fmt.Errorf("typ is %q, want %q", c.Type, typ)
	case c.Issuer != iss || !slices.Contains(c.Audience, aud):
		return errors.New("iss or aud is not this service's")
	case c.UserID() <= 0:
		return errors.New("sub is not a user id")
	case c.Username == "" || c.SessionID == "" || c.ID == "":
		return errors.New("username, sid or jti missing")
	case c.IssuedAt == nil:
		return errors.New("iat missing")
	}
	return nil
}
