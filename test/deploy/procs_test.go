package deploy

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binDir holds the commands, built once for the package.
var binDir string

// commands are the binaries the image holds, by name.
var commands = []string{"parley", "edge", "auth", "archiver"}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "parley-deploy-bin")
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

// build compiles the commands the Deployments run, without the race
// detector: the packages' own tests run under it, and this keeps the run
// short.
func build() int {
	cmd := exec.Command("go", "build", "-o", binDir+"/", "./cmd/edge", "./cmd/auth", "./cmd/archiver")
	cmd.Dir = "../.."
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building commands:", err)
		return 1
	}
	return 0
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

// freeAddr returns a loopback address nobody listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// proc is a command started by a test, with its output kept.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error // the exit status, once done is closed
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// start runs binary with exactly env (nothing inherited but PATH and
// HOME, as in a container) and stops it with SIGTERM when the test ends.
func start(t *testing.T, name, binary string, env []string) *proc {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, binary))
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	p := &proc{name: name, cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(t, 40*time.Second)
		if t.Failed() {
			t.Logf("output of %s:\n%s", name, p.out.String())
		}
	})
	return p
}

// stop sends SIGTERM and waits up to limit for the process to exit,
// killing it and failing the test after that. It returns the exit error.
func (p *proc) stop(t *testing.T, limit time.Duration) error {
	t.Helper()
	select {
	case <-p.done:
		return p.err
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM) // it may have exited meanwhile
	select {
	case <-p.done:
	case <-time.After(limit):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Errorf("%s did not stop within %v of SIGTERM", p.name, limit)
	}
	return p.err
}

// waitStatus polls base+path until it answers 200 or the process dies.
func waitStatus(t *testing.T, p *proc, base, path string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			t.Fatalf("%s exited early:\n%s", p.name, p.out.String())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				cancel()
				return
			}
		}
		<-ctx.Done() // paces the polling at one try a second at most
		cancel()
	}
	t.Fatalf("%s: %s%s not 200 within 60s:\n%s", p.name, base, path, p.out.String())
}
