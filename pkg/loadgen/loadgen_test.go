package loadgen

import (
	"strings"
	"testing"
	"time"
)

func TestPercentiles(t *testing.T) {
	var d []time.Duration
	for i := 1000; i >= 1; i-- { // out of order on purpose
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	p := percentiles(d)
	if p.N != 1000 || p.P50 != 500 || p.P99 != 990 || p.P999 != 999 || p.Max != 1000 {
		t.Fatalf("percentiles = %+v", p)
	}
	if p := percentiles(nil); p.N != 0 || p.Max != 0 {
		t.Fatalf("percentiles of nothing = %+v", p)
	}
}

func TestConfigValidation(t *testing.T) {
	ok := Config{AuthURL: "http://a", APIURL: "http://b", EdgeURLs: []string{"http://e"}}
	tests := []struct {
		name   string
		change func(*Config)
		want   string // part of the error; empty for none
	}{
		{"defaults", func(*Config) {}, ""},
		{"no edges", func(c *Config) { c.EdgeURLs = nil }, "edge URL"},
		{"no auth", func(c *Config) { c.AuthURL = "" }, "URLs are required"},
		{"over the edge's send limit", func(c *Config) { c.Rate = 1000 }, "add chats or members"},
		{"negative rate", func(c *Config) { c.Rate = -1 }, "must be positive"},
	}
	for _, tt := range tests {
		c := ok
		tt.change(&c)
		err := c.withDefaults().validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: error %v, want one saying %q", tt.name, err, tt.want)
		}
	}
}
