package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"time"

	// PostgreSQL goes through pgx's database/sql driver rather than native
	// pgxpool so that one set of SQL statements and one scanning path serve
	// both engines; pgx still uses the extended protocol and caches
	// prepared statements per connection, which is what matters for speed.
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)

// Dialect names returned by (*DB).Dialect.
const (
	Postgres = "postgres"
	SQLite   = "sqlite"
)

// SQLite is one writer at a time: a single writing connection queues
// our own writers in Go instead of letting them fail with SQLITE_BUSY,
// and the busy timeout covers other processes sharing the file.
const (
	sqliteBusyMillis = 10000
	sqliteReaders    = 4
)

// DB is the store over one database. It implements Users and Chats and
// is safe for concurrent use.
type DB struct {
	dialect string
	// w takes every write; r every read outside a transaction. With
	// PostgreSQL they are the same pool; with SQLite w has exactly one
	// connection and r several read-only ones that WAL lets run beside
	// it. w opens its transactions with BEGIN IMMEDIATE: a deferred one
	// that reads before writing fails at once with SQLITE_BUSY, without
	// waiting, when another process wrote in between.
	w *sql.DB
	r *sql.DB
}

// Open connects to the database that dsn names and applies any pending
// migrations. A dsn starting with postgres:// or postgresql:// is
// PostgreSQL; anything else is a SQLite file path, optionally prefixed
// with sqlite: or file:, and optionally followed by ?driver-parameters;
// its folder must exist.
func Open(ctx context.Context, dsn string) (*DB, error) {
	var (
		db  *DB
		err error
	)
	if isPostgres(dsn) {
		db, err = openPostgres(dsn)
	} else {
		db, err = openSQLite(dsn)
	}
	if err != nil {
		return nil, err
	}
	if err := db.migrate(ctx); err != nil {
		_ = db.Close() // the migration error is the one worth reporting
		return nil, err
	}
	return db, nil
}

func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

func openPostgres(dsn string) (*DB, error) {
	pool, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("opening postgres: %w", err)
	}
	// Bounded so that many processes stay under the server's
	// max_connections; idle connections are dropped after a while so a
	// quiet process gives its share back.
	n := max(8, 4*runtime.GOMAXPROCS(0))
	pool.SetMaxOpenConns(n)
	pool.SetMaxIdleConns(n)
	pool.SetConnMaxIdleTime(5 * time.Minute)
	return &DB{dialect: Postgres, w: pool, r: pool}, nil
}

func openSQLite(dsn string) (*DB, error) {
	path, extra, err := sqlitePath(dsn)
	if err != nil {
		return nil, err
	}
	common := url.Values{}
	common.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", sqliteBusyMillis))
	common.Add("_pragma", "foreign_keys(1)")

	// synchronous stays at its default, FULL, so that a commit is on disk
	// before the archiver acknowledges the stream's copy of a message.
	wq := cloneValues(common, extra)
	wq.Add("_pragma", "journal_mode(WAL)")
	wq.Set("_txlock", "immediate")
	w, err := sqliteDB(path, wq, 1)
	if err != nil {
		return nil, err
	}

	rq := cloneValues(common, extra)
	rq.Add("_pragma", "query_only(1)")
	r, err := sqliteDB(path, rq, sqliteReaders)
	if err != nil {
		_ = w.Close() // nothing was written through it yet
		return nil, err
	}
	return &DB{dialect: SQLite, w: w, r: r}, nil
}

// sqlitePath strips the optional scheme and splits off driver parameters.
func sqlitePath(dsn string) (string, url.Values, error) {
	rest := dsn
	if r, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		rest = strings.TrimPrefix(r, "//")
	}
	rest = strings.TrimPrefix(rest, "file:")
	path, query, _ := strings.Cut(rest, "?")
	if path == "" {
		return "", nil, errors.New("opening sqlite: empty database path")
	}
	extra, err := url.ParseQuery(query)
	if err != nil {
		return "", nil, fmt.Errorf("opening sqlite: parsing parameters: %w", err)
	}
	return path, extra, nil
}

func cloneValues(sets ...url.Values) url.Values {
	out := url.Values{}
	for _, s := range sets {
		for k, vs := range s {
			out[k] = append(out[k], vs...)
		}
	}
	return out
}

func sqliteDB(path string, q url.Values, conns int) (*sql.DB, error) {
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("opening sqlite: %w", err)
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	// An idle SQLite connection costs only memory; keeping it saves
	// re-running the pragmas on every burst.
	db.SetConnMaxLifetime(0)
	return db, nil
}

// Close closes every connection. Calls in flight fail.
func (db *DB) Close() error {
	err := db.w.Close()
	if db.r != db.w {
		err = errors.Join(err, db.r.Close())
	}
	if err != nil {
		return fmt.Errorf("closing database: %w", err)
	}
	return nil
}

// Ping checks that the database answers, for readiness probes.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.r.PingContext(ctx); err != nil {
		return fmt.Errorf("pinging database: %w", err)
	}
	return nil
}

// Dialect returns Postgres or SQLite.
func (db *DB) Dialect() string { return db.dialect }

// inTx runs fn in a write transaction, committing when fn returns nil.
func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback() // fn's error says what went wrong
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	return nil
}
