package sessions

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/pkg/embednats"
	"github.com/parley-chat/parley/pkg/testenv"
	"github.com/parley-chat/parley/pkg/token"
	"github.com/parley-chat/parley/test/harness"
)

// cluster is NATS, PostgreSQL and Redis with auth and edges started
// against them, each edge with Redis for its denylist checks.
type cluster struct {
	t        *testing.T
	natsURL  string
	dbURL    string
	redisURL string
	keys     []token.Key
	keyFile  string
	authAddr string
	auth     string // base URL of the first auth process
	authProc *harness.Proc
}

// newCluster starts NATS and one auth process with authEnv added to
// its environment; an empty redisURL means the shared test Redis.
func newCluster(t *testing.T, redisURL string, authEnv map[string]string) *cluster {
	t.Helper()
	ns, err := embednats.Start(embednats.Options{Dir: t.TempDir(), Listen: true, Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	if redisURL == "" {
		redisURL = testenv.RedisURL(t)
	}
	c := &cluster{t: t, natsURL: ns.ClientURL(), dbURL: testenv.PostgresURL(t), redisURL: redisURL}
	c.keys = []token.Key{newKey(t)}
	c.keyFile = writeKeys(t, c.keys...)
	c.authAddr = harness.FreeAddr(t)
	c.auth = "http://" + c.authAddr
	c.authProc = c.startAuth(c.authAddr, map[string]string{"PARLEY_SIGNING_KEY_FILES": c.keyFile}, authEnv)
	return c
}

// startAuth starts an auth process at addr and waits until it is ready.
func (c *cluster) startAuth(addr string, envs ...map[string]string) *harness.Proc {
	c.t.Helper()
	env := map[string]string{
		"PARLEY_ADDR": addr, "PARLEY_DATABASE_URL": c.dbURL, "PARLEY_REDIS_URL": c.redisURL,
		"PARLEY_NATS_URL": c.natsURL, "PARLEY_LOG_FORMAT": "text",
	}
	for _, e := range envs {
		for k, v := range e {
			env[k] = v
		}
	}
	p := command(c.t, "auth "+addr, "auth", env)
	harness.WaitReady(c.t, p, "http://"+addr)
	return p
}

// startEdge starts an edge with env added, and returns its base URL.
func (c *cluster) startEdge(env map[string]string) string {
	c.t.Helper()
	addr := harness.FreeAddr(c.t)
	full := map[string]string{
		"PARLEY_ADDR": addr, "PARLEY_NATS_URL": c.natsURL, "PARLEY_AUTH_URL": c.auth,
		"PARLEY_REDIS_URL": c.redisURL, "PARLEY_LOG_FORMAT": "text",
	}
	for k, v := range env {
		full[k] = v
	}
	p := command(c.t, "edge "+addr, "edge", full)
	harness.WaitReady(c.t, p, "http://"+addr)
	return "http://" + addr
}

func newKey(t *testing.T) token.Key {
	t.Helper()
	k, err := token.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// pemOf is keys as PEM text, in order.
func pemOf(t *testing.T, keys ...token.Key) string {
	t.Helper()
	var out []byte
	for _, k := range keys {
		data, err := k.MarshalPEM()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, data...)
	}
	return string(out)
}

// writeKeys writes keys to a fresh PEM file and returns its path.
func writeKeys(t *testing.T, keys ...token.Key) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "signing.pem")
	if err := os.WriteFile(path, []byte(pemOf(t, keys...)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// redisServer is a Redis of the test's own, on its own port, that the
// test can stop and start again; it keeps nothing on disk.
type redisServer struct {
	t    *testing.T
	port int
	p    *harness.Proc
}

func startRedis(t *testing.T) *redisServer {
	t.Helper()
	_, portText, err := net.SplitHostPort(harness.FreeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(portText)
	r := &redisServer{t: t, port: port}
	r.start()
	return r
}

func (r *redisServer) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

func (r *redisServer) start() {
	r.t.Helper()
	r.p = start(r.t, "redis", "redis-server", nil,
		"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	poll(r.t, 10*time.Second, 20*time.Millisecond, "redis to listen", func() bool {
		conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", r.port))
		if err == nil {
			conn.Close()
		}
		return err == nil
	})
}

func (r *redisServer) stop() { _ = r.p.Stop() }

// proxy forwards TCP connections to target until cut, which drops every
// connection and refuses new ones until restore: a network partition
// between one process and a server.
type proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	down  bool
	conns []net.Conn
	wg    sync.WaitGroup
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	p.wg.Go(p.accept)
	t.Cleanup(func() {
		ln.Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) accept() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		p.mu.Lock()
		if err != nil || p.down {
			p.mu.Unlock()
			in.Close()
			if out != nil {
				out.Close()
			}
			continue
		}
		p.conns = append(p.conns, in, out)
		p.mu.Unlock()
		p.wg.Go(func() { pipe(out, in) })
		p.wg.Go(func() { pipe(in, out) })
	}
}

// pipe copies until either side fails, then closes both.
func pipe(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
}

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *proxy) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}
