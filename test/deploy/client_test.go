package deploy

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// client speaks the contract's HTTP API to one base URL.
type client struct {
	t     *testing.T
	base  string
	token string
}

// do sends body as JSON (none when nil), decodes the answer into out
// when given, and returns the status.
func (c client) do(method, path string, body, out any) int {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "JWT "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			c.t.Fatalf("%s %s: decoding %q: %v", method, path, data, err)
		}
	}
	return resp.StatusCode
}

// signUp registers username with password and logs in; it returns the
// access token.
func signUp(t *testing.T, base, username, password string) string {
	t.Helper()
	c := client{t: t, base: base}
	body := map[string]string{"username": username, "password": password}
	if st := c.do("POST", "/auth/users/", body, nil); st != http.StatusCreated {
		t.Fatalf("sign-up of %s: status %d", username, st)
	}
	var tok struct{ Access string }
	if st := c.do("POST", "/auth/jwt/create/", body, &tok); st != http.StatusOK || tok.Access == "" {
		t.Fatalf("login of %s: status %d", username, st)
	}
	return tok.Access
}

// frame is any server object.
type frame struct {
	Type     string `json:"type"`
	ID       int64  `json:"id"`
	Chat     string `json:"chat"`
	Message  string `json:"message"`
	ClientID string `json:"client_id"`
	Code     string `json:"code"`
}

// socket is a WebSocket client that splits packed frames.
type socket struct {
	t       *testing.T
	conn    *websocket.Conn
	pending []frame
}

func dial(t *testing.T, base, token string) *socket {
	t.Helper()
	url := "ws" + strings.TrimPrefix(base, "http") + "/ws"
	conn, resp, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("dialing %s: %v (%v)", url, err, resp)
	}
	t.Cleanup(func() { conn.Close() })
	s := &socket{t: t, conn: conn}
	s.send(map[string]any{"type": "auth", "token": token})
	if f := s.next(); f.Type != "ready" {
		t.Fatalf("first frame %+v, want ready", f)
	}
	return s
}

func (s *socket) send(v any) {
	s.t.Helper()
	if err := s.conn.WriteJSON(v); err != nil {
		s.t.Fatalf("writing to socket: %v", err)
	}
}

// read returns the next server object, or the read error after waiting
// 10 seconds.
func (s *socket) read() (frame, error) {
	return s.readWithin(10 * time.Second)
}

func (s *socket) readWithin(limit time.Duration) (frame, error) {
	for len(s.pending) == 0 {
		_ = s.conn.SetReadDeadline(time.Now().Add(limit))
		_, data, err := s.conn.ReadMessage()
		if err != nil {
			return frame{}, err
		}
		for _, line := range strings.Split(string(data), "\n") {
			if line == "" {
				continue
			}
			var f frame
			if err := json.Unmarshal([]byte(line), &f); err != nil {
				s.t.Fatalf("decoding %q: %v", line, err)
			}
			s.pending = append(s.pending, f)
		}
	}
	f := s.pending[0]
	s.pending = s.pending[1:]
	return f, nil
}

func (s *socket) next() frame {
	s.t.Helper()
	f, err := s.read()
	if err != nil {
		s.t.Fatalf("reading from socket: %v", err)
	}
	return f
}

// nextOf skips objects of other types until one of typ arrives.
func (s *socket) nextOf(typ string) frame {
	s.t.Helper()
	for {
		f := s.next()
		if f.Type == typ {
			return f
		}
		if f.Type == "error" {
			s.t.Fatalf("waiting for %s, got %+v", typ, f)
		}
	}
}

// closeCode reads until the server closes the socket, for at most
// limit, and returns its close code.
func (s *socket) closeCode(limit time.Duration) int {
	s.t.Helper()
	for {
		_, err := s.readWithin(limit)
		if err == nil {
			continue
		}
		if ce, ok := err.(*websocket.CloseError); ok {
			return ce.Code
		}
		s.t.Fatalf("socket ended without a close frame: %v", err)
	}
}
