// Package sessions runs Parley's commands as separate processes and
// checks, from the outside, every rule of the token model: refresh
// rotation with reuse detection and its grace window, revocation by
// endpoint and by the operator's command, live sockets closed on
// revocation and on token expiry, the denylist's expiry in Redis, the
// moved refresh path, signing key rotation, forged tokens, login
// throttling shared through Redis, and a Redis outage.
package sessions

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binDir holds the commands, built once for the package.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "parley-sessions-bin")
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

// build compiles the commands the tests run. They are built without the
// race detector to keep the run short; the packages' own tests use it.
func build() int {
	cmd := exec.Command("go", "build", "-o", binDir+"/", "./cmd/parley", "./cmd/edge", "./cmd/auth")
	cmd.Dir = "../.."
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building commands:", err)
		return 1
	}
	return 0
}

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// proc is a process a test started; its output is shown when the test
// fails.
type proc struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
	once sync.Once
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
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
func start(t *testing.T, name, path string, env map[string]string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(path, args...)
	cmd.Env = environ(env)
	p := &proc{t: t, name: name, cmd: cmd, out: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("output of %s:\n%s", name, p.out.String())
		}
	})
	return p
}

// command starts one of the built commands.
func command(t *testing.T, name, cmd string, env map[string]string) *proc {
	t.Helper()
	return start(t, name, filepath.Join(binDir, cmd), env)
}

// stop sends SIGTERM and waits for the process to exit, killing it after
// 20 seconds. Stopping twice is harmless.
func (p *proc) stop() {
	p.once.Do(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(20 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
			p.t.Errorf("%s did not stop within 20s of SIGTERM", p.name)
		}
	})
}

// waitStatus polls url until it answers want, failing when the process
// dies or a minute passes.
func waitStatus(t *testing.T, p *proc, url string, want int) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(time.Minute)
	for {
		if statusOf(url) == want {
			return
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited early:\n%s", p.name, p.out.String())
		case <-deadline:
			t.Fatalf("%s did not answer %d at %s within a minute:\n%s", p.name, want, url, p.out.String())
		case <-tick.C:
		}
	}
}

// statusOf is the status of a GET of url, 0 when it fails or takes
// longer than five seconds.
func statusOf(url string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitReady waits for base/readyz to answer 200.
func waitReady(t *testing.T, p *proc, base string) {
	t.Helper()
	waitStatus(t, p, base+"/readyz", http.StatusOK)
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
