// Package connect opens the connections Parley's commands share: NATS
// with reconnection that never gives up, and Redis checked with a ping.
// The connections it returns are safe for concurrent use.
package connect

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"

	"github.com/parley-chat/parley/pkg/authn"
	"github.com/parley-chat/parley/pkg/metrics"
	"github.com/parley-chat/parley/pkg/revocation"
	"github.com/parley-chat/parley/pkg/token"
)

// NATS connects to the comma-separated servers in url. The connection
// reconnects forever: a NATS outage makes a service unready, never makes
// it exit, since every service recovers once NATS is back.
func NATS(url, name string, log *slog.Logger) (*nats.Conn, error) {
	nc, err := nats.Connect(url,
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500*time.Millisecond),
		nats.RetryOnFailedConnect(true),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			log.Info("nats reconnected", "node", c.ConnectedServerName())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, s *nats.Subscription, err error) {
			log.Error("nats async error", "err", err)
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("connecting to NATS at %s: %w", url, err)
	}
	metrics.TrackNATS(nc)
	return nc, nil
}

// NATSReady reports whether nc is connected.
func NATSReady(nc *nats.Conn) func(context.Context) error {
	return func(context.Context) error {
		if !nc.IsConnected() {
			return fmt.Errorf("nats %s", nc.Status())
		}
		return nil
	}
}

// Redis opens a client for url and checks it answers.
func Redis(ctx context.Context, url string) (*redis.Client, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("parsing redis url: %w", err)
	}
	c := redis.NewClient(opts)
	c.AddHook(metrics.RedisHook())
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("connecting to redis: %w", err)
	}
	return c, nil
}

// Verifier checks access tokens with the keys the auth service at
// authURL publishes on /auth/jwks.json.
func Verifier(authURL string) *token.Verifier {
	return &token.Verifier{
		Keys:     &token.JWKSClient{URL: strings.TrimSuffix(authURL, "/") + "/auth/jwks.json"},
		Issuer:   token.DefaultIssuer,
		Audience: token.DefaultAudience,
	}
}

// RedisPrefix starts every key Parley writes to Redis, so that it can
// share a Redis with other programs; the README documents the keys.
const RedisPrefix = "parley:"

// Authenticator verifies access tokens with the keys of the auth service
// at authURL. With a redisURL it also refuses revoked sessions at once,
// even those whose revocation announcement this process missed; close
// releases the Redis connection.
func Authenticator(ctx context.Context, authURL, redisURL string) (
	a *authn.Authenticator, close func(), err error) {
	a = &authn.Authenticator{Verifier: Verifier(authURL)}
	if redisURL == "" {
		return a, func() {}, nil
	}
	rc, err := Redis(ctx, redisURL)
	if err != nil {
		return nil, nil, err
	}
	a.Denylist = revocation.NewRedis(rc, RedisPrefix)
	return a, func() { _ = rc.Close() }, nil
}
