package store

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/pkg/wire"
)

// testConformance is the behaviour every engine must show. newDSN names
// a new, empty database each time it is called.
func testConformance(t *testing.T, newDSN func(t *testing.T) string) {
	cases := []struct {
		name string
		run  func(t *testing.T, db *DB)
	}{
		{"Users", testUsers},
		{"Sessions", testSessions},
		{"RefreshTokens", testRefreshTokens},
		{"ConcurrentRotation", testConcurrentRotation},
		{"Chats", testChats},
		{"ChatsOf", testChatsOf},
		{"MessagePages", testMessagePages},
		{"IdempotentMessages", testIdempotentMessages},
		{"LastMessageAt", testLastMessageAt},
		{"ConcurrentOverlappingBatches", testConcurrentBatches},
		{"ConcurrentDisjointBatches", testDisjointBatches},
		{"MaxMessageID", testMaxMessageID},
		{"LargeBatch", testLargeBatch},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, openDB(t, newDSN(t)))
		})
	}
	t.Run("Reopen", func(t *testing.T) { testReopen(t, newDSN(t)) })
	t.Run("ConcurrentOpen", func(t *testing.T) { testConcurrentOpen(t, newDSN(t)) })
}

// base has nanoseconds and a zone so tests see truncation and UTC.
var base = time.Date(2025, 3, 4, 5, 6, 7, 123456789, time.FixedZone("CET", 3600))

// at is base plus n seconds, as the store returns it.
func at(n int) time.Time { return norm(base.Add(time.Duration(n) * time.Second)) }

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: error %v, want %v", what, err, want)
	}
}

func ok(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("%s = %v, want %v in UTC", what, got, want)
	}
}

func newUser(t *testing.T, db *DB, name string) User {
	t.Helper()
	u, err := db.CreateUser(t.Context(), User{Username: name, PasswordHash: "h", CreatedAt: base})
	ok(t, "CreateUser "+name, err)
	return u
}

func testUsers(t *testing.T, db *DB) {
	ctx := t.Context()
	alice, err := db.CreateUser(ctx, User{
		Username: "Alice", Email: "a@example.org", PasswordHash: "hash", CreatedAt: base,
	})
	ok(t, "CreateUser", err)
	if alice.ID <= 0 {
		t.Fatalf("CreateUser id = %d", alice.ID)
	}
	sameTime(t, "CreatedAt", alice.CreatedAt, at(0))

	for _, name := range []string{"alice", "ALICE", "aLiCe"} {
		got, err := db.UserByUsername(ctx, name)
		ok(t, "UserByUsername "+name, err)
		if got != alice {
			t.Errorf("UserByUsername(%q) = %+v, want %+v", name, got, alice)
		}
		_, err = db.CreateUser(ctx, User{Username: name, PasswordHash: "h"})
		wantErr(t, "CreateUser "+name, err, ErrDuplicate)
	}
	got, err := db.UserByID(ctx, alice.ID)
	ok(t, "UserByID", err)
	if got != alice {
		t.Errorf("UserByID = %+v, want %+v", got, alice)
	}

	// Case folding beyond ASCII: the Kelvin sign folds with k and K.
	newUser(t, db, "kate")
	_, err = db.CreateUser(ctx, User{Username: "\u212Aate", PasswordHash: "h"})
	wantErr(t, "CreateUser with a Kelvin sign", err, ErrDuplicate)
	newUser(t, db, "Σίσυφος")
	_, err = db.UserByUsername(ctx, "ΣΊΣΥΦΟΣ")
	ok(t, "UserByUsername in Greek capitals", err)

	_, err = db.UserByUsername(ctx, "nobody")
	wantErr(t, "UserByUsername unknown", err, ErrNotFound)
	_, err = db.UserByID(ctx, alice.ID+1000)
	wantErr(t, "UserByID unknown", err, ErrNotFound)

	before := time.Now().Add(-time.Second)
	bob, err := db.CreateUser(ctx, User{Username: "bob", PasswordHash: "h"})
	ok(t, "CreateUser without time", err)
	if bob.CreatedAt.Before(before) || bob.ID == alice.ID {
		t.Errorf("CreateUser without time = %+v", bob)
	}
}

