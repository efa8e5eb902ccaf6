package harness

import (
	"bytes"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Spec says how to run a process.
type Spec struct {
	Name string   // shown in failures
	Path string   // the executable, such as Bin("edge")
	Args []string // arguments after the executable
	// Env is the whole environment as KEY=VALUE; nil inherits this
	// process's environment.
	Env []string
	// StopWithin is how long Stop waits after SIGTERM before it kills
	// the process and fails the test; 20 seconds when zero.
	StopWithin time.Duration
}

// Proc is a process a test started. Its output is kept across restarts
// and shown when the test fails; it is stopped when the test ends.
type Proc struct {
	t    *testing.T
	spec Spec
	out  lockedBuffer

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	err  error // the exit status, set before done closes
}

// lockedBuffer is a bytes.Buffer safe for the writes of a child's
// stdout and stderr and the test's reads.
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

// Start runs spec and registers its stop, and the display of its output
// when the test failed, for the end of the test.
func Start(t *testing.T, spec Spec) *Proc {
	t.Helper()
	if spec.StopWithin == 0 {
		spec.StopWithin = 20 * time.Second
	}
	p := &Proc{t: t, spec: spec}
	p.start()
	t.Cleanup(func() {
		_ = p.Stop()
		if t.Failed() {
			t.Logf("output of %s:\n%s", spec.Name, p.Output())
		}
	})
	return p
}

func (p *Proc) start() {
	p.t.Helper()
	cmd := exec.Command(p.spec.Path, p.spec.Args...)
	cmd.Env = p.spec.Env
	cmd.Stdout, cmd.Stderr = &p.out, &p.out
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("starting %s: %v", p.spec.Name, err)
	}
	done := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.done = cmd, done
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(done)
	}()
}

// current is the running command and its done channel.
func (p *Proc) current() (*exec.Cmd, chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd, p.done
}

// Name is the spec's name.
func (p *Proc) Name() string { return p.spec.Name }

// Output is everything the process wrote so far.
func (p *Proc) Output() string { return p.out.String() }

// Done is closed when the current run of the process has exited.
func (p *Proc) Done() <-chan struct{} {
	_, done := p.current()
	return done
}

// Exited reports whether the process has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.Done():
		return true
	default:
		return false
	}
}

// Wait waits for the process to exit and returns its exit error.
func (p *Proc) Wait() error {
	<-p.Done()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Signal sends sig to the process; it fails when the process is gone.
func (p *Proc) Signal(sig os.Signal) error {
	cmd, _ := p.current()
	return cmd.Process.Signal(sig)
}

// Stop sends SIGTERM and waits the spec's StopWithin for the exit. It
// returns the exit error; stopping an exited process only returns it.
func (p *Proc) Stop() error {
	p.t.Helper()
	return p.StopWithin(p.spec.StopWithin)
}

// StopWithin is Stop with its own limit, after which the process is
// killed and the test fails.
func (p *Proc) StopWithin(limit time.Duration) error {
	p.t.Helper()
	if p.Exited() {
		return p.Wait()
	}
	cmd, done := p.current()
	_ = cmd.Process.Signal(syscall.SIGTERM) // it may have exited meanwhile
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		_ = cmd.Process.Kill()
		<-done
		p.t.Errorf("%s did not stop within %v of SIGTERM", p.spec.Name, limit)
	}
	return p.Wait()
}

// Kill ends the process with SIGKILL, as a crash would, and waits.
func (p *Proc) Kill() {
	cmd, done := p.current()
	_ = cmd.Process.Kill() // it may have died already
	<-done
	p.out.Write([]byte("--- killed with SIGKILL ---\n"))
}

// Restart starts the process again after it exited.
func (p *Proc) Restart() {
	p.t.Helper()
	p.out.Write([]byte("--- restarted ---\n"))
	p.start()
}
