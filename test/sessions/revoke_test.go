package sessions

import (
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/test/harness"
)

// closeWithin is the contract's bound from a revocation to the close of
// every socket of the session.
const closeWithin = time.Second

const (
	revokedDetail = "Token has been revoked."
	invalidDetail = "Error decoding signature."
)

// wantRevokedClose waits for s to close with 4001 "session revoked"
// within a second of since, and returns how long it took.
func wantRevokedClose(t *testing.T, s *socket, since time.Time) time.Duration {
	t.Helper()
	end := s.waitClose(2*closeWithin, 4001, "session revoked")
	took := end.at.Sub(since)
	if took > closeWithin {
		t.Fatalf("socket closed %v after the revocation, want within %v", took, closeWithin)
	}
	return took
}

func TestRevokedSessionClosesSocketsAcrossEdges(t *testing.T) {
	c := newCluster(t, "", nil)
	edges := []string{c.startEdge(nil), c.startEdge(nil)}
	name, p := newUser(t, c.auth, "leaver")
	other := login(t, c.auth, name)

	// One session on both edges, another session of the same user on one.
	mine := []*socket{authed(t, edges[0], p.Access), authed(t, edges[1], p.Access)}
	theirs := authed(t, edges[1], other.Access)

	start := time.Now()
	wantReply(t, "revoke", post(t, c.auth+"/auth/jwt/revoke/", map[string]string{"refresh": p.Refresh}),
		http.StatusNoContent, "")
	for i, s := range mine {
		t.Logf("revocation to close on edge %d: %v", i+1, wantRevokedClose(t, s, start))
	}
	wantReply(t, "me after revoke", call{method: "GET", url: c.auth + "/auth/users/me/", token: p.Access}.do(t),
		http.StatusUnauthorized, revokedDetail)

	// The other session lives on, and can still authenticate sockets.
	theirs.auth(other.Access)
	again := dialWS(t, edges[0])
	again.send(map[string]string{"type": "auth", "token": p.Access})
	again.waitClose(5*time.Second, 4001, "session revoked")
}

func TestRevokeAllClosesEverySocketOfTheUser(t *testing.T) {
	c := newCluster(t, "", nil)
	edge := c.startEdge(nil)
	name, a := newUser(t, c.auth, "everywhere")
	b := login(t, c.auth, name)
	_, stranger := newUser(t, c.auth, "stranger")
	sockets := []*socket{authed(t, edge, a.Access), authed(t, edge, b.Access)}
	bystander := authed(t, edge, stranger.Access)

	start := time.Now()
	wantReply(t, "revoke-all",
		call{method: "POST", url: c.auth + "/auth/sessions/revoke-all/", token: a.Access}.do(t),
		http.StatusNoContent, "")
	for i, s := range sockets {
		t.Logf("revoke-all to close of session %d: %v", i+1, wantRevokedClose(t, s, start))
	}
	for _, p := range []pair{a, b} {
		wantReply(t, "refresh after revoke-all", post(t, c.auth+"/auth/jwt/refresh/",
			map[string]string{"refresh": p.Refresh}), http.StatusUnauthorized, revokedDetail)
	}
	bystander.auth(stranger.Access)
}

// TestEdgeThatMissedTheAnnouncementRefusesOnReauth cuts one edge off
// from NATS while a session is revoked: it never hears of it, yet the
// socket's next auth frame is refused, because the edge asks Redis.
func TestEdgeThatMissedTheAnnouncementRefusesOnReauth(t *testing.T) {
	c := newCluster(t, "", nil)
	link := newProxy(t, strings.TrimPrefix(c.natsURL, "nats://"))
	edge := c.startEdge(map[string]string{"PARLEY_NATS_URL": "nats://" + link.addr()})
	_, p := newUser(t, c.auth, "cutoff")
	s := authed(t, edge, p.Access)

	link.cut()
	poll(t, 10*time.Second, 20*time.Millisecond, "the edge to notice NATS is gone", func() bool {
		return harness.StatusOf(edge+"/readyz") == http.StatusServiceUnavailable
	})
	wantReply(t, "revoke", post(t, c.auth+"/auth/jwt/revoke/", map[string]string{"refresh": p.Refresh}),
		http.StatusNoContent, "")
	link.restore()
	poll(t, 10*time.Second, 20*time.Millisecond, "the edge to reconnect", func() bool {
		return harness.StatusOf(edge+"/readyz") == http.StatusOK
	})
	if !s.isOpen() {
		t.Fatalf("the socket closed with %d %q although its edge missed the announcement",
			s.end.code, s.end.reason)
	}
	s.send(map[string]string{"type": "auth", "token": p.Access})
	s.waitClose(5*time.Second, 4001, "session revoked")
}