func testSessions(t *testing.T, db *DB) {
	ctx := t.Context()
	u := newUser(t, db, "u")
	other := newUser(t, db, "other")
	mk := func(id string, user int64, expires int) Session {
		s := Session{ID: id, UserID: user, CreatedAt: at(0), ExpiresAt: at(expires)}
		ok(t, "CreateSession "+id, db.CreateSession(ctx, s))
		return s
	}
	s1 := mk("s1", u.ID, 100)
	mk("s2", u.ID, 100)
	mk("s3", u.ID, 100)
	mk("expired", u.ID, 5)
	mk("others", other.ID, 100)

	got, err := db.Session(ctx, "s1")
	ok(t, "Session", err)
	if got.ID != s1.ID || got.UserID != u.ID || got.RevokedAt != nil {
		t.Errorf("Session = %+v", got)
	}
	sameTime(t, "ExpiresAt", got.ExpiresAt, at(100))

	wantErr(t, "CreateSession twice", db.CreateSession(ctx, s1), ErrDuplicate)
	err = db.CreateSession(ctx, Session{ID: "x", UserID: 9999, CreatedAt: base, ExpiresAt: base})
	wantErr(t, "CreateSession unknown user", err, ErrNotFound)
	_, err = db.Session(ctx, "missing")
	wantErr(t, "Session unknown", err, ErrNotFound)

	ok(t, "RevokeSession", db.RevokeSession(ctx, "s1", at(10)))
	ok(t, "RevokeSession again", db.RevokeSession(ctx, "s1", at(20)))
	wantErr(t, "RevokeSession unknown", db.RevokeSession(ctx, "missing", at(10)), ErrNotFound)
	got, err = db.Session(ctx, "s1")
	ok(t, "Session", err)
	if got.RevokedAt == nil {
		t.Fatal("RevokedAt = nil after RevokeSession")
	}
	sameTime(t, "RevokedAt", *got.RevokedAt, at(10))

	ids, err := db.RevokeUserSessions(ctx, u.ID, at(30))
	ok(t, "RevokeUserSessions", err)
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"s2", "s3"}) {
		t.Errorf("RevokeUserSessions = %q, want s2 and s3 only", ids)
	}
	ids, err = db.RevokeUserSessions(ctx, u.ID, at(40))
	ok(t, "RevokeUserSessions again", err)
	if ids == nil || len(ids) != 0 {
		t.Errorf("RevokeUserSessions again = %#v, want an empty list", ids)
	}
	got, err = db.Session(ctx, "others")
	ok(t, "Session of another user", err)
	if got.RevokedAt != nil {
		t.Error("RevokeUserSessions revoked another user's session")
	}

	// s1, s2 and s3 are revoked and live until 100; "expired" never was
	// revoked, and "others" is live.
	revoked, err := db.RevokedSessions(ctx, at(50))
	ok(t, "RevokedSessions", err)
	var rids []string
	for _, s := range revoked {
		rids = append(rids, s.ID)
	}
	slices.Sort(rids)
	if !slices.Equal(rids, []string{"s1", "s2", "s3"}) {
		t.Errorf("RevokedSessions = %q, want s1, s2 and s3", rids)
	}
	if revoked, err = db.RevokedSessions(ctx, at(100)); err != nil || len(revoked) != 0 {
		t.Errorf("RevokedSessions once all expired = %v, %v; want none", revoked, err)
	}
}

