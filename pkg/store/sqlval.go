package store

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Times are kept to the microsecond: PostgreSQL's timestamptz holds
// exactly that, and SQLite stores the same as an integer count of
// microseconds since the Unix epoch, which sorts and compares in SQL as
// times should.

// norm is t as the database will give it back.
func norm(t time.Time) time.Time {
	return t.Truncate(time.Microsecond).UTC()
}

// timeArg turns t into the parameter the dialect stores.
func (db *DB) timeArg(t time.Time) any {
	if db.dialect == SQLite {
		return t.UnixMicro()
	}
	return norm(t)
}

// nullTimeArg is timeArg for a column that may be NULL.
func (db *DB) nullTimeArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return db.timeArg(*t)
}

// timeCol scans either dialect's time column into a UTC time.Time.
type timeCol struct{ dst *time.Time }

// Scan implements sql.Scanner.
func (c timeCol) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		*c.dst = v.UTC()
	case int64:
		*c.dst = time.UnixMicro(v).UTC()
	default:
		return fmt.Errorf("scanning time: unexpected %T", src)
	}
	return nil
}

// nullTimeCol scans a nullable time column; NULL leaves *dst nil.
type nullTimeCol struct{ dst **time.Time }

// Scan implements sql.Scanner.
func (c nullTimeCol) Scan(src any) error {
	if src == nil {
		*c.dst = nil
		return nil
	}
	var t time.Time
	if err := (timeCol{&t}).Scan(src); err != nil {
		return err
	}
	*c.dst = &t
	return nil
}

// nullString passes an absent optional string as NULL.
func nullString(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

// foldKey maps every rune to the smallest rune that Unicode simple case
// folding makes equal to it, so two usernames share a key exactly when
// strings.EqualFold holds. Computing it here rather than with SQL's
// lower() keeps both engines in agreement: SQLite lowers ASCII only.
func foldKey(s string) string {
	return strings.Map(func(r rune) rune {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		return least
	}, s)
}

// wrap says what failed and maps a driver error onto the store's own:
// no row is ErrNotFound, a unique violation ErrDuplicate, and a
// reference to a missing row ErrNotFound.
func wrap(what string, err error) error {
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	case isViolation(err, "23505", sqlite3.SQLITE_CONSTRAINT_UNIQUE,
		sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY):
		return fmt.Errorf("%s: %w: %w", what, ErrDuplicate, err)
	case isViolation(err, "23503", sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY):
		return fmt.Errorf("%s: %w: %w", what, ErrNotFound, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// isViolation reports whether err is the PostgreSQL SQLSTATE pgCode or
// one of the SQLite extended result codes.
func isViolation(err error, pgCode string, sqliteCodes ...int) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == pgCode
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		for _, c := range sqliteCodes {
			if se.Code() == c {
				return true
			}
		}
	}
	return false
}
