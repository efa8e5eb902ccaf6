package wire

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckMessage(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"plain", "hello", nil},
		{"html is just text", "<b>hi</b>", nil},
		{"2000 code points", strings.Repeat("é", 2000), nil},
		{"2001 code points", strings.Repeat("é", 2001), ErrTooLong},
		{"empty", "", ErrBlank},
		{"only white space", " \t\n\u00a0", ErrBlank},
		{"bad utf-8", "a\xffb", ErrBadUTF8},
		{"tab and line breaks", "a\tb\r\nc", nil},
		{"bell", "ding\a", ErrControlChar},
		{"escape", "\x1b[2J", ErrControlChar},
		{"C1 control", "a\u0085b", ErrControlChar},
		{"null character", "a\x00b", ErrNullChar},
	}
	for _, tt := range tests {
		if got := CheckMessage(tt.in); !errors.Is(got, tt.want) {
			t.Errorf("%s: CheckMessage = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestCheckClientID(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{"abc", nil},
		{strings.Repeat("x", 64), nil},
		{strings.Repeat("x", 65), ErrClientIDLen},
		{"", ErrBlank},
		{"\xff", ErrBadUTF8},
		{"a\x00", ErrNullChar},
	}
	for _, tt := range tests {
		if got := CheckClientID(tt.in); !errors.Is(got, tt.want) {
			t.Errorf("CheckClientID(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
