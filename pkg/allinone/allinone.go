// Package allinone assembles edge, auth and archiver into one process for
// a single machine: an embedded NATS server with JetStream, SQLite and an
// in-process denylist, all kept under one data folder. Each backing
// service can be swapped for a real one by giving its URL.
package allinone

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/parley-chat/parley/pkg/archive"
	"github.com/parley-chat/parley/pkg/auth"
	"github.com/parley-chat/parley/pkg/connect"
	"github.com/parley-chat/parley/pkg/edge"
	"github.com/parley-chat/parley/pkg/embednats"
	"github.com/parley-chat/parley/pkg/membership"
	"github.com/parley-chat/parley/pkg/metrics"
	"github.com/parley-chat/parley/pkg/rest"
	"github.com/parley-chat/parley/pkg/revocation"
	"github.com/parley-chat/parley/pkg/service"
	"github.com/parley-chat/parley/pkg/store"
	"github.com/parley-chat/parley/pkg/throttle"
	"github.com/parley-chat/parley/pkg/token"
)

// Config is the all-in-one's configuration; the zero value of each field
// means its default.
type Config struct {
	Addr        string // ":8000"
	DataDir     string // "./data"
	NATSURL     string // embedded when empty
	DatabaseURL string // SQLite under DataDir when empty
	RedisURL    string // in-process denylist when empty
	// SigningKeys (PEM text) and SigningKeyFiles (PEM files) hold the
	// Ed25519 keys, SigningKeys first; the first key of all signs. When
	// both are empty a key is generated once and kept in DataDir.
	SigningKeys     string
	SigningKeyFiles []string
	CORSOrigins     []string
	Grace           time.Duration // 10s

	Auth    auth.Config
	Archive archive.Config
	Edge    edge.Config
	// Static is the web client's files; nil serves none.
	Static fs.FS
}

func (c *Config) defaults() {
	if c.Addr == "" {
		c.Addr = ":8000"
	}
	if c.DataDir == "" {
		c.DataDir = "./data"
	}
	if c.Grace == 0 {
		c.Grace = 10 * time.Second
	}
}

// Run serves until ctx ends, then shuts everything down in order. ready,
// when not nil, is called with the base URL once the server listens.
func Run(ctx context.Context, cfg Config, log *slog.Logger, ready func(url string)) error {
	cfg.defaults()
	for _, g := range []*metrics.Group{metrics.Edge, metrics.Auth, metrics.Archiver} {
		g.Register()
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("creating data folder: %w", err)
	}
	var stack cleanup
	defer stack.run()

	nc, err := openNATS(cfg, log, &stack)
	if err != nil {
		return err
	}
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	stack.push(func() { _ = db.Close() })
	deny, limiter, err := openDenylist(ctx, cfg, db, &stack)
	if err != nil {
		return err
	}
	cfg.Auth.Limiter = limiter
	// Revocations go out on NATS like in a cluster, so that edges of
	// other processes sharing PARLEY_NATS_URL close their sockets too.
	cfg.Auth.OnRevoke = revocation.Announcer(nc, log.With("component", "auth"))
	keys, err := loadKeys(cfg)
	if err != nil {
		return err
	}

	authSvc, err := auth.New(cfg.Auth, db, deny, keys, log.With("component", "auth"))
	if err != nil {
		return fmt.Errorf("starting auth: %w", err)
	}
	arch, err := archive.New(cfg.Archive, db, nc, authSvc.Authenticator(), log.With("component", "archiver"))
	if err != nil {
		return fmt.Errorf("starting archiver: %w", err)
	}
	ed, err := edge.New(cfg.Edge, edge.Deps{
		NC:      nc,
		Authn:   authSvc.Authenticator(),
		Members: &membership.Client{NC: nc},
		Static:  cfg.Static,
		Log:     log.With("component", "edge"),
	})
	if err != nil {
		return fmt.Errorf("starting edge: %w", err)
	}
	return serve(ctx, cfg, log, servers{db: db, nc: nc, auth: authSvc, arch: arch, edge: ed}, ready)
}

type servers struct {
	db   *store.DB
	nc   *nats.Conn
	auth *auth.Service
	arch *archive.Service
	edge *edge.Server
}

