package token

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// at is the fixed time the tests' issuers and verifiers live at.
var at = time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)

func genKey(t testing.TB) Key {
	t.Helper()
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func keySet(t testing.TB, keys ...Key) *KeySet {
	t.Helper()
	s, err := NewKeySet(keys)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func issuer(keys *KeySet) *Issuer {
	return &Issuer{Keys: keys, Issuer: "parley", Audience: "parley", Now: func() time.Time { return at }}
}

func verifier(keys KeySource) *Verifier {
	return &Verifier{Keys: keys, Issuer: "parley", Audience: "parley", Now: func() time.Time { return at }}
}

func grant(typ string, ttl time.Duration) Grant {
	return Grant{UserID: 42, Username: "ada", SessionID: "sess-1", Type: typ, TTL: ttl}
}

func issue(t testing.TB, i *Issuer, g Grant) string {
	t.Helper()
	s, _, err := i.Issue(g)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sign signs arbitrary claims with key, named by kid.
func sign(t testing.TB, key Key, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key.Private)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fullClaims are the claims of a valid access token at the tests' time.
func fullClaims() jwt.MapClaims {
	return jwt.MapClaims{
		"iss": "parley", "aud": "parley", "sub": "42", "username": "ada", "sid": "s",
		"jti": "j", "iat": at.Unix(), "exp": at.Add(time.Minute).Unix(), "typ": TypeAccess,
	}
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
	other := ErrExpired
	if want == ErrExpired {
		other = ErrInvalid
	}
	if errors.Is(err, other) {
		t.Fatalf("error %v is both %v and %v", err, want, other)
	}
}

func TestIssueAndVerify(t *testing.T) {
	k := genKey(t)
	keys := keySet(t, k)
	raw, issued, err := issuer(keys).Issue(grant(TypeAccess, 5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	c, err := verifier(keys).Verify(context.Background(), raw, TypeAccess)
	if err != nil {
		t.Fatal(err)
	}
	if c.UserID() != 42 || c.Username != "ada" || c.SessionID != "sess-1" || c.ID != issued.ID ||
		c.Issuer != "parley" || !c.Expiry().Equal(at.Add(5*time.Minute)) || c.Type != TypeAccess {
		t.Fatalf("claims = %+v", c)
	}
	tok, _, _ := jwt.NewParser().ParseUnverified(raw, jwt.MapClaims{})
	if tok.Header["alg"] != Algorithm || tok.Header["kid"] != k.ID {
		t.Fatalf("header = %v", tok.Header)
	}
	if _, ok := tok.Claims.(jwt.MapClaims)["email"]; ok {
		t.Fatal("a token carries an email")
	}
}

func TestIssueIsDeterministic(t *testing.T) {
	i := issuer(keySet(t, genKey(t)))
	g := grant(TypeRefresh, time.Hour)
	g.ID = "fixed"
	if a, b := issue(t, i, g), issue(t, i, g); a != b {
		t.Fatal("the same grant at the same time gave two tokens")
	}
}

func TestExpiredVersusForgedExpired(t *testing.T) {
	k := genKey(t)
	keys := keySet(t, k)
	v := verifier(keys)
	ctx := context.Background()

	expired := issue(t, issuer(keys), grant(TypeAccess, -time.Minute))
	_, err := v.Verify(ctx, expired, TypeAccess)
	wantErr(t, err, ErrExpired)

	// A key that is not ours, claiming our kid: the signature fails
	// first, so the expiry is never reported.
	forger := Key{ID: k.ID, Private: genKey(t).Private}
	forged := issue(t, issuer(keySet(t, forger)), grant(TypeAccess, -time.Minute))
	_, err = v.Verify(ctx, forged, TypeAccess)
	wantErr(t, err, ErrInvalid)

	// A genuine expired token with its payload changed is forged too.
	parts := strings.Split(expired, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	payload = bytes.Replace(payload, []byte(`"ada"`), []byte(`"eve"`), 1)
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	_, err = v.Verify(ctx, strings.Join(parts, "."), TypeAccess)
	wantErr(t, err, ErrInvalid)

	withinSkew := issue(t, issuer(keys), grant(TypeAccess, -20*time.Second))
	if _, err := v.Verify(ctx, withinSkew, TypeAccess); err != nil {
		t.Fatalf("a token 20s past its expiry is refused: %v", err)
	}
	pastSkew := issue(t, issuer(keys), grant(TypeAccess, -31*time.Second))
	_, err = v.Verify(ctx, pastSkew, TypeAccess)
	wantErr(t, err, ErrExpired)
}

// TestExpiredWithOtherFaultsIsInvalid: only a token whose expiry is its
// one fault may be called expired; a client told "expired" refreshes
// and retries, which for a wrong token would never end.
func TestExpiredWithOtherFaultsIsInvalid(t *testing.T) {
	k := genKey(t)
	keys := keySet(t, k)
	ctx := context.Background()
	refresh := issue(t, issuer(keys), grant(TypeRefresh, -time.Hour))
	_, err := verifier(keys).Verify(ctx, refresh, TypeAccess)
	wantErr(t, err, ErrInvalid)

	c := fullClaims()
	c["exp"], c["aud"] = at.Add(-time.Hour).Unix(), "elsewhere"
	_, err = verifier(keys).Verify(ctx, sign(t, k, k.ID, c), TypeAccess)
	wantErr(t, err, ErrInvalid)
}

func TestWrongAlgorithm(t *testing.T) {
	k := genKey(t)
	keys := keySet(t, k)
	pub := []byte(k.Public())

	// The classic confusion: HMAC keyed with the public key, which a
	// verifier trusting the header's alg would accept.
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, fullClaims())
	hs.Header["kid"] = k.ID
	hmacked, err := hs.SignedString(pub)
	if err != nil {
		t.Fatal(err)
	}
	none := jwt.NewWithClaims(jwt.SigningMethodNone, fullClaims())
	none.Header["kid"] = k.ID
	unsigned, err := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	for name, raw := range map[string]string{"HS256": hmacked, "none": unsigned} {
		_, err := verifier(keys).Verify(context.Background(), raw, TypeAccess)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s token: error = %v, want ErrInvalid", name, err)
		}
	}
}

func TestMissingOrWrongClaims(t *testing.T) {
	k := genKey(t)
	v := verifier(keySet(t, k))
	if _, err := v.Verify(context.Background(), sign(t, k, k.ID, fullClaims()), TypeAccess); err != nil {
		t.Fatalf("the complete claims do not verify: %v", err)
	}
	for _, claim := range []string{"iss", "aud", "sub", "username", "sid", "jti", "iat", "exp", "typ"} {
		c := fullClaims()
		delete(c, claim)
		_, err := v.Verify(context.Background(), sign(t, k, k.ID, c), TypeAccess)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("without %s: error = %v, want ErrInvalid", claim, err)
		}
	}
	for _, w := range []struct {
		claim string
		value any
	}{
		{"iss", "other"}, {"aud", "other"}, {"sub", "ada"}, {"sub", "0"}, {"typ", "id"},
		{"iat", at.Add(time.Hour).Unix()}, {"exp", "tomorrow"}, {"username", 7},
	} {
		claim, value := w.claim, w.value
		c := fullClaims()
		c[claim] = value
		_, err := v.Verify(context.Background(), sign(t, k, k.ID, c), TypeAccess)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("with %s = %v: error = %v, want ErrInvalid", claim, value, err)
		}
	}
}

func TestWrongType(t *testing.T) {
	keys := keySet(t, genKey(t))
	v := verifier(keys)
	for _, typ := range []string{TypeAccess, TypeRefresh} {
		raw := issue(t, issuer(keys), grant(typ, time.Minute))
		other := TypeRefresh
		if typ == TypeRefresh {
			other = TypeAccess
		}
		if _, err := v.Verify(context.Background(), raw, typ); err != nil {
			t.Errorf("%s token as %s: %v", typ, typ, err)
		}
		if _, err := v.Verify(context.Background(), raw, other); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s token as %s: error = %v, want ErrInvalid", typ, other, err)
		}
	}
}

// TestEmptyVerifierSettingsStillRequireIssuer: a verifier built without
// Issuer or Audience must not take that as "any or none".
func TestEmptyVerifierSettingsStillRequireIssuer(t *testing.T) {
	k := genKey(t)
	v := &Verifier{Keys: keySet(t, k), Now: func() time.Time { return at }}
	if _, err := v.Verify(context.Background(), sign(t, k, k.ID, fullClaims()), TypeAccess); err != nil {
		t.Fatalf("default issuer and audience refused: %v", err)
	}
	for _, claim := range []string{"iss", "aud"} {
		c := fullClaims()
		delete(c, claim)
		_, err := v.Verify(context.Background(), sign(t, k, k.ID, c), TypeAccess)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("without %s: error = %v, want ErrInvalid", claim, err)
		}
	}
}

