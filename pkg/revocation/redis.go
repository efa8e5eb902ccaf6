package revocation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a Denylist in Redis, shared by every replica of every
// service. Each revoked session and each used token is a key of its own
// with its own expiry, so Redis forgets an entry exactly when it stops
// mattering and no key ever grows.
type Redis struct {
	client *redis.Client
	prefix string
}

var _ Denylist = (*Redis)(nil)

// NewRedis returns a denylist whose keys start with prefix
// ("parley:" gives "parley:revoked:sid:<sid>" and "parley:used:jti:<jti>").
func NewRedis(client *redis.Client, prefix string) *Redis {
	return &Redis{client: client, prefix: prefix}
}

func (r *Redis) sessionKey(sid string) string { return r.prefix + "revoked:sid:" + sid }
func (r *Redis) tokenKey(jti string) string   { return r.prefix + "used:jti:" + jti }

// RevokeSession implements Denylist. Revoking again extends the block
// when until is later, and never shortens it.
func (r *Redis) RevokeSession(ctx context.Context, sid string, until time.Time) error {
	if !until.After(time.Now()) {
		return nil
	}
	key, ms := r.sessionKey(sid), expiryMillis(until)
	_, err := r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.SetArgs(ctx, key, "1", redis.SetArgs{Mode: "NX", ExpireAt: time.UnixMilli(ms)})
		// GT needs Redis 7; it lets a later revocation extend the key.
		p.Do(ctx, "PEXPIREAT", key, ms, "GT")
		return nil
	})
	// NX answers nil when the key exists; that is the extend case.
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("revoking session in redis: %w", err)
	}
	return nil
}

// SessionRevoked implements Denylist.
func (r *Redis) SessionRevoked(ctx context.Context, sid string) (bool, error) {
	n, err := r.client.Exists(ctx, r.sessionKey(sid)).Result()
	if err != nil {
		return false, fmt.Errorf("checking session in redis: %w", err)
	}
	return n > 0, nil
}

// UseToken implements Denylist with one SET NX, which Redis runs
// atomically. An until already past records nothing: such a token is
// refused by every verifier anyway.
func (r *Redis) UseToken(ctx context.Context, jti string, until time.Time) (bool, error) {
	if !until.After(time.Now()) {
		return true, nil
	}
	err := r.client.SetArgs(ctx, r.tokenKey(jti), "1",
		redis.SetArgs{Mode: "NX", ExpireAt: time.UnixMilli(expiryMillis(until))}).Err()
	switch {
	case errors.Is(err, redis.Nil):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("recording token use in redis: %w", err)
	}
	return true, nil
}

// expiryMillis rounds until up to a whole millisecond, so an entry never
// expires before the time it was asked to last.
func expiryMillis(until time.Time) int64 {
	ms := until.UnixMilli()
	if until.Sub(time.UnixMilli(ms)) > 0 {
		ms++
	}
	return ms
}
