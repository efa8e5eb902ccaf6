package store

import (
	"context"
	"time"

	"github.com/parley-chat/parley/pkg/wire"
)

// Users is what the auth service needs from the store.
type Users interface {
	// CreateUser stores u and returns it with its id; a username equal
	// to another one ignoring case is ErrDuplicate.
	CreateUser(ctx context.Context, u User) (User, error)
	// UserByUsername finds a user by username, ignoring case.
	UserByUsername(ctx context.Context, username string) (User, error)
	UserByID(ctx context.Context, id int64) (User, error)

	CreateSession(ctx context.Context, s Session) error
	Session(ctx context.Context, id string) (Session, error)
	// RevokeSession marks the session revoked; revoking twice is harmless.
	RevokeSession(ctx context.Context, id string, at time.Time) error
	// RevokeUserSessions revokes every live session of a user and returns
	// their ids.
	RevokeUserSessions(ctx context.Context, userID int64, at time.Time) ([]string, error)
	// RevokedSessions lists the revoked sessions not yet expired at at.
	RevokedSessions(ctx context.Context, at time.Time) ([]Session, error)

	CreateRefreshToken(ctx context.Context, t RefreshToken) error
	RefreshToken(ctx context.Context, id string) (RefreshToken, error)
	// RotateRefreshToken marks oldID used and stores next as its
	// successor, atomically and only if oldID was unused; otherwise it
	// returns ErrTokenUsed and stores nothing.
	RotateRefreshToken(ctx context.Context, oldID string, next RefreshToken, at time.Time) error
}

// Chats is what the archiver needs from the store.
type Chats interface {
	// CreateChat stores a chat with its owner as first member.
	CreateChat(ctx context.Context, uri string, owner wire.User, at time.Time) (wire.Chat, error)
	// Chat returns a chat with its members, the owner first.
	Chat(ctx context.Context, uri string) (wire.Chat, error)
	// ChatsOf returns the chats a user belongs to, newest activity
	// (last message, or creation when none) first.
	ChatsOf(ctx context.Context, userID int64) ([]wire.Chat, error)
	// Join adds a member; joining twice is harmless.
	Join(ctx context.Context, uri string, u wire.User, at time.Time) (wire.Chat, error)
	// IsMember reports membership; an unknown chat is ErrNotFound.
	IsMember(ctx context.Context, uri string, userID int64) (bool, error)

	// AddMessages stores messages whose ids the stream assigned. It is
	// idempotent: a message whose id, or whose chat, user and client_id,
	// is already stored is skipped, so redelivery never duplicates.
	AddMessages(ctx context.Context, msgs []wire.Message) error
	// Messages returns a page of history in ascending id order and
	// whether more lie beyond it in the page's direction.
	Messages(ctx context.Context, uri string, p Page) ([]wire.Message, bool, error)
	// MessageByClientID finds the message a user sent with clientID.
	MessageByClientID(ctx context.Context, uri string, userID int64, clientID string) (wire.Message, error)
	// LastMessageID is the newest stored id of a chat, 0 when none.
	LastMessageID(ctx context.Context, uri string) (int64, error)
	// MaxMessageID is the largest id stored in any chat, 0 when none.
	MaxMessageID(ctx context.Context) (int64, error)
}
