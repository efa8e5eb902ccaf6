package logging

import (
	"bytes"
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	tests := []struct {
		format, level string
		wantErr       bool
		wantOut       string
	}{
		{"json", "info", false, `"msg":"hello"`},
		{"text", "debug", false, "msg=hello"},
		{"yaml", "info", true, ""},
		{"json", "loud", true, ""},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		log, err := New(&buf, tt.format, tt.level)
		if (err != nil) != tt.wantErr {
			t.Fatalf("New(%q, %q) error = %v, want error %v", tt.format, tt.level, err, tt.wantErr)
		}
		if err != nil {
			continue
		}
		log.Info("hello")
		if !strings.Contains(buf.String(), tt.wantOut) {
			t.Errorf("New(%q, %q) wrote %q, want %q in it", tt.format, tt.level, buf.String(), tt.wantOut)
		}
	}
}
