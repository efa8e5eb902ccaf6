package token

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// JWKSClient is a KeySource that fetches keys from an auth service's
// /auth/jwks.json. It caches the set, refetches it when it is older than
// MaxAge so that removed keys stop verifying, and refetches early when a
// token names an unknown kid, but at most once per MinRefetch so that a
// flood of forged kids cannot turn into a flood of requests.
type JWKSClient struct {
	URL        string
	HTTP       *http.Client  // http.DefaultClient when nil
	MinRefetch time.Duration // 5s when zero
	MaxAge     time.Duration // 10m when zero

	mu      sync.Mutex
	keys    map[string]ed25519.PublicKey
	fetched time.Time
}

// PublicKey implements KeySource.
func (c *JWKSClient) PublicKey(ctx context.Context, kid string) (ed25519.PublicKey, error) {
	c.mu.Lock()
	defer c.mu.Unlock()

	// A set never fetched is fetched at once; a failed first fetch counts
	// as an attempt like any other, so an auth service that is down when
	// a verifier starts is not asked once per token.
	age := time.Since(c.fetched)
	_, known := c.keys[kid]
	if c.fetched.IsZero() || age > c.maxAge() || (!known && age > c.minRefetch()) {
		if err := c.fetch(ctx); err != nil {
			return nil, err
		}
	}
	if k, ok := c.keys[kid]; ok {
		return k, nil
	}
	return nil, ErrUnknownKey
}

func (c *JWKSClient) minRefetch() time.Duration {
	if c.MinRefetch > 0 {
		return c.MinRefetch
	}
	return 5 * time.Second
}

func (c *JWKSClient) maxAge() time.Duration {
	if c.MaxAge > 0 {
		return c.MaxAge
	}
	return 10 * time.Minute
}

// fetch replaces the cached set; the caller holds mu. A failed fetch
// keeps the old set and still counts as an attempt, so an unreachable
// auth service is asked at most once per MinRefetch.
func (c *JWKSClient) fetch(ctx context.Context) error {
	c.fetched = time.Now()
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL, nil)
	if err != nil {
		return fmt.Errorf("fetching JWKS: %w", err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("fetching JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetching JWKS: status %d", resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("fetching JWKS: %w", err)
	}
	keys, err := parseJWKS(data)
	if err != nil {
		return err
	}
	c.keys = keys
	return nil
}