func TestKeyRotation(t *testing.T) {
	old, next := genKey(t), genKey(t)
	before := issue(t, issuer(keySet(t, old)), grant(TypeAccess, time.Minute))

	rotated := keySet(t, next, old)
	after := issue(t, issuer(rotated), grant(TypeAccess, time.Minute))
	for _, raw := range []string{before, after} {
		if _, err := verifier(rotated).Verify(context.Background(), raw, TypeAccess); err != nil {
			t.Fatalf("during rotation: %v", err)
		}
	}
	if tok, _, _ := jwt.NewParser().ParseUnverified(after, jwt.MapClaims{}); tok.Header["kid"] != next.ID {
		t.Fatal("new tokens are not signed by the first key")
	}

	retired := verifier(keySet(t, next))
	_, err := retired.Verify(context.Background(), before, TypeAccess)
	if !errors.Is(err, ErrInvalid) || !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("a token of a removed key: error = %v", err)
	}
	noKid := sign(t, next, "", fullClaims())
	if _, err := retired.Verify(context.Background(), noKid, TypeAccess); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a token without kid: error = %v", err)
	}
}

// countingSource counts how often a verifier asks for a key.
type countingSource struct {
	KeySource
	calls atomic.Int32
}

func (c *countingSource) PublicKey(ctx context.Context, kid string) (ed25519.PublicKey, error) {
	c.calls.Add(1)
	return c.KeySource.PublicKey(ctx, kid)
}

