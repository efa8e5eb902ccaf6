package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/parley-chat/parley/pkg/wire"
)

// DefaultPageLimit is the page size when Page.Limit is zero or less.
const DefaultPageLimit = 100

// insertChunk bounds the rows of one INSERT: seven parameters a row stay
// far below both engines' limits, and few distinct statement texts stay
// in pgx's per-connection statement cache.
const insertChunk = 128

// AddMessages stores messages whose ids the stream assigned, all in one
// transaction, and moves each chat's last_message_at forward to its
// newest stored message. A message whose id, or whose chat, user and
// client_id, is already stored is skipped, by the database's unique
// constraints rather than by reading first, so concurrent and repeated
// deliveries never duplicate. A message for an unknown chat is
// ErrNotFound and nothing of the batch is stored.
func (db *DB) AddMessages(ctx context.Context, msgs []wire.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	// Inserting in id order makes concurrent overlapping batches wait on
	// each other's rows in one order, so PostgreSQL never sees a deadlock.
	sorted := slices.SortedFunc(slices.Values(msgs), func(a, b wire.Message) int {
		return cmp.Compare(a.ID, b.ID)
	})
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		ids, err := chatIDs(ctx, tx, sorted)
		if err != nil {
			return err
		}
		newest := map[int64]time.Time{}
		for chunk := range slices.Chunk(sorted, insertChunk) {
			if err := db.insertMessages(ctx, tx, ids, chunk, newest); err != nil {
				return err
			}
		}
		return db.touchChats(ctx, tx, newest)
	})
	if err != nil {
		return fmt.Errorf("adding %d messages: %w", len(msgs), err)
	}
	return nil
}

// chatIDs maps the batch's chat URIs to row ids.
func chatIDs(ctx context.Context, tx *sql.Tx, msgs []wire.Message) (map[string]int64, error) {
	var uris []any
	seen := map[string]bool{}
	for _, m := range msgs {
		if !seen[m.Chat] {
			seen[m.Chat] = true
			uris = append(uris, m.Chat)
		}
	}
	rows, err := tx.QueryContext(ctx,
		`SELECT id, uri FROM chats WHERE uri IN (`+placeholders(1, len(uris))+`)`, uris...)
	if err != nil {
		return nil, wrap("finding chats", err)
	}
	defer rows.Close()
	ids := make(map[string]int64, len(uris))
	for rows.Next() {
		var (
			id  int64
			uri string
		)
		if err := rows.Scan(&id, &uri); err != nil {
			return nil, wrap("finding chats", err)
		}
		ids[uri] = id
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("finding chats", err)
	}
	for _, u := range uris {
		if _, ok := ids[u.(string)]; !ok {
			return nil, fmt.Errorf("finding chat %s: %w", u, ErrNotFound)
		}
	}
	return ids, nil
}

// insertMessages inserts one chunk and records, per chat, the newest
// creation time among the rows actually inserted: RETURNING leaves out
// the rows ON CONFLICT skipped.
func (db *DB) insertMessages(ctx context.Context, tx *sql.Tx, ids map[string]int64,
	chunk []wire.Message, newest map[int64]time.Time) error {
	const cols = 7
	var q strings.Builder
	q.WriteString(`INSERT INTO messages
		(id, chat_id, user_id, username, body, client_id, created_at) VALUES `)
	args := make([]any, 0, cols*len(chunk))
	for i, m := range chunk {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(" + placeholders(len(args)+1, cols) + ")")
		args = append(args, m.ID, ids[m.Chat], m.User.ID, m.User.Username, m.Message,
			nullString(m.ClientID), db.timeArg(time.Time(m.CreatedAt)))
	}
	q.WriteString(` ON CONFLICT DO NOTHING RETURNING chat_id, created_at`)

	rows, err := tx.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return wrap("inserting messages", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			chat int64
			at   time.Time
		)
		if err := rows.Scan(&chat, timeCol{&at}); err != nil {
			return wrap("inserting messages", err)
		}
		if at.After(newest[chat]) {
			newest[chat] = at
		}
	}
	return wrapIf("inserting messages", rows.Err())
}

// touchChats moves last_message_at forward, never back: a batch that
// commits after a newer one must not make its chat look older. It
// updates the chats in id order: two batches updating the same chats in
// different orders would each wait for the other, and PostgreSQL would
// fail one of them as a deadlock.
func (db *DB) touchChats(ctx context.Context, tx *sql.Tx, newest map[int64]time.Time) error {
	for _, chat := range slices.Sorted(maps.Keys(newest)) {
		at := newest[chat]
		_, err := tx.ExecContext(ctx, `
			UPDATE chats SET last_message_at = $2
			WHERE id = $1 AND (last_message_at IS NULL OR last_message_at < $2)`,
			chat, db.timeArg(at))
		if err != nil {
			return wrap("updating last message time", err)
		}
	}
	return nil
}

