package harness

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// WSURL is the WebSocket address of the edge at base.
func WSURL(base string) string {
	return "ws" + strings.TrimPrefix(base, "http") + "/ws"
}

// Socket is a WebSocket client that splits the server's packed frames
// into single objects, read in order.
type Socket struct {
	t       *testing.T
	conn    *websocket.Conn
	pending [][]byte
}

// Dial connects to the edge at base and authenticates with token,
// failing the test unless the first answer is ready. The connection is
// closed when the test ends.
func Dial(t *testing.T, base, token string) *Socket {
	t.Helper()
	conn, resp, err := websocket.DefaultDialer.Dial(WSURL(base), nil)
	if err != nil {
		t.Fatalf("dialing %s: %v (%v)", base, err, resp)
	}
	t.Cleanup(func() { conn.Close() })
	s := &Socket{t: t, conn: conn}
	s.Send(map[string]any{"type": "auth", "token": token})
	var f struct{ Type string }
	if raw := s.Next(&f); f.Type != "ready" {
		t.Fatalf("first frame %s, want ready", raw)
	}
	return s
}

// Send writes v as one JSON frame.
func (s *Socket) Send(v any) {
	s.t.Helper()
	if err := s.conn.WriteJSON(v); err != nil {
		s.t.Fatalf("writing to socket: %v", err)
	}
}

// ReadWithin decodes the next server object into v, waiting at most
// limit, and returns it raw; it returns the read error when none came.
func (s *Socket) ReadWithin(limit time.Duration, v any) ([]byte, error) {
	for len(s.pending) == 0 {
		_ = s.conn.SetReadDeadline(time.Now().Add(limit))
		_, data, err := s.conn.ReadMessage()
		if err != nil {
			return nil, err
		}
		for _, line := range bytes.Split(data, []byte("\n")) {
			if len(line) > 0 {
				s.pending = append(s.pending, line)
			}
		}
	}
	raw := s.pending[0]
	s.pending = s.pending[1:]
	if err := json.Unmarshal(raw, v); err != nil {
		s.t.Fatalf("decoding %q: %v", raw, err)
	}
	return raw, nil
}

// Next decodes the next server object into v, failing the test when
// none comes within 10 seconds, and returns it raw.
func (s *Socket) Next(v any) []byte {
	s.t.Helper()
	raw, err := s.ReadWithin(10*time.Second, v)
	if err != nil {
		s.t.Fatalf("reading from socket: %v", err)
	}
	return raw
}

// NextOf skips objects of other types until one of typ arrives, which
// it decodes into v; an error object on the way fails the test.
func (s *Socket) NextOf(typ string, v any) {
	s.t.Helper()
	for {
		var f struct{ Type string }
		raw := s.Next(&f)
		if f.Type == typ {
			if err := json.Unmarshal(raw, v); err != nil {
				s.t.Fatalf("decoding %q: %v", raw, err)
			}
			return
		}
		if f.Type == "error" {
			s.t.Fatalf("waiting for %s, got %s", typ, raw)
		}
	}
}

// CloseCode reads until the server closes the socket, waiting at most
// limit for each object, and returns the close code.
func (s *Socket) CloseCode(limit time.Duration) int {
	s.t.Helper()
	for {
		var skip json.RawMessage
		_, err := s.ReadWithin(limit, &skip)
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		s.t.Fatalf("socket ended without a close frame: %v", err)
	}
}

// Close closes the connection at once, without a close frame.
func (s *Socket) Close() error {
	return s.conn.Close()
}
