// Command edge runs a Parley edge: it terminates WebSockets at /ws, fans
// out each chat's messages from NATS to the sockets subscribed on this
// node, and serves the web client. Run "edge -h" for its settings; each is
// also read from the PARLEY_ environment variable of that name.
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

	"github.com/parley-chat/parley/pkg/connect"
	"github.com/parley-chat/parley/pkg/edge"
	"github.com/parley-chat/parley/pkg/envflag"
	"github.com/parley-chat/parley/pkg/logging"
	"github.com/parley-chat/parley/pkg/membership"
	"github.com/parley-chat/parley/pkg/metrics"
	"github.com/parley-chat/parley/pkg/service"
	"github.com/parley-chat/parley/web"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "edge:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	var cfg edge.Config
	var addr, natsURL, authURL, redisURL, origins, logFormat, logLevel string
	var grace, drainWindow time.Duration
	fs := flag.NewFlagSet("edge", flag.ContinueOnError)
	fs.StringVar(&addr, "addr", ":8000", "listen address")
	fs.StringVar(&natsURL, "nats-url", "nats://127.0.0.1:4222", "NATS servers, comma-separated")
	fs.StringVar(&authURL, "auth-url", "", "base URL of the auth service, for its keys (required)")
	fs.StringVar(&redisURL, "redis-url", "", "Redis with the revocation denylists; when set, revoked sessions are refused at once")
	fs.StringVar(&origins, "allowed-origins", "", "origins allowed to open /ws, comma-separated (the request's own host when empty)")
	fs.DurationVar(&grace, "shutdown-grace", 10*time.Second, "how long shutdown may take, socket closing included")
	fs.DurationVar(&drainWindow, "drain-window", 5*time.Second,
		"on shutdown, the time over which open sockets are closed, spread evenly")
	fs.StringVar(&logFormat, "log-format", "json", "log format: json or text")
	fs.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	if err := envflag.Parse(fs, args, nil); err != nil {
		return err
	}
	log, err := logging.New(os.Stderr, logFormat, logLevel)
	if err != nil {
		return err
	}
	metrics.Edge.Register()
	switch {
	case authURL == "":
		return errors.New("PARLEY_AUTH_URL is required")
	case drainWindow < 0 || drainWindow >= grace:
		return fmt.Errorf("PARLEY_DRAIN_WINDOW %v must be at least 0 and shorter than "+
			"PARLEY_SHUTDOWN_GRACE %v", drainWindow, grace)
	}
	cfg.AllowedOrigins = envflag.List(origins)
	cfg.DrainWindow = drainWindow

	nc, err := connect.NATS(natsURL, "parley-edge", log)
	if err != nil {
		return err
	}
	defer nc.Close()
	an, closeAuthn, err := connect.Authenticator(ctx, authURL, redisURL)
	if err != nil {
		return err
	}
	defer closeAuthn()
	deps := edge.Deps{NC: nc, Authn: an, Members: &membership.Client{NC: nc}, Log: log}
	if web.Built() {
		deps.Static = web.Assets()
	}
	svc, err := edge.New(cfg, deps)
	if err != nil {
		return err
	}

	health := &service.Health{Service: "edge"}
	health.Add("nats", connect.NATSReady(nc))
	health.Add("edge", func(context.Context) error { return svc.Ready() })
	mux := http.NewServeMux()
	health.Mount(mux)
	mux.Handle("/", svc.Handler())
	// Sockets are hijacked connections the HTTP server does not track, so
	// on SIGTERM the edge turns not ready, then closes them itself with
	// 1012, spread over the drain window, while the server still answers;
	// the server stops last. All of it fits in the grace period.
	srv := &service.Server{
		Addr: addr, Handler: mux, Log: log, Grace: grace,
		Health: health, Drain: svc.Shutdown,
	}
	return errors.Join(srv.Serve(ctx), nc.Drain())
}
