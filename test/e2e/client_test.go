package e2e

import (
	"fmt"
	"testing"

	"github.com/parley-chat/parley/test/harness"
)

type user = harness.User

type message struct {
	Type     string  `json:"type"`
	ID       int64   `json:"id"`
	Chat     string  `json:"chat"`
	User     user    `json:"user"`
	Message  string  `json:"message"`
	ClientID *string `json:"client_id"`
	// Fields of other server frames.
	Code   string `json:"code"`
	Detail string `json:"detail"`
	Ref    string `json:"ref"`
	LastID int64  `json:"last_id"`
}

// signUp registers username and logs in, returning an access token.
func signUp(t *testing.T, authBase, username string) (string, user) {
	t.Helper()
	return harness.SignUp(t, authBase, username, "correct horse battery staple 42")
}

// socket reads the server's objects as messages.
type socket struct{ *harness.Socket }

func dial(t *testing.T, edgeBase, token string) *socket {
	t.Helper()
	return &socket{harness.Dial(t, edgeBase, token)}
}

// next returns the next server object, waiting at most 10 seconds.
func (s *socket) next() message {
	var m message
	s.Next(&m)
	return m
}

// nextOf skips frames of other types until one of typ arrives.
func (s *socket) nextOf(typ string) message {
	var m message
	s.NextOf(typ, &m)
	return m
}

func (s *socket) subscribe(chat string) message {
	s.Send(map[string]any{"type": "subscribe", "chat": chat})
	return s.next()
}

func cid(sender string, i int) string { return fmt.Sprintf("%s-%d", sender, i) }
