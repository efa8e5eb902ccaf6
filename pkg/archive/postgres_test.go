package archive

import (
	"testing"

	"github.com/parley-chat/parley/pkg/testenv"
)

// TestPostgres runs the main flows on PostgreSQL, which the cluster uses.
func TestPostgres(t *testing.T) {
	e := newEnv(t, testenv.PostgresURL(t), Config{})
	e.run(e.svc)
	t.Run("chat flow", func(t *testing.T) { testChatFlow(t, e) })
	t.Run("post and history", func(t *testing.T) { testPostAndHistory(t, e) })
}
