package token

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// jwksServer publishes a key set that a test can change, and counts the
// requests it answers.
type jwksServer struct {
	*httptest.Server
	requests atomic.Int32
	mu       sync.Mutex
	keys     *KeySet // nil answers 503
}

func newJWKSServer(t *testing.T, keys *KeySet) *jwksServer {
	t.Helper()
	s := &jwksServer{keys: keys}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		s.mu.Lock()
		keys := s.keys
		s.mu.Unlock()
		if keys == nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_ = json.NewEncoder(w).Encode(keys.JWKS())
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) publish(keys *KeySet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = keys
}

// waitFor polls cond until it holds, failing the test after 5 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

func TestJWKSClientRefetchesUnknownKidAtMostOncePerInterval(t *testing.T) {
	old, next := genKey(t), genKey(t)
	srv := newJWKSServer(t, keySet(t, old))
	c := &JWKSClient{URL: srv.URL, HTTP: srv.Client(),
		MinRefetch: 200 * time.Millisecond, MaxAge: time.Hour}
	ctx := context.Background()

	if _, err := c.PublicKey(ctx, old.ID); err != nil {
		t.Fatal(err)
	}
	srv.publish(keySet(t, next, old))
	start := time.Now()
	for range 50 {
		if _, err := c.PublicKey(ctx, "forged-kid"); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("unknown kid: %v", err)
		}
	}
	if n := srv.requests.Load(); n != 1 && time.Since(start) < 200*time.Millisecond {
		t.Fatalf("%d requests within MinRefetch, want 1", n)
	}

	// Once MinRefetch has passed, a new kid is fetched, and only once.
	waitFor(t, "the new key", func() bool {
		_, err := c.PublicKey(ctx, next.ID)
		return err == nil
	})
	if n := srv.requests.Load(); n != 2 {
		t.Fatalf("%d requests to learn one new key, want 2", n)
	}
}

func TestJWKSClientForgetsRemovedKeys(t *testing.T) {
	old, next := genKey(t), genKey(t)
	srv := newJWKSServer(t, keySet(t, next, old))
	c := &JWKSClient{URL: srv.URL, HTTP: srv.Client(),
		MinRefetch: time.Hour, MaxAge: 100 * time.Millisecond}
	ctx := context.Background()
	if _, err := c.PublicKey(ctx, old.ID); err != nil {
		t.Fatal(err)
	}
	srv.publish(keySet(t, next))
	waitFor(t, "the removed key to stop verifying", func() bool {
		_, err := c.PublicKey(ctx, old.ID)
		return errors.Is(err, ErrUnknownKey)
	})
	if _, err := c.PublicKey(ctx, next.ID); err != nil {
		t.Fatal(err)
	}
}

// TestJWKSClientUnreachableAtStart: before any fetch has succeeded, a
// flood of tokens must not become a flood of requests either.
func TestJWKSClientUnreachableAtStart(t *testing.T) {
	k := genKey(t)
	srv := newJWKSServer(t, nil)
	c := &JWKSClient{URL: srv.URL, HTTP: srv.Client(), MinRefetch: time.Hour}
	start := time.Now()
	for range 20 {
		if _, err := c.PublicKey(context.Background(), k.ID); err == nil {
			t.Fatal("a key came from a failing server")
		}
	}
	if n := srv.requests.Load(); n != 1 {
		t.Fatalf("%d requests in %v to a failing server, want 1", n, time.Since(start))
	}
}

func TestJWKSClientVerifies(t *testing.T) {
	k := genKey(t)
	srv := newJWKSServer(t, keySet(t, k))
	v := verifier(&JWKSClient{URL: srv.URL, HTTP: srv.Client()})
	raw := issue(t, issuer(keySet(t, k)), grant(TypeAccess, time.Minute))
	if _, err := v.Verify(context.Background(), raw, TypeAccess); err != nil {
		t.Fatal(err)
	}
}

func TestParseJWKS(t *testing.T) {
	k := genKey(t)
	doc := `{"keys":[{"kty":"RSA","kid":"r","n":"AQAB"},{"kty":"OKP","crv":"X25519","kid":"x","x":"AA"},
		{"kty":"OKP","crv":"Ed25519","kid":"","x":"AA"},` + mustJSON(t, keySet(t, k).JWKS().Keys[0]) + `]}`
	keys, err := parseJWKS([]byte(doc))
	if err != nil || len(keys) != 1 || !keys[k.ID].Equal(k.Public()) {
		t.Fatalf("parseJWKS = %v, %v", keys, err)
	}
	for _, bad := range []string{
		`{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"a","x":"AAAA"}]}`, `[`, `{"keys":7}`,
	} {
		if _, err := parseJWKS([]byte(bad)); err == nil {
			t.Errorf("parseJWKS(%s) succeeded", bad)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func FuzzParseJWKS(f *testing.F) {
	f.Add([]byte(`{"keys":[]}`))
	f.Add([]byte(`{"keys":[{"kty":"OKP","crv":"ed25519","kid":"a",` +
		`"x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"a","x":"=="}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := parseJWKS(data)
		if err != nil {
			return
		}
		for kid, k := range keys {
			if kid == "" || len(k) != 32 {
				t.Fatalf("key %q of %d bytes accepted", kid, len(k))
			}
		}
	})
}

func TestLoadOrCreateFileKeepsTheKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "signing.pem")
	first, err := LoadOrCreateFile(path)
	if err != nil {
		t.Fatal(err)
	}
	again, err := LoadOrCreateFile(path)
	if err != nil || len(again) != 1 || again[0].ID != first[0].ID ||
		!again[0].Private.Equal(first[0].Private) {
		t.Fatalf("reloaded %v, %v", again, err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v", fi.Mode(), err)
	}
	if _, err := ParsePEM([]byte("no pem here")); err == nil {
		t.Fatal("ParsePEM accepted text without a key")
	}
}

func TestLoadKeysEnvironmentFirst(t *testing.T) {
	a, b, c := genKey(t), genKey(t), genKey(t)
	pemOf := func(k Key) []byte {
		data, err := k.MarshalPEM()
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	file := filepath.Join(t.TempDir(), "keys.pem")
	if err := os.WriteFile(file, append(pemOf(c), pemOf(a)...), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		env   string
		files []string
		want  []Key
	}{
		{"environment only", string(pemOf(a)) + string(pemOf(b)), nil, []Key{a, b}},
		{"files only", "", []string{file}, []Key{c, a}},
		{"environment before files, once each", string(pemOf(b)) + string(pemOf(a)),
			[]string{file}, []Key{b, a, c}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LoadKeys(tt.env, tt.files)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d keys, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if got[i].ID != tt.want[i].ID {
					t.Fatalf("key %d is %s, want %s", i, got[i].ID, tt.want[i].ID)
				}
			}
		})
	}
	for _, bad := range []string{"", "not a key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"} {
		if _, err := LoadKeys(bad, nil); err == nil {
			t.Errorf("LoadKeys(%q) found keys", bad)
		}
	}
}
