package archive

import (
	"errors"
	"net/url"
	"testing"

	"github.com/parley-chat/parley/pkg/rest"
	"github.com/parley-chat/parley/pkg/store"
	"github.com/parley-chat/parley/pkg/wire"
)

func TestParsePage(t *testing.T) {
	cases := []struct {
		query string
		want  store.Page
		bad   []string // fields with errors
	}{
		{"", store.Page{Limit: 100}, nil},
		{"limit=1", store.Page{Limit: 1}, nil},
		{"limit=500&before=9&after=3", store.Page{Limit: 500, Before: 9, After: 3}, nil},
		{"limit=&before=", store.Page{Limit: 100}, nil},
		{"limit=%2B7", store.Page{Limit: 7}, nil},
		{"limit=+7", store.Page{}, []string{"limit"}},
		{"before=9223372036854775807", store.Page{Limit: 100, Before: 1<<63 - 1}, nil},
		{"before=9223372036854775808", store.Page{}, []string{"before"}},
		{"limit=2&limit=x", store.Page{Limit: 2}, nil},
		{"limit=1.5", store.Page{}, []string{"limit"}},
		{"limit=-1&before=0&after=0x10", store.Page{}, []string{"after", "before", "limit"}},
	}
	for _, c := range cases {
		q, err := url.ParseQuery(c.query)
		if err != nil {
			t.Fatal(err)
		}
		got, err := parsePage(q)
		var re *rest.Error
		switch {
		case c.bad == nil && (err != nil || got != c.want):
			t.Errorf("%q: %+v, %v; want %+v", c.query, got, err, c.want)
		case c.bad != nil && !errors.As(err, &re):
			t.Errorf("%q: err %v, want field errors on %v", c.query, err, c.bad)
		case c.bad != nil && len(re.Fields) != len(c.bad):
			t.Errorf("%q: errors %v, want on %v", c.query, re.Fields, c.bad)
		}
	}
}

func FuzzParsePage(f *testing.F) {
	for _, s := range []string{"", "limit=5", "before=1&after=2", "limit=0", "after=-1",
		"limit=501", "before=abc", "limit=%zz", "limit=1e3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw)
		p, err := parsePage(q)
		if err != nil {
			var re *rest.Error
			if !errors.As(err, &re) || re.Status != 400 || len(re.Fields) == 0 {
				t.Fatalf("%q: error %v is not a field error", raw, err)
			}
			return
		}
		if p.Limit < 1 || p.Limit > MaxLimit || p.Before < 0 || p.After < 0 {
			t.Fatalf("%q: accepted %+v", raw, p)
		}
	})
}

func FuzzCheckPost(f *testing.F) {
	f.Add("hello", "", false)
	f.Add("", "id", true)
	f.Add(" \t", "", true)
	f.Add("\xff", "\xfe", true)
	f.Fuzz(func(t *testing.T, message, clientID string, withID bool) {
		fields := rest.Fields{"message": message}
		if withID {
			fields["client_id"] = clientID
		}
		p, err := checkPost(fields)
		if err != nil {
			var re *rest.Error
			if !errors.As(err, &re) || re.Status != 400 {
				t.Fatalf("error %v is not a 400", err)
			}
			return
		}
		if wire.CheckMessage(p.Message) != nil || p.Message != message {
			t.Fatalf("accepted message %q", message)
		}
		if withID && (p.ClientID == nil || wire.CheckClientID(*p.ClientID) != nil) {
			t.Fatalf("accepted client_id %q", clientID)
		}
		if !withID && p.ClientID != nil {
			t.Fatal("a client_id appeared from nowhere")
		}
	})
}