func testRefreshTokens(t *testing.T, db *DB) {
	ctx := t.Context()
	u := newUser(t, db, "u")
	ok(t, "CreateSession", db.CreateSession(ctx,
		Session{ID: "s", UserID: u.ID, CreatedAt: base, ExpiresAt: at(100)}))
	tok := func(id string) RefreshToken {
		return RefreshToken{
			ID: id, SessionID: "s", UserID: u.ID, IssuedAt: at(1), ExpiresAt: at(50),
		}
	}
	ok(t, "CreateRefreshToken", db.CreateRefreshToken(ctx, tok("r1")))
	wantErr(t, "CreateRefreshToken twice", db.CreateRefreshToken(ctx, tok("r1")), ErrDuplicate)
	orphan := tok("r9")
	orphan.SessionID = "missing"
	wantErr(t, "CreateRefreshToken unknown session",
		db.CreateRefreshToken(ctx, orphan), ErrNotFound)

	got, err := db.RefreshToken(ctx, "r1")
	ok(t, "RefreshToken", err)
	if got.SessionID != "s" || got.UserID != u.ID || got.UsedAt != nil || got.ReplacedBy != "" {
		t.Errorf("RefreshToken = %+v", got)
	}
	sameTime(t, "IssuedAt", got.IssuedAt, at(1))

	// A successor whose id is taken fails the whole rotation.
	wantErr(t, "RotateRefreshToken onto a taken id",
		db.RotateRefreshToken(ctx, "r1", tok("r1"), at(2)), ErrDuplicate)
	got, err = db.RefreshToken(ctx, "r1")
	ok(t, "RefreshToken", err)
	if got.UsedAt != nil {
		t.Fatal("a failed rotation left the old token used")
	}

	ok(t, "RotateRefreshToken", db.RotateRefreshToken(ctx, "r1", tok("r2"), at(3)))
	got, err = db.RefreshToken(ctx, "r1")
	ok(t, "RefreshToken", err)
	if got.UsedAt == nil || got.ReplacedBy != "r2" {
		t.Fatalf("rotated token = %+v, want used and replaced by r2", got)
	}
	sameTime(t, "UsedAt", *got.UsedAt, at(3))
	_, err = db.RefreshToken(ctx, "r2")
	ok(t, "RefreshToken successor", err)

	wantErr(t, "RotateRefreshToken twice",
		db.RotateRefreshToken(ctx, "r1", tok("r3"), at(4)), ErrTokenUsed)
	_, err = db.RefreshToken(ctx, "r3")
	wantErr(t, "successor of a refused rotation", err, ErrNotFound)
	wantErr(t, "RotateRefreshToken unknown",
		db.RotateRefreshToken(ctx, "missing", tok("r4"), at(4)), ErrNotFound)
	_, err = db.RefreshToken(ctx, "missing")
	wantErr(t, "RefreshToken unknown", err, ErrNotFound)
}

func testConcurrentRotation(t *testing.T, db *DB) {
	ctx := t.Context()
	u := newUser(t, db, "u")
	ok(t, "CreateSession", db.CreateSession(ctx,
		Session{ID: "s", UserID: u.ID, CreatedAt: base, ExpiresAt: at(100)}))
	tok := func(id string) RefreshToken {
		return RefreshToken{ID: id, SessionID: "s", UserID: u.ID, IssuedAt: base, ExpiresAt: at(50)}
	}
	ok(t, "CreateRefreshToken", db.CreateRefreshToken(ctx, tok("old")))

	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = db.RotateRefreshToken(ctx, "old", tok(fmt.Sprint("next", i)), at(1))
		})
	}
	wg.Wait()

	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner < 0:
			winner = i
		case err == nil:
			t.Errorf("rotations %d and %d both succeeded", winner, i)
		case !errors.Is(err, ErrTokenUsed):
			t.Errorf("rotation %d: %v, want ErrTokenUsed", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no rotation succeeded")
	}
	old, err := db.RefreshToken(ctx, "old")
	ok(t, "RefreshToken", err)
	if old.ReplacedBy != fmt.Sprint("next", winner) {
		t.Errorf("ReplacedBy = %q, want next%d", old.ReplacedBy, winner)
	}
	for i := range n {
		_, err := db.RefreshToken(ctx, fmt.Sprint("next", i))
		if (i == winner) != (err == nil) {
			t.Errorf("successor %d stored: %v, want only the winner's", i, err == nil)
		}
	}
}

func wu(id int64, name string) wire.User { return wire.User{ID: id, Username: name} }

func sameMembers(t *testing.T, what string, got []wire.User, want ...wire.User) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s members = %v, want %v", what, got, want)
	}
}

