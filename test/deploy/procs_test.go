package deploy

import (
	"os"
	"path"
	"testing"
	"time"

	"github.com/parley-chat/parley/test/harness"
)

// commands are the binaries the image holds, by name.
var commands = []string{"parley", "edge", "auth", "archiver"}

func TestMain(m *testing.M) {
	harness.Main(m, "./cmd/edge", "./cmd/auth", "./cmd/archiver")
}

// commandName returns which of the commands a container's command path
// names, or "".
func commandName(p string) string {
	if path.Dir(p) != "/usr/local/bin" {
		return ""
	}
	for _, c := range commands {
		if path.Base(p) == c {
			return c
		}
	}
	return ""
}

// start runs binary with exactly env (nothing inherited but PATH and
// HOME, as in a container) and stops it with SIGTERM when the test ends.
func start(t *testing.T, name, binary string, env []string) *harness.Proc {
	t.Helper()
	return harness.Start(t, harness.Spec{
		Name:       name,
		Path:       harness.Bin(binary),
		Env:        append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...),
		StopWithin: 40 * time.Second,
	})
}
