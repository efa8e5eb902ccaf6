package envflag

import (
	"flag"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantTTL time.Duration
		wantErr string
	}{
		{name: "default", wantTTL: 5 * time.Minute},
		{name: "env", env: map[string]string{"PARLEY_ACCESS_TTL": "1m"}, wantTTL: time.Minute},
		{
			name:    "flag wins over env",
			args:    []string{"-access-ttl", "2m"},
			env:     map[string]string{"PARLEY_ACCESS_TTL": "1m"},
			wantTTL: 2 * time.Minute,
		},
		{
			name:    "bad env value names the variable",
			env:     map[string]string{"PARLEY_ACCESS_TTL": "soon"},
			wantErr: "PARLEY_ACCESS_TTL",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("x", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			ttl := fs.Duration("access-ttl", 5*time.Minute, "")
			lookup := func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }
			err := Parse(fs, tt.args, lookup)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if *ttl != tt.wantTTL {
				t.Fatalf("ttl = %v, want %v", *ttl, tt.wantTTL)
			}
		})
	}
}

func TestList(t *testing.T) {
	got := List(" a, ,b ,c,")
	if want := []string{"a", "b", "c"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("List = %q, want %q", got, want)
	}
	if got := List(""); got != nil {
		t.Fatalf("List(\"\") = %q, want nil", got)
	}
}

func TestPrefixes(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"", "[]", false},
		{"10.0.0.0/8, 127.0.0.1", "[10.0.0.0/8 127.0.0.1/32]", false},
		{"10.1.2.3/8,::1", "[10.0.0.0/8 ::1/128]", false},
		{"10.0.0.0/33", "", true},
		{"nonsense", "", true},
	}
	for _, tt := range tests {
		got, err := Prefixes(tt.in)
		if (err != nil) != tt.wantErr {
			t.Fatalf("Prefixes(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
		}
		if err == nil && fmt.Sprint(got) != tt.want {
			t.Errorf("Prefixes(%q) = %v, want %s", tt.in, got, tt.want)
		}
	}
}
