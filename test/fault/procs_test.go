package fault

import (
	"os"
	"testing"
	"time"

	"github.com/parley-chat/parley/test/harness"
)

// spawn starts binary with this process's environment plus env
// (KEY=VALUE) and args, and stops it with SIGTERM when the test ends.
// Fault tests kill it with Kill and start it again with Restart.
func spawn(t *testing.T, name, binary string, env []string, args ...string) *harness.Proc {
	t.Helper()
	return harness.Start(t, harness.Spec{
		Name: name,
		Path: harness.Bin(binary),
		Args: args,
		Env:  append(os.Environ(), env...),
	})
}

// eventually polls cond until it holds, failing after limit.
func eventually(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		<-tick.C
	}
}
