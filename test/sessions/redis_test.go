package sessions

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/parley-chat/parley/test/harness"
)

func redisClient(t *testing.T, url string) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rc := redis.NewClient(opts)
	t.Cleanup(func() { _ = rc.Close() })
	return rc
}

// wantPTTL checks that key expires at until, within the rounding of
// tokens' whole-second times.
func wantPTTL(t *testing.T, rc *redis.Client, key string, until time.Time) {
	t.Helper()
	got, err := rc.PTTL(context.Background(), key).Result()
	want := time.Until(until)
	if err != nil || got < want-1500*time.Millisecond || got > want+1500*time.Millisecond {
		t.Fatalf("PTTL(%s) = %v, %v; want %v", key, got, err, want)
	}
	t.Logf("PTTL(%s) = %v, remaining lifetime %v", key, got, want)
}

// TestDenylistEntriesLastAsLongAsWhatTheyBlock checks the keys auth
// writes: a used refresh token is kept until it would have expired, a
// revoked session until its maximum age runs out, each plus the 30
// seconds of clock skew verifiers allow, and not a moment longer.
func TestDenylistEntriesLastAsLongAsWhatTheyBlock(t *testing.T) {
	const leeway = 30 * time.Second
	c := newCluster(t, "", map[string]string{
		"PARLEY_REFRESH_TTL": "1h", "PARLEY_SESSION_MAX_AGE": "2h",
	})
	rc := redisClient(t, c.redisURL)
	_, p0 := newUser(t, c.auth, "denied")
	r0 := claimsOf(t, p0.Refresh)
	p1 := decodePair(t, post(t, c.auth+"/auth/jwt/refresh/", map[string]string{"refresh": p0.Refresh}))
	wantPTTL(t, rc, "parley:used:jti:"+r0.Jti, time.Unix(r0.Exp, 0).Add(leeway))

	post(t, c.auth+"/auth/jwt/revoke/", map[string]string{"refresh": p1.Refresh})
	sessionEnd := time.Unix(r0.Iat, 0).Add(2 * time.Hour)
	wantPTTL(t, rc, "parley:revoked:sid:"+r0.Sid, sessionEnd.Add(leeway))
}

// TestLoginThrottleSharedByAuthReplicas fails logins for one username
// against two auth processes in turn: the limit must count them all.
func TestLoginThrottleSharedByAuthReplicas(t *testing.T) {
	red := startRedis(t)
	c := newCluster(t, red.url(), nil)
	second := harness.FreeAddr(t)
	c.startAuth(second, map[string]string{"PARLEY_SIGNING_KEY_FILES": c.keyFile})
	replicas := []string{c.auth, "http://" + second}
	name, _ := newUser(t, c.auth, "guessed")
	wrong := map[string]string{"username": name, "password": "not the password at all"}

	// The default allows five failures per username, then one a minute.
	for i := range 5 {
		wantReply(t, "failed login "+strconv.Itoa(i+1),
			post(t, replicas[i%2]+"/auth/jwt/create/", wrong), http.StatusBadRequest, "")
	}
	for _, base := range replicas {
		r := post(t, base+"/auth/jwt/create/", wrong)
		secs, err := strconv.Atoi(r.header.Get("Retry-After"))
		if r.status != http.StatusTooManyRequests || err != nil || secs < 1 || secs > 60 {
			t.Fatalf("sixth failure at %s = %d %s (Retry-After %q), want 429",
				base, r.status, r.body, r.header.Get("Retry-After"))
		}
		want := "Request was throttled. Expected available in " + strconv.Itoa(secs) + " seconds."
		wantReply(t, "throttled login", r, http.StatusTooManyRequests, want)
	}
}

// TestRedisOutage stops the Redis that auth and the edge use, then
// starts it again: meanwhile every answer that needs it is a 503 (or
// 1013 on a socket), and afterwards everything works again.
func TestRedisOutage(t *testing.T) {
	red := startRedis(t)
	c := newCluster(t, red.url(), nil)
	edge := c.startEdge(nil)
	name, p := newUser(t, c.auth, "outage")

	red.stop()
	const unavailable = "Service temporarily unavailable, try again later."
	body := map[string]string{"username": name, "password": password}
	wantReply(t, "login without redis", post(t, c.auth+"/auth/jwt/create/", body),
		http.StatusServiceUnavailable, unavailable)
	wantReply(t, "refresh without redis", post(t, c.auth+"/auth/jwt/refresh/",
		map[string]string{"refresh": p.Refresh}), http.StatusServiceUnavailable, unavailable)
	wantReply(t, "verify without redis", post(t, c.auth+"/auth/jwt/verify/",
		map[string]string{"token": p.Access}), http.StatusServiceUnavailable, unavailable)
	if st := harness.StatusOf(c.auth + "/readyz"); st != http.StatusServiceUnavailable {
		t.Fatalf("auth /readyz without redis = %d, want 503", st)
	}
	s := dialWS(t, edge)
	s.send(map[string]string{"type": "auth", "token": p.Access})
	s.waitClose(10*time.Second, 1013, "")

	red.start()
	poll(t, 30*time.Second, 100*time.Millisecond, "login to work again", func() bool {
		return post(t, c.auth+"/auth/jwt/create/", body).status == http.StatusOK
	})
	decodePair(t, post(t, c.auth+"/auth/jwt/refresh/", map[string]string{"refresh": p.Refresh}))
	authed(t, edge, p.Access)
}
