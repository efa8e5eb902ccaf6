package rest

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

func TestRouter(t *testing.T) {
	rt := NewRouter()
	rt.HandleFunc("GET", "/api/chats/{uri}/", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, 200, map[string]string{"uri": r.PathValue("uri")})
	})
	rt.HandleFunc("POST", "/api/chats/{uri}/", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, 201, map[string]string{"made": r.PathValue("uri")})
	})
	rt.HandleFunc("GET", "/auth/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, 200, map[string]string{"keys": "yes"})
	})
	tests := []struct {
		method, path string
		status       int
		body         string
	}{
		{"GET", "/api/chats/abc/", 200, `{"uri":"abc"}`},
		{"GET", "/api/chats/abc", 200, `{"uri":"abc"}`},
		{"POST", "/api/chats/abc/", 201, `{"made":"abc"}`},
		{"DELETE", "/api/chats/abc/", 405, `{"detail":"Method \"DELETE\" not allowed."}`},
		{"GET", "/api/chats/abc/extra/", 404, `{"detail":"Not found."}`},
		{"GET", "/nowhere", 404, `{"detail":"Not found."}`},
		{"GET", "/auth/jwks.json", 200, `{"keys":"yes"}`},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			rt.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.status || strings.TrimSpace(rec.Body.String()) != tt.body {
				t.Fatalf("got %d %s, want %d %s", rec.Code, rec.Body, tt.status, tt.body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Fatalf("content type %q", ct)
			}
		})
	}
}

func TestReadFields(t *testing.T) {
	tests := []struct {
		name, ct, body string
		want           Fields
		status         int
	}{
		{"json", "application/json", `{"username":"al","password":"pw"}`, Fields{"username": "al", "password": "pw"}, 0},
		{"json with charset", "application/json; charset=utf-8", `{"a":"b"}`, Fields{"a": "b"}, 0},
		{"form", "application/x-www-form-urlencoded", "username=al&password=p%20w", Fields{"username": "al", "password": "p w"}, 0},
		{"no content type is json", "", `{"a":"b"}`, Fields{"a": "b"}, 0},
		{"empty body", "application/json", "", Fields{}, 0},
		{"null is absent", "application/json", `{"a":null}`, Fields{}, 0},
		{"numbers and booleans keep their text", "application/json", `{"n":12,"b":true}`, Fields{"n": "12", "b": "true"}, 0},
		{"nested is a field error", "application/json", `{"a":{"b":1}}`, nil, 400},
		{"array body", "application/json", `[1]`, nil, 400},
		{"broken json", "application/json", `{"a":`, nil, 400},
		{"other media type", "text/plain", "hi", nil, 415},
		{"too large", "application/json", `{"a":"` + strings.Repeat("x", MaxBody) + `"}`, nil, 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/", strings.NewReader(tt.body))
			if tt.ct != "" {
				req.Header.Set("Content-Type", tt.ct)
			}
			got, err := ReadFields(httptest.NewRecorder(), req)
			if tt.status != 0 {
				var e *Error
				if !errors.As(err, &e) || e.Status != tt.status {
					t.Fatalf("err = %v, want status %d", err, tt.status)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func FuzzReadFields(f *testing.F) {
	f.Add("application/json", `{"a":"b"}`)
	f.Add("application/x-www-form-urlencoded", "a=b&c=%zz")
	f.Add("application/json", `{"a":[1,{"b":null}]}`)
	f.Fuzz(func(t *testing.T, ct, body string) {
		req := httptest.NewRequest("POST", "/", strings.NewReader(body))
		req.Header.Set("Content-Type", ct)
		got, err := ReadFields(httptest.NewRecorder(), req)
		var e *Error
		if err != nil && !errors.As(err, &e) {
			t.Fatalf("error %v is not a contract error", err)
		}
		if err == nil && got == nil {
			t.Fatal("no error and no fields")
		}
	})
}

func TestWriteError(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		body   map[string]any
		retry  string
	}{
		{"detail", ErrForbidden, 403, map[string]any{"detail": ErrForbidden.Detail}, ""},
		{"fields", FieldError("username", "Bad."), 400, map[string]any{"username": []any{"Bad."}}, ""},
		{"throttled", Throttled(7), 429, map[string]any{"detail": "Request was throttled. Expected available in 7 seconds."}, "7"},
		{"internal error hides its text", errors.New("db password is hunter2"), 500, map[string]any{"detail": ErrInternal.Detail}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			WriteError(rec, tt.err)
			var got map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if rec.Code != tt.status || !reflect.DeepEqual(got, tt.body) {
				t.Fatalf("got %d %v, want %d %v", rec.Code, got, tt.status, tt.body)
			}
			if rec.Header().Get("Retry-After") != tt.retry {
				t.Fatalf("Retry-After = %q, want %q", rec.Header().Get("Retry-After"), tt.retry)
			}
		})
	}
}

func TestBearerToken(t *testing.T) {
	tests := []struct {
		header string
		want   string
		err    error
	}{
		{"JWT abc", "abc", nil},
		{"jwt abc", "abc", nil},
		{"Bearer abc", "abc", nil},
		{"BEARER  abc ", "abc", nil},
		{"", "", ErrNoCredentials},
		{"Basic abc", "", ErrNoCredentials},
		{"JWT", "", ErrNoCredentials},
		{"JWT " + strings.Repeat("a", MaxTokenLen+1), "", ErrTokenInvalid},
	}
	for _, tt := range tests {
		req := httptest.NewRequest("GET", "/", nil)
		if tt.header != "" {
			req.Header.Set("Authorization", tt.header)
		}
		got, err := BearerToken(req)
		if got != tt.want || err != tt.err {
			t.Errorf("BearerToken(%.20q) = %q, %v; want %q, %v", tt.header, got, err, tt.want, tt.err)
		}
	}
}

func TestCORS(t *testing.T) {
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })
	h := CORS([]string{"https://app.example"}, inner)
	tests := []struct {
		name, method, origin string
		preflight            bool
		status               int
		allowOrigin          string
	}{
		{"listed preflight", "OPTIONS", "https://app.example", true, 204, "https://app.example"},
		{"unlisted preflight refused", "OPTIONS", "https://evil.example", true, 403, ""},
		{"listed request", "GET", "https://app.example", false, 200, "https://app.example"},
		{"unlisted request gets no CORS headers", "GET", "https://evil.example", false, 200, ""},
		{"same origin", "GET", "", false, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, "/api/chats/", nil)
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			if tt.preflight {
				req.Header.Set("Access-Control-Request-Method", "POST")
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status || rec.Header().Get("Access-Control-Allow-Origin") != tt.allowOrigin {
				t.Fatalf("got %d allow-origin %q, want %d %q", rec.Code,
					rec.Header().Get("Access-Control-Allow-Origin"), tt.status, tt.allowOrigin)
			}
		})
	}
}
