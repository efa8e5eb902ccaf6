// Command archiver runs Parley's archiver: chats, membership and history
// under /api/, and the durable JetStream consumer that persists every
// message. Run "archiver -h" for its settings; each is also read from the
// PARLEY_ environment variable of that name.
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

	"github.com/parley-chat/parley/pkg/archive"
	"github.com/parley-chat/parley/pkg/connect"
	"github.com/parley-chat/parley/pkg/envflag"
	"github.com/parley-chat/parley/pkg/logging"
	"github.com/parley-chat/parley/pkg/metrics"
	"github.com/parley-chat/parley/pkg/rest"
	"github.com/parley-chat/parley/pkg/service"
	"github.com/parley-chat/parley/pkg/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "archiver:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	var cfg archive.Config
	var addr, dbURL, natsURL, authURL, redisURL, cors, logFormat, logLevel string
	var grace time.Duration
	fs := flag.NewFlagSet("archiver", flag.ContinueOnError)
	fs.StringVar(&addr, "addr", ":8002", "listen address")
	fs.StringVar(&dbURL, "database-url", "", "postgres:// URL of the chat database (required)")
	fs.StringVar(&natsURL, "nats-url", "nats://127.0.0.1:4222", "NATS servers, comma-separated")
	fs.StringVar(&authURL, "auth-url", "", "base URL of the auth service, for its keys (required)")
	fs.StringVar(&redisURL, "redis-url", "", "Redis with the revocation denylists; when set, revoked sessions are refused at once")
	fs.StringVar(&cors, "cors-origins", "", "origins allowed to call /api/ cross-origin, comma-separated")
	fs.IntVar(&cfg.Stream.Replicas, "stream-replicas", 1, "JetStream replicas of the message stream (3 in a NATS cluster)")
	fs.DurationVar(&cfg.Stream.MaxAge, "stream-max-age", 7*24*time.Hour, "how long the stream keeps messages; older replays come from the database")
	fs.Int64Var(&cfg.Stream.MaxBytes, "stream-max-bytes", 10<<30, "most bytes the stream keeps, oldest dropped first")
	fs.DurationVar(&cfg.Stream.Duplicates, "stream-dedupe-window", 2*time.Minute, "how long the stream itself drops a repeated client_id")
	fs.DurationVar(&cfg.AckWait, "ack-wait", 10*time.Second, "how long a delivered message may stay unacknowledged before another replica gets it")
	fs.IntVar(&cfg.MaxDeliver, "max-deliver", 5, "tries of a message the database refuses before it goes to dead letters")
	fs.DurationVar(&grace, "shutdown-grace", 10*time.Second, "how long shutdown waits for work in flight")
	fs.StringVar(&logFormat, "log-format", "json", "log format: json or text")
	fs.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	if err := envflag.Parse(fs, args, nil); err != nil {
		return err
	}
	log, err := logging.New(os.Stderr, logFormat, logLevel)
	if err != nil {
		return err
	}
	metrics.Archiver.Register()
	switch {
	case dbURL == "":
		return errors.New("PARLEY_DATABASE_URL is required")
	case authURL == "":
		return errors.New("PARLEY_AUTH_URL is required")
	}

	db, err := store.Open(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("opening database: %w", err)
	}
	defer db.Close()
	nc, err := connect.NATS(natsURL, "parley-archiver", log)
	if err != nil {
		return err
	}
	defer nc.Close()
	an, closeAuthn, err := connect.Authenticator(ctx, authURL, redisURL)
	if err != nil {
		return err
	}
	defer closeAuthn()
	svc, err := archive.New(cfg, db, nc, an, log)
	if err != nil {
		return err
	}

	health := &service.Health{Service: "archiver"}
	health.Add("nats", connect.NATSReady(nc))
	health.Add("archiver", svc.Ready)
	mux := http.NewServeMux()
	health.Mount(mux)
	mux.Handle("/", rest.CORS(envflag.List(cors), svc.Handler()))
	srv := &service.Server{Addr: addr, Handler: mux, Log: log, Grace: grace, Health: health}
	if err := srv.Listen(); err != nil {
		return err
	}

	// The consumer keeps running while HTTP drains, so that messages
	// accepted during the drain are still persisted, and stops last. If
	// it stops by itself, the process stops too: an archiver that
	// answers HTTP but stores nothing would hide the fault.
	consCtx, stopCons := context.WithCancel(context.Background())
	defer stopCons()
	srvCtx, stopSrv := context.WithCancel(ctx)
	defer stopSrv()
	consDone := make(chan error, 1)
	go func() {
		consDone <- svc.Run(consCtx)
		stopSrv()
	}()

	deadline, cancel := service.AfterGrace(srvCtx, grace)
	defer cancel()
	err = srv.Serve(srvCtx)
	stopCons()
	return errors.Join(err, waitConsumer(deadline, consDone), nc.Drain())
}

// waitConsumer waits for the consumer to hand back its messages, until
// the grace deadline. Past it the process exits anyway: whatever the
// consumer has not acknowledged is delivered again to another replica,
// and the database skips what it already holds.
func waitConsumer(deadline context.Context, done <-chan error) error {
	select {
	case err := <-done:
		return err
	case <-deadline.Done():
		return errors.New("the consumer did not stop within the shutdown grace")
	}
}
