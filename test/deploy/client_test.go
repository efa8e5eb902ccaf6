package deploy

import (
	"testing"

	"github.com/parley-chat/parley/test/harness"
)

// frame is any server object.
type frame struct {
	Type     string `json:"type"`
	ID       int64  `json:"id"`
	Chat     string `json:"chat"`
	Message  string `json:"message"`
	ClientID string `json:"client_id"`
	Code     string `json:"code"`
}

// socket reads the server's objects as frames.
type socket struct{ *harness.Socket }

func dial(t *testing.T, base, token string) *socket {
	t.Helper()
	return &socket{harness.Dial(t, base, token)}
}

// nextOf skips objects of other types until one of typ arrives.
func (s *socket) nextOf(typ string) frame {
	var f frame
	s.NextOf(typ, &f)
	return f
}
