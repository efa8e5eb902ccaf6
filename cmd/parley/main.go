// Command parley runs the whole of Parley in one process: edge, auth and
// archiver with an embedded NATS server, SQLite and an in-process
// denylist, all data under one folder. Run "parley -h" for its settings;
// each is also read from the PARLEY_ environment variable of that name.
// "parley revoke -user NAME" or "-session ID" ends sessions at once, for
// incident response; see revoke.go.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/parley-chat/parley/pkg/allinone"
	"github.com/parley-chat/parley/pkg/envflag"
	"github.com/parley-chat/parley/pkg/logging"
	"github.com/parley-chat/parley/web"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "parley:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "revoke" {
		return runRevoke(ctx, args[1:], os.Stdout, os.Stderr)
	}
	if len(args) > 0 && args[0] == "bench" {
		return runBench(ctx, args[1:], os.Stdout)
	}
	if len(args) > 0 && args[0] == "dead-letters" {
		return runDeadLetters(ctx, args[1:], os.Stdout)
	}
	if len(args) > 0 && args[0] == "serve" {
		args = args[1:]
	}
	var cfg allinone.Config
	var keyFiles, cors, origins, proxies string
	var logFormat, logLevel string
	fs := flag.NewFlagSet("parley", flag.ContinueOnError)
	fs.StringVar(&cfg.Addr, "addr", ":8000", "listen address for everything")
	fs.StringVar(&cfg.DataDir, "data-dir", "./data", "folder for SQLite, JetStream and the signing key")
	fs.StringVar(&cfg.NATSURL, "nats-url", "", "NATS servers, comma-separated (embedded when empty)")
	fs.StringVar(&cfg.DatabaseURL, "database-url", "", "postgres:// URL or SQLite path (SQLite in the data folder when empty)")
	fs.StringVar(&cfg.RedisURL, "redis-url", "", "Redis for denylists and login throttling (in-process when empty)")
	fs.StringVar(&keyFiles, "signing-key-files", "", "PEM files of Ed25519 signing keys, comma-separated, newest first (generated in the data folder when empty)")
	fs.StringVar(&cfg.SigningKeys, "signing-keys", "", "PEM text of Ed25519 signing keys, newest first, before the files (use the environment)")
	fs.StringVar(&cors, "cors-origins", "", "origins allowed to call /auth/ and /api/ cross-origin, comma-separated")
	fs.StringVar(&proxies, "trusted-proxies", "", "load balancers (CIDR prefixes or addresses, comma-separated) whose X-Forwarded-For names the client, for login throttling")
	fs.StringVar(&origins, "allowed-origins", "", "origins allowed to open /ws, comma-separated (the request's own host when empty)")
	fs.DurationVar(&cfg.Auth.AccessTTL, "access-ttl", 0, "access token lifetime (default 5m)")
	fs.DurationVar(&cfg.Auth.RefreshTTL, "refresh-ttl", 0, "refresh token lifetime (default 168h)")
	fs.DurationVar(&cfg.Auth.SessionMaxAge, "session-max-age", 0, "longest life of a login, refreshes included (default 168h)")
	fs.DurationVar(&cfg.Auth.RefreshGrace, "refresh-grace", 0, "how long a reused refresh token gets its successor again (default 10s)")
	fs.StringVar(&cfg.Auth.RefreshPath, "auth-refresh-path", "", "path of the refresh endpoint (default /auth/jwt/refresh/)")
	fs.DurationVar(&cfg.Grace, "shutdown-grace", 0, "how long shutdown waits for work in flight (default 10s)")
	fs.StringVar(&logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	if err := envflag.Parse(fs, args, nil); err != nil {
		return err
	}
	var err error
	if cfg.Auth.TrustedProxies, err = envflag.Prefixes(proxies); err != nil {
		return fmt.Errorf("PARLEY_TRUSTED_PROXIES: %w", err)
	}
	cfg.SigningKeyFiles = envflag.List(keyFiles)
	cfg.CORSOrigins = envflag.List(cors)
	cfg.Edge.AllowedOrigins = envflag.List(origins)

	log, err := logging.New(os.Stderr, logFormat, logLevel)
	if err != nil {
		return err
	}
	if web.Built() {
		cfg.Static = web.Assets()
	} else {
		log.Warn("the web client is not built; run make web to serve it")
	}
	return allinone.Run(ctx, cfg, log, func(url string) {
		log.Info("parley is running", "url", url, "data_dir", cfg.DataDir)
	})
}
