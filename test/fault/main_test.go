// Package fault kills Parley's processes while the load generator runs
// and checks, with the checker, that nothing acknowledged was lost,
// duplicated or reordered. Each test starts real processes, built once
// for the package: an edge, an archiver mid-batch, a NATS server of a
// three-node cluster, and PostgreSQL itself are killed or cut off.
package fault

import (
	"testing"

	"github.com/parley-chat/parley/test/harness"
)

// TestMain builds the services and nats-server, a tool dependency of the
// module; the processes are under test for what they do when killed.
func TestMain(m *testing.M) {
	harness.Main(m, "./cmd/edge", "./cmd/auth", "./cmd/archiver",
		"github.com/nats-io/nats-server/v2")
}