func serve(ctx context.Context, cfg Config, log *slog.Logger, s servers, ready func(string)) error {
	health := &service.Health{Service: "parley"}
	health.Add("nats", connect.NATSReady(s.nc))
	health.Add("database", s.db.Ping)
	health.Add("archiver", s.arch.Ready)
	health.Add("edge", func(context.Context) error { return s.edge.Ready() })

	mux := http.NewServeMux()
	health.Mount(mux)
	mux.Handle("/auth/", rest.CORS(cfg.CORSOrigins, s.auth.Handler()))
	mux.Handle("/api/", rest.CORS(cfg.CORSOrigins, s.arch.Handler()))
	mux.Handle("/", s.edge.Handler())

	// At shutdown the server turns not ready, the edge closes its
	// sockets and the requests in flight finish, within the grace.
	srv := &service.Server{
		Addr: cfg.Addr, Handler: mux, Log: log, Grace: cfg.Grace,
		Health: health, Drain: s.edge.Shutdown,
	}
	if err := srv.Listen(); err != nil {
		return err
	}

	// The archiver runs until the HTTP side has stopped, so that sends
	// accepted during the drain are still persisted.
	archCtx, stopArch := context.WithCancel(context.Background())
	defer stopArch()
	archDone := make(chan error, 1)
	go func() { archDone <- s.arch.Run(archCtx) }()

	if ready != nil {
		ready(srv.URL())
	}
	httpCtx, stopHTTP := context.WithCancel(context.Background())
	defer stopHTTP()
	deadline, cancel := service.AfterGrace(httpCtx, cfg.Grace)
	defer cancel()
	httpDone := make(chan error, 1)
	go func() { httpDone <- srv.Serve(httpCtx) }()

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-archDone:
		archDone <- runErr
		runErr = fmt.Errorf("archiver stopped: %w", runErr)
	case runErr = <-httpDone:
		httpDone <- runErr
	}
	stopHTTP()
	errs := []error{runErr, <-httpDone}
	stopArch()
	select {
	case err := <-archDone:
		errs = append(errs, err)
	case <-deadline.Done():
		// Unacknowledged messages are delivered again when the process
		// next starts; the database skips what it already holds.
		errs = append(errs, errors.New("the archiver did not stop within the shutdown grace"))
	}
	return errors.Join(errs...)
}

func openNATS(cfg Config, log *slog.Logger, stack *cleanup) (*nats.Conn, error) {
	if cfg.NATSURL != "" {
		nc, err := connect.NATS(cfg.NATSURL, "parley", log)
		if err != nil {
			return nil, err
		}
		stack.push(func() { _ = nc.Drain() })
		return nc, nil
	}
	// One server holds the only copy, so it syncs each message to disk
	// before acknowledging it; see "Delivery guarantees" in the README.
	ns, err := embednats.Start(embednats.Options{
		Dir: filepath.Join(cfg.DataDir, "jetstream"), SyncAlways: true,
	})
	if err != nil {
		return nil, err
	}
	stack.push(ns.Shutdown)
	nc, err := ns.Connect("parley")
	if err != nil {
		return nil, err
	}
	metrics.TrackNATS(nc)
	stack.push(nc.Close)
	return nc, nil
}

func openStore(ctx context.Context, cfg Config) (*store.DB, error) {
	dsn := cfg.DatabaseURL
	if dsn == "" {
		dsn = filepath.Join(cfg.DataDir, "parley.db")
	}
	db, err := store.Open(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("opening database: %w", err)
	}
	return db, nil
}

// openDenylist returns the denylist and the login limiter: in this
// process, or in Redis when RedisURL is set, so that several processes
// sharing it share revocations and login counts.
func openDenylist(ctx context.Context, cfg Config, db *store.DB, stack *cleanup) (
	revocation.Denylist, throttle.Limiter, error) {
	if cfg.RedisURL == "" {
		deny, err := reloadDenylist(ctx, db)
		return deny, throttle.NewMemory(), err
	}
	rc, err := connect.Redis(ctx, cfg.RedisURL)
	if err != nil {
		return nil, nil, err
	}
	stack.push(func() { _ = rc.Close() })
	return revocation.NewRedis(rc, connect.RedisPrefix), throttle.NewRedis(rc, connect.RedisPrefix), nil
}

// reloadDenylist fills an in-process denylist with the sessions the
// database knows were revoked, so that a restart does not let a revoked
// session's unexpired access tokens back in. Used refresh tokens need no
// reloading: the database refuses them by itself.
func reloadDenylist(ctx context.Context, db *store.DB) (revocation.Denylist, error) {
	deny := revocation.NewMemory()
	now := time.Now()
	revoked, err := db.RevokedSessions(ctx, now)
	if err != nil {
		return nil, fmt.Errorf("reloading revoked sessions: %w", err)
	}
	for _, s := range revoked {
		if err := deny.RevokeSession(ctx, s.ID, s.ExpiresAt); err != nil {
			return nil, fmt.Errorf("reloading revoked sessions: %w", err)
		}
	}
	return deny, nil
}

func loadKeys(cfg Config) (*token.KeySet, error) {
	var keys []token.Key
	var err error
	if cfg.SigningKeys != "" || len(cfg.SigningKeyFiles) > 0 {
		keys, err = token.LoadKeys(cfg.SigningKeys, cfg.SigningKeyFiles)
	} else {
		keys, err = token.LoadOrCreateFile(filepath.Join(cfg.DataDir, "signing-key.pem"))
	}
	if err != nil {
		return nil, err
	}
	return token.NewKeySet(keys)
}

// cleanup runs its functions in reverse order of pushing, once.
type cleanup struct {
	once sync.Once
	fns  []func()
}

func (c *cleanup) push(f func()) { c.fns = append(c.fns, f) }

func (c *cleanup) run() {
	c.once.Do(func() {
		for i := len(c.fns) - 1; i >= 0; i-- {
			c.fns[i]()
		}
	})
}
