package allinone

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"testing"
	"time"
)

// start runs the all-in-one on dataDir until the test, or stop, ends it.
func start(t *testing.T, dataDir string) (base string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	urls := make(chan string, 1)
	done := make(chan error, 1)
	cfg := Config{Addr: "127.0.0.1:0", DataDir: dataDir}
	go func() { done <- Run(ctx, cfg, slog.New(slog.DiscardHandler), func(u string) { urls <- u }) }()
	select {
	case base = <-urls:
	case err := <-done:
		cancel()
		t.Fatalf("Run ended before listening: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("the all-in-one did not listen within 30s")
	}
	var stopped bool
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(stop)
	return base, stop
}

func post(t *testing.T, url, auth string, body any) (int, map[string]any) {
	t.Helper()
	data, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", "JWT "+auth)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// A revocation must outlive a restart even though the all-in-one keeps
// its denylist in memory: the database remembers it.
func TestRevocationSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	base, stop := start(t, dir)
	creds := map[string]string{"username": "ann", "password": "a long and fine passphrase"}
	if st, _ := post(t, base+"/auth/users/", "", creds); st != 201 {
		t.Fatalf("sign-up: %d", st)
	}
	st, tok := post(t, base+"/auth/jwt/create/", "", creds)
	if st != 200 {
		t.Fatalf("login: %d", st)
	}
	access, _ := tok["access"].(string)
	if st, _ := post(t, base+"/auth/jwt/revoke/", "", map[string]any{"refresh": tok["refresh"]}); st != 204 {
		t.Fatalf("revoke: %d", st)
	}
	stop()

	base, _ = start(t, dir)
	req, _ := http.NewRequest(http.MethodGet, base+"/auth/users/me/", nil)
	req.Header.Set("Authorization", "JWT "+access)
	st, body := do(t, req)
	if st != 401 || body["detail"] != "Token has been revoked." {
		t.Fatalf("revoked session's access token after a restart: %d %v, want 401 revoked", st, body)
	}
}