func testChats(t *testing.T, db *DB) {
	ctx := t.Context()
	owner, bea, cy := wu(1, "owner"), wu(2, "bea"), wu(3, "cy")
	c, err := db.CreateChat(ctx, "chat1", owner, base)
	ok(t, "CreateChat", err)
	if c.URI != "chat1" || c.Owner != owner || c.LastMessageAt != nil {
		t.Errorf("CreateChat = %+v", c)
	}
	sameMembers(t, "created", c.Members, owner)
	sameTime(t, "CreatedAt", time.Time(c.CreatedAt), at(0))
	_, err = db.CreateChat(ctx, "chat1", bea, base)
	wantErr(t, "CreateChat twice", err, ErrDuplicate)

	// Members follow the owner in joining order, whatever the ids.
	_, err = db.Join(ctx, "chat1", cy, at(1))
	ok(t, "Join cy", err)
	c, err = db.Join(ctx, "chat1", bea, at(2))
	ok(t, "Join bea", err)
	sameMembers(t, "after joins", c.Members, owner, cy, bea)
	for _, u := range []wire.User{owner, cy, bea} {
		c, err = db.Join(ctx, "chat1", u, at(3))
		ok(t, "Join again", err)
	}
	sameMembers(t, "after joining again", c.Members, owner, cy, bea)

	got, err := db.Chat(ctx, "chat1")
	ok(t, "Chat", err)
	if got.Owner != owner || got.URI != "chat1" {
		t.Errorf("Chat = %+v", got)
	}
	sameMembers(t, "Chat", got.Members, owner, cy, bea)
	sameTime(t, "Chat CreatedAt", time.Time(got.CreatedAt), at(0))

	_, err = db.Chat(ctx, "missing")
	wantErr(t, "Chat unknown", err, ErrNotFound)
	_, err = db.Join(ctx, "missing", bea, base)
	wantErr(t, "Join unknown", err, ErrNotFound)

	for _, tc := range []struct {
		uri  string
		user int64
		want bool
	}{{"chat1", 1, true}, {"chat1", 3, true}, {"chat1", 4, false}} {
		member, err := db.IsMember(ctx, tc.uri, tc.user)
		ok(t, "IsMember", err)
		if member != tc.want {
			t.Errorf("IsMember(%s, %d) = %v, want %v", tc.uri, tc.user, member, tc.want)
		}
	}
	_, err = db.IsMember(ctx, "missing", 1)
	wantErr(t, "IsMember unknown chat", err, ErrNotFound)
}

func msg(id int64, chat string, user wire.User, clientID string, sec int) wire.Message {
	m := wire.Message{
		ID: id, Chat: chat, User: user, Message: fmt.Sprint("text ", id),
		CreatedAt: wire.Time(at(sec)),
	}
	if clientID != "" {
		m.ClientID = &clientID
	}
	return m
}

func testChatsOf(t *testing.T, db *DB) {
	ctx := t.Context()
	a, b := wu(1, "a"), wu(2, "b")
	for i, uri := range []string{"old", "mid", "new"} {
		_, err := db.CreateChat(ctx, uri, a, at(i))
		ok(t, "CreateChat", err)
	}
	_, err := db.CreateChat(ctx, "b-only", b, at(5))
	ok(t, "CreateChat", err)
	_, err = db.Join(ctx, "mid", b, at(6))
	ok(t, "Join", err)

	uris := func(user int64) []string {
		t.Helper()
		chats, err := db.ChatsOf(ctx, user)
		ok(t, "ChatsOf", err)
		var out []string
		for _, c := range chats {
			out = append(out, c.URI)
		}
		return out
	}
	if got := uris(1); !slices.Equal(got, []string{"new", "mid", "old"}) {
		t.Errorf("ChatsOf by creation = %q", got)
	}
	ok(t, "AddMessages", db.AddMessages(ctx, []wire.Message{msg(1, "old", a, "", 10)}))
	if got := uris(1); !slices.Equal(got, []string{"old", "new", "mid"}) {
		t.Errorf("ChatsOf after a message = %q", got)
	}
	if got := uris(2); !slices.Equal(got, []string{"b-only", "mid"}) {
		t.Errorf("ChatsOf b = %q", got)
	}

	chats, err := db.ChatsOf(ctx, 2)
	ok(t, "ChatsOf", err)
	sameMembers(t, "ChatsOf mid", chats[1].Members, a, b)
	if chats[1].Owner != a || chats[1].LastMessageAt != nil {
		t.Errorf("ChatsOf mid = %+v", chats[1])
	}
	chats, err = db.ChatsOf(ctx, 1)
	ok(t, "ChatsOf", err)
	if chats[0].LastMessageAt == nil {
		t.Fatal("LastMessageAt = nil after a message")
	}
	sameTime(t, "LastMessageAt", time.Time(*chats[0].LastMessageAt), at(10))

	chats, err = db.ChatsOf(ctx, 99)
	ok(t, "ChatsOf nobody", err)
	if chats == nil || len(chats) != 0 {
		t.Errorf("ChatsOf a user in no chat = %#v, want an empty list", chats)
	}
}

