package revocation

import (
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/parley-chat/parley/pkg/natstest"
)

func TestAnnounceReachesListeners(t *testing.T) {
	ns := natstest.Start(t)
	pub, _ := natstest.Connect(t, ns, "auth")
	sub, _ := natstest.Connect(t, ns, "edge")

	got := make(chan []string, 16)
	s, err := Listen(sub, slog.New(slog.DiscardHandler), func(sids []string) { got <- sids })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Unsubscribe() })
	if err := sub.Flush(); err != nil {
		t.Fatal(err)
	}

	// A malformed message is skipped; the next good one still arrives.
	if err := pub.Publish(Subject, []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	// More ids than one batch holds arrive, in order, in several batches.
	var want []string
	for i := range maxBatch + 5 {
		want = append(want, "sid-"+strconv.Itoa(i))
	}
	Announcer(pub, slog.New(slog.DiscardHandler))(t.Context(), want)
	var all []string
	batches := 0
	for len(all) < len(want) {
		select {
		case sids := <-got:
			all = append(all, sids...)
			batches++
		case <-time.After(5 * time.Second):
			t.Fatalf("received %d of %d revoked sessions", len(all), len(want))
		}
	}
	if !slices.Equal(all, want) || batches != 2 {
		t.Fatalf("received %d ids in %d batches, want %d in 2", len(all), batches, len(want))
	}
}

func TestDecodeAnnouncement(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		ok   bool
	}{
		{`{"sessions":["a","b"]}`, []string{"a", "b"}, true},
		{`{"sessions":[]}`, nil, true},
		{`{}`, nil, true},
		{`{"sessions":[""]}`, nil, false},
		{`{"sessions":"a"}`, nil, false},
		{`[]`, nil, false},
		{`{"sessions":["` + string(make([]byte, maxAnnouncement)) + `"]}`, nil, false},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			a, err := DecodeAnnouncement([]byte(tt.in))
			if (err == nil) != tt.ok {
				t.Fatalf("error = %v, want ok %v", err, tt.ok)
			}
			if tt.ok && len(a.Sessions) != len(tt.want) {
				t.Fatalf("sessions = %q, want %q", a.Sessions, tt.want)
			}
		})
	}
}

// FuzzDecodeAnnouncement feeds arbitrary bytes to the decoder: it must
// never panic, and whatever it accepts names only non-empty ids.
func FuzzDecodeAnnouncement(f *testing.F) {
	for _, s := range []string{`{"sessions":["a"]}`, `{}`, `null`, `{"sessions":[1]}`, "\x00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := DecodeAnnouncement(data)
		if err != nil {
			return
		}
		if slices.Contains(a.Sessions, "") {
			t.Fatalf("accepted an empty session id from %q", data)
		}
	})
}
