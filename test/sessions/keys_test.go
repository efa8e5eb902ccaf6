package sessions

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// kidOf is the kid in a token's header.
func kidOf(t *testing.T, tok string) string {
	t.Helper()
	parsed, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := parsed.Header["kid"].(string)
	return kid
}

// accepted reports whether auth and, when edge is not empty, an edge
// accept access token tok.
func accepted(t *testing.T, authBase, edge, tok string) bool {
	t.Helper()
	r := post(t, authBase+"/auth/jwt/verify/", map[string]string{"token": tok})
	if edge == "" {
		return r.status == http.StatusOK
	}
	s := dialWS(t, edge)
	s.send(map[string]string{"type": "auth", "token": tok})
	select {
	case f := <-s.frames:
		return r.status == http.StatusOK && f.Type == "ready"
	case <-s.done:
		return false
	case <-time.After(10 * time.Second):
		t.Fatal("no answer to an auth frame within 10s")
	}
	return false
}

// TestSigningKeyRotation rolls a new key in ahead of the old one, then
// retires the old one, restarting auth each time as a deployment would.
func TestSigningKeyRotation(t *testing.T) {
	c := newCluster(t, "", nil)
	edge := c.startEdge(nil)
	name, p := newUser(t, c.auth, "rotator")
	old := c.keys[0]
	if kidOf(t, p.Access) != old.ID || !accepted(t, c.auth, edge, p.Access) {
		t.Fatal("a token of the only key is not accepted")
	}

	// The new key comes first, given as PEM text in the environment.
	next := newKey(t)
	c.authProc.Stop()
	c.authProc = c.startAuth(c.authAddr, map[string]string{"PARLEY_SIGNING_KEYS": pemOf(t, next, old)})
	q := login(t, c.auth, name)
	if kidOf(t, q.Access) != next.ID {
		t.Fatalf("new tokens are signed by %s, want the first listed key %s", kidOf(t, q.Access), next.ID)
	}
	if !accepted(t, c.auth, edge, p.Access) {
		t.Fatal("a token of the older key stopped verifying while that key is listed")
	}
	// The edge learns the new kid from the JWKS, refetching at most once
	// every few seconds.
	start := time.Now()
	poll(t, 15*time.Second, 250*time.Millisecond, "the edge to accept the new key", func() bool {
		return accepted(t, c.auth, edge, q.Access)
	})
	t.Logf("the edge accepted the new key after %v", time.Since(start))

	// Retire the old key: its tokens stop verifying, while still unexpired.
	c.authProc.Stop()
	c.authProc = c.startAuth(c.authAddr, map[string]string{"PARLEY_SIGNING_KEYS": pemOf(t, next)})
	wantReply(t, "a token of a removed key", post(t, c.auth+"/auth/jwt/verify/",
		map[string]string{"token": p.Access}), http.StatusUnauthorized, invalidDetail)
	fresh := c.startEdge(nil)
	if accepted(t, c.auth, fresh, p.Access) {
		t.Fatal("an edge accepted a token of a removed key")
	}
	if !accepted(t, c.auth, fresh, q.Access) {
		t.Fatal("an edge refused a token of the current key")
	}
}

// TestForgedTokensAreRefused presents access tokens no key of this
// deployment signed: each must be "Error decoding signature." at auth
// and a 4001 at the edge.
func TestForgedTokensAreRefused(t *testing.T) {
	c := newCluster(t, "", nil)
	edge := c.startEdge(nil)
	_, p := newUser(t, c.auth, "target")
	genuine := claimsOf(t, p.Access)
	kid := c.keys[0].ID
	now := time.Now()
	cl := jwt.MapClaims{
		"iss": "parley", "aud": "parley", "sub": genuine.Sub, "username": "target",
		"sid": genuine.Sid, "jti": "forged", "typ": "access",
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
	}
	pub := c.keys[0].Public()
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	stranger := newKey(t)

	forged := map[string]string{
		"key of another deployment": signWith(t, jwt.SigningMethodEdDSA, stranger.Private, stranger.ID, cl),
		"another key, this kid":     signWith(t, jwt.SigningMethodEdDSA, stranger.Private, kid, cl),
		"alg none":                  unsigned(t, kid, cl),
		"HS256, raw public key":     signWith(t, jwt.SigningMethodHS256, []byte(pub), kid, cl),
		"HS256, public key PEM":     signWith(t, jwt.SigningMethodHS256, pubPEM, kid, cl),
		"HS256, JWKS x": signWith(t, jwt.SigningMethodHS256,
			[]byte(base64.RawURLEncoding.EncodeToString(pub)), kid, cl),
	}
	for name, tok := range forged {
		t.Run(name, func(t *testing.T) {
			wantReply(t, "me", call{method: "GET", url: c.auth + "/auth/users/me/", token: tok}.do(t),
				http.StatusUnauthorized, invalidDetail)
			wantReply(t, "verify", post(t, c.auth+"/auth/jwt/verify/", map[string]string{"token": tok}),
				http.StatusUnauthorized, invalidDetail)
			s := dialWS(t, edge)
			s.send(map[string]string{"type": "auth", "token": tok})
			s.waitClose(5*time.Second, 4001, "not authenticated")
		})
	}
}

func signWith(t *testing.T, m jwt.SigningMethod, key any, kid string, cl jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, cl)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// unsigned builds an "alg": "none" token by hand.
func unsigned(t *testing.T, kid string, cl jwt.MapClaims) string {
	t.Helper()
	enc := func(v any) string {
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(data)
	}
	return enc(map[string]string{"alg": "none", "typ": "JWT", "kid": kid}) + "." + enc(cl) + "."
}