// placeholders returns "$from, $from+1, ..." n of them.
func placeholders(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", from+i)
	}
	return b.String()
}

const messageColumns = `m.id, m.user_id, m.username, m.body, m.client_id, m.created_at`

// Messages returns a page of a chat's history in ascending id order and
// whether more messages lie beyond it in the page's direction: older
// ones for Before or no bound, newer ones for After. With both bounds
// set it pages forward from After through the messages below Before.
func (db *DB) Messages(ctx context.Context, uri string, p Page) ([]wire.Message, bool, error) {
	if p.Limit <= 0 {
		p.Limit = DefaultPageLimit
	}
	query, args := pageQuery(uri, p)
	msgs, err := db.queryMessages(ctx, uri, query, args...)
	if err != nil {
		return nil, false, wrap("reading messages", err)
	}
	if len(msgs) == 0 {
		// An empty page may be an unknown chat.
		if _, err := db.LastMessageID(ctx, uri); err != nil {
			return nil, false, fmt.Errorf("reading messages: %w", err)
		}
	}
	more := len(msgs) > p.Limit
	if more {
		msgs = msgs[:p.Limit]
	}
	if p.After == 0 {
		slices.Reverse(msgs)
	}
	return msgs, more, nil
}

// pageQuery asks for one row more than the page holds: its presence is
// what has_more reports.
func pageQuery(uri string, p Page) (string, []any) {
	q := `SELECT ` + messageColumns + ` FROM messages m
		WHERE m.chat_id = (SELECT id FROM chats WHERE uri = $1)`
	args := []any{uri, p.Limit + 1}
	if p.After > 0 {
		args = append(args, p.After)
		q += ` AND m.id > $3`
	}
	if p.Before > 0 {
		args = append(args, p.Before)
		q += fmt.Sprintf(` AND m.id < $%d`, len(args))
	}
	if p.After > 0 {
		return q + ` ORDER BY m.id ASC LIMIT $2`, args
	}
	return q + ` ORDER BY m.id DESC LIMIT $2`, args
}

func (db *DB) queryMessages(ctx context.Context, uri, query string,
	args ...any) ([]wire.Message, error) {
	rows, err := db.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	msgs := []wire.Message{}
	for rows.Next() {
		m, err := scanMessage(rows, uri)
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, m)
	}
	return msgs, rows.Err()
}

func scanMessage(row rowScanner, uri string) (wire.Message, error) {
	m := wire.Message{Chat: uri}
	var (
		clientID sql.NullString
		at       time.Time
	)
	err := row.Scan(&m.ID, &m.User.ID, &m.User.Username, &m.Message, &clientID, timeCol{&at})
	if err != nil {
		return wire.Message{}, err
	}
	if clientID.Valid {
		m.ClientID = &clientID.String
	}
	m.CreatedAt = wire.Time(at)
	return m, nil
}

// MessageByClientID finds the message a user sent to a chat with
// clientID.
func (db *DB) MessageByClientID(ctx context.Context, uri string, userID int64,
	clientID string) (wire.Message, error) {
	row := db.r.QueryRowContext(ctx, `SELECT `+messageColumns+`
		FROM messages m JOIN chats c ON c.id = m.chat_id
		WHERE c.uri = $1 AND m.user_id = $2 AND m.client_id = $3`, uri, userID, clientID)
	m, err := scanMessage(row, uri)
	if err != nil {
		return wire.Message{}, wrap("finding message by client id", err)
	}
	return m, nil
}

// LastMessageID is the newest stored id of a chat, 0 when it has none;
// an unknown chat is ErrNotFound.
func (db *DB) LastMessageID(ctx context.Context, uri string) (int64, error) {
	var id int64
	err := db.r.QueryRowContext(ctx, `
		SELECT COALESCE((SELECT MAX(m.id) FROM messages m WHERE m.chat_id = c.id), 0)
		FROM chats c WHERE c.uri = $1`, uri).Scan(&id)
	if err != nil {
		return 0, wrap("finding last message", err)
	}
	return id, nil
}

// MaxMessageID is the largest id stored in any chat, 0 when none.
func (db *DB) MaxMessageID(ctx context.Context) (int64, error) {
	var id int64
	err := db.r.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM messages`).Scan(&id)
	if err != nil {
		return 0, wrap("finding the largest message id", err)
	}
	return id, nil
}
