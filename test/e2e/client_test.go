package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// api is a minimal HTTP client of the contract.
type api struct {
	t     *testing.T
	base  string
	token string
}

// do sends a JSON body (nil for none) and decodes the JSON answer into
// out when out is not nil; it returns the status.
func (a api) do(method, path string, body, out any) int {
	a.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "JWT "+a.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			a.t.Fatalf("%s %s: decoding %q: %v", method, path, data, err)
		}
	}
	return resp.StatusCode
}

type user struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
}

type message struct {
	Type     string  `json:"type"`
	ID       int64   `json:"id"`
	Chat     string  `json:"chat"`
	User     user    `json:"user"`
	Message  string  `json:"message"`
	ClientID *string `json:"client_id"`
	// Fields of other server frames.
	Code   string `json:"code"`
	Detail string `json:"detail"`
	Ref    string `json:"ref"`
	LastID int64  `json:"last_id"`
}

// signUp registers username and logs in, returning an access token.
func signUp(t *testing.T, authBase, username string) (string, user) {
	t.Helper()
	a := api{t: t, base: authBase}
	var u user
	body := map[string]string{"username": username, "password": "correct horse battery staple 42"}
	if st := a.do("POST", "/auth/users/", body, &u); st != http.StatusCreated {
		t.Fatalf("sign-up of %s: status %d", username, st)
	}
	var tok struct{ Access string }
	if st := a.do("POST", "/auth/jwt/create/", body, &tok); st != http.StatusOK || tok.Access == "" {
		t.Fatalf("login of %s: status %d", username, st)
	}
	return tok.Access, u
}

// socket is a WebSocket client that splits packed frames.
type socket struct {
	t       *testing.T
	conn    *websocket.Conn
	pending []message
}

func dial(t *testing.T, edgeBase, token string) *socket {
	t.Helper()
	conn, resp, err := websocket.DefaultDialer.Dial(wsURL(edgeBase), nil)
	if err != nil {
		t.Fatalf("dialing %s: %v (%v)", edgeBase, err, resp)
	}
	t.Cleanup(func() { conn.Close() })
	s := &socket{t: t, conn: conn}
	s.send(map[string]any{"type": "auth", "token": token})
	if m := s.next(); m.Type != "ready" {
		t.Fatalf("first frame %+v, want ready", m)
	}
	return s
}

func (s *socket) send(v any) {
	s.t.Helper()
	if err := s.conn.WriteJSON(v); err != nil {
		s.t.Fatalf("writing to socket: %v", err)
	}
}

// next returns the next server object, waiting at most 10 seconds.
func (s *socket) next() message {
	s.t.Helper()
	for len(s.pending) == 0 {
		_ = s.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, data, err := s.conn.ReadMessage()
		if err != nil {
			s.t.Fatalf("reading from socket: %v", err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if line == "" {
				continue
			}
			var m message
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				s.t.Fatalf("decoding %q: %v", line, err)
			}
			s.pending = append(s.pending, m)
		}
	}
	m := s.pending[0]
	s.pending = s.pending[1:]
	return m
}

// nextOf skips frames of other types until one of typ arrives.
func (s *socket) nextOf(typ string) message {
	s.t.Helper()
	for {
		if m := s.next(); m.Type == typ {
			return m
		} else if m.Type == "error" {
			s.t.Fatalf("waiting for %s, got error %+v", typ, m)
		}
	}
}

func (s *socket) subscribe(chat string) message {
	s.t.Helper()
	s.send(map[string]any{"type": "subscribe", "chat": chat})
	return s.next()
}

func cid(sender string, i int) string { return fmt.Sprintf("%s-%d", sender, i) }
