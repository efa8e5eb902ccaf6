package metrics

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// Redis metrics, of every service that uses Redis: auth always, the edge
// and the archiver when given a denylist.
var (
	// RedisDuration times Redis commands and pipelines.
	RedisDuration = in(common, prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: namespace, Subsystem: "redis", Name: "request_seconds",
		Help:    "Time of a Redis command or pipeline, answered or failed.",
		Buckets: latencyBuckets,
	}))
	// RedisErrors counts Redis commands and pipelines that failed; a key
	// that is not there is an answer, not a failure.
	RedisErrors = in(common, prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "redis", Name: "errors_total",
		Help: "Redis commands and pipelines that failed, connections that could not be made included.",
	}))
)

// RedisHook returns a go-redis hook that feeds RedisDuration and
// RedisErrors; add it with Client.AddHook.
func RedisHook() redis.Hook { return redisHook{} }

type redisHook struct{}

func (redisHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := next(ctx, network, addr)
		if err != nil {
			RedisErrors.Inc()
		}
		return c, err
	}
}

func (redisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmd)
		observeRedis(start, err)
		return err
	}
}

func (redisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmds)
		observeRedis(start, err)
		return err
	}
}

func observeRedis(start time.Time, err error) {
	RedisDuration.Observe(time.Since(start).Seconds())
	if err != nil && !errors.Is(err, redis.Nil) {
		RedisErrors.Inc()
	}
}
