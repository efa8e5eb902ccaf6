package sessions

import (
	"net/http"
	"testing"
	"time"
)

// clockSlack allows for the edge's timer firing a little early against
// this process's clock.
const clockSlack = 100 * time.Millisecond

// expiringCluster is a cluster whose access tokens live three seconds,
// with one edge.
func expiringCluster(t *testing.T) (*cluster, string) {
	t.Helper()
	c := newCluster(t, "", map[string]string{"PARLEY_ACCESS_TTL": "3s", "PARLEY_REFRESH_GRACE": "1s"})
	return c, c.startEdge(nil)
}

// wantExpiredAt waits for s to close with 4001 "token expired" at exp.
func wantExpiredAt(t *testing.T, s *socket, exp time.Time) {
	t.Helper()
	end := s.waitClose(time.Until(exp)+5*time.Second, 4001, "token expired")
	if off := end.at.Sub(exp); off < -clockSlack || off > time.Second {
		t.Fatalf("socket closed %v from its token's expiry, want within a second after it", off)
	}
	t.Logf("closed %v after the token expired", end.at.Sub(exp))
}

func TestSocketClosesWhenItsTokenExpires(t *testing.T) {
	c, edge := expiringCluster(t)
	_, p := newUser(t, c.auth, "expiring")
	s := dialWS(t, edge)
	exp := s.auth(p.Access)
	if want := time.Unix(claimsOf(t, p.Access).Exp, 0); !exp.Equal(want) {
		t.Fatalf("ready expires_at %v, want the token's exp %v", exp, want)
	}
	wantExpiredAt(t, s, exp)
}

func TestReauthExtendsTheSocket(t *testing.T) {
	c, edge := expiringCluster(t)
	_, p := newUser(t, c.auth, "extending")
	s := dialWS(t, edge)
	first := s.auth(p.Access)

	// A newer access token of the same session, expiring later.
	var fresh string
	poll(t, 5*time.Second, 100*time.Millisecond, "a later access token", func() bool {
		r := post(t, c.auth+"/auth/jwt/refresh/", map[string]string{"refresh": p.Refresh})
		if r.status != http.StatusOK {
			t.Fatalf("refresh = %d %s", r.status, r.body)
		}
		next := decodePair(t, r)
		p.Refresh, fresh = next.Refresh, next.Access
		return time.Unix(claimsOf(t, fresh).Exp, 0).After(first)
	})
	second := s.auth(fresh)
	if !second.After(first) {
		t.Fatalf("re-auth moved expiry from %v to %v", first, second)
	}
	wantExpiredAt(t, s, second)
}

func TestReauthAsAnotherUserCloses(t *testing.T) {
	c, edge := expiringCluster(t)
	_, alice := newUser(t, c.auth, "alice")
	_, bob := newUser(t, c.auth, "bob")
	s := authed(t, edge, alice.Access)
	s.send(map[string]string{"type": "auth", "token": bob.Access})
	s.waitClose(5*time.Second, 4003, "")
}
