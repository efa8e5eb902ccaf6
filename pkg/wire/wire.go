// Package wire holds the JSON shapes of the external contract that more
// than one service writes: users, chats, messages and timestamps. Keeping
// them in one place means the HTTP API and the WebSocket can never drift
// apart. Everything here is plain data and safe to share between
// goroutines once built.
package wire

import (
	"encoding/json"
	"time"
)

// TimeLayout is RFC 3339 with milliseconds, the contract's time format.
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// Time marshals as RFC 3339 in UTC with milliseconds.
type Time time.Time

// MarshalJSON implements json.Marshaler.
func (t Time) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, len(TimeLayout)+2)
	b = append(b, '"')
	b = time.Time(t).UTC().AppendFormat(b, TimeLayout)
	return append(b, '"'), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *Time) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return err
	}
	*t = Time(v)
	return nil
}

// User is the public view of a user: never an email address.
type User struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
}

// Message is one chat message as clients see it, over HTTP and WebSocket.
type Message struct {
	ID        int64   `json:"id"`
	Chat      string  `json:"chat"`
	User      User    `json:"user"`
	Message   string  `json:"message"`
	ClientID  *string `json:"client_id"`
	CreatedAt Time    `json:"created_at"`
}

// Chat is a chat session as its members see it; the owner is first in
// Members.
type Chat struct {
	URI           string `json:"uri"`
	Owner         User   `json:"owner"`
	Members       []User `json:"members"`
	CreatedAt     Time   `json:"created_at"`
	LastMessageAt *Time  `json:"last_message_at"`
}
