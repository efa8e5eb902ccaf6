package edge

import (
	"bytes"
	"encoding/json"

	"github.com/parley-chat/parley/pkg/hub"
	"github.com/parley-chat/parley/pkg/wire"
)

// Client frame types.
const (
	typeAuth        = "auth"
	typeSubscribe   = "subscribe"
	typeUnsubscribe = "unsubscribe"
	typeSend        = "send"
)

// frame is one client object. Fields a type does not use are ignored, as
// are unknown ones, so that clients may add fields.
type frame struct {
	Type     string  `json:"type"`
	Token    string  `json:"token,omitempty"`
	Chat     string  `json:"chat,omitempty"`
	Since    *int64  `json:"since,omitempty"`
	Message  *string `json:"message,omitempty"`
	ClientID *string `json:"client_id,omitempty"`
}

// ref is what an error about f echoes: the client_id of a send when it
// has one, else the chat.
func (f *frame) ref() string {
	if f.Type == typeSend && f.ClientID != nil {
		return *f.ClientID
	}
	return f.Chat
}

// parseFrames splits a client frame on newlines and decodes each
// non-blank line as one object, calling fn with it, or with why it was
// refused, until fn returns false. It never fails as a whole: one bad
// object does not spoil the others.
func parseFrames(data []byte, fn func(f frame, err *wireError) bool) {
	for len(data) > 0 {
		var line []byte
		line, data, _ = bytes.Cut(data, newline)
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		f, err := parseFrame(line)
		if !fn(f, err) {
			return
		}
	}
}

func parseFrame(line []byte) (frame, *wireError) {
	var f frame
	if line[0] != '{' {
		return frame{}, errNotObject
	}
	if err := json.Unmarshal(line, &f); err != nil {
		return frame{}, errNotObject
	}
	switch f.Type {
	case typeAuth:
		if f.Token == "" {
			return f, required("token", "")
		}
	case typeSubscribe, typeUnsubscribe:
		if f.Chat == "" {
			return f, required("chat", "")
		}
		if f.Since != nil && *f.Since < 0 {
			return f, invalid("since: Ensure this value is greater than or equal to 0.", f.Chat)
		}
	case typeSend:
		if f.Chat == "" {
			return f, required("chat", f.ref())
		}
		if f.Message == nil {
			return f, required("message", f.ref())
		}
	default:
		return f, errUnknownType
	}
	return f, nil
}

// validChat reports whether uri could name a chat: 1 to 128 URL-safe
// characters. Anything else can only be unknown, and must never reach a
// NATS subject, where '.', '*' and '>' mean something.
func validChat(uri string) bool {
	if uri == "" || len(uri) > 128 {
		return false
	}
	for i := 0; i < len(uri); i++ {
		b := uri[i]
		ok := b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' ||
			b == '-' || b == '_'
		if !ok {
			return false
		}
	}
	return true
}

// Server frames other than message, which the hub encodes.

type readyFrame struct {
	Type      string    `json:"type"`
	User      wire.User `json:"user"`
	ExpiresAt wire.Time `json:"expires_at"`
}

type subscribedFrame struct {
	Type   string `json:"type"`
	Chat   string `json:"chat"`
	LastID int64  `json:"last_id"`
}

type ackFrame struct {
	Type     string  `json:"type"`
	ClientID *string `json:"client_id"`
	ID       int64   `json:"id"`
}

type errorFrame struct {
	Type   string `json:"type"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
	Ref    string `json:"ref,omitempty"`
}

// encode turns a server frame into a queue entry. The shapes above hold
// only strings, numbers and wire.Time, which cannot fail to encode.
func encode(v any) *hub.Frame {
	countEncoded(v)
	data, _ := json.Marshal(v)
	return &hub.Frame{Data: data}
}