func ids(msgs []wire.Message) []int64 {
	out := []int64{}
	for _, m := range msgs {
		out = append(out, m.ID)
	}
	return out
}

func testMessagePages(t *testing.T, db *DB) {
	ctx := t.Context()
	a := wu(1, "a")
	for _, uri := range []string{"c", "other", "empty"} {
		_, err := db.CreateChat(ctx, uri, a, base)
		ok(t, "CreateChat", err)
	}
	// Ids 10..100 in c, with another chat's ids between them.
	var batch []wire.Message
	for i := int64(1); i <= 10; i++ {
		batch = append(batch, msg(i*10, "c", a, "", int(i)), msg(i*10+5, "other", a, "", int(i)))
	}
	ok(t, "AddMessages", db.AddMessages(ctx, batch))

	seq := func(from, to int64) []int64 {
		var out []int64
		for i := from; i <= to; i += 10 {
			out = append(out, i)
		}
		return out
	}
	tests := []struct {
		name string
		page Page
		want []int64
		more bool
	}{
		{"default", Page{}, seq(10, 100), false},
		{"newest", Page{Limit: 3}, seq(80, 100), true},
		{"all exactly", Page{Limit: 10}, seq(10, 100), false},
		{"one short", Page{Limit: 9}, seq(20, 100), true},
		{"before", Page{Limit: 2, Before: 40}, seq(20, 30), true},
		{"before reaching the start", Page{Limit: 3, Before: 40}, seq(10, 30), false},
		{"before between ids", Page{Limit: 2, Before: 35}, seq(20, 30), true},
		{"before the first", Page{Before: 10}, []int64{}, false},
		{"after", Page{Limit: 2, After: 70}, seq(80, 90), true},
		{"after reaching the end", Page{Limit: 3, After: 70}, seq(80, 100), false},
		{"after between ids", Page{Limit: 2, After: 65}, seq(70, 80), true},
		{"after the last", Page{After: 100}, []int64{}, false},
		{"after and before", Page{Limit: 2, After: 20, Before: 60}, seq(30, 40), true},
		{"after and before, all", Page{Limit: 3, After: 20, Before: 60}, seq(30, 50), false},
	}
	for _, tc := range tests {
		got, more, err := db.Messages(ctx, "c", tc.page)
		ok(t, tc.name, err)
		if !slices.Equal(ids(got), tc.want) || more != tc.more {
			t.Errorf("%s: Messages(%+v) = %v, %v; want %v, %v",
				tc.name, tc.page, ids(got), more, tc.want, tc.more)
		}
	}

	got, more, err := db.Messages(ctx, "empty", Page{})
	ok(t, "Messages of an empty chat", err)
	if got == nil || len(got) != 0 || more {
		t.Errorf("Messages of an empty chat = %#v, %v", got, more)
	}
	_, _, err = db.Messages(ctx, "missing", Page{})
	wantErr(t, "Messages of an unknown chat", err, ErrNotFound)

	got, _, err = db.Messages(ctx, "c", Page{Limit: 1, After: 10})
	ok(t, "Messages", err)
	want := batch[2] // id 20
	if len(got) != 1 || got[0].Chat != want.Chat || got[0].User != want.User ||
		got[0].Message != want.Message || got[0].ClientID != nil {
		t.Fatalf("Messages = %+v, want %+v", got, want)
	}
	sameTime(t, "message CreatedAt", time.Time(got[0].CreatedAt), time.Time(want.CreatedAt))
}

