package edge

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-chat/parley/pkg/stream"
)

func TestSendAck(t *testing.T) {
	e := newEnv(t)
	e.addChat("c", 7)
	_, url := e.edge(Config{})
	c, _ := e.login(url, 7)
	c.send(subscribeMsg("c"))
	c.expect("subscribed")

	// The ack and the live copy race; either may come first.
	c.send(sendMsg("c", "hello", "k1"))
	ack, m := c.expectPair("ack", "message")
	if ack.ClientID == nil || *ack.ClientID != "k1" || ack.ID == 0 || m.ID != ack.ID ||
		m.Message != "hello" || m.User.ID != 7 || m.ClientID == nil || *m.ClientID != "k1" {
		t.Fatalf("ack %+v, message %+v", ack, m)
	}

	// The same client_id again stores nothing and acks the first id.
	c.send(sendMsg("c", "hello again", "k1"))
	if again := c.expect("ack"); again.ID != ack.ID {
		t.Fatalf("duplicate acked as %d, want %d", again.ID, ack.ID)
	}
	c.send(sendMsg("c", "no client id", ""))
	plain, m := c.expectPair("ack", "message")
	if plain.ClientID != nil || plain.ID <= ack.ID {
		t.Fatalf("ack without client_id = %+v", plain)
	}
	if m.ID != plain.ID {
		t.Fatalf("next message id %d, want %d: the duplicate was delivered", m.ID, plain.ID)
	}
}

func TestSendRefused(t *testing.T) {
	e := newEnv(t)
	e.addChat("c", 7)
	e.addChat("theirs", 8)
	_, url := e.edge(Config{})
	c, _ := e.login(url, 7)
	tests := []struct {
		name        string
		frame       map[string]any
		code, ref   string
		wantInvalid string
	}{
		{"blank", sendMsg("c", " \n", "k1"), "invalid", "k1", "message: This field may not be blank."},
		{"too long", sendMsg("c", strings.Repeat("é", 2001), "k2"), "invalid", "k2", "message: "},
		{"long client_id", sendMsg("c", "hi", strings.Repeat("x", 65)), "invalid",
			strings.Repeat("x", 65), "client_id: "},
		{"empty client_id", map[string]any{"type": "send", "chat": "c", "message": "hi",
			"client_id": ""}, "invalid", "", "client_id: This field may not be blank."},
		{"no client_id", sendMsg("c", "hi", ""), "", "", ""},
		{"not a member", sendMsg("theirs", "hi", "k3"), "forbidden", "k3", ""},
		{"unknown chat", sendMsg("nochat", "hi", ""), "not_found", "nochat", ""},
		{"archiver down", sendMsg(brokenChat, "hi", "k4"), "unavailable", "k4", ""},
	}
	for _, tt := range tests {
		c.send(tt.frame)
		if tt.code == "" {
			c.expect("ack")
			continue
		}
		got := c.expectError(tt.code, tt.ref)
		if !strings.HasPrefix(got.Detail, tt.wantInvalid) {
			t.Errorf("%s: detail %q, want it to start with %q", tt.name, got.Detail, tt.wantInvalid)
		}
	}
}

func TestSendRateLimited(t *testing.T) {
	e := newEnv(t)
	e.addChat("c", 7)
	_, url := e.edge(Config{SendRate: 0.1, SendBurst: 2})
	c, _ := e.login(url, 7)
	c.send(sendMsg("c", "one", "k1"), sendMsg("c", "two", "k2"), sendMsg("c", "three", "k3"))
	c.expect("ack")
	last := c.expect("ack")
	got := c.expectError("rate_limited", "k3")
	if got.Detail != "Request was throttled. Expected available in 10 seconds." {
		t.Fatalf("detail %q", got.Detail)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := e.js.Stream(ctx, stream.Name)
	if err != nil {
		t.Fatal(err)
	}
	if id, err := stream.LastID(ctx, st, "c"); err != nil || id != last.ID {
		t.Fatalf("newest stored id %d (%v), want %d: the throttled send was stored", id, err, last.ID)
	}
}

func TestViolationsClose(t *testing.T) {
	e := newEnv(t)
	_, url := e.edge(Config{MaxViolations: 3})
	c, _ := e.login(url, 7)
	c.sendRaw("{not json")
	c.expectError("invalid", "")
	c.send(map[string]any{"type": "dance"})
	c.expectError("invalid", "")
	c.send(map[string]any{"type": "send", "chat": "c", "client_id": "k9"})
	if got := c.expectError("invalid", "k9"); got.Detail != "message: This field is required." {
		t.Fatalf("detail %q", got.Detail)
	}
	c.sendRaw(`[1,2]`)
	c.expectClose(closePolicy, "")
}

func TestPackedClientFrame(t *testing.T) {
	e := newEnv(t)
	e.addChat("a", 7)
	e.addChat("b", 7)
	_, url := e.edge(Config{})
	c := dial(t, url, nil)
	tok, _ := e.token(7, "s7", time.Hour)
	c.sendRaw(`{"type":"auth","token":"` + tok + `"}` + "\n\n" +
		`{"type":"subscribe","chat":"a"}` + "\r\n" +
		`  {"type":"subscribe","chat":"b"}` + "\n")
	c.expect("ready")
	if a, b := c.expect("subscribed"), c.expect("subscribed"); a.Chat != "a" || b.Chat != "b" {
		t.Fatalf("subscribed to %s and %s, want a and b in order", a.Chat, b.Chat)
	}
}

func TestFrameTooLarge(t *testing.T) {
	e := newEnv(t)
	_, url := e.edge(Config{})
	c, _ := e.login(url, 7)
	c.sendRaw(`{"type":"send","chat":"c","message":"` + strings.Repeat("x", 64<<10) + `"}`)
	c.expectClose(websocket.CloseMessageTooBig, "")
}
