package edge

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

func TestParseFrames(t *testing.T) {
	type result struct {
		typ, chat, detail string
	}
	tests := []struct {
		name string
		in   string
		want []result
	}{
		{"one", `{"type":"subscribe","chat":"c"}`, []result{{"subscribe", "c", ""}}},
		{"packed with blanks",
			"{\"type\":\"auth\",\"token\":\"t\"}\n\n \r\n{\"type\":\"unsubscribe\",\"chat\":\"c\"}\n",
			[]result{{"auth", "", ""}, {"unsubscribe", "c", ""}}},
		{"bad line spares the rest", "{\"type\":\n{\"type\":\"subscribe\",\"chat\":\"c\",\"since\":4}",
			[]result{{"", "", errNotObject.Detail}, {"subscribe", "c", ""}}},
		{"null", `null`, []result{{"", "", errNotObject.Detail}}},
		{"array", `[{"type":"auth"}]`, []result{{"", "", errNotObject.Detail}}},
		{"two objects on a line", `{"type":"auth","token":"t"} {"type":"auth","token":"t"}`,
			[]result{{"", "", errNotObject.Detail}}},
		{"unknown type", `{"type":"AUTH","token":"t"}`, []result{{"AUTH", "", errUnknownType.Detail}}},
		{"wrong field type", `{"type":"subscribe","chat":"c","since":"4"}`,
			[]result{{"", "", errNotObject.Detail}}},
		{"negative since", `{"type":"subscribe","chat":"c","since":-1}`,
			[]result{{"subscribe", "c", "since: Ensure this value is greater than or equal to 0."}}},
		{"send without message", `{"type":"send","chat":"c"}`,
			[]result{{"send", "c", "message: This field is required."}}},
		{"unknown fields ignored", `{"type":"unsubscribe","chat":"c","extra":[1]}`,
			[]result{{"unsubscribe", "c", ""}}},
	}
	for _, tt := range tests {
		var got []result
		parseFrames([]byte(tt.in), func(f frame, err *wireError) bool {
			r := result{typ: f.Type, chat: f.Chat}
			if err != nil {
				r.detail = err.Detail
			}
			got = append(got, r)
			return true
		})
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestParseFramesStops(t *testing.T) {
	n := 0
	parseFrames([]byte("{\"type\":\"x\"}\n{\"type\":\"y\"}"), func(frame, *wireError) bool {
		n++
		return false
	})
	if n != 1 {
		t.Fatalf("fn called %d times after returning false, want 1", n)
	}
}

func TestValidChat(t *testing.T) {
	for _, s := range []string{"abc", "A-b_9", string(bytes.Repeat([]byte("x"), 128))} {
		if !validChat(s) {
			t.Errorf("validChat(%q) = false", s)
		}
	}
	tooLong := string(bytes.Repeat([]byte("x"), 129))
	for _, s := range []string{"", "a.b", "a*", ">", "a b", "é", tooLong} {
		if validChat(s) {
			t.Errorf("validChat(%q) = true", s)
		}
	}
}

// FuzzParseFrames feeds arbitrary client frames to the parser. It must
// never panic; it must call back once per non-blank line; every
// accepted object must be complete for its type and survive a round trip
// through JSON unchanged; every refusal must be a well-formed invalid
// error.
func FuzzParseFrames(f *testing.F) {
	for _, seed := range []string{
		`{"type":"auth","token":"abc"}`,
		"{\"type\":\"subscribe\",\"chat\":\"c\",\"since\":12}\n{\"type\":\"unsubscribe\",\"chat\":\"c\"}",
		`{"type":"send","chat":"c","message":"hi","client_id":"k"}`,
		`{"type":"send","chat":"c","message":"\u2028\n"}`,
		"{\"type\":\n\n\r\n  ",
		`{"type":"subscribe","chat":"c","since":-5}`,
		`{"type":"subscribe","chat":"c","since":1e400}`,
		`{"type":"auth","token":"a","token":"b"}`,
		`[]`, `null`, `"x"`, `{}`, "\xff\xfe",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := 0
		for _, l := range bytes.Split(data, newline) {
			if len(bytes.TrimSpace(l)) > 0 {
				lines++
			}
		}
		calls := 0
		parseFrames(data, func(fr frame, err *wireError) bool {
			calls++
			if err != nil {
				if err.Code != "invalid" || err.Detail == "" {
					t.Fatalf("refusal %+v is not an invalid error", err)
				}
				return true
			}
			checkComplete(t, fr)
			b, mErr := json.Marshal(fr)
			if mErr != nil {
				t.Fatal(mErr)
			}
			again, perr := parseFrame(b)
			if perr != nil || !reflect.DeepEqual(again, fr) {
				t.Fatalf("round trip of %+v gave %+v, %v", fr, again, perr)
			}
			return true
		})
		if calls != lines {
			t.Fatalf("%d callbacks for %d non-blank lines", calls, lines)
		}
	})
}

func checkComplete(t *testing.T, fr frame) {
	t.Helper()
	ok := false
	switch fr.Type {
	case typeAuth:
		ok = fr.Token != ""
	case typeSubscribe, typeUnsubscribe:
		ok = fr.Chat != "" && (fr.Since == nil || *fr.Since >= 0)
	case typeSend:
		ok = fr.Chat != "" && fr.Message != nil
	}
	if !ok {
		t.Fatalf("accepted an incomplete frame %+v", fr)
	}
}
