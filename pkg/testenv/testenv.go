// Package testenv finds the real services Parley's tests run against:
// PostgreSQL through PARLEY_TEST_DATABASE_URL and Redis through
// PARLEY_TEST_REDIS_URL, with this machine's defaults. When a service is
// unreachable a test is skipped, unless PARLEY_TEST_REQUIRE_SERVICES=1,
// as in CI, where it fails instead. Only tests import this package.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// Defaults used when the environment names no service.
const (
	DefaultDatabaseURL = "postgres://127.0.0.1:5432/test?sslmode=disable"
	DefaultRedisURL    = "redis://127.0.0.1:6379/0"
)

// RequireServices reports whether a missing service must fail the run.
func RequireServices() bool {
	return os.Getenv("PARLEY_TEST_REQUIRE_SERVICES") == "1"
}

func unavailable(t testing.TB, what string, err error) {
	t.Helper()
	if RequireServices() {
		t.Fatalf("%s is required (PARLEY_TEST_REQUIRE_SERVICES=1) but unreachable: %v", what, err)
	}
	t.Skipf("%s unreachable, skipping: %v", what, err)
}

// Suffix returns a random name part unique to this call.
func Suffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// PostgresURL creates an empty database for the calling test, drops it
// when the test ends, and returns its URL.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("PARLEY_TEST_DATABASE_URL")
	if base == "" {
		base = DefaultDatabaseURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		unavailable(t, "PostgreSQL", err)
	}
	name := "parley_test_" + Suffix()
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		_ = admin.Close(ctx)
		t.Fatalf("creating test database: %v", err)
	}
	_ = admin.Close(ctx)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		admin, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("dropping test database: %v", err)
			return
		}
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping test database: %v", err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parsing %s: %v", base, err)
	}
	u.Path = "/" + name
	return u.String()
}

// RedisURL returns the URL of a reachable Redis. Tests share it, so each
// must keep its keys apart, with a prefix from Suffix.
func RedisURL(t testing.TB) string {
	t.Helper()
	raw := os.Getenv("PARLEY_TEST_REDIS_URL")
	if raw == "" {
		raw = DefaultRedisURL
	}
	opts, err := redis.ParseURL(raw)
	if err != nil {
		t.Fatalf("parsing %s: %v", raw, err)
	}
	c := redis.NewClient(opts)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		unavailable(t, "Redis", fmt.Errorf("ping %s: %w", raw, err))
	}
	return raw
}