func TestLengthLimit(t *testing.T) {
	keys := keySet(t, genKey(t))
	src := &countingSource{KeySource: keys}
	v := verifier(src)

	// Grow the username until the token is as long as allowed.
	g := grant(TypeAccess, time.Minute)
	raw := ""
	for n := 2500; len(raw) < MaxLen-3; n++ {
		g.Username = strings.Repeat("a", n)
		raw = issue(t, issuer(keys), g)
	}
	if len(raw) > MaxLen {
		t.Fatalf("could not build a token just under the limit: %d bytes", len(raw))
	}
	if _, err := v.Verify(context.Background(), raw, TypeAccess); err != nil {
		t.Fatalf("a %d-byte token is refused: %v", len(raw), err)
	}

	src.calls.Store(0)
	g.Username += "aaaa"
	long := issue(t, issuer(keys), g)
	_, err := v.Verify(context.Background(), long, TypeAccess)
	if len(long) <= MaxLen || !errors.Is(err, ErrInvalid) || src.calls.Load() != 0 {
		t.Fatalf("a %d-byte token: error %v after %d key lookups", len(long), err, src.calls.Load())
	}
}

func FuzzVerify(f *testing.F) {
	k := genKey(f)
	keys := keySet(f, k)
	good, want, err := issuer(keys).Issue(grant(TypeAccess, time.Minute))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		good,
		issue(f, issuer(keys), grant(TypeAccess, -time.Hour)),
		issue(f, issuer(keys), grant(TypeRefresh, time.Minute)),
		"", ".", "..", "a.b.c", "eyJhbGciOiJFZERTQSJ9.e30.",
		strings.Repeat("a", MaxLen+1),
	} {
		f.Add(s)
	}
	v := verifier(keys)
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := v.Verify(context.Background(), raw, TypeAccess)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrExpired) {
				t.Fatalf("error %v is neither invalid nor expired", err)
			}
			return
		}
		// Only our own signature can make a token valid, and we signed
		// one set of access claims.
		if c.ID != want.ID || c.UserID() != want.UserID() || c.SessionID != want.SessionID {
			t.Fatalf("%q verified with claims %+v", raw, c)
		}
	})
}
