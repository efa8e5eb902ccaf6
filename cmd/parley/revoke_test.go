package main

import (
	"io"
	"testing"
)

func TestParseRevoke(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		user    string
		session string
		ok      bool
	}{
		{name: "user", args: []string{"-user", "ada"}, user: "ada", ok: true},
		{name: "session, double dash", args: []string{"--session", "s1"}, session: "s1", ok: true},
		{name: "neither", args: nil},
		{name: "both", args: []string{"-user", "ada", "-session", "s1"}},
		{name: "stray argument", args: []string{"-user", "ada", "extra"}},
		// A target left in the environment must not choose whom to sign out.
		{name: "target from the environment", env: map[string]string{"PARLEY_USER": "ada"}},
		{
			name: "settings from the environment",
			args: []string{"-user", "ada"},
			env:  map[string]string{"PARLEY_REDIS_URL": "redis://r", "PARLEY_SESSION": "s1"},
			user: "ada", ok: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			s, err := parseRevoke(tt.args, io.Discard)
			if (err == nil) != tt.ok {
				t.Fatalf("error = %v, want ok %v", err, tt.ok)
			}
			if tt.ok && (s.user != tt.user || s.session != tt.session) {
				t.Fatalf("target = %q %q, want %q %q", s.user, s.session, tt.user, tt.session)
			}
			if tt.ok && tt.env["PARLEY_REDIS_URL"] != "" && s.redisURL != tt.env["PARLEY_REDIS_URL"] {
				t.Fatalf("redis url %q, want it from the environment", s.redisURL)
			}
		})
	}
}
