// Package fault kills Parley's processes while the load generator runs
// and checks, with the checker, that nothing acknowledged was lost,
// duplicated or reordered. Each test starts real processes, built once
// for the package: an edge, an archiver mid-batch, a NATS server of a
// three-node cluster, and PostgreSQL itself are killed or cut off.
package fault

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// binDir holds the commands and nats-server, built once.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "parley-fault-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := build()
	if code == 0 {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// build compiles the services and nats-server, a tool dependency of the
// module, without the race detector: the processes are under test for
// what they do when killed, and the packages' own tests run under it.
func build() int {
	steps := [][]string{
		{"go", "build", "-o", binDir + "/", "./cmd/edge", "./cmd/auth", "./cmd/archiver"},
		{"go", "build", "-o", binDir + "/nats-server", "github.com/nats-io/nats-server/v2"},
	}
	for _, args := range steps {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir = "../.."
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building:", err)
			return 1
		}
	}
	return 0
}
