package sessions

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestTwoRefreshesInsideGraceGetTheSamePair(t *testing.T) {
	c := newCluster(t, "", map[string]string{"PARLEY_REFRESH_GRACE": "3s"})
	_, p0 := newUser(t, c.auth, "twotabs")

	// Two tabs refresh with the same token at the same moment.
	var wg sync.WaitGroup
	got := make([]reply, 2)
	for i := range got {
		wg.Go(func() {
			got[i] = post(t, c.auth+"/auth/jwt/refresh/", map[string]string{"refresh": p0.Refresh})
		})
	}
	wg.Wait()
	a, b := decodePair(t, got[0]), decodePair(t, got[1])
	if a != b {
		t.Fatal("two refreshes of one token inside the grace window got different pairs")
	}
	if a.Refresh == p0.Refresh || a.Access == p0.Access {
		t.Fatal("the refresh did not rotate")
	}
	for _, r := range got {
		if ck := r.cookie(); ck == nil || ck.Value != a.Refresh {
			t.Fatalf("refresh cookie %+v, want the successor", ck)
		}
	}
	call{method: "GET", url: c.auth + "/auth/users/me/", token: a.Access}.do(t)
	decodePair(t, post(t, c.auth+"/auth/jwt/refresh/", map[string]string{"refresh": a.Refresh}))
}

// TestReuseAfterGraceRevokesTheSession presents a rotated refresh token
// until the grace window has passed: inside it the successor comes back,
// after it the whole session is revoked, successor and sockets included.
func TestReuseAfterGraceRevokesTheSession(t *testing.T) {
	const grace = 2 * time.Second
	c := newCluster(t, "", map[string]string{"PARLEY_REFRESH_GRACE": grace.String()})
	edge := c.startEdge(nil)
	_, p0 := newUser(t, c.auth, "stolen")
	p1 := decodePair(t, post(t, c.auth+"/auth/jwt/refresh/", map[string]string{"refresh": p0.Refresh}))
	rotated := time.Now()
	s := authed(t, edge, p1.Access)

	var refused reply
	poll(t, grace+5*time.Second, 100*time.Millisecond, "reuse to be refused", func() bool {
		r := post(t, c.auth+"/auth/jwt/refresh/", map[string]string{"refresh": p0.Refresh})
		if r.status == http.StatusOK {
			if decodePair(t, r) != p1 {
				t.Fatal("reuse inside the grace window got another pair")
			}
			return false
		}
		refused = r
		return true
	})
	// Times are whole seconds, so the window may close up to a second early.
	if after := time.Since(rotated); after < grace-time.Second {
		t.Fatalf("reuse refused %v after rotation, inside the %v grace window", after, grace)
	}
	wantReply(t, "reuse after grace", refused, http.StatusUnauthorized, revokedDetail)
	wantReply(t, "the successor", post(t, c.auth+"/auth/jwt/refresh/",
		map[string]string{"refresh": p1.Refresh}), http.StatusUnauthorized, revokedDetail)
	wantReply(t, "the successor's access token",
		call{method: "GET", url: c.auth + "/auth/users/me/", token: p1.Access}.do(t),
		http.StatusUnauthorized, revokedDetail)
	s.waitClose(5*time.Second, 4001, "session revoked")
}

