// Command auth runs Parley's auth service: users, login, access and
// refresh tokens, revocation and the JSON Web Key Set, under /auth/.
// Run "auth -h" for its settings; each is also read from the PARLEY_
// environment variable of that name.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/parley-chat/parley/pkg/auth"
	"github.com/parley-chat/parley/pkg/connect"
	"github.com/parley-chat/parley/pkg/envflag"
	"github.com/parley-chat/parley/pkg/logging"
	"github.com/parley-chat/parley/pkg/metrics"
	"github.com/parley-chat/parley/pkg/rest"
	"github.com/parley-chat/parley/pkg/revocation"
	"github.com/parley-chat/parley/pkg/service"
	"github.com/parley-chat/parley/pkg/store"
	"github.com/parley-chat/parley/pkg/throttle"
	"github.com/parley-chat/parley/pkg/token"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "auth:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	var cfg auth.Config
	var addr, dbURL, redisURL, natsURL, keyFiles, keysPEM, cors, proxies, logFormat, logLevel string
	var grace time.Duration
	fs := flag.NewFlagSet("auth", flag.ContinueOnError)
	fs.StringVar(&addr, "addr", ":8001", "listen address")
	fs.StringVar(&dbURL, "database-url", "", "postgres:// URL of the user database (required)")
	fs.StringVar(&redisURL, "redis-url", "", "Redis for the revocation denylists and login throttling (required)")
	fs.StringVar(&natsURL, "nats-url", "nats://127.0.0.1:4222", "NATS servers, comma-separated, to announce revocations on")
	fs.StringVar(&keyFiles, "signing-key-files", "", "PEM files of Ed25519 signing keys, comma-separated, newest first")
	fs.StringVar(&keysPEM, "signing-keys", "", "PEM text of Ed25519 signing keys, newest first, before the files (use the environment)")
	fs.StringVar(&cors, "cors-origins", "", "origins allowed to call /auth/ cross-origin, comma-separated")
	fs.StringVar(&proxies, "trusted-proxies", "", "load balancers (CIDR prefixes or addresses, comma-separated) whose X-Forwarded-For names the client, for login throttling")
	fs.DurationVar(&cfg.AccessTTL, "access-ttl", 0, "access token lifetime (default 5m)")
	fs.DurationVar(&cfg.RefreshTTL, "refresh-ttl", 0, "refresh token lifetime (default 168h)")
	fs.DurationVar(&cfg.SessionMaxAge, "session-max-age", 0, "longest life of a login, refreshes included (default 168h)")
	fs.DurationVar(&cfg.RefreshGrace, "refresh-grace", 0, "how long a reused refresh token gets its successor again (default 10s)")
	fs.StringVar(&cfg.RefreshPath, "auth-refresh-path", "", "path of the refresh endpoint (default /auth/jwt/refresh/)")
	fs.DurationVar(&grace, "shutdown-grace", 10*time.Second, "how long shutdown waits for requests in flight")
	fs.StringVar(&logFormat, "log-format", "json", "log format: json or text")
	fs.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	if err := envflag.Parse(fs, args, nil); err != nil {
		return err
	}
	var err error
	if cfg.TrustedProxies, err = envflag.Prefixes(proxies); err != nil {
		return fmt.Errorf("PARLEY_TRUSTED_PROXIES: %w", err)
	}
	log, err := logging.New(os.Stderr, logFormat, logLevel)
	if err != nil {
		return err
	}
	metrics.Auth.Register()
	switch {
	case dbURL == "":
		return errors.New("PARLEY_DATABASE_URL is required")
	case redisURL == "":
		return errors.New("PARLEY_REDIS_URL is required: revocations must be shared by every auth replica")
	case keyFiles == "" && keysPEM == "":
		return errors.New("PARLEY_SIGNING_KEYS or PARLEY_SIGNING_KEY_FILES is required")
	}

	keys, err := token.LoadKeys(keysPEM, envflag.List(keyFiles))
	if err != nil {
		return err
	}
	keySet, err := token.NewKeySet(keys)
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("opening database: %w", err)
	}
	defer db.Close()
	rc, err := connect.Redis(ctx, redisURL)
	if err != nil {
		return err
	}
	defer rc.Close()
	// Announcements wait in the client's buffer while NATS is away, so an
	// outage delays them rather than failing revocations; edges also
	// consult Redis on every auth frame.
	nc, err := connect.NATS(natsURL, "parley-auth", log)
	if err != nil {
		return err
	}
	defer nc.Close()
	cfg.Limiter = throttle.NewRedis(rc, connect.RedisPrefix)
	cfg.OnRevoke = revocation.Announcer(nc, log)
	svc, err := auth.New(cfg, db, revocation.NewRedis(rc, connect.RedisPrefix), keySet, log)
	if err != nil {
		return err
	}

	health := &service.Health{Service: "auth"}
	health.Add("database", db.Ping)
	health.Add("redis", func(ctx context.Context) error { return rc.Ping(ctx).Err() })
	mux := http.NewServeMux()
	health.Mount(mux)
	mux.Handle("/", rest.CORS(envflag.List(cors), svc.Handler()))
	// On SIGTERM the server turns not ready and finishes the requests in
	// flight within the grace period.
	srv := &service.Server{Addr: addr, Handler: mux, Log: log, Grace: grace, Health: health}
	err = srv.Serve(ctx)
	// Announcements still buffered get a moment to go out; one that is
	// lost is still on the denylist, which edges check on every auth frame.
	_ = nc.FlushTimeout(time.Second)
	return err
}
