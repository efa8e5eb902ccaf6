package harness

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// WaitStatus polls url until a GET answers want, failing the test when
// the process exits first or a minute passes.
func WaitStatus(t *testing.T, p *Proc, url string, want int) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(time.Minute)
	for {
		if StatusOf(url) == want {
			return
		}
		select {
		case <-p.Done():
			t.Fatalf("%s exited early:\n%s", p.Name(), p.Output())
		case <-deadline:
			t.Fatalf("%s did not answer %d at %s within a minute:\n%s",
				p.Name(), want, url, p.Output())
		case <-tick.C:
		}
	}
}

// WaitReady waits for base/readyz to answer 200.
func WaitReady(t *testing.T, p *Proc, base string) {
	t.Helper()
	WaitStatus(t, p, base+"/readyz", http.StatusOK)
}

// StatusOf is the status of a GET of url, 0 when it fails or takes
// longer than five seconds.
func StatusOf(url string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
