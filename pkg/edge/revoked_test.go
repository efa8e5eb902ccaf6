package edge

import (
	"testing"
	"time"

	"github.com/parley-chat/parley/pkg/revocation"
)

func TestAnnouncedRevocationClosesSockets(t *testing.T) {
	e := newEnv(t)
	_, url := e.edge(Config{})
	gone, _ := e.login(url, 7) // session s7
	again, _ := e.login(url, 7)
	kept, _ := e.login(url, 8)

	start := time.Now()
	if err := revocation.Announce(e.nc, []string{"s7", "unknown"}); err != nil {
		t.Fatal(err)
	}
	gone.expectClose(closeAuth, reasonRevoked)
	again.expectClose(closeAuth, reasonRevoked)
	if took := time.Since(start); took > time.Second {
		t.Fatalf("sockets closed %v after the announcement, want within a second", took)
	}
	kept.send(subscribeMsg("nochat"))
	kept.expectError("not_found", "nochat")
}

// TestAdmitAfterAnnouncementRefused covers a socket whose auth frame
// passed the denylist before the revocation was stored, but which is
// admitted only after the announcement went past it.
func TestAdmitAfterAnnouncementRefused(t *testing.T) {
	e := newEnv(t)
	s, url := e.edge(Config{})
	s.revoked.remember([]string{"late"})
	c := dial(t, url, nil)
	tok, _ := e.token(9, "late", time.Hour)
	c.send(authMsg(tok))
	c.expectClose(closeAuth, reasonRevoked)
}

func TestRecentRevocationsAreForgotten(t *testing.T) {
	var r revokedSessions
	r.remember([]string{"old"})
	r.recent["old"] = time.Now().Add(-2 * recentFor)
	if r.revoked("old") {
		t.Fatal("a revocation older than recentFor still counts")
	}
	r.remember([]string{"new"})
	if _, ok := r.recent["old"]; ok || !r.revoked("new") {
		t.Fatalf("recent = %v, want only the new revocation", r.recent)
	}
}

func TestShutdownStopsListening(t *testing.T) {
	e := newEnv(t)
	s, _ := e.edge(Config{})
	if err := s.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if s.revoked.sub.IsValid() {
		t.Fatal("the edge still listens for revocations after shutdown")
	}
}
