package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

var _ Users = (*DB)(nil)

// rowScanner is what *sql.Row and *sql.Rows have in common.
type rowScanner interface {
	Scan(dest ...any) error
}

const userColumns = `id, username, email, password_hash, created_at`

// CreateUser stores u and returns it with its id, and with CreatedAt set
// to now when it was zero, as the database keeps it.
func (db *DB) CreateUser(ctx context.Context, u User) (User, error) {
	if u.CreatedAt.IsZero() {
		u.CreatedAt = time.Now()
	}
	u.CreatedAt = norm(u.CreatedAt)
	err := db.w.QueryRowContext(ctx, `
		INSERT INTO users (username, username_fold, email, password_hash, created_at)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		u.Username, foldKey(u.Username), u.Email, u.PasswordHash, db.timeArg(u.CreatedAt),
	).Scan(&u.ID)
	if err != nil {
		return User{}, wrap("creating user", err)
	}
	return u, nil
}

// UserByUsername finds a user by username, ignoring case.
func (db *DB) UserByUsername(ctx context.Context, username string) (User, error) {
	row := db.r.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users WHERE username_fold = $1`, foldKey(username))
	u, err := scanUser(row)
	if err != nil {
		return User{}, wrap("finding user by name", err)
	}
	return u, nil
}

// UserByID finds a user by id.
func (db *DB) UserByID(ctx context.Context, id int64) (User, error) {
	row := db.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id)
	u, err := scanUser(row)
	if err != nil {
		return User{}, wrap(fmt.Sprintf("finding user %d", id), err)
	}
	return u, nil
}

func scanUser(row rowScanner) (User, error) {
	var u User
	err := row.Scan(&u.ID, &u.Username, &u.Email, &u.PasswordHash, timeCol{&u.CreatedAt})
	return u, err
}

// CreateSession stores a new login; an unknown user is ErrNotFound and a
// session id already stored ErrDuplicate.
func (db *DB) CreateSession(ctx context.Context, s Session) error {
	_, err := db.w.ExecContext(ctx, `
		INSERT INTO sessions (id, user_id, created_at, expires_at, revoked_at)
		VALUES ($1, $2, $3, $4, $5)`,
		s.ID, s.UserID, db.timeArg(s.CreatedAt), db.timeArg(s.ExpiresAt),
		db.nullTimeArg(s.RevokedAt))
	if err != nil {
		return wrap("creating session", err)
	}
	return nil
}

// Session finds a session by id.
func (db *DB) Session(ctx context.Context, id string) (Session, error) {
	var s Session
	err := db.r.QueryRowContext(ctx, `
		SELECT id, user_id, created_at, expires_at, revoked_at
		FROM sessions WHERE id = $1`, id,
	).Scan(&s.ID, &s.UserID, timeCol{&s.CreatedAt}, timeCol{&s.ExpiresAt},
		nullTimeCol{&s.RevokedAt})
	if err != nil {
		return Session{}, wrap("finding session", err)
	}
	return s, nil
}

// RevokeSession marks the session revoked at at; revoking twice keeps
// the first time and is not an error. An unknown session is ErrNotFound.
func (db *DB) RevokeSession(ctx context.Context, id string, at time.Time) error {
	res, err := db.w.ExecContext(ctx,
		`UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL`,
		id, db.timeArg(at))
	if err != nil {
		return wrap("revoking session", err)
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return wrapIf("revoking session", err)
	}
	// Nothing changed: already revoked, which is fine, or unknown.
	var one int
	err = db.r.QueryRowContext(ctx, `SELECT 1 FROM sessions WHERE id = $1`, id).Scan(&one)
	return wrapIf("revoking session", err)
}

// RevokeUserSessions revokes every session of the user that is neither
// revoked nor expired at at, and returns their ids.
func (db *DB) RevokeUserSessions(ctx context.Context, userID int64,
	at time.Time) ([]string, error) {
	rows, err := db.w.QueryContext(ctx, `
		UPDATE sessions SET revoked_at = $2
		WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2
		RETURNING id`, userID, db.timeArg(at))
	if err != nil {
		return nil, wrap("revoking sessions", err)
	}
	defer rows.Close()
	ids := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, wrap("revoking sessions", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("revoking sessions", err)
	}
	return ids, nil
}