func testIdempotentMessages(t *testing.T, db *DB) {
	ctx := t.Context()
	a, b := wu(1, "a"), wu(2, "b")
	for _, uri := range []string{"c", "d"} {
		_, err := db.CreateChat(ctx, uri, a, base)
		ok(t, "CreateChat", err)
	}
	last, err := db.LastMessageID(ctx, "c")
	ok(t, "LastMessageID", err)
	if last != 0 {
		t.Errorf("LastMessageID of an empty chat = %d", last)
	}

	first := []wire.Message{msg(1, "c", a, "x", 1), msg(2, "c", a, "", 2), msg(3, "c", a, "", 3)}
	ok(t, "AddMessages", db.AddMessages(ctx, first))
	ok(t, "AddMessages redelivered", db.AddMessages(ctx, first))
	ok(t, "AddMessages redelivered in part", db.AddMessages(ctx, first[1:]))

	// A new id with a stored (chat, user, client_id) is skipped; the same
	// client_id from another user or in another chat is not.
	batch := []wire.Message{
		msg(4, "c", a, "x", 4),
		msg(5, "c", b, "x", 5),
		msg(6, "d", a, "x", 6),
		msg(7, "c", a, "y", 7),
		msg(8, "c", a, "y", 8),
		msg(7, "c", a, "y", 7),
	}
	ok(t, "AddMessages with repeated client ids", db.AddMessages(ctx, batch))

	got, _, err := db.Messages(ctx, "c", Page{})
	ok(t, "Messages", err)
	if want := []int64{1, 2, 3, 5, 7}; !slices.Equal(ids(got), want) {
		t.Errorf("stored ids = %v, want %v", ids(got), want)
	}
	for _, tc := range []struct {
		uri  string
		user int64
		cid  string
		want int64
	}{{"c", 1, "x", 1}, {"c", 2, "x", 5}, {"d", 1, "x", 6}, {"c", 1, "y", 7}} {
		m, err := db.MessageByClientID(ctx, tc.uri, tc.user, tc.cid)
		ok(t, "MessageByClientID", err)
		if m.ID != tc.want || m.Chat != tc.uri || m.ClientID == nil || *m.ClientID != tc.cid {
			t.Errorf("MessageByClientID(%s, %d, %s) = %+v, want id %d",
				tc.uri, tc.user, tc.cid, m, tc.want)
		}
	}
	_, err = db.MessageByClientID(ctx, "c", 2, "y")
	wantErr(t, "MessageByClientID unknown", err, ErrNotFound)
	_, err = db.MessageByClientID(ctx, "missing", 1, "x")
	wantErr(t, "MessageByClientID unknown chat", err, ErrNotFound)

	last, err = db.LastMessageID(ctx, "c")
	ok(t, "LastMessageID", err)
	if last != 7 {
		t.Errorf("LastMessageID = %d, want 7", last)
	}
	_, err = db.LastMessageID(ctx, "missing")
	wantErr(t, "LastMessageID unknown chat", err, ErrNotFound)

	// A batch naming an unknown chat stores nothing at all.
	err = db.AddMessages(ctx, []wire.Message{msg(20, "c", a, "", 9), msg(21, "missing", a, "", 9)})
	wantErr(t, "AddMessages to an unknown chat", err, ErrNotFound)
	last, err = db.LastMessageID(ctx, "c")
	ok(t, "LastMessageID", err)
	if last != 7 {
		t.Errorf("LastMessageID after a refused batch = %d, want 7", last)
	}
	ok(t, "AddMessages of nothing", db.AddMessages(ctx, nil))
}

