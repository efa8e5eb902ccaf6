package archive

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/pkg/stream"
	"github.com/parley-chat/parley/pkg/token"
	"github.com/parley-chat/parley/pkg/wire"
)

const (
	noCreds   = `{"detail":"Authentication credentials were not provided."}`
	expired   = `{"detail":"Signature has expired."}`
	badToken  = `{"detail":"Error decoding signature."}`
	forbidden = `{"detail":"You do not have permission to perform this action."}`
	notFound  = `{"detail":"Not found."}`
)

func TestAPIAnswers(t *testing.T) {
	e := newEnv(t, "", Config{})
	e.run(e.svc)
	chat := e.newChat(alice)
	chatPath := "/api/chats/" + chat + "/"
	msgs := chatPath + "messages/"
	ghost := "/api/chats/" + newURI() + "/"
	aliceAuth := "JWT " + e.token(alice)
	bobAuth := "Bearer " + e.token(bob)
	long := strings.Repeat("é", 2001)
	revoked := "JWT " + e.token(carol)
	if err := e.deny.RevokeSession(context.Background(), "s3", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name   string
		r      req
		status int
		body   string
	}{
		{"no header", req{method: "GET", path: "/api/chats/"}, 401, noCreds},
		{"other scheme", req{method: "GET", path: "/api/chats/", auth: "Basic YTpi"}, 401, noCreds},
		{"scheme only", req{method: "POST", path: "/api/chats/", auth: "JWT"}, 401, noCreds},
		{"expired", req{method: "GET", path: "/api/chats/", auth: "JWT " + expiredToken(t, e)},
			401, expired},
		{"garbage", req{method: "GET", path: msgs, auth: "JWT a.b.c"}, 401, badToken},
		{"foreign key", req{method: "GET", path: "/api/chats/", auth: "JWT " + foreignToken(t)},
			401, badToken},
		{"oversized", req{method: "GET", path: "/api/chats/",
			auth: "JWT " + strings.Repeat("a", 5000)}, 401, badToken},
		{"revoked", req{method: "GET", path: "/api/chats/", auth: revoked},
			401, `{"detail":"Token has been revoked."}`},
		{"unauthenticated post", req{method: "POST", path: msgs, body: `{"message":"hi"}`},
			401, noCreds},

		{"unknown chat", req{method: "GET", path: ghost, auth: aliceAuth}, 404, notFound},
		{"unknown chat history", req{method: "GET", path: ghost + "messages/", auth: aliceAuth},
			404, notFound},
		{"unknown chat post", req{method: "POST", path: ghost + "messages/", auth: aliceAuth,
			body: `{"message":"hi"}`}, 404, notFound},
		{"unknown chat join", req{method: "PATCH", path: ghost, auth: bobAuth}, 404, notFound},
		{"unknown chat join for another", req{method: "PATCH", path: ghost, auth: bobAuth,
			body: `{"username":"alice"}`}, 404, notFound},
		{"unknown path", req{method: "GET", path: "/api/nothing/", auth: aliceAuth},
			404, notFound},
		{"wrong method", req{method: "DELETE", path: chatPath, auth: aliceAuth},
			405, `{"detail":"Method \"DELETE\" not allowed."}`},

		{"stranger reads chat", req{method: "GET", path: chatPath, auth: bobAuth}, 403, forbidden},
		{"stranger reads history", req{method: "GET", path: msgs, auth: bobAuth}, 403, forbidden},
		{"stranger posts", req{method: "POST", path: msgs, auth: bobAuth,
			body: `{"message":"hi"}`}, 403, forbidden},
		{"join for another", req{method: "PATCH", path: chatPath, auth: bobAuth,
			body: `{"username":"carol"}`}, 403, forbidden},
		{"join for another by form", req{method: "PATCH", path: chatPath, auth: bobAuth,
			body: "username=alice", ctype: "application/x-www-form-urlencoded"}, 403, forbidden},

		{"message missing", req{method: "POST", path: msgs, auth: aliceAuth, body: `{}`},
			400, `{"message":["This field is required."]}`},
		{"empty body", req{method: "POST", path: msgs, auth: aliceAuth},
			400, `{"message":["This field is required."]}`},
		{"message blank", req{method: "POST", path: msgs, auth: aliceAuth,
			body: `{"message":" \n\t"}`}, 400, `{"message":["This field may not be blank."]}`},
		{"message blank by form", req{method: "POST", path: msgs, auth: aliceAuth,
			body: "message=", ctype: "application/x-www-form-urlencoded"},
			400, `{"message":["This field may not be blank."]}`},
		{"message too long", req{method: "POST", path: msgs, auth: aliceAuth,
			body: `{"message":"` + long + `"}`},
			400, `{"message":["Ensure this field has no more than 2000 characters."]}`},
		{"message not text", req{method: "POST", path: msgs, auth: aliceAuth,
			body: `{"message":["hi"]}`}, 400, `{"message":["Not a valid string."]}`},
		{"client_id too long and message blank", req{method: "POST", path: msgs,
			auth: aliceAuth, body: `{"message":"","client_id":"` + strings.Repeat("x", 65) + `"}`},
			400, `{"client_id":["Ensure this field has no more than 64 characters."],` +
				`"message":["This field may not be blank."]}`},
		{"client_id empty", req{method: "POST", path: msgs, auth: aliceAuth,
			body: `{"message":"hi","client_id":""}`}, 400, `{"client_id":["This field may not be blank."]}`},
		{"body not an object", req{method: "POST", path: msgs, auth: aliceAuth, body: `[1]`},
			400, `{"detail":"JSON parse error - the body must be a JSON object"}`},
		{"body of another type", req{method: "POST", path: msgs, auth: aliceAuth,
			body: "hi", ctype: "text/plain"},
			415, `{"detail":"Unsupported media type \"text/plain\" in request."}`},

		{"limit zero", req{method: "GET", path: msgs + "?limit=0", auth: aliceAuth},
			400, `{"limit":["Ensure this value is greater than or equal to 1."]}`},
		{"limit too big", req{method: "GET", path: msgs + "?limit=501", auth: aliceAuth},
			400, `{"limit":["Ensure this value is less than or equal to 500."]}`},
		{"limit not a number", req{method: "GET", path: msgs + "?limit=ten", auth: aliceAuth},
			400, `{"limit":["A valid integer is required."]}`},
		{"before zero", req{method: "GET", path: msgs + "?before=0", auth: aliceAuth},
			400, `{"before":["Ensure this value is greater than or equal to 1."]}`},
		{"after negative and before a word", req{method: "GET",
			path: msgs + "?after=-4&before=x", auth: aliceAuth}, 400,
			`{"after":["Ensure this value is greater than or equal to 1."],` +
				`"before":["A valid integer is required."]}`},
		{"stranger with bad query", req{method: "GET", path: msgs + "?limit=0", auth: bobAuth},
			403, forbidden},

		{"empty history", req{method: "GET", path: msgs, auth: aliceAuth},
			200, `{"id":0,"uri":"` + chat + `","messages":[],"has_more":false}`},
		{"without trailing slash", req{method: "GET", path: strings.TrimSuffix(msgs, "/"),
			auth: "jwt " + e.token(alice)},
			200, `{"id":0,"uri":"` + chat + `","messages":[],"has_more":false}`},
		{"no chats", req{method: "GET", path: "/api/chats/", auth: "bearer " + e.token(dave)},
			200, `{"chats":[]}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := e.do(c.r)
			if status != c.status || body != c.body {
				t.Errorf("got %d %s\nwant %d %s", status, body, c.status, c.body)
			}
		})
	}
	// None of the refused requests stored anything.
	if h := e.history(alice, chat, ""); len(h.Messages) != 0 {
		t.Errorf("refused posts stored %v", ids(h.Messages))
	}
}

func expiredToken(t *testing.T, e *env) string {
	t.Helper()
	old := *e.iss
	old.Now = func() time.Time { return time.Now().Add(-time.Hour) }
	tok, _, err := old.Issue(token.Grant{UserID: 1, Username: "alice", SessionID: "s",
		Type: token.TypeAccess, TTL: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// foreignToken is well formed but signed by a key the archiver never saw.
func foreignToken(t *testing.T) string {
	t.Helper()
	k, err := token.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	ks, err := token.NewKeySet([]token.Key{k})
	if err != nil {
		t.Fatal(err)
	}
	iss := &token.Issuer{Keys: ks, Issuer: "parley", Audience: "parley"}
	tok, _, err := iss.Issue(token.Grant{UserID: 1, Username: "alice", SessionID: "s",
		Type: token.TypeAccess, TTL: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

var uriPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`)

func TestChatFlow(t *testing.T) {
	e := newEnv(t, "", Config{})
	e.run(e.svc)
	testChatFlow(t, e)
}

// testChatFlow creates, lists, reads and joins chats; it runs on each
// database engine.
func testChatFlow(t *testing.T, e *env) {
	code, body := e.as(alice, "POST", "/api/chats/", "")
	var created createdReply
	if err := json.Unmarshal([]byte(body), &created); err != nil || code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	uri := created.URI
	want := `{"status":"SUCCESS","uri":"` + uri + `","message":"New chat session created"}`
	if body != want {
		t.Fatalf("create answered %s, want %s", body, want)
	}
	if !uriPattern.MatchString(uri) {
		t.Fatalf("uri %q is not 22 URL-safe characters", uri)
	}
	if raw, err := base64.RawURLEncoding.DecodeString(uri); err != nil || len(raw) != 16 {
		t.Fatalf("uri %q does not hold 16 bytes: %v", uri, err)
	}
	if other := e.newChat(alice); other == uri {
		t.Fatal("two chats share a uri")
	}

	var c wire.Chat
	e.must(alice, "GET", "/api/chats/"+uri+"/", "", 200, &c)
	if c.URI != uri || c.Owner != alice || !slices.Equal(c.Members, []wire.User{alice}) ||
		c.LastMessageAt != nil || time.Since(time.Time(c.CreatedAt)) > time.Minute {
		t.Fatalf("chat = %+v", c)
	}

	// Bob joins by a form, naming himself in another case, then again.
	for range 2 {
		code, body := e.do(req{method: "PATCH", path: "/api/chats/" + uri + "/",
			auth: "JWT " + e.token(bob), body: "username=BOB",
			ctype: "application/x-www-form-urlencoded"})
		want := `{"status":"SUCCESS","members":[{"id":1,"username":"alice"},` +
			`{"id":2,"username":"bob"}],"message":"bob joined the chat",` +
			`"user":{"id":2,"username":"bob"}}`
		if code != 200 || body != want {
			t.Fatalf("join: %d %s\nwant %s", code, body, want)
		}
	}
	e.must(bob, "GET", "/api/chats/"+uri, "", 200, &c)
	if c.Owner != alice || !slices.Equal(c.Members, []wire.User{alice, bob}) {
		t.Fatalf("chat after join = %+v", c)
	}

	// Alice's older chat moves to the front once it has a message.
	var list chatsReply
	e.must(alice, "GET", "/api/chats/", "", 200, &list)
	if len(list.Chats) != 2 || list.Chats[1].URI != uri {
		t.Fatalf("alice's chats before posting = %+v", list.Chats)
	}
	e.post(bob, uri, "first")
	e.history(alice, uri, "")
	e.must(alice, "GET", "/api/chats/", "", 200, &list)
	if len(list.Chats) != 2 || list.Chats[0].URI != uri || list.Chats[0].LastMessageAt == nil {
		t.Fatalf("alice's chats after posting = %+v", list.Chats)
	}
	e.must(bob, "GET", "/api/chats/", "", 200, &list)
	if len(list.Chats) != 1 || list.Chats[0].URI != uri {
		t.Fatalf("bob's chats = %+v", list.Chats)
	}
}

func TestPostAndHistory(t *testing.T) {
	e := newEnv(t, "", Config{})
	e.run(e.svc)
	testPostAndHistory(t, e)
}

func testPostAndHistory(t *testing.T, e *env) {
	uri := e.newChat(alice)
	e.join(bob, uri)

	code, body := e.do(req{method: "POST", path: "/api/chats/" + uri + "/messages/",
		auth: "JWT " + e.token(bob), body: "message=h%C3%A9llo+there",
		ctype: "application/x-www-form-urlencoded"})
	var first postedReply
	_ = json.Unmarshal([]byte(body), &first)
	want := fmt.Sprintf(`{"status":"SUCCESS","uri":"%s","id":%d,"message":"héllo there",`+
		`"user":{"id":2,"username":"bob"}}`, uri, first.ID)
	if code != 201 || body != want || first.ID <= 0 {
		t.Fatalf("form post: %d %s\nwant %s", code, body, want)
	}
	second := e.post(alice, uri, "second")
	third := e.post(bob, uri, "third")
	if !(first.ID < second && second < third) {
		t.Fatalf("ids %d %d %d do not grow", first.ID, second, third)
	}

	// Read right after the 201s: the consumer may not have stored them yet.
	h := e.history(alice, uri, "")
	if !slices.Equal(ids(h.Messages), []int64{first.ID, second, third}) ||
		h.ID != third || h.URI != uri || h.HasMore {
		t.Fatalf("history = %+v", h)
	}
	m := h.Messages[1]
	if m.Chat != uri || m.User != alice || m.Message != "second" || m.ClientID != nil ||
		time.Since(time.Time(m.CreatedAt)) > time.Minute {
		t.Fatalf("message = %+v", m)
	}
	_, raw := e.as(alice, "GET", "/api/chats/"+uri+"/messages/?after="+fmt.Sprint(second), "")
	wantRaw := regexp.MustCompile(`^\{"id":` + fmt.Sprint(third) + `,"uri":"` + uri +
		`","messages":\[\{"id":` + fmt.Sprint(third) + `,"chat":"` + uri +
		`","user":\{"id":2,"username":"bob"\},"message":"third","client_id":null,` +
		`"created_at":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"\}\],"has_more":false\}$`)
	if !wantRaw.MatchString(raw) {
		t.Fatalf("history JSON = %s", raw)
	}
}

func TestIdempotentClientID(t *testing.T) {
	e := newEnv(t, "", Config{})
	e.run(e.svc)
	uri := e.newChat(alice)
	e.join(bob, uri)
	path := "/api/chats/" + uri + "/messages/"

	send := func(u wire.User, text string) postedReply {
		t.Helper()
		var r postedReply
		e.must(u, "POST", path, `{"message":"`+text+`","client_id":"k-1"}`, 201, &r)
		return r
	}
	first := send(alice, "once")
	// At once, while the stream's dedupe answers, and again after the
	// store has the message, when the store answers.
	again := send(alice, "twice")
	e.history(alice, uri, "")
	late := send(alice, "thrice")
	for _, r := range []postedReply{again, late} {
		if r != first {
			t.Fatalf("retry answered %+v, want %+v", r, first)
		}
	}
	// Another user's equal client_id is another message.
	other := send(bob, "mine")
	if other.ID == first.ID || other.Message != "mine" {
		t.Fatalf("bob's post = %+v", other)
	}

	h := e.history(alice, uri, "")
	if !slices.Equal(ids(h.Messages), []int64{first.ID, other.ID}) {
		t.Fatalf("history ids = %v, want %d and %d", ids(h.Messages), first.ID, other.ID)
	}
	if c := h.Messages[0].ClientID; c == nil || *c != "k-1" || h.Messages[0].Message != "once" {
		t.Fatalf("stored message = %+v", h.Messages[0])
	}
}

// TestWithoutStream answers 503 when JetStream cannot take or show
// messages, and never a 201 for a message it did not store.
func TestWithoutStream(t *testing.T) {
	e := newEnv(t, "", Config{})
	stop := e.run(e.svc)
	uri := e.newChat(alice)
	stop()
	if err := e.js.DeleteStream(context.Background(), stream.Name); err != nil {
		t.Fatal(err)
	}
	unavailable := `{"detail":"Service temporarily unavailable, try again later."}`
	path := "/api/chats/" + uri + "/messages/"
	for _, method := range []string{"POST", "GET"} {
		code, body := e.as(alice, method, path, `{"message":"hi","client_id":"x"}`)
		if code != 503 || body != unavailable {
			t.Errorf("%s without a stream: %d %s", method, code, body)
		}
	}
}
