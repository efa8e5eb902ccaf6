package wire

import (
	"encoding/json"
	"testing"
	"time"
)

func TestTimeJSON(t *testing.T) {
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), `"2026-01-02T03:04:05.000Z"`},
		{time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC), `"2026-01-02T03:04:05.123Z"`},
		{time.Date(2026, 1, 2, 5, 4, 5, 0, time.FixedZone("x", 2*3600)), `"2026-01-02T03:04:05.000Z"`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(Time(tt.in))
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tt.want {
			t.Errorf("Marshal(%v) = %s, want %s", tt.in, b, tt.want)
		}
		var back Time
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if !time.Time(back).Equal(tt.in.Truncate(time.Millisecond)) {
			t.Errorf("round trip of %v gave %v", tt.in, time.Time(back))
		}
	}
}

func TestMessageNullClientID(t *testing.T) {
	b, err := json.Marshal(Message{ID: 1, Chat: "c", User: User{ID: 2, Username: "a"}, Message: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if v, ok := m["client_id"]; !ok || v != nil {
		t.Fatalf("client_id = %v (present %v), want null", v, ok)
	}
}
