package archive

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/parley-chat/parley/pkg/authn"
	"github.com/parley-chat/parley/pkg/membership"
	"github.com/parley-chat/parley/pkg/natstest"
	"github.com/parley-chat/parley/pkg/revocation"
	"github.com/parley-chat/parley/pkg/store"
	"github.com/parley-chat/parley/pkg/token"
	"github.com/parley-chat/parley/pkg/wire"
)

// Users of the tests; the archiver knows users only from their tokens.
var (
	alice = wire.User{ID: 1, Username: "alice"}
	bob   = wire.User{ID: 2, Username: "bob"}
	carol = wire.User{ID: 3, Username: "carol"}
	dave  = wire.User{ID: 4, Username: "dave"}
)

// env is one archiver over embedded NATS and a real store.
type env struct {
	t    testing.TB
	nc   *nats.Conn
	js   jetstream.JetStream
	db   *store.DB
	auth *authn.Authenticator
	deny *revocation.Memory
	iss  *token.Issuer
	cfg  Config
	svc  *Service
	api  http.Handler
}

// newEnv opens a store at dsn (SQLite in a temporary folder when empty)
// and a Service over it; call run to start it.
func newEnv(t testing.TB, dsn string, cfg Config) *env {
	t.Helper()
	nc, js := natstest.JetStream(t, "archive-test")
	if dsn == "" {
		dsn = filepath.Join(t.TempDir(), "parley.db")
	}
	db, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })

	e := &env{t: t, nc: nc, js: js, db: db, cfg: cfg}
	e.keys()
	e.svc = e.newService()
	e.api = e.svc.Handler()
	return e
}

func (e *env) keys() {
	k, err := token.GenerateKey()
	if err != nil {
		e.t.Fatal(err)
	}
	ks, err := token.NewKeySet([]token.Key{k})
	if err != nil {
		e.t.Fatal(err)
	}
	e.iss = &token.Issuer{Keys: ks, Issuer: "parley", Audience: "parley"}
	e.deny = revocation.NewMemory()
	e.auth = &authn.Authenticator{
		Verifier: &token.Verifier{Keys: ks, Issuer: "parley", Audience: "parley"},
		Denylist: e.deny,
	}
}

func (e *env) newService() *Service {
	e.t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(testWriter{e.t}, nil))
	}
	svc, err := New(e.cfg, e.db, e.nc, e.auth, log)
	if err != nil {
		e.t.Fatal(err)
	}
	return svc
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// run starts svc.Run and returns a function that stops it and checks
// that it returned cleanly; the test's cleanup stops it too.
func (e *env) run(svc *Service) (stop func()) {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	stopped := false
	stop = func() {
		e.t.Helper()
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				e.t.Errorf("Run returned %v", err)
			}
		case <-time.After(15 * time.Second):
			e.t.Fatal("Run did not return after cancel")
		}
	}
	e.t.Cleanup(stop)
	e.waitServing(done)
	return stop
}

// waitServing waits until Run answers membership questions, which it
// does only after the stream and the consumer exist.
func (e *env) waitServing(done <-chan error) {
	e.t.Helper()
	c := &membership.Client{NC: e.nc, Timeout: time.Second}
	eventually(e.t, "Run to serve", func() bool {
		select {
		case err := <-done:
			e.t.Fatalf("Run returned early: %v", err)
		default:
		}
		_, err := c.Check(context.Background(), membership.Request{Chat: "none", UserID: 1})
		return err == nil
	})
}

// eventually polls cond until it holds, failing the test after 10s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// token returns a valid access token for u.
func (e *env) token(u wire.User) string {
	e.t.Helper()
	tok, _, err := e.iss.Issue(token.Grant{
		UserID: u.ID, Username: u.Username, SessionID: "s" + strconv.FormatInt(u.ID, 10),
		Type: token.TypeAccess, TTL: 5 * time.Minute,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// req is one API request; an empty ctype with a body means JSON.
type req struct {
	method, path string
	auth         string // the whole Authorization header
	body, ctype  string
}

// do serves r and returns the status and the body without its newline.
func (e *env) do(r req) (int, string) {
	e.t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	hr := httptest.NewRequest(r.method, r.path, body)
	if r.body != "" {
		ct := r.ctype
		if ct == "" {
			ct = "application/json"
		}
		hr.Header.Set("Content-Type", ct)
	}
	if r.auth != "" {
		hr.Header.Set("Authorization", r.auth)
	}
	w := httptest.NewRecorder()
	e.api.ServeHTTP(w, hr)
	return w.Code, strings.TrimSuffix(w.Body.String(), "\n")
}

// as sends a request as u.
func (e *env) as(u wire.User, method, path, body string) (int, string) {
	e.t.Helper()
	return e.do(req{method: method, path: path, auth: "JWT " + e.token(u), body: body})
}

// must sends a request as u, checks its status and decodes its answer.
func (e *env) must(u wire.User, method, path, body string, status int, into any) {
	e.t.Helper()
	code, got := e.as(u, method, path, body)
	if code != status {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, code, status, got)
	}
	if into != nil {
		if err := json.Unmarshal([]byte(got), into); err != nil {
			e.t.Fatalf("%s %s: decoding %s: %v", method, path, got, err)
		}
	}
}

// newChat creates a chat owned by u and returns its URI.
func (e *env) newChat(u wire.User) string {
	e.t.Helper()
	var r createdReply
	e.must(u, "POST", "/api/chats/", "", 201, &r)
	return r.URI
}

// join makes u a member of uri.
func (e *env) join(u wire.User, uri string) {
	e.t.Helper()
	e.must(u, "PATCH", "/api/chats/"+uri+"/", "", 200, nil)
}

// post sends text to uri as u and returns the new message's id.
func (e *env) post(u wire.User, uri, text string) int64 {
	e.t.Helper()
	body, _ := json.Marshal(map[string]string{"message": text})
	var r postedReply
	e.must(u, "POST", "/api/chats/"+uri+"/messages/", string(body), 201, &r)
	return r.ID
}

// history reads a page of uri's history as u.
func (e *env) history(u wire.User, uri, query string) historyReply {
	e.t.Helper()
	var r historyReply
	e.must(u, "GET", "/api/chats/"+uri+"/messages/"+query, "", 200, &r)
	return r
}

func ids(msgs []wire.Message) []int64 {
	out := make([]int64, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}

// recordingChats is the real store, noting the size of each batch and
// refusing, while refuse says so, any batch that holds a given text: the
// stand-in for a database that is down or rejects one message.
type recordingChats struct {
	store.Chats

	mu      sync.Mutex
	batches []int
	refuse  string // text of a message to refuse; empty refuses nothing
	// hold, when set, keeps every write waiting until it is closed.
	hold chan struct{}
}

var errRefused = errors.New("refused by the test")

func (r *recordingChats) AddMessages(ctx context.Context, msgs []wire.Message) error {
	r.mu.Lock()
	r.batches = append(r.batches, len(msgs))
	refuse, hold := r.refuse, r.hold
	r.mu.Unlock()
	if hold != nil {
		<-hold
	}
	if refuse != "" && slices.ContainsFunc(msgs, func(m wire.Message) bool {
		return m.Message == refuse
	}) {
		return errRefused
	}
	return r.Chats.AddMessages(ctx, msgs)
}

func (r *recordingChats) sizes() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.batches)
}

func (r *recordingChats) setRefuse(text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refuse = text
}
