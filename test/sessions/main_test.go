// Package sessions runs Parley's commands as separate processes and
// checks, from the outside, every rule of the token model: refresh
// rotation with reuse detection and its grace window, revocation by
// endpoint and by the operator's command, live sockets closed on
// revocation and on token expiry, the denylist's expiry in Redis, the
// moved refresh path, signing key rotation, forged tokens, login
// throttling shared through Redis, and a Redis outage.
package sessions

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/test/harness"
)

func TestMain(m *testing.M) {
	harness.Main(m, "./cmd/parley", "./cmd/edge", "./cmd/auth")
}

// environ is this process's environment without PARLEY_ settings, which
// would otherwise leak into every command a test starts, plus env.
func environ(env map[string]string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PARLEY_") {
			out = append(out, kv)
		}
	}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// start runs path with args and env; the process is stopped when the
// test ends, if it has not been before.
func start(t *testing.T, name, path string, env map[string]string, args ...string) *harness.Proc {
	t.Helper()
	return harness.Start(t, harness.Spec{Name: name, Path: path, Args: args, Env: environ(env)})
}

// command starts one of the built commands.
func command(t *testing.T, name, cmd string, env map[string]string) *harness.Proc {
	t.Helper()
	return start(t, name, harness.Bin(cmd), env)
}

// poll calls cond every interval until it reports true, failing the test
// with what when within passes first.
func poll(t *testing.T, within, interval time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(within)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("timed out after %v waiting for %s", within, what)
		case <-tick.C:
		}
	}
}
