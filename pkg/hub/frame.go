package hub

import (
	"encoding/json"
	"fmt"

	"github.com/parley-chat/parley/pkg/wire"
)

// Frame is one encoded server-to-client object, ready to be written to a
// socket. A message frame is built once per edge and shared by every
// subscriber, so its Data must never be modified.
type Frame struct {
	// ID is the message id, or 0 for a frame that is not a message.
	ID   int64
	Data []byte
}

// messageFrame is the wire shape of a message: the type tag followed by
// the message object's fields, flattened by encoding/json.
type messageFrame struct {
	Type string `json:"type"`
	wire.Message
}

// NewFrame encodes m as a message frame:
// {"type":"message","id":...,"chat":...,...}.
func NewFrame(m wire.Message) (*Frame, error) {
	data, err := json.Marshal(messageFrame{Type: "message", Message: m})
	if err != nil {
		return nil, fmt.Errorf("encoding message %d: %w", m.ID, err)
	}
	return &Frame{ID: m.ID, Data: data}, nil
}
