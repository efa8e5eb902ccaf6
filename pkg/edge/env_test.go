package edge

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/parley-chat/parley/pkg/authn"
	"github.com/parley-chat/parley/pkg/embednats"
	"github.com/parley-chat/parley/pkg/membership"
	"github.com/parley-chat/parley/pkg/natstest"
	"github.com/parley-chat/parley/pkg/stream"
	"github.com/parley-chat/parley/pkg/token"
	"github.com/parley-chat/parley/pkg/wire"
)

// env is a NATS server with the message stream, a membership responder
// over an in-test table of chats, and a token issuer.
type env struct {
	t      testing.TB
	ns     *embednats.Server
	nc     *nats.Conn
	js     jetstream.JetStream
	issuer *token.Issuer
	auth   *authn.Authenticator
	deny   *denylist

	mu     sync.Mutex
	chats  map[string]map[int64]bool // chat → members
	floors map[string]int64          // chat → the archiver's newest id
	// archived is what the fake archive holds, chat → messages by id.
	archived map[string][]wire.Message
}

const (
	brokenChat = "broken" // the membership lookup fails for it
	testIss    = "parley-test"
	testAud    = "parley"
)

func newEnv(t testing.TB) *env {
	t.Helper()
	ns := natstest.Start(t)
	e := &env{t: t, ns: ns, deny: &denylist{}, chats: map[string]map[int64]bool{},
		floors: map[string]int64{}}
	e.nc, e.js = natstest.Connect(t, ns, "test")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := stream.Ensure(ctx, e.js, stream.Config{}); err != nil {
		t.Fatal(err)
	}
	sub, err := membership.Serve(e.nc, e.lookup)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	e.serveArchive()

	key, err := token.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := token.NewKeySet([]token.Key{key})
	if err != nil {
		t.Fatal(err)
	}
	e.issuer = &token.Issuer{Keys: keys, Issuer: testIss, Audience: testAud}
	verifier := &token.Verifier{Keys: keys, Issuer: testIss, Audience: testAud}
	e.auth = &authn.Authenticator{Verifier: verifier, Denylist: e.deny}
	return e
}

func (e *env) connect(name string) *nats.Conn {
	e.t.Helper()
	nc, _ := natstest.Connect(e.t, e.ns, name)
	return nc
}

func (e *env) lookup(_ context.Context, req membership.Request) (membership.Reply, error) {
	if req.Chat == brokenChat {
		return membership.Reply{}, errors.New("database down")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	members, ok := e.chats[req.Chat]
	return membership.Reply{
		Exists: ok, Member: members[req.UserID], LastID: e.floors[req.Chat],
	}, nil
}

// addChat creates chat with the given members.
func (e *env) addChat(chat string, users ...int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := map[int64]bool{}
	for _, u := range users {
		m[u] = true
	}
	e.chats[chat] = m
}

// token issues an access token for user uid in session sid.
func (e *env) token(uid int64, sid string, ttl time.Duration) (string, *token.Claims) {
	e.t.Helper()
	raw, c, err := e.issuer.Issue(token.Grant{
		UserID: uid, Username: "user" + strconv.FormatInt(uid, 10),
		SessionID: sid, Type: token.TypeAccess, TTL: ttl,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return raw, c
}

// edge starts an edge on its own NATS connection and serves it over
// HTTP; it returns the server and the socket's ws:// URL. opts may
// change the dependencies first.
func (e *env) edge(cfg Config, opts ...func(*Deps)) (*Server, string) {
	e.t.Helper()
	nc := e.connect("edge")
	deps := Deps{
		NC:      nc,
		Authn:   e.auth,
		Members: &membership.Client{NC: nc, Timeout: 5 * time.Second},
	}
	for _, o := range opts {
		o(&deps)
	}
	s, err := New(cfg, deps)
	if err != nil {
		e.t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			e.t.Errorf("Shutdown: %v", err)
		}
		hs.Close()
	})
	return s, "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws"
}

// publish stores a message from user 99 the way another edge would.
func (e *env) publish(chat, text string) int64 {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p, err := stream.Publish(ctx, e.js, stream.Payload{
		Chat: chat, User: wire.User{ID: 99, Username: "user99"}, Message: text,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return p.ID
}

// denylist is an in-memory revocation list.
type denylist struct {
	mu      sync.Mutex
	revoked map[string]bool
}

func (d *denylist) RevokeSession(_ context.Context, sid string, _ time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.revoked == nil {
		d.revoked = map[string]bool{}
	}
	d.revoked[sid] = true
	return nil
}

func (d *denylist) SessionRevoked(_ context.Context, sid string) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.revoked[sid], nil
}

func (d *denylist) UseToken(context.Context, string, time.Time) (bool, error) {
	return true, nil
}

// obj is any server object; fields a type lacks stay zero.
type obj struct {
	Type      string     `json:"type"`
	User      *wire.User `json:"user"`
	ExpiresAt string     `json:"expires_at"`
	Chat      string     `json:"chat"`
	LastID    int64      `json:"last_id"`
	ID        int64      `json:"id"`
	Message   string     `json:"message"`
	ClientID  *string    `json:"client_id"`
	Code      string     `json:"code"`
	Detail    string     `json:"detail"`
	Ref       string     `json:"ref"`
}

// client is a test socket. It splits server frames on newlines and hands
// out one object at a time.
type client struct {
	t       testing.TB
	ws      *websocket.Conn
	pending []obj
	frames  int // frames read
}

func dial(t testing.TB, url string, header http.Header) *client {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(url, header)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (status %d)", url, err, status)
	}
	t.Cleanup(func() { _ = ws.Close() })
	return &client{t: t, ws: ws}
}

// login dials and authenticates as uid, returning the ready object.
func (e *env) login(url string, uid int64) (*client, obj) {
	e.t.Helper()
	c := dial(e.t, url, nil)
	tok, _ := e.token(uid, "s"+strconv.FormatInt(uid, 10), time.Hour)
	c.send(map[string]any{"type": "auth", "token": tok})
	return c, c.expect("ready")
}

// send writes objs as one frame, joined by newlines.
func (c *client) send(objs ...any) {
	c.t.Helper()
	var lines []string
	for _, o := range objs {
		b, err := json.Marshal(o)
		if err != nil {
			c.t.Fatal(err)
		}
		lines = append(lines, string(b))
	}
	c.sendRaw(strings.Join(lines, "\n"))
}

func (c *client) sendRaw(s string) {
	c.t.Helper()
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		c.t.Fatal(err)
	}
}

