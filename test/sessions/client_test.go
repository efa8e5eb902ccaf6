package sessions

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-chat/parley/pkg/testenv"
	"github.com/parley-chat/parley/test/harness"
)

// password is every test user's password.
const password = "correct horse battery staple 42"

// reply is an HTTP answer.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// detail is the answer's "detail" sentence, empty when it has none.
func (r reply) detail() string {
	var d struct{ Detail string }
	_ = json.Unmarshal(r.body, &d)
	return d.Detail
}

// cookie returns the refresh cookie the answer set, or nil.
func (r reply) cookie() *http.Cookie {
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == "parley_refresh" {
			return c
		}
	}
	return nil
}

// call is one HTTP request: a JSON body unless body is nil, the access
// token as credentials unless empty, and any cookies given.
type call struct {
	method, url string
	body        any
	token       string
	cookies     []*http.Cookie
	host        string
}

func (c call) do(t *testing.T) reply {
	t.Helper()
	var rd io.Reader
	if c.body != nil {
		data, err := json.Marshal(c.body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(c.method, c.url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if c.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "JWT "+c.token)
	}
	for _, ck := range c.cookies {
		req.AddCookie(ck)
	}
	if c.host != "" {
		req.Host = c.host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", c.method, c.url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: data}
}

func post(t *testing.T, url string, body any) reply {
	t.Helper()
	return call{method: "POST", url: url, body: body}.do(t)
}

// wantReply checks an answer's status and, when detail is not empty,
// its detail sentence.
func wantReply(t *testing.T, what string, r reply, status int, detail string) {
	t.Helper()
	if r.status != status || (detail != "" && r.detail() != detail) {
		t.Fatalf("%s = %d %s, want %d %q", what, r.status, r.body, status, detail)
	}
}

// pair is the answer of a login or a refresh.
type pair struct {
	Token   string `json:"token"`
	Access  string `json:"access"`
	Refresh string `json:"refresh"`
}

func decodePair(t *testing.T, r reply) pair {
	t.Helper()
	var p pair
	if r.status != http.StatusOK {
		t.Fatalf("expected tokens, got %d %s", r.status, r.body)
	}
	if err := json.Unmarshal(r.body, &p); err != nil || p.Access == "" || p.Token != p.Access {
		t.Fatalf("decoding tokens %s: %v", r.body, err)
	}
	return p
}

// newUser signs up a user with a unique name and logs in once.
func newUser(t *testing.T, authBase, prefix string) (string, pair) {
	t.Helper()
	name := prefix + "_" + testenv.Suffix()
	body := map[string]string{"username": name, "password": password}
	wantReply(t, "sign-up", post(t, authBase+"/auth/users/", body), http.StatusCreated, "")
	return name, login(t, authBase, name)
}

func login(t *testing.T, authBase, name string) pair {
	t.Helper()
	body := map[string]string{"username": name, "password": password}
	return decodePair(t, post(t, authBase+"/auth/jwt/create/", body))
}

// claims are the claims of a token, read without checking it.
type claims struct {
	Sub string `json:"sub"`
	Sid string `json:"sid"`
	Jti string `json:"jti"`
	Iat int64  `json:"iat"`
	Exp int64  `json:"exp"`
}

func claimsOf(t *testing.T, tok string) claims {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	data, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c claims
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// frame is one server object on a socket.
type frame struct {
	Type      string `json:"type"`
	ExpiresAt string `json:"expires_at"`
	Code      string `json:"code"`
	User      struct {
		ID       int64  `json:"id"`
		Username string `json:"username"`
	} `json:"user"`
}

// closed is how a socket ended: the close frame's code and reason, and
// when the reader saw it.
type closed struct {
	code   int
	reason string
	at     time.Time
	err    error
}

// socket is a WebSocket client whose reader goroutine timestamps the
// close, so that a measured closing time does not include the test's own
// delays.
type socket struct {
	t      *testing.T
	conn   *websocket.Conn
	frames chan frame
	end    closed // set before done closes
	done   chan struct{}
}

func dialWS(t *testing.T, edgeBase string) *socket {
	t.Helper()
	url := harness.WSURL(edgeBase)
	conn, resp, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("dialing %s: %v (%v)", url, err, resp)
	}
	s := &socket{t: t, conn: conn, frames: make(chan frame, 256), done: make(chan struct{})}
	var wg sync.WaitGroup
	wg.Go(s.read)
	t.Cleanup(func() {
		conn.Close()
		wg.Wait()
	})
	return s
}

func (s *socket) read() {
	defer close(s.done)
	for {
		_, data, err := s.conn.ReadMessage()
		if err != nil {
			s.end = closed{at: time.Now(), err: err}
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				s.end.code, s.end.reason = ce.Code, ce.Text
			}
			return
		}
		for _, line := range bytes.Split(data, []byte("\n")) {
			var f frame
			if len(line) > 0 && json.Unmarshal(line, &f) == nil {
				s.frames <- f
			}
		}
	}
}

func (s *socket) send(v any) {
	s.t.Helper()
	if err := s.conn.WriteJSON(v); err != nil {
		s.t.Fatalf("writing to socket: %v", err)
	}
}

// next returns the next frame, failing when the socket closes or ten
// seconds pass.
func (s *socket) next() frame {
	s.t.Helper()
	select {
	case f := <-s.frames:
		return f
	case <-s.done:
		s.t.Fatalf("socket closed with %d %q (%v) while a frame was expected",
			s.end.code, s.end.reason, s.end.err)
	case <-time.After(10 * time.Second):
		s.t.Fatal("no frame within 10s")
	}
	return frame{}
}

// auth sends an auth frame and returns the expiry of the ready answer.
func (s *socket) auth(token string) time.Time {
	s.t.Helper()
	s.send(map[string]string{"type": "auth", "token": token})
	f := s.next()
	if f.Type != "ready" {
		s.t.Fatalf("auth answered %+v, want ready", f)
	}
	exp, err := time.Parse(time.RFC3339Nano, f.ExpiresAt)
	if err != nil {
		s.t.Fatalf("ready expires_at %q: %v", f.ExpiresAt, err)
	}
	return exp
}

// authed dials edgeBase and authenticates with token.
func authed(t *testing.T, edgeBase, token string) *socket {
	t.Helper()
	s := dialWS(t, edgeBase)
	s.auth(token)
	return s
}

// waitClose waits up to within for the socket to close and checks its
// code and, unless empty, its reason; frames before the close are
// skipped.
func (s *socket) waitClose(within time.Duration, code int, reason string) closed {
	s.t.Helper()
	select {
	case <-s.done:
	case <-time.After(within):
		s.t.Fatalf("socket still open after %v, want close %d %q", within, code, reason)
	}
	if s.end.code != code || (reason != "" && s.end.reason != reason) {
		s.t.Fatalf("socket closed with %d %q (%v), want %d %q",
			s.end.code, s.end.reason, s.end.err, code, reason)
	}
	return s.end
}

// isOpen reports whether the socket has not closed yet.
func (s *socket) isOpen() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}
