// Package store keeps Parley's durable state: users, login sessions and
// their refresh tokens for the auth service; chats, members and message
// history for the archiver. One implementation over database/sql serves
// both PostgreSQL (through pgx) and SQLite (modernc.org/sqlite), chosen by
// the URL given to Open, with versioned migrations applied at open. A DB
// is safe for concurrent use.
package store

import (
	"errors"
	"time"
)

// Errors the store returns; callers branch on them with errors.Is.
var (
	ErrNotFound  = errors.New("not found")
	ErrDuplicate = errors.New("already exists")
	// ErrTokenUsed means a refresh token was already rotated.
	ErrTokenUsed = errors.New("refresh token already used")
)

// User is an account.
type User struct {
	ID           int64
	Username     string
	Email        string
	PasswordHash string
	CreatedAt    time.Time
}

// Session is one login: the family of refresh tokens descended from it.
type Session struct {
	ID        string
	UserID    int64
	CreatedAt time.Time
	// ExpiresAt is the session's maximum age: no token of it is issued
	// past this time.
	ExpiresAt time.Time
	RevokedAt *time.Time
}

// RefreshToken is the record of one issued refresh token.
type RefreshToken struct {
	ID        string // the token's jti
	SessionID string
	UserID    int64
	IssuedAt  time.Time
	ExpiresAt time.Time
	// UsedAt and ReplacedBy are set when the token is rotated.
	UsedAt     *time.Time
	ReplacedBy string
}

// Page selects a slice of a chat's history, in the contract's terms:
// Before gives the newest messages with a smaller id, After the oldest
// with a larger one, neither the newest messages of all.
type Page struct {
	Limit  int
	Before int64
	After  int64
}
