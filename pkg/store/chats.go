package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/parley-chat/parley/pkg/wire"
)

var _ Chats = (*DB)(nil)

// chatRows selects chats with one row per member, each chat's rows
// together, the owner first and the others in the order they joined.
// Callers add the WHERE clause's subject and the order of the chats.
const chatRows = `
	SELECT c.id, c.uri, c.owner_id, c.created_at, c.last_message_at, m.user_id, m.username
	FROM chats c JOIN members m ON m.chat_id = c.id`

const memberOrder = `
	CASE WHEN m.user_id = c.owner_id THEN 0 ELSE 1 END, m.joined_at, m.user_id`

// CreateChat stores a chat with its owner as first member. A uri
// already taken is ErrDuplicate.
func (db *DB) CreateChat(ctx context.Context, uri string, owner wire.User,
	at time.Time) (wire.Chat, error) {
	const what = "creating chat"
	at = norm(at)
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `
			INSERT INTO chats (uri, owner_id, created_at) VALUES ($1, $2, $3)
			RETURNING id`, uri, owner.ID, db.timeArg(at)).Scan(&id)
		if err != nil {
			return wrap(what, err)
		}
		_, err = tx.ExecContext(ctx, `
			INSERT INTO members (chat_id, user_id, username, joined_at)
			VALUES ($1, $2, $3, $4)`, id, owner.ID, owner.Username, db.timeArg(at))
		return wrapIf(what, err)
	})
	if err != nil {
		return wire.Chat{}, err
	}
	return wire.Chat{
		URI:       uri,
		Owner:     owner,
		Members:   []wire.User{owner},
		CreatedAt: wire.Time(at),
	}, nil
}

// Chat returns a chat with its members, the owner first.
func (db *DB) Chat(ctx context.Context, uri string) (wire.Chat, error) {
	chats, err := db.queryChats(ctx, chatRows+` WHERE c.uri = $1 ORDER BY`+memberOrder, uri)
	if err != nil {
		return wire.Chat{}, wrap("reading chat", err)
	}
	if len(chats) == 0 {
		return wire.Chat{}, wrap("reading chat", sql.ErrNoRows)
	}
	return chats[0], nil
}

// ChatsOf returns the chats a user belongs to, the one with the newest
// message (or, lacking messages, the newest created) first.
func (db *DB) ChatsOf(ctx context.Context, userID int64) ([]wire.Chat, error) {
	chats, err := db.queryChats(ctx, chatRows+`
		WHERE c.id IN (SELECT chat_id FROM members WHERE user_id = $1)
		ORDER BY COALESCE(c.last_message_at, c.created_at) DESC, c.id DESC,`+memberOrder,
		userID)
	if err != nil {
		return nil, wrap("listing chats", err)
	}
	return chats, nil
}

// queryChats gathers the rows of chatRows into chats, keeping their order.
func (db *DB) queryChats(ctx context.Context, query string, args ...any) ([]wire.Chat, error) {
	rows, err := db.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	chats := []wire.Chat{}
	lastID := int64(-1)
	for rows.Next() {
		var (
			id      int64
			c       wire.Chat
			member  wire.User
			created time.Time
			lastMsg *time.Time
		)
		err := rows.Scan(&id, &c.URI, &c.Owner.ID, timeCol{&created}, nullTimeCol{&lastMsg},
			&member.ID, &member.Username)
		if err != nil {
			return nil, err
		}
		if id != lastID {
			c.CreatedAt = wire.Time(created)
			c.LastMessageAt = (*wire.Time)(lastMsg)
			chats = append(chats, c)
			lastID = id
		}
		cur := &chats[len(chats)-1]
		if member.ID == cur.Owner.ID {
			cur.Owner.Username = member.Username
		}
		cur.Members = append(cur.Members, member)
	}
	return chats, rows.Err()
}

// Join adds u to the chat; joining twice changes nothing. It returns the
// chat as it is afterwards; an unknown chat is ErrNotFound.
func (db *DB) Join(ctx context.Context, uri string, u wire.User, at time.Time) (wire.Chat, error) {
	// The WHERE on the SELECT also keeps SQLite from reading ON CONFLICT
	// as part of a join.
	_, err := db.w.ExecContext(ctx, `
		INSERT INTO members (chat_id, user_id, username, joined_at)
		SELECT c.id, $2, $3, $4 FROM chats c WHERE c.uri = $1
		ON CONFLICT (chat_id, user_id) DO NOTHING`,
		uri, u.ID, u.Username, db.timeArg(at))
	if err != nil {
		return wire.Chat{}, wrap("joining chat", err)
	}
	return db.Chat(ctx, uri)
}

// IsMember reports whether the user belongs to the chat; an unknown chat
// is ErrNotFound.
func (db *DB) IsMember(ctx context.Context, uri string, userID int64) (bool, error) {
	var member bool
	err := db.r.QueryRowContext(ctx, `
		SELECT EXISTS (SELECT 1 FROM members m WHERE m.chat_id = c.id AND m.user_id = $2)
		FROM chats c WHERE c.uri = $1`, uri, userID).Scan(&member)
	if err != nil {
		return false, wrap("checking membership", err)
	}
	return member, nil
}
