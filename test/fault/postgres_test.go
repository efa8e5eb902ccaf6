package fault

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/parley-chat/parley/pkg/checker"
	"github.com/parley-chat/parley/pkg/loadgen"
	"github.com/parley-chat/parley/pkg/stream"
	"github.com/parley-chat/parley/pkg/testenv"
	"github.com/parley-chat/parley/pkg/wire"
	"github.com/parley-chat/parley/test/harness"
)

// pgServer is a PostgreSQL server the test owns, on its own port, in a
// temporary folder, so that stopping it disturbs no other test.
type pgServer struct {
	t    *testing.T
	bin  string // the folder of initdb and pg_ctl
	dir  string
	port int
	cred *syscall.Credential // whom to run as; nil for the current user
	url  string
}

// startPostgres initializes and starts a server. initdb refuses to run
// as root, so as root the server runs as the postgres system user.
func startPostgres(t *testing.T) *pgServer {
	t.Helper()
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(found) == 0 {
		unavailable(t, "no initdb under /usr/lib/postgresql/*/bin")
	}
	slices.Sort(found)
	pg := &pgServer{t: t, bin: filepath.Dir(found[len(found)-1]), port: harness.FreePort(t)}
	dir, err := os.MkdirTemp("", "parley-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	pg.dir = dir
	if os.Geteuid() == 0 {
		pg.cred = postgresUser(t)
		if err := os.Chown(dir, int(pg.cred.Uid), int(pg.cred.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	pg.run("initdb", "-D", pg.data(), "-A", "trust", "-U", "parley", "-E", "UTF8", "--no-sync")
	pg.start()
	t.Cleanup(pg.stop)
	pg.createDatabase()
	return pg
}

func unavailable(t *testing.T, why string) {
	t.Helper()
	if testenv.RequireServices() {
		t.Fatalf("PostgreSQL for this test: %s", why)
	}
	t.Skipf("skipping: PostgreSQL for this test: %s (PARLEY_TEST_REQUIRE_SERVICES=1 fails instead)", why)
}

func postgresUser(t *testing.T) *syscall.Credential {
	t.Helper()
	u, err := user.Lookup("postgres")
	if err != nil {
		unavailable(t, "running as root and there is no postgres user to run initdb as")
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

func (pg *pgServer) data() string { return filepath.Join(pg.dir, "data") }

// run runs one of PostgreSQL's programs as the server's user.
func (pg *pgServer) run(program string, args ...string) {
	pg.t.Helper()
	cmd := exec.Command(filepath.Join(pg.bin, program), args...)
	if pg.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: pg.cred}
	}
	cmd.Dir = pg.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		pg.t.Fatalf("%s: %v\n%s", program, err, out)
	}
}

// start starts the server and waits until it accepts connections.
func (pg *pgServer) start() {
	pg.t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", pg.port, pg.dir)
	pg.run("pg_ctl", "-D", pg.data(), "-l", filepath.Join(pg.dir, "log"), "-o", opts, "-w", "start")
}

// stop stops the server at once, cutting every connection, as a crash
// of the database would.
func (pg *pgServer) stop() {
	cmd := exec.Command(filepath.Join(pg.bin, "pg_ctl"), "-D", pg.data(), "-m", "immediate", "-w", "stop")
	if pg.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: pg.cred}
	}
	_ = cmd.Run() // a server already stopped is what stop wants
}

func (pg *pgServer) createDatabase() {
	pg.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	base := fmt.Sprintf("postgres://parley@127.0.0.1:%d/", pg.port)
	conn, err := pgx.Connect(ctx, base+"postgres?sslmode=disable")
	if err != nil {
		pg.t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE parley"); err != nil {
		pg.t.Fatal(err)
	}
	pg.url = base + "parley?sslmode=disable"
}

// TestPostgresRestarted stops PostgreSQL abruptly while messages flow
// and starts it again. Sends with a client_id need the database, which
// alone remembers them past the stream's window, so they are refused
// meanwhile and the clients try again; messages without one, as another
// publisher's, are still stored in the stream, and the archiver holds
// them through the outage, spending none of its tries, and catches up.
func TestPostgresRestarted(t *testing.T) {
	pg := startPostgres(t)
	tp := startTopo(t, options{dbURL: pg.url})
	tp.withFault(func(run *loadgen.Run) []checker.Send {
		before := run.Refusals()
		pg.stop()
		eventually(t, 20*time.Second, "sends to be refused while the database is down",
			func() bool { return run.Refusals() >= before+3 })
		extra := publishDirect(t, tp.natsURL, run.Chats()[0], 5)
		archiver := tp.archivers[0]
		eventually(t, 20*time.Second, "the archiver to hold a batch", func() bool {
			return strings.Contains(archiver.Output(), "database down")
		})
		pg.start()
		progress(t, run, 20, "after the database is back")
		return extra
	})
}

// publishDirect stores n messages in chat without a client_id, as a
// publisher other than the load's, and returns them as acknowledged
// sends for the checker.
func publishDirect(t *testing.T, natsURL, chat string, n int) []checker.Send {
	t.Helper()
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var sends []checker.Send
	for i := range n {
		p := stream.Payload{Chat: chat, User: wire.User{ID: 1, Username: "direct"},
			Message: fmt.Sprint("direct ", i)}
		pub, err := stream.Publish(ctx, js, p)
		if err != nil {
			t.Fatal(err)
		}
		sends = append(sends, checker.Send{Chat: chat, User: 1, IDs: []int64{pub.ID}})
	}
	return sends
}
