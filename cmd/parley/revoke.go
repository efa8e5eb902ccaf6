package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/parley-chat/parley/pkg/auth"
	"github.com/parley-chat/parley/pkg/connect"
	"github.com/parley-chat/parley/pkg/envflag"
	"github.com/parley-chat/parley/pkg/revocation"
	"github.com/parley-chat/parley/pkg/store"
)

// revokeSettings are what "parley revoke" reads; every one but the
// target also comes from the PARLEY_ environment of the services.
type revokeSettings struct {
	user, session            string
	dataDir, dbURL, redisURL string
	natsURL                  string
	timeout                  time.Duration
}

// runRevoke is "parley revoke": it ends one session or every session of
// one user, for incident response, the way the auth service would: in
// the database, on the denylist, and announced to the edges.
func runRevoke(ctx context.Context, args []string, out, warn io.Writer) error {
	s, err := parseRevoke(args, warn)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	db, err := openRevokeStore(ctx, s)
	if err != nil {
		return err
	}
	defer db.Close()
	deny, closeDeny, err := openRevokeDenylist(ctx, s, warn)
	if err != nil {
		return err
	}
	defer closeDeny()
	rv := &auth.Revoker{Users: db, Deny: deny}
	announced, closeNATS, err := announcer(s, rv, warn)
	if err != nil {
		return err
	}
	defer closeNATS()
	ids, err := revokeTarget(ctx, db, rv, s)
	if err != nil {
		return err
	}
	if err := announced(ctx); err != nil {
		return err
	}
	for _, id := range ids {
		fmt.Fprintln(out, "revoked session", id)
	}
	return nil
}

func parseRevoke(args []string, warn io.Writer) (revokeSettings, error) {
	var s revokeSettings
	fs := flag.NewFlagSet("parley revoke", flag.ContinueOnError)
	fs.SetOutput(warn)
	fs.StringVar(&s.user, "user", "", "end every session of the user with this username")
	fs.StringVar(&s.session, "session", "", "end the session with this id (the sid claim)")
	fs.StringVar(&s.dataDir, "data-dir", "./data", "all-in-one data folder, for its SQLite database when -database-url is empty")
	fs.StringVar(&s.dbURL, "database-url", "", "postgres:// URL or SQLite path of the user database")
	fs.StringVar(&s.redisURL, "redis-url", "", "Redis with the revocation denylists")
	fs.StringVar(&s.natsURL, "nats-url", "", "NATS servers, comma-separated, to tell the edges")
	fs.DurationVar(&s.timeout, "timeout", 30*time.Second, "how long the whole command may take")
	// The target is named on the command line only: an environment
	// variable left over from another run must never pick whom to sign out.
	lookup := func(name string) (string, bool) {
		if name == envflag.EnvName("user") || name == envflag.EnvName("session") {
			return "", false
		}
		return os.LookupEnv(name)
	}
	if err := envflag.Parse(fs, args, lookup); err != nil {
		return s, err
	}
	switch {
	case fs.NArg() > 0:
		return s, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case (s.user == "") == (s.session == ""):
		return s, errors.New("revoke needs exactly one of -user NAME or -session ID")
	}
	return s, nil
}

// openRevokeStore opens the configured database. The all-in-one's
// SQLite file must exist already: opening a missing one would create an
// empty database and report every user unknown.
func openRevokeStore(ctx context.Context, s revokeSettings) (*store.DB, error) {
	dsn := s.dbURL
	if dsn == "" {
		dsn = filepath.Join(s.dataDir, "parley.db")
		if _, err := os.Stat(dsn); err != nil {
			return nil, fmt.Errorf("no database to revoke in (set PARLEY_DATABASE_URL or PARLEY_DATA_DIR): %w", err)
		}
	}
	db, err := store.Open(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("opening database: %w", err)
	}
	return db, nil
}

// openRevokeDenylist opens the denylist in Redis, or without Redis a
// denylist of this process, which blocks nothing: the database alone
// still stops every refresh.
func openRevokeDenylist(ctx context.Context, s revokeSettings, warn io.Writer) (
	revocation.Denylist, func(), error) {
	if s.redisURL == "" {
		fmt.Fprintln(warn, "warning: PARLEY_REDIS_URL is not set: access tokens already issued "+
			"stay valid until they expire (PARLEY_ACCESS_TTL, 5m by default)")
		return revocation.NewMemory(), func() {}, nil
	}
	rc, err := connect.Redis(ctx, s.redisURL)
	if err != nil {
		return nil, nil, err
	}
	return revocation.NewRedis(rc, connect.RedisPrefix), func() { _ = rc.Close() }, nil
}

// announcer sets rv to announce on NATS, when configured. It returns a
// function that waits until the announcement has reached the server,
// and one that closes the connection.
func announcer(s revokeSettings, rv *auth.Revoker, warn io.Writer) (
	func(context.Context) error, func(), error) {
	if s.natsURL == "" {
		fmt.Fprintln(warn, "warning: PARLEY_NATS_URL is not set: open sockets close when their "+
			"access token expires, not now")
		return func(context.Context) error { return nil }, func() {}, nil
	}
	nc, err := nats.Connect(s.natsURL, nats.Name("parley-revoke"))
	if err != nil {
		return nil, nil, fmt.Errorf("connecting to NATS at %s: %w", s.natsURL, err)
	}
	var announceErr error
	rv.OnRevoke = func(_ context.Context, ids []string) { announceErr = revocation.Announce(nc, ids) }
	wait := func(ctx context.Context) error {
		if announceErr != nil {
			return announceErr
		}
		if err := nc.FlushWithContext(ctx); err != nil {
			return fmt.Errorf("announcing revocation: %w", err)
		}
		return nil
	}
	return wait, nc.Close, nil
}

// revokeTarget revokes what s names and returns the ids of the sessions
// ended.
func revokeTarget(ctx context.Context, db *store.DB, rv *auth.Revoker, s revokeSettings) (
	[]string, error) {
	if s.session != "" {
		err := rv.Session(ctx, s.session)
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("no session %q", s.session)
		}
		return []string{s.session}, err
	}
	u, err := db.UserByUsername(ctx, s.user)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("no user named %q", s.user)
	}
	if err != nil {
		return nil, fmt.Errorf("finding user: %w", err)
	}
	return rv.User(ctx, u.ID)
}