// read returns the next object or the read error.
func (c *client) read() (obj, error) {
	for len(c.pending) == 0 {
		_ = c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return obj{}, err
		}
		c.frames++
		for _, line := range strings.Split(string(data), "\n") {
			var o obj
			if err := json.Unmarshal([]byte(line), &o); err != nil {
				c.t.Fatalf("server sent a line that is not JSON: %q", line)
			}
			c.pending = append(c.pending, o)
		}
	}
	o := c.pending[0]
	c.pending = c.pending[1:]
	return o, nil
}

// expect reads the next object and checks its type.
func (c *client) expect(typ string) obj {
	c.t.Helper()
	o, err := c.read()
	if err != nil {
		c.t.Fatalf("waiting for %s: %v", typ, err)
	}
	if o.Type != typ {
		c.t.Fatalf("got %+v, want type %s", o, typ)
	}
	return o
}

// expectPair reads two objects of types a and b, in either order.
func (c *client) expectPair(a, b string) (obj, obj) {
	c.t.Helper()
	x, err := c.read()
	if err != nil {
		c.t.Fatalf("waiting for %s and %s: %v", a, b, err)
	}
	if x.Type == b {
		return c.expect(a), x
	}
	if x.Type != a {
		c.t.Fatalf("got %+v, want type %s or %s", x, a, b)
	}
	return x, c.expect(b)
}

// expectError reads the next object and checks it is the given error.
func (c *client) expectError(code, ref string) obj {
	c.t.Helper()
	o := c.expect("error")
	if o.Code != code || o.Ref != ref || o.Detail == "" {
		c.t.Fatalf("got error %+v, want code %s ref %q", o, code, ref)
	}
	return o
}

// expectClose reads until the server closes and checks code and reason.
func (c *client) expectClose(code int, reason string) {
	c.t.Helper()
	for {
		o, err := c.read()
		if err == nil {
			_ = o // frames sent before the close are not this check's concern
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			c.t.Fatalf("got %v, want close %d", err, code)
		}
		if ce.Code != code || (reason != "" && ce.Text != reason) {
			c.t.Fatalf("closed with %d %q, want %d %q", ce.Code, ce.Text, code, reason)
		}
		return
	}
}

func subscribeMsg(chat string) map[string]any {
	return map[string]any{"type": "subscribe", "chat": chat}
}

func sinceMsg(chat string, since int64) map[string]any {
	return map[string]any{"type": "subscribe", "chat": chat, "since": since}
}

func sendMsg(chat, text, clientID string) map[string]any {
	m := map[string]any{"type": "send", "chat": chat, "message": text}
	if clientID != "" {
		m["client_id"] = clientID
	}
	return m
}

// waitFor polls cond until it holds, failing after 5 seconds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
