package rest

import (
	"net/http"
	"strings"
)

// MaxTokenLen is the longest token any endpoint will parse; longer ones
// are refused unread so that a huge header costs nothing.
const MaxTokenLen = 4 << 10

// BearerToken returns the token of an "Authorization: JWT <token>" or
// "Bearer <token>" header. A missing header or another scheme is
// ErrNoCredentials; an oversized token is ErrTokenInvalid.
func BearerToken(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok {
		return "", ErrNoCredentials
	}
	if !strings.EqualFold(scheme, "JWT") && !strings.EqualFold(scheme, "Bearer") {
		return "", ErrNoCredentials
	}
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return "", ErrNoCredentials
	}
	if len(tok) > MaxTokenLen {
		return "", ErrTokenInvalid
	}
	return tok, nil
}
