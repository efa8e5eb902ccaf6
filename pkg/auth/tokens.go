package auth

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/parley-chat/parley/pkg/rest"
	"github.com/parley-chat/parley/pkg/store"
	"github.com/parley-chat/parley/pkg/token"
)

// CookieName is the cookie that carries the refresh token.
const CookieName = "parley_refresh"

// tokens is the answer of login and refresh.
type tokens struct {
	Token   string `json:"token"`
	Access  string `json:"access"`
	Refresh string `json:"refresh,omitempty"`
}

// issueAt signs g as if at t. Ed25519 signatures are deterministic, so
// the same grant at the same time gives the same token byte for byte,
// which is how the grace window hands out a successor a second time
// without keeping the token itself.
func (s *Service) issueAt(t time.Time, g token.Grant) (string, *token.Claims, error) {
	iss := *s.issuer
	iss.Now = func() time.Time { return t }
	return iss.Issue(g)
}

// signAccess signs an access token of sess, with jti id (a random one
// when empty), as if at now; it never outlives sess.
func (s *Service) signAccess(username string, sess store.Session, now time.Time, id string) (
	string, error) {
	tok, _, err := s.issueAt(now, token.Grant{
		UserID: sess.UserID, Username: username, SessionID: sess.ID, Type: token.TypeAccess,
		TTL: min(s.cfg.AccessTTL, sess.ExpiresAt.Sub(now)), ID: id,
	})
	return tok, err
}

// pairedID is the jti of the access token handed out with refresh token
// jti. Deriving it, and signing that access token at the refresh token's
// own issue time, makes the pair reproducible: a refresh inside the grace
// window answers byte for byte what the first one did.
func pairedID(jti string) string {
	sum := sha256.Sum256([]byte("access:" + jti))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// signRefresh signs a new refresh token of sess and returns the record
// to store for it; it never outlives sess.
func (s *Service) signRefresh(username string, sess store.Session, now time.Time) (
	string, store.RefreshToken, error) {
	tok, c, err := s.issueAt(now, token.Grant{
		UserID: sess.UserID, Username: username, SessionID: sess.ID, Type: token.TypeRefresh,
		TTL: min(s.cfg.RefreshTTL, sess.ExpiresAt.Sub(now)),
	})
	if err != nil {
		return "", store.RefreshToken{}, err
	}
	return tok, recordOf(c), nil
}

func recordOf(c *token.Claims) store.RefreshToken {
	return store.RefreshToken{
		ID: c.ID, SessionID: c.SessionID, UserID: c.UserID(),
		IssuedAt: c.IssuedAt.Time, ExpiresAt: c.Expiry(),
	}
}

// resign reproduces the refresh token that rec records.
func (s *Service) resign(username string, rec store.RefreshToken) (string, error) {
	tok, c, err := s.issueAt(rec.IssuedAt, token.Grant{
		UserID: rec.UserID, Username: username, SessionID: rec.SessionID, Type: token.TypeRefresh,
		TTL: rec.ExpiresAt.Sub(rec.IssuedAt), ID: rec.ID,
	})
	if err == nil && !c.Expiry().Equal(rec.ExpiresAt) {
		err = fmt.Errorf("re-signing refresh token: stored times %v and %v are not whole seconds",
			rec.IssuedAt, rec.ExpiresAt)
	}
	return tok, err
}

// writeTokens answers with the refresh token given, whose record is rec,
// and its paired access token; the refresh token is also set as the
// refresh cookie, for as long as it remains valid.
func (s *Service) writeTokens(w http.ResponseWriter, r *http.Request, username string,
	sess store.Session, now time.Time, refresh string, rec store.RefreshToken) error {
	access, err := s.signAccess(username, sess, rec.IssuedAt, pairedID(rec.ID))
	if err != nil {
		return err
	}
	http.SetCookie(w, s.refreshCookie(r, refresh, int(rec.ExpiresAt.Sub(now).Seconds())))
	rest.WriteJSON(w, http.StatusOK, tokens{Token: access, Access: access, Refresh: refresh})
	return nil
}

// refreshCookie is the refresh cookie; a negative maxAge deletes it. It
// goes only to the refresh path, and never to scripts or other sites.
func (s *Service) refreshCookie(r *http.Request, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: CookieName, Value: value, Path: s.cfg.RefreshPath, MaxAge: maxAge,
		HttpOnly: true, Secure: secureCookie(r), SameSite: http.SameSiteStrictMode,
	}
}

// refreshToken is the refresh token of a request: the body's refresh
// field, or else the cookie.
func refreshToken(r *http.Request, f rest.Fields) string {
	if f["refresh"] != "" {
		return f["refresh"]
	}
	if c, err := r.Cookie(CookieName); err == nil {
		return c.Value
	}
	return ""
}

// secureCookie reports whether the refresh cookie must be Secure: always,
// except on plain http to this machine, where browsers would otherwise
// drop it during local development.
func secureCookie(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = strings.Trim(r.Host, "[]")
	}
	return host != "localhost" && host != "127.0.0.1" && host != "::1"
}