func testLastMessageAt(t *testing.T, db *DB) {
	ctx := t.Context()
	a := wu(1, "a")
	_, err := db.CreateChat(ctx, "c", a, base)
	ok(t, "CreateChat", err)
	lastAt := func() time.Time {
		t.Helper()
		c, err := db.Chat(ctx, "c")
		ok(t, "Chat", err)
		if c.LastMessageAt == nil {
			t.Fatal("LastMessageAt = nil")
		}
		return time.Time(*c.LastMessageAt)
	}
	ok(t, "AddMessages", db.AddMessages(ctx, []wire.Message{
		msg(2, "c", a, "k", 20), msg(1, "c", a, "", 10),
	}))
	sameTime(t, "after a batch", lastAt(), at(20))
	// An older batch arriving late does not move it back, and a skipped
	// duplicate does not move it at all.
	ok(t, "AddMessages older", db.AddMessages(ctx, []wire.Message{msg(3, "c", a, "", 5)}))
	sameTime(t, "after an older batch", lastAt(), at(20))
	ok(t, "AddMessages duplicate", db.AddMessages(ctx, []wire.Message{msg(4, "c", a, "k", 90)}))
	sameTime(t, "after a duplicate", lastAt(), at(20))
	ok(t, "AddMessages newer", db.AddMessages(ctx, []wire.Message{msg(5, "c", a, "", 30)}))
	sameTime(t, "after a newer batch", lastAt(), at(30))
}

func testConcurrentBatches(t *testing.T, db *DB) {
	ctx := t.Context()
	a, b := wu(1, "a"), wu(2, "b")
	for _, uri := range []string{"c", "d"} {
		_, err := db.CreateChat(ctx, uri, a, base)
		ok(t, "CreateChat", err)
	}
	// Writer w stores ids 20w+1 .. 20w+60, so each id reaches up to three
	// writers at once, some in reverse order, with client ids that
	// collide exactly when the ids do.
	const writers = 6
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for w := range writers {
		var batch []wire.Message
		for id := int64(20*w + 1); id <= int64(20*w+60); id++ {
			uri, user := "c", a
			if id%3 == 0 {
				uri, user = "d", b
			}
			batch = append(batch, msg(id, uri, user, fmt.Sprint("cid", id), int(id)))
		}
		if w%2 == 1 {
			slices.Reverse(batch)
		}
		wg.Go(func() { errs[w] = db.AddMessages(ctx, batch) })
	}
	wg.Wait()
	for w, err := range errs {
		ok(t, fmt.Sprint("writer ", w), err)
	}

	var all []int64
	for _, uri := range []string{"c", "d"} {
		got, more, err := db.Messages(ctx, uri, Page{Limit: 500})
		ok(t, "Messages", err)
		if more {
			t.Errorf("Messages(%s) has more beyond 500", uri)
		}
		all = append(all, ids(got)...)
	}
	slices.Sort(all)
	const top = 20*(writers-1) + 60
	if len(all) != top || all[0] != 1 || all[len(all)-1] != top ||
		len(slices.Compact(slices.Clone(all))) != top {
		t.Errorf("stored %d messages (%v...), want ids 1..%d once each", len(all), all[:3], top)
	}
}

// testDisjointBatches has writers store different messages of the same
// chats at once, as archiver replicas do: each chat's row is updated by
// every writer, and none may deadlock another.
func testDisjointBatches(t *testing.T, db *DB) {
	ctx := t.Context()
	a := wu(1, "a")
	chats := []string{"c1", "c2", "c3", "c4", "c5", "c6"}
	for _, uri := range chats {
		_, err := db.CreateChat(ctx, uri, a, base)
		ok(t, "CreateChat", err)
	}
	const writers, each = 8, 30
	for round := range 5 {
		errs := make([]error, writers)
		var wg sync.WaitGroup
		for w := range writers {
			var batch []wire.Message
			for i := range each {
				id := int64(round*writers*each + w*each + i + 1)
				batch = append(batch, msg(id, chats[(i+w)%len(chats)], a, "", int(id)))
			}
			wg.Go(func() { errs[w] = db.AddMessages(ctx, batch) })
		}
		wg.Wait()
		for w, err := range errs {
			ok(t, fmt.Sprint("round ", round, " writer ", w), err)
		}
	}
}

func testMaxMessageID(t *testing.T, db *DB) {
	ctx := t.Context()
	top, err := db.MaxMessageID(ctx)
	ok(t, "MaxMessageID", err)
	if top != 0 {
		t.Errorf("MaxMessageID of an empty store = %d", top)
	}
	a := wu(1, "a")
	for _, uri := range []string{"c", "d"} {
		_, err := db.CreateChat(ctx, uri, a, base)
		ok(t, "CreateChat", err)
	}
	ok(t, "AddMessages", db.AddMessages(ctx, []wire.Message{msg(9, "d", a, "", 1), msg(4, "c", a, "", 2)}))
	top, err = db.MaxMessageID(ctx)
	ok(t, "MaxMessageID", err)
	if top != 9 {
		t.Errorf("MaxMessageID = %d, want 9", top)
	}
}

