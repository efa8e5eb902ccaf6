package archive

import (
	"context"
	"slices"
	"testing"

	"github.com/parley-chat/parley/pkg/stream"
	"github.com/parley-chat/parley/pkg/testenv"
)

// TestPostgres runs the main flows on PostgreSQL, which the cluster uses.
func TestPostgres(t *testing.T) {
	e := newEnv(t, testenv.PostgresURL(t), Config{})
	e.run(e.svc)
	testChatFlow(t, e)
	testPostAndHistory(t, e)
	testNullCharacter(t, e)
}

func TestNullCharacter(t *testing.T) {
	e := newEnv(t, "", Config{})
	e.run(e.svc)
	testNullCharacter(t, e)
}

// testNullCharacter publishes, around the API, a message that PostgreSQL
// text cannot hold as it is; it is stored with U+FFFD and blocks nothing.
func testNullCharacter(t *testing.T, e *env) {
	uri := e.newChat(alice)
	code, body := e.as(alice, "POST", "/api/chats/"+uri+"/messages/", `{"message":"a\u0000b"}`)
	if want := `{"message":["Null characters are not allowed."]}`; code != 400 || body != want {
		t.Fatalf("posting a null character: %d %s", code, body)
	}
	id := "c\x00"
	p := stream.Payload{Chat: uri, User: alice, Message: "a\x00b", ClientID: &id}
	pub, err := stream.Publish(context.Background(), e.js, p)
	if err != nil {
		t.Fatal(err)
	}
	next := e.post(alice, uri, "next")
	h := e.history(alice, uri, "")
	if !slices.Equal(ids(h.Messages), []int64{pub.ID, next}) {
		t.Fatalf("history = %v, want %d and %d", ids(h.Messages), pub.ID, next)
	}
	if m := h.Messages[0]; m.Message != "a\uFFFDb" || *m.ClientID != "c\uFFFD" {
		t.Fatalf("stored %q with client_id %q", m.Message, *m.ClientID)
	}
}
