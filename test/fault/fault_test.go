package fault

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parley-chat/parley/pkg/checker"
	"github.com/parley-chat/parley/pkg/loadgen"
	"github.com/parley-chat/parley/test/harness"
)

// TestEdgeKilled kills one of two edges: its clients reconnect to the
// other with since and resend what was not acknowledged.
func TestEdgeKilled(t *testing.T) {
	tp := startTopo(t, options{edges: 2})
	res := tp.withFault(func(run *loadgen.Run) []checker.Send {
		tp.edges[0].Kill()
		eventually(t, 20*time.Second, "clients to reconnect", func() bool { return run.Reconnects() > 0 })
		progress(t, run, 20, "through the surviving edge")
		return nil
	})
	if res.Reconnects == 0 {
		t.Fatal("no socket reconnected, so the edge's death was not exercised")
	}
}

// TestArchiverKilledMidBatch holds both archivers inside a transaction,
// kills one there, and restarts it later; the other runs throughout.
// What the killed one held is rolled back by PostgreSQL and delivered
// again, after AckWait, to the survivor.
func TestArchiverKilledMidBatch(t *testing.T) {
	tp := startTopo(t, options{archivers: 2})
	tp.withFault(func(run *loadgen.Run) []checker.Send {
		release := lockChats(t, tp.dbURL)
		waiting := waitForLockWaiters(t, tp.dbURL, 2)
		t.Logf("%d archiver transactions waiting on the lock when one archiver is killed", waiting)
		tp.archivers[0].Kill()
		release()
		progress(t, run, 20, "with one archiver")
		tp.archivers[0].Restart()
		harness.WaitStatus(t, tp.archivers[0], tp.archURLs[0]+"/readyz", http.StatusOK)
		return nil
	})
}

// lockChats locks every chat row, so that an archiver writing a batch
// waits inside its transaction, its rows inserted but not committed. The
// returned function releases the lock.
func lockChats(t *testing.T, dbURL string) (release func()) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT id FROM chats FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	done := false
	release = func() {
		if done {
			return
		}
		done = true
		_ = tx.Rollback(ctx) // it changed nothing
		_ = conn.Close(ctx)
	}
	t.Cleanup(release)
	return release
}

// waitForLockWaiters waits until want transactions wait on a lock, or
// at least one does after a while: at 15 messages a second both
// archivers almost always have a batch, but one may be between batches.
func waitForLockWaiters(t *testing.T, dbURL string, want int) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	count := func() int {
		var n int
		err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	n := 0
	give := time.Now().Add(5 * time.Second)
	eventually(t, 20*time.Second, "an archiver to wait inside its transaction", func() bool {
		n = count()
		return n >= want || (n > 0 && time.Now().After(give))
	})
	return n
}
