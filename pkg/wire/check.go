package wire

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on what clients send.
const (
	MaxMessageRunes = 2000
	MaxClientIDLen  = 64
)

// Sentences for bad message fields, shared by the HTTP API and the
// WebSocket so that both refuse the same input in the same words.
var (
	ErrBlank       = errors.New("This field may not be blank.")
	ErrTooLong     = errors.New("Ensure this field has no more than 2000 characters.")
	ErrBadUTF8     = errors.New("Ensure this field is valid UTF-8.")
	ErrClientIDLen = errors.New("Ensure this field has no more than 64 characters.")
	// ErrNullChar refuses U+0000, which PostgreSQL text cannot hold: a
	// message accepted with it could never be archived.
	ErrNullChar = errors.New("Null characters are not allowed.")
	// ErrControlChar refuses control characters other than tab and line
	// breaks: they render as nothing, or move a terminal's cursor when a
	// message is printed, and no person types them.
	ErrControlChar = errors.New("Control characters are not allowed.")
)

// CheckMessage validates message text: valid UTF-8, 1 to 2000 code points,
// not only white space.
func CheckMessage(s string) error {
	if !utf8.ValidString(s) {
		return ErrBadUTF8
	}
	if strings.IndexByte(s, 0) >= 0 {
		return ErrNullChar
	}
	if strings.IndexFunc(s, isControl) >= 0 {
		return ErrControlChar
	}
	if strings.TrimFunc(s, unicode.IsSpace) == "" {
		return ErrBlank
	}
	if utf8.RuneCountInString(s) > MaxMessageRunes {
		return ErrTooLong
	}
	return nil
}

// CheckClientID validates a client_id: 1 to 64 characters.
func CheckClientID(s string) error {
	switch {
	case !utf8.ValidString(s):
		return ErrBadUTF8
	case s == "":
		return ErrBlank
	case strings.IndexByte(s, 0) >= 0:
		return ErrNullChar
	case utf8.RuneCountInString(s) > MaxClientIDLen:
		return ErrClientIDLen
	}
	return nil
}

// isControl reports the C0 and C1 control characters a message may not
// hold: all but tab, line feed and carriage return.
func isControl(r rune) bool {
	return unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r'
}
