// Package e2e runs Parley's commands as separate processes and drives
// them as clients do: over HTTP and WebSockets.
package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/parley-chat/parley/pkg/embednats"
	"github.com/parley-chat/parley/pkg/testenv"
	"github.com/parley-chat/parley/pkg/token"
	"github.com/parley-chat/parley/test/harness"
)

// urls says where each service of a deployment answers.
type urls struct {
	auth, api, edge1, edge2 string
}

func TestClusterFlow(t *testing.T) {
	ns, err := embednats.Start(embednats.Options{Dir: t.TempDir(), Listen: true, Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	dbURL := testenv.PostgresURL(t)
	redisURL := testenv.RedisURL(t)

	key, err := token.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	pemData, err := key.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "signing.pem")
	if err := os.WriteFile(keyFile, pemData, 0o600); err != nil {
		t.Fatal(err)
	}

	authAddr := harness.FreeAddr(t)
	authBase := "http://" + authAddr
	authP := start(t, "auth", "auth", map[string]string{
		"PARLEY_ADDR": authAddr, "PARLEY_DATABASE_URL": dbURL,
		"PARLEY_REDIS_URL": redisURL, "PARLEY_SIGNING_KEY_FILES": keyFile,
		"PARLEY_NATS_URL": ns.ClientURL(),
	})
	harness.WaitReady(t, authP, authBase)

	common := map[string]string{
		"PARLEY_NATS_URL": ns.ClientURL(), "PARLEY_AUTH_URL": authBase, "PARLEY_REDIS_URL": redisURL,
	}
	with := func(extra map[string]string) map[string]string {
		env := map[string]string{}
		for k, v := range common {
			env[k] = v
		}
		for k, v := range extra {
			env[k] = v
		}
		return env
	}
	archAddr := harness.FreeAddr(t)
	archP := start(t, "archiver", "archiver",
		with(map[string]string{"PARLEY_ADDR": archAddr, "PARLEY_DATABASE_URL": dbURL}))
	harness.WaitReady(t, archP, "http://"+archAddr)

	u := urls{auth: authBase, api: "http://" + archAddr}
	for i, dst := range []*string{&u.edge1, &u.edge2} {
		addr := harness.FreeAddr(t)
		p := start(t, fmt.Sprintf("edge%d", i+1), "edge", with(map[string]string{"PARLEY_ADDR": addr}))
		*dst = "http://" + addr
		harness.WaitReady(t, p, *dst)
	}
	runFlow(t, u)
}

func TestAllInOneFlow(t *testing.T) {
	addr := harness.FreeAddr(t)
	base := "http://" + addr
	p := start(t, "parley", "parley", map[string]string{
		"PARLEY_ADDR": addr, "PARLEY_DATA_DIR": t.TempDir(),
	})
	harness.WaitReady(t, p, base)
	runFlow(t, urls{auth: base, api: base, edge1: base, edge2: base})
}

// runFlow is the walk through Parley that every deployment must pass:
// two users chat live across two edges, history agrees with what they
// saw, and an outsider is kept out.
func runFlow(t *testing.T, u urls) {
	suffix := testenv.Suffix()
	aliceTok, alice := signUp(t, u.auth, "alice_"+suffix)
	bobTok, _ := signUp(t, u.auth, "bob_"+suffix)
	carolTok, _ := signUp(t, u.auth, "carol_"+suffix)

	aliceAPI := harness.Client{T: t, Base: u.api, Token: aliceTok}
	bobAPI := harness.Client{T: t, Base: u.api, Token: bobTok}
	var created struct{ URI string }
	if st := aliceAPI.Do("POST", "/api/chats/", nil, &created); st != 201 {
		t.Fatalf("creating chat: status %d", st)
	}
	chat := created.URI
	var joined struct{ Members []user }
	if st := bobAPI.Do("PATCH", "/api/chats/"+chat+"/", nil, &joined); st != 200 {
		t.Fatalf("bob joining: status %d", st)
	}
	if len(joined.Members) != 2 || joined.Members[0].ID != alice.ID {
		t.Fatalf("members after join = %+v, want alice first of two", joined.Members)
	}

	as := dial(t, u.edge1, aliceTok)
	bs := dial(t, u.edge2, bobTok)
	for _, s := range []*socket{as, bs} {
		if m := s.subscribe(chat); m.Type != "subscribed" || m.Chat != chat {
			t.Fatalf("subscribe answered %+v", m)
		}
	}

	exchange(t, chat, as, bs)
	aliceSaw, bobSaw := collect(t, as, 50, "alice"), collect(t, bs, 50, "bob")
	checkSameOrder(t, aliceSaw, bobSaw)

	var posted struct{ ID int64 }
	body := map[string]string{"message": "over http", "client_id": "http-1"}
	if st := aliceAPI.Do("POST", "/api/chats/"+chat+"/messages/", body, &posted); st != 201 {
		t.Fatalf("posting over HTTP: status %d", st)
	}
	for name, s := range map[string]*socket{"alice": as, "bob": bs} {
		if m := s.nextOf("message"); m.ID != posted.ID || m.Message != "over http" {
			t.Fatalf("%s got %+v, want the HTTP post %d", name, m, posted.ID)
		}
	}
	all := append(ids(aliceSaw), posted.ID)
	checkHistory(t, bobAPI, chat, all)

	outsider := harness.Client{T: t, Base: u.api, Token: carolTok}
	if st := outsider.Do("GET", "/api/chats/"+chat+"/messages/", nil, nil); st != http.StatusForbidden {
		t.Fatalf("carol reading history: status %d, want 403", st)
	}
	cs := dial(t, u.edge2, carolTok)
	if m := cs.subscribe(chat); m.Type != "error" || m.Code != "forbidden" || m.Ref != chat {
		t.Fatalf("carol subscribing got %+v, want error forbidden", m)
	}
}

// exchange has alice and bob send 25 messages each, interleaved, at a
// pace under the per-connection send rate.
func exchange(t *testing.T, chat string, as, bs *socket) {
	tick := time.NewTicker(120 * time.Millisecond)
	defer tick.Stop()
	for i := range 25 {
		for _, p := range []struct {
			name string
			s    *socket
		}{{"alice", as}, {"bob", bs}} {
			p.s.Send(map[string]any{"type": "send", "chat": chat,
				"message": fmt.Sprintf("%s says %d", p.name, i), "client_id": cid(p.name, i)})
		}
		<-tick.C
	}
}

// collect reads until want messages and the sender's 25 acks arrived,
// failing on any error frame or a message seen twice.
func collect(t *testing.T, s *socket, want int, sender string) []message {
	t.Helper()
	var got []message
	seen := map[int64]bool{}
	acks := map[string]int64{}
	for len(got) < want || len(acks) < 25 {
		m := s.next()
		switch m.Type {
		case "message":
			if seen[m.ID] {
				t.Fatalf("%s received message %d twice", sender, m.ID)
			}
			seen[m.ID] = true
			got = append(got, m)
		case "ack":
			if m.ClientID == nil {
				t.Fatalf("%s got an ack without client_id: %+v", sender, m)
			}
			acks[*m.ClientID] = m.ID
		default:
			t.Fatalf("%s got unexpected frame %+v", sender, m)
		}
	}
	for i := range 25 {
		id, ok := acks[cid(sender, i)]
		if !ok || !seen[id] {
			t.Fatalf("%s: ack for %s = %d (present %v), want a delivered id", sender, cid(sender, i), id, ok)
		}
	}
	return got
}

func ids(ms []message) []int64 {
	out := make([]int64, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func checkSameOrder(t *testing.T, a, b []message) {
	t.Helper()
	if !reflect.DeepEqual(ids(a), ids(b)) {
		t.Fatalf("orders differ:\nalice %v\nbob   %v", ids(a), ids(b))
	}
	for i := 1; i < len(a); i++ {
		if a[i].ID <= a[i-1].ID {
			t.Fatalf("ids do not grow: %d then %d", a[i-1].ID, a[i].ID)
		}
	}
}

type page struct {
	Messages []message `json:"messages"`
	HasMore  bool      `json:"has_more"`
}

func checkHistory(t *testing.T, a harness.Client, chat string, want []int64) {
	t.Helper()
	var full page
	if st := a.Do("GET", "/api/chats/"+chat+"/messages/", nil, &full); st != 200 {
		t.Fatalf("history: status %d", st)
	}
	if got := ids(full.Messages); !reflect.DeepEqual(got, want) || full.HasMore {
		t.Fatalf("history = %v (has_more %v), want %v", got, full.HasMore, want)
	}

	// Walk back 20 at a time, then forward from the tenth message.
	var back []int64
	q := "?limit=20"
	for {
		var p page
		if st := a.Do("GET", "/api/chats/"+chat+"/messages/"+q, nil, &p); st != 200 || len(p.Messages) == 0 {
			t.Fatalf("history page %s: status %d, %d messages", q, st, len(p.Messages))
		}
		back = append(ids(p.Messages), back...)
		if !p.HasMore {
			break
		}
		q = fmt.Sprintf("?limit=20&before=%d", p.Messages[0].ID)
	}
	if !reflect.DeepEqual(back, want) {
		t.Fatalf("paging back with before gave %v, want %v", back, want)
	}
	var fwd page
	a.Do("GET", fmt.Sprintf("/api/chats/%s/messages/?limit=20&after=%d", chat, want[9]), nil, &fwd)
	if got := ids(fwd.Messages); !reflect.DeepEqual(got, want[10:30]) || !fwd.HasMore {
		t.Fatalf("after=%d gave %v (has_more %v), want %v and more", want[9], got, fwd.HasMore, want[10:30])
	}
}