// RevokedSessions returns the sessions that were revoked and would not
// yet have expired at at: what a denylist kept only in memory must learn
// again when its process restarts.
func (db *DB) RevokedSessions(ctx context.Context, at time.Time) ([]Session, error) {
	rows, err := db.r.QueryContext(ctx, `
		SELECT id, user_id, created_at, expires_at, revoked_at
		FROM sessions WHERE revoked_at IS NOT NULL AND expires_at > $1`, db.timeArg(at))
	if err != nil {
		return nil, wrap("listing revoked sessions", err)
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		var s Session
		if err := rows.Scan(&s.ID, &s.UserID, timeCol{&s.CreatedAt}, timeCol{&s.ExpiresAt},
			nullTimeCol{&s.RevokedAt}); err != nil {
			return nil, wrap("listing revoked sessions", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("listing revoked sessions", err)
	}
	return out, nil
}

// CreateRefreshToken stores an issued refresh token; an unknown session
// is ErrNotFound and a token id already stored ErrDuplicate.
func (db *DB) CreateRefreshToken(ctx context.Context, t RefreshToken) error {
	return insertRefreshToken(ctx, db, db.w, t, "creating refresh token")
}

// execer is what *sql.DB and *sql.Tx have in common for writing.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func insertRefreshToken(ctx context.Context, db *DB, x execer, t RefreshToken, what string) error {
	_, err := x.ExecContext(ctx, `
		INSERT INTO refresh_tokens
			(id, session_id, user_id, issued_at, expires_at, used_at, replaced_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		t.ID, t.SessionID, t.UserID, db.timeArg(t.IssuedAt), db.timeArg(t.ExpiresAt),
		db.nullTimeArg(t.UsedAt), t.ReplacedBy)
	if err != nil {
		return wrap(what, err)
	}
	return nil
}

// RefreshToken finds a refresh token by id.
func (db *DB) RefreshToken(ctx context.Context, id string) (RefreshToken, error) {
	var t RefreshToken
	err := db.r.QueryRowContext(ctx, `
		SELECT id, session_id, user_id, issued_at, expires_at, used_at, replaced_by
		FROM refresh_tokens WHERE id = $1`, id,
	).Scan(&t.ID, &t.SessionID, &t.UserID, timeCol{&t.IssuedAt}, timeCol{&t.ExpiresAt},
		nullTimeCol{&t.UsedAt}, &t.ReplacedBy)
	if err != nil {
		return RefreshToken{}, wrap("finding refresh token", err)
	}
	return t, nil
}

// RotateRefreshToken marks oldID used at at and stores next as its
// successor, in one transaction. The conditional update is the arbiter:
// of several callers rotating the same token at once exactly one changes
// the row, and the others get ErrTokenUsed and store nothing. An unknown
// oldID is ErrNotFound.
func (db *DB) RotateRefreshToken(ctx context.Context, oldID string, next RefreshToken,
	at time.Time) error {
	const what = "rotating refresh token"
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
			UPDATE refresh_tokens SET used_at = $2, replaced_by = $3
			WHERE id = $1 AND used_at IS NULL`, oldID, db.timeArg(at), next.ID)
		if err != nil {
			return wrap(what, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return wrap(what, err)
		}
		if n == 0 {
			return rotationRefused(ctx, tx, oldID)
		}
		return insertRefreshToken(ctx, db, tx, next, what)
	})
}

// rotationRefused tells a used token from an unknown one.
func rotationRefused(ctx context.Context, tx *sql.Tx, oldID string) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM refresh_tokens WHERE id = $1`, oldID).Scan(&one)
	if err != nil {
		return wrap("rotating refresh token", err)
	}
	return fmt.Errorf("rotating refresh token: %w", ErrTokenUsed)
}

// wrapIf is wrap for an error that may be nil.
func wrapIf(what string, err error) error {
	if err == nil {
		return nil
	}
	return wrap(what, err)
}