func TestOperatorRevokeCommand(t *testing.T) {
	c := newCluster(t, "", nil)
	edge := c.startEdge(nil)
	name, a := newUser(t, c.auth, "incident")
	b := login(t, c.auth, name)
	sa, sb := authed(t, edge, a.Access), authed(t, edge, b.Access)
	env := map[string]string{
		"PARLEY_DATABASE_URL": c.dbURL, "PARLEY_REDIS_URL": c.redisURL, "PARLEY_NATS_URL": c.natsURL,
	}

	// One session by id: only its socket closes.
	sid := claimsOf(t, a.Access).Sid
	start := time.Now()
	out := revokeCommand(t, env, "-session", sid)
	t.Logf("parley revoke -session to close: %v", wantRevokedClose(t, sa, start))
	if strings.TrimSpace(out) != "revoked session "+sid {
		t.Fatalf("parley revoke -session printed %q", out)
	}
	if !sb.isOpen() {
		t.Fatal("revoking one session closed another session's socket")
	}

	// Every session of the user by name, in other case.
	start = time.Now()
	out = revokeCommand(t, env, "--user", strings.ToUpper(name))
	t.Logf("parley revoke -user to close: %v", wantRevokedClose(t, sb, start))
	if want := "revoked session " + claimsOf(t, b.Access).Sid; strings.TrimSpace(out) != want {
		t.Fatalf("parley revoke -user printed %q, want %q", out, want)
	}
	for _, p := range []pair{a, b} {
		wantReply(t, "me after parley revoke",
			call{method: "GET", url: c.auth + "/auth/users/me/", token: p.Access}.do(t),
			http.StatusUnauthorized, revokedDetail)
	}

	cmd := exec.Command(harness.Bin("parley"), "revoke", "-user", "nobody_"+name)
	cmd.Env = environ(env)
	if msg, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(msg), "no user named") {
		t.Fatalf("revoking an unknown user: %v, %s", err, msg)
	}
}

// revokeCommand runs "parley revoke" with args and returns its output,
// failing the test when it fails.
func revokeCommand(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	cmd := exec.Command(harness.Bin("parley"), append([]string{"revoke"}, args...)...)
	cmd.Env = environ(env)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("parley revoke %q: %v\n%s", args, err, stderr.String())
	}
	return string(out)
}

func TestAllInOneClosesRevokedSockets(t *testing.T) {
	addr, dir := harness.FreeAddr(t), t.TempDir()
	base := "http://" + addr
	p := command(t, "parley", "parley", map[string]string{
		"PARLEY_ADDR": addr, "PARLEY_DATA_DIR": dir, "PARLEY_LOG_FORMAT": "text",
	})
	harness.WaitReady(t, p, base)
	name, a := newUser(t, base, "solo")
	s := authed(t, base, a.Access)

	start := time.Now()
	wantReply(t, "revoke", post(t, base+"/auth/jwt/revoke/", map[string]string{"refresh": a.Refresh}),
		http.StatusNoContent, "")
	t.Logf("all-in-one revocation to close: %v", wantRevokedClose(t, s, start))

	// The operator's command works on the all-in-one's own database
	// while it runs: the session can no longer refresh.
	b := login(t, base, name)
	out := revokeCommand(t, map[string]string{"PARLEY_DATA_DIR": dir}, "-user", name)
	if !slices.Contains(strings.Fields(out), claimsOf(t, b.Access).Sid) {
		t.Fatalf("parley revoke printed %q", out)
	}
	wantReply(t, "refresh after parley revoke", post(t, base+"/auth/jwt/refresh/",
		map[string]string{"refresh": b.Refresh}), http.StatusUnauthorized, revokedDetail)
}
