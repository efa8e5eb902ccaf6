package store

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/parley-chat/parley/pkg/testenv"
	"github.com/parley-chat/parley/pkg/wire"
)

// TestSQLite runs the conformance suite on a fresh SQLite file per case.
func TestSQLite(t *testing.T) {
	testConformance(t, func(t *testing.T) string {
		return filepath.Join(t.TempDir(), "parley.db")
	})
}

// TestPostgres runs the same suite on a fresh PostgreSQL database per
// case.
func TestPostgres(t *testing.T) {
	testConformance(t, func(t *testing.T) string {
		return testenv.PostgresURL(t)
	})
}

// openDB opens dsn and closes it when the test ends.
func openDB(t *testing.T, dsn string) *DB {
	t.Helper()
	db, err := Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

func TestSQLitePrefixes(t *testing.T) {
	dir := t.TempDir()
	for _, dsn := range []string{
		filepath.Join(dir, "plain.db"),
		"sqlite:" + filepath.Join(dir, "prefixed.db"),
		"sqlite://" + filepath.Join(dir, "slashed.db"),
		"file:" + filepath.Join(dir, "file.db"),
		filepath.Join(dir, "params.db") + "?_pragma=synchronous(NORMAL)",
	} {
		db := openDB(t, dsn)
		if got := db.Dialect(); got != SQLite {
			t.Errorf("%s: Dialect() = %q, want %q", dsn, got, SQLite)
		}
		if err := db.Ping(t.Context()); err != nil {
			t.Errorf("%s: Ping: %v", dsn, err)
		}
	}
	if _, err := Open(t.Context(), filepath.Join(dir, "missing", "x.db")); err == nil {
		t.Errorf("Open under a missing folder succeeded")
	}
}

func TestSQLitePath(t *testing.T) {
	tests := []struct {
		dsn, path, query string
		bad              bool
	}{
		{dsn: "data/parley.db", path: "data/parley.db"},
		{dsn: "/var/lib/parley.db", path: "/var/lib/parley.db"},
		{dsn: "sqlite:data.db", path: "data.db"},
		{dsn: "sqlite:///abs/data.db", path: "/abs/data.db"},
		{dsn: "file:data.db?_pragma=x(1)", path: "data.db", query: "_pragma=x%281%29"},
		{dsn: "sqlite:", bad: true},
		{dsn: "", bad: true},
		{dsn: "data.db?%zz", bad: true},
	}
	for _, tc := range tests {
		path, q, err := sqlitePath(tc.dsn)
		if tc.bad {
			if err == nil {
				t.Errorf("sqlitePath(%q) succeeded, want an error", tc.dsn)
			}
			continue
		}
		if err != nil || path != tc.path || q.Encode() != tc.query {
			t.Errorf("sqlitePath(%q) = %q, %q, %v; want %q, %q",
				tc.dsn, path, q.Encode(), err, tc.path, tc.query)
		}
	}
}

func TestOpenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := Open(ctx, filepath.Join(t.TempDir(), "x.db"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Open with a cancelled context: %v, want context.Canceled", err)
	}
}

func TestMigrationsMatch(t *testing.T) {
	pg, err := loadMigrations(Postgres)
	if err != nil {
		t.Fatal(err)
	}
	lite, err := loadMigrations(SQLite)
	if err != nil {
		t.Fatal(err)
	}
	if len(pg) == 0 || len(pg) != len(lite) {
		t.Fatalf("%d postgres and %d sqlite migrations, want the same non-zero count",
			len(pg), len(lite))
	}
	for i := range pg {
		if pg[i].version != lite[i].version || pg[i].name != lite[i].name {
			t.Errorf("migration %d: postgres %s, sqlite %s", i, pg[i].name, lite[i].name)
		}
	}
}

// FuzzFoldKey checks that usernames share a key exactly when they are
// equal ignoring case.
func FuzzFoldKey(f *testing.F) {
	for _, s := range []string{"alice", "ALICE", "Kelvin\u212A", "straße", "ǅemal", "Σίσυφος", ""} {
		f.Add(s, strings.ToUpper(s))
		f.Add(s, strings.ToLower(s)+"x")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if !utf8.ValidString(a) || !utf8.ValidString(b) {
			return
		}
		same := foldKey(a) == foldKey(b)
		if same != strings.EqualFold(a, b) {
			t.Errorf("foldKey(%q)==foldKey(%q) is %v, EqualFold is %v", a, b, same, !same)
		}
		if !strings.EqualFold(a, foldKey(a)) {
			t.Errorf("foldKey(%q) = %q is not equal ignoring case", a, foldKey(a))
		}
	})
}

// BenchmarkAddMessages stores batches of the size the archiver writes.
func BenchmarkAddMessages(b *testing.B) {
	engines := []struct {
		name string
		dsn  func(b *testing.B) string
	}{
		{"sqlite", func(b *testing.B) string { return filepath.Join(b.TempDir(), "bench.db") }},
		{"postgres", func(b *testing.B) string { return testenv.PostgresURL(b) }},
	}
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			db, err := Open(b.Context(), e.dsn(b))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = db.Close() })
			benchAddMessages(b, db)
		})
	}
}

func benchAddMessages(b *testing.B, db *DB) {
	const batch = 200
	owner := wire.User{ID: 1, Username: "owner"}
	if _, err := db.CreateChat(b.Context(), "bench", owner, time.Now()); err != nil {
		b.Fatal(err)
	}
	msgs := make([]wire.Message, batch)
	next := int64(1)
	b.ReportAllocs()
	for b.Loop() {
		for i := range msgs {
			cid := strconv.FormatInt(next, 10)
			msgs[i] = wire.Message{
				ID: next, Chat: "bench", User: owner, Message: "hello there",
				ClientID: &cid, CreatedAt: wire.Time(time.Now()),
			}
			next++
		}
		if err := db.AddMessages(b.Context(), msgs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(next-1), "ns/message")
}