func testLargeBatch(t *testing.T, db *DB) {
	ctx := t.Context()
	a := wu(1, "a")
	_, err := db.CreateChat(ctx, "c", a, base)
	ok(t, "CreateChat", err)
	const n = 3*insertChunk + 7
	var batch []wire.Message
	for id := int64(1); id <= n; id++ {
		batch = append(batch, msg(id, "c", a, fmt.Sprint(id%50), int(id)))
	}
	ok(t, "AddMessages", db.AddMessages(ctx, batch))
	// Client ids repeat every 50 messages, so only the first 50 stay.
	got, more, err := db.Messages(ctx, "c", Page{Limit: 500})
	ok(t, "Messages", err)
	if len(got) != 50 || got[49].ID != 50 || more {
		t.Errorf("stored %d messages, last %d, more %v; want 1..50",
			len(got), got[len(got)-1].ID, more)
	}

	batch = batch[:0]
	for id := int64(n + 1); id <= 2*n; id++ {
		batch = append(batch, msg(id, "c", a, "", int(id)))
	}
	ok(t, "AddMessages", db.AddMessages(ctx, batch))
	last, err := db.LastMessageID(ctx, "c")
	ok(t, "LastMessageID", err)
	if last != 2*n {
		t.Errorf("LastMessageID = %d, want %d", last, 2*n)
	}
	for _, tc := range []struct {
		limit, size int
		more        bool
	}{{500, 50 + n, false}, {400, 400, true}} {
		got, more, err = db.Messages(ctx, "c", Page{Limit: tc.limit})
		ok(t, "Messages", err)
		if len(got) != tc.size || more != tc.more || got[len(got)-1].ID != 2*n {
			t.Errorf("Messages(limit %d) = %d messages, more %v; want %d, %v",
				tc.limit, len(got), more, tc.size, tc.more)
		}
	}
}

func countMigrations(t *testing.T, db *DB) int {
	t.Helper()
	var n int
	err := db.r.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM schema_migrations`).Scan(&n)
	ok(t, "counting migrations", err)
	return n
}

func testReopen(t *testing.T, dsn string) {
	want, err := loadMigrations(openDialect(dsn))
	ok(t, "loadMigrations", err)
	first := openDB(t, dsn)
	if got := countMigrations(t, first); got != len(want) {
		t.Fatalf("%d migrations recorded, want %d", got, len(want))
	}
	u := newUser(t, first, "kept")
	ok(t, "Close", first.Close())

	second := openDB(t, dsn)
	if got := countMigrations(t, second); got != len(want) {
		t.Errorf("%d migrations recorded after reopening, want %d", got, len(want))
	}
	got, err := second.UserByID(t.Context(), u.ID)
	ok(t, "UserByID after reopening", err)
	if got != u {
		t.Errorf("UserByID after reopening = %+v, want %+v", got, u)
	}
	ok(t, "Ping", second.Ping(t.Context()))
}

func openDialect(dsn string) string {
	if isPostgres(dsn) {
		return Postgres
	}
	return SQLite
}

func testConcurrentOpen(t *testing.T, dsn string) {
	const n = 4
	dbs := make([]*DB, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			dbs[i], errs[i] = Open(t.Context(), dsn)
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		if dbs[i] != nil {
			t.Cleanup(func() { _ = dbs[i].Close() })
		}
	}
	for i := range n {
		ok(t, fmt.Sprint("Open ", i), errs[i])
	}
	want, err := loadMigrations(openDialect(dsn))
	ok(t, "loadMigrations", err)
	if got := countMigrations(t, dbs[0]); got != len(want) {
		t.Errorf("%d migrations recorded, want %d", got, len(want))
	}
	if dbs[0].Dialect() != openDialect(dsn) {
		t.Errorf("Dialect() = %q", dbs[0].Dialect())
	}
	newUser(t, dbs[n-1], "works")
}