func TestTutorialRefreshBoundedBySession(t *testing.T) {
	c := newCluster(t, "", map[string]string{
		"PARLEY_SESSION_MAX_AGE": "4s", "PARLEY_ACCESS_TTL": "3s", "PARLEY_REFRESH_GRACE": "1s",
	})
	_, p := newUser(t, c.auth, "tutorial")
	sessionEnd := time.Unix(claimsOf(t, p.Refresh).Iat, 0).Add(4 * time.Second)

	// Access tokens keep coming for the same session, none outliving it.
	access := p.Access
	var last reply
	poll(t, 15*time.Second, 200*time.Millisecond, "the session's end", func() bool {
		last = post(t, c.auth+"/auth/jwt/refresh/", map[string]string{"token": access})
		if last.status != http.StatusOK {
			return true
		}
		if strings.Contains(string(last.body), `"refresh"`) {
			t.Fatalf("tutorial refresh handed out a refresh token: %s", last.body)
		}
		next := decodePair(t, last).Access
		if cl := claimsOf(t, next); cl.Sid != claimsOf(t, p.Access).Sid || cl.Exp > sessionEnd.Unix() {
			t.Fatalf("tutorial refresh gave %+v, want the same session, expiring by %v", cl, sessionEnd)
		}
		access = next
		return false
	})
	if time.Now().Before(sessionEnd) {
		t.Fatalf("tutorial refresh refused before the session's end: %d %s", last.status, last.body)
	}
	wantReply(t, "tutorial refresh past the session's end", last, http.StatusUnauthorized, "")

	_, q := newUser(t, c.auth, "tutorial_revoked")
	post(t, c.auth+"/auth/jwt/revoke/", map[string]string{"refresh": q.Refresh})
	wantReply(t, "tutorial refresh of a revoked session", post(t, c.auth+"/auth/jwt/refresh/",
		map[string]string{"token": q.Access}), http.StatusUnauthorized, revokedDetail)
}

// TestMovedRefreshPath moves the refresh endpoint: the old path must be
// indistinguishable from a path that never existed, and must do no work
// at all, which is what keeps it in the same timing class: a valid
// refresh token sent there is not used up.
func TestMovedRefreshPath(t *testing.T) {
	const moved = "/auth/elsewhere/renew/"
	c := newCluster(t, "", map[string]string{"PARLEY_AUTH_REFRESH_PATH": moved})
	_, p := newUser(t, c.auth, "mover")
	body := map[string]string{"refresh": p.Refresh}

	unknown := post(t, c.auth+"/auth/no-such-endpoint/", body)
	for _, path := range []string{"/auth/jwt/refresh/", "/auth/jwt/refresh", "/auth/jwt/refresh/revoke/"} {
		old := post(t, c.auth+path, body)
		if old.status != http.StatusNotFound || string(old.body) != string(unknown.body) {
			t.Fatalf("POST %s = %d %s, want the unknown path's %d %s",
				path, old.status, old.body, unknown.status, unknown.body)
		}
		sameHeaders(t, path, old.header, unknown.header)
	}

	r := post(t, c.auth+moved, body)
	p1 := decodePair(t, r)
	ck := r.cookie()
	if ck == nil || ck.Path != moved || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode ||
		ck.Secure || ck.Value != p1.Refresh {
		t.Fatalf("refresh cookie on plain http to 127.0.0.1: %+v", ck)
	}
	r = call{method: "POST", url: c.auth + moved, cookies: []*http.Cookie{ck}, host: "chat.example"}.do(t)
	if ck2 := r.cookie(); r.status != http.StatusOK || ck2 == nil || !ck2.Secure {
		t.Fatalf("refresh by cookie for another host = %d, cookie %+v, want Secure", r.status, ck2)
	}

	// A browser sends the cookie only below the refresh path; sign-out
	// is there too.
	ck = r.cookie()
	r = call{method: "POST", url: c.auth + moved + "revoke/", cookies: []*http.Cookie{ck}}.do(t)
	if gone := r.cookie(); r.status != http.StatusNoContent || gone == nil || gone.MaxAge >= 0 {
		t.Fatalf("revoke by cookie = %d %s, cookie %+v", r.status, r.body, gone)
	}
	wantReply(t, "refresh after sign-out", call{method: "POST", url: c.auth + moved,
		cookies: []*http.Cookie{ck}}.do(t), http.StatusUnauthorized, revokedDetail)
}

// sameHeaders checks that two answers carry the same headers, but for
// the date and the request id, which differ with every request.
func sameHeaders(t *testing.T, path string, got, want http.Header) {
	t.Helper()
	got, want = got.Clone(), want.Clone()
	for _, h := range []http.Header{got, want} {
		for _, k := range []string{"Date", "X-Request-Id"} {
			if len(h[k]) != 1 {
				t.Fatalf("POST %s: %d %s headers", path, len(h[k]), k)
			}
			h.Del(k)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("POST %s headers %v, want %v", path, got, want)
	}
	for k, v := range want {
		if strings.Join(got[k], ",") != strings.Join(v, ",") {
			t.Fatalf("POST %s header %s = %q, want %q", path, k, got[k], v)
		}
	}
}
