package throttle

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a Limiter whose counts live in Redis, shared by every replica.
//
// It keeps what Memory keeps, the moment a key's failures will have
// drained, as the expiry of one key per throttled name: the remaining
// time to live is the backlog. A key therefore disappears exactly when it
// stops holding anyone back, and Redis's own clock is the only one used,
// so replicas whose clocks disagree still agree on the count.
type Redis struct {
	client *redis.Client
	prefix string
}

var _ Limiter = (*Redis)(nil)

// NewRedis returns a limiter whose keys start with prefix ("parley:"
// gives "parley:throttle:<key>").
func NewRedis(client *redis.Client, prefix string) *Redis {
	return &Redis{client: client, prefix: prefix}
}

func (r *Redis) key(k string) string { return r.prefix + "throttle:" + k }

// failScript adds one interval to the key's backlog, starting from now
// when it has none, in one step so that concurrent failures all count.
var failScript = redis.NewScript(`
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then ttl = 0 end
redis.call('SET', KEYS[1], '1', 'PX', ttl + tonumber(ARGV[1]))
return 1
`)

// Wait implements Limiter.
func (r *Redis) Wait(ctx context.Context, key string, rate Rate) (time.Duration, error) {
	backlog, err := r.client.PTTL(ctx, r.key(key)).Result()
	if err != nil {
		return 0, fmt.Errorf("reading throttle from redis: %w", err)
	}
	// Burst-1 failures still waiting to drain leave room for one more try;
	// a missing key answers a negative duration.
	allowed := time.Duration(rate.Burst-1) * rate.Every
	return max(0, backlog-allowed), nil
}

// Fail implements Limiter.
func (r *Redis) Fail(ctx context.Context, key string, rate Rate) error {
	every := max(1, rate.Every.Milliseconds())
	if err := failScript.Run(ctx, r.client, []string{r.key(key)}, every).Err(); err != nil {
		return fmt.Errorf("recording failure in redis: %w", err)
	}
	return nil
}

// Reset implements Limiter.
func (r *Redis) Reset(ctx context.Context, key string) error {
	if err := r.client.Del(ctx, r.key(key)).Err(); err != nil {
		return fmt.Errorf("resetting throttle in redis: %w", err)
	}
	return nil
}
