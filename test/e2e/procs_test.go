package e2e

import (
	"os"
	"testing"

	"github.com/parley-chat/parley/test/harness"
)

func TestMain(m *testing.M) {
	harness.Main(m, "./cmd/parley", "./cmd/edge", "./cmd/auth", "./cmd/archiver")
}

// start runs the built command with this process's environment plus env;
// it is stopped with SIGTERM when the test ends.
func start(t *testing.T, name, command string, env map[string]string) *harness.Proc {
	t.Helper()
	full := os.Environ()
	for k, v := range env {
		full = append(full, k+"="+v)
	}
	return harness.Start(t, harness.Spec{Name: name, Path: harness.Bin(command), Env: full})
}
