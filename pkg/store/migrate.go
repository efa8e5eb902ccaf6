package store

import (
	"cmp"
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Each dialect has its own ordered list of migrations, named
// NNNN_what.sql. A migration, once released, never changes: the schema
// moves on only by adding the next number.
//
//go:embed migrations
var migrationFiles embed.FS

// migrateLockKey is the PostgreSQL advisory lock that serializes
// migrations between processes opening one database at once. Any fixed
// number works as long as nothing else in the database uses it.
const migrateLockKey int64 = 0x7061726c6579 // "parley"

var createMigrationsTable = map[string]string{
	Postgres: `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    bigint PRIMARY KEY,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL)`,
	SQLite: `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer PRIMARY KEY,
		name       text NOT NULL,
		applied_at integer NOT NULL) STRICT`,
}

type migration struct {
	version int64
	name    string
	sql     string
}

// migrate applies, in one transaction, every migration the database has
// not seen. The transaction holds PostgreSQL's advisory lock, or
// SQLite's write lock (BEGIN IMMEDIATE), from its first statement, so
// processes racing to open a new database apply each migration once and
// the losers find nothing left to do.
func (db *DB) migrate(ctx context.Context) error {
	list, err := loadMigrations(db.dialect)
	if err != nil {
		return err
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if db.dialect == Postgres {
			_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLockKey)
			if err != nil {
				return fmt.Errorf("locking: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, createMigrationsTable[db.dialect]); err != nil {
			return fmt.Errorf("creating schema_migrations: %w", err)
		}
		return db.applyMissing(ctx, tx, list)
	})
	if err != nil {
		return fmt.Errorf("migrating %s database: %w", db.dialect, err)
	}
	return nil
}

func (db *DB) applyMissing(ctx context.Context, tx *sql.Tx, list []migration) error {
	done, err := appliedVersions(ctx, tx)
	if err != nil {
		return err
	}
	for _, m := range list {
		if done[m.version] {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("applying %s: %w", m.name, err)
		}
		_, err := tx.ExecContext(ctx,
			`INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
			m.version, m.name, db.timeArg(time.Now()))
		if err != nil {
			return fmt.Errorf("recording %s: %w", m.name, err)
		}
	}
	return nil
}

func appliedVersions(ctx context.Context, tx *sql.Tx) (map[int64]bool, error) {
	rows, err := tx.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("reading schema_migrations: %w", err)
	}
	defer rows.Close()
	done := map[int64]bool{}
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("reading schema_migrations: %w", err)
		}
		done[v] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading schema_migrations: %w", err)
	}
	return done, nil
}

// loadMigrations returns a dialect's migrations in version order.
func loadMigrations(dialect string) ([]migration, error) {
	dir := path.Join("migrations", dialect)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("listing migrations: %w", err)
	}
	var list []migration
	for _, e := range entries {
		m, err := readMigration(dir, e.Name())
		if err != nil {
			return nil, err
		}
		list = append(list, m)
	}
	slices.SortFunc(list, func(a, b migration) int { return cmp.Compare(a.version, b.version) })
	for i := 1; i < len(list); i++ {
		if list[i].version == list[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s share a version",
				list[i-1].name, list[i].name)
		}
	}
	return list, nil
}

func readMigration(dir, name string) (migration, error) {
	num, _, ok := strings.Cut(name, "_")
	v, err := strconv.ParseInt(num, 10, 64)
	if !ok || err != nil || v <= 0 || !strings.HasSuffix(name, ".sql") {
		return migration{}, fmt.Errorf("migration %s: name is not NNNN_what.sql", name)
	}
	b, err := migrationFiles.ReadFile(path.Join(dir, name))
	if err != nil {
		return migration{}, fmt.Errorf("reading migration %s: %w", name, err)
	}
	return migration{version: v, name: name, sql: string(b)}, nil
}
