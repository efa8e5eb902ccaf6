package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/parley-chat/parley/pkg/wire"
)

// user is one signed-up user of the run.
type user struct {
	id       int64
	name     string
	password string

	mu      sync.Mutex
	token   string
	expires time.Time

	chats []string
	sock  *socket
}

// setUpParallel bounds the sign-ups and logins in flight: each costs the
// auth service a slow password hash.
const setUpParallel = 8

// setUp creates Chats*Members users and the chats they belong to.
func (r *Run) setUp(ctx context.Context) error {
	n := r.cfg.Chats * r.cfg.Members
	r.users = make([]*user, n)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(setUpParallel)
	for i := range n {
		g.Go(func() error {
			u, err := r.signUp(gctx, fmt.Sprintf("lg%s_%d", r.runID, i))
			r.users[i] = u
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for c := range r.cfg.Chats {
		if err := r.makeChat(ctx, r.users[c*r.cfg.Members:(c+1)*r.cfg.Members]); err != nil {
			return err
		}
	}
	return nil
}

// signUp creates a user and logs it in.
func (r *Run) signUp(ctx context.Context, name string) (*user, error) {
	u := &user{name: name, password: "lg-" + r.runID + "-Pw-" + name}
	var created wire.User
	body := map[string]string{"username": name, "password": u.password}
	if err := r.call(ctx, "POST", r.cfg.AuthURL+"/auth/users/", "", body, 201, &created); err != nil {
		return nil, fmt.Errorf("signing up %s: %w", name, err)
	}
	u.id = created.ID
	if _, err := r.freshToken(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

// freshToken returns u's access token, logging in again when it is
// close to expiry.
func (r *Run) freshToken(ctx context.Context, u *user) (string, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.token != "" && time.Until(u.expires) > 30*time.Second {
		return u.token, nil
	}
	var tokens struct {
		Access string `json:"access"`
	}
	body := map[string]string{"username": u.name, "password": u.password}
	if err := r.call(ctx, "POST", r.cfg.AuthURL+"/auth/jwt/create/", "", body, 200, &tokens); err != nil {
		return "", fmt.Errorf("logging in %s: %w", u.name, err)
	}
	// The contract's default lifetime; the ready frame tells the truth,
	// and a socket closed with 4001 asks for a new token anyway.
	u.token, u.expires = tokens.Access, time.Now().Add(4*time.Minute)
	return u.token, nil
}

// forgetToken makes the next freshToken log in again.
func (u *user) forgetToken() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.token = ""
}

// makeChat has the first member create a chat and the others join it.
func (r *Run) makeChat(ctx context.Context, members []*user) error {
	var created struct {
		URI string `json:"uri"`
	}
	owner := members[0]
	if err := r.call(ctx, "POST", r.cfg.APIURL+"/api/chats/", owner.token, nil, 201, &created); err != nil {
		return fmt.Errorf("creating a chat: %w", err)
	}
	for _, u := range members[1:] {
		path := r.cfg.APIURL + "/api/chats/" + created.URI + "/"
		if err := r.call(ctx, "PATCH", path, u.token, nil, 200, nil); err != nil {
			return fmt.Errorf("joining chat %s: %w", created.URI, err)
		}
	}
	for _, u := range members {
		u.chats = append(u.chats, created.URI)
	}
	r.chats = append(r.chats, &chat{uri: created.URI, members: members})
	return nil
}

// histories reads, as a member, every chat's history after the newest id
// its first subscriber saw before the run.
func (r *Run) histories(ctx context.Context) (map[string][]wire.Message, error) {
	out := map[string][]wire.Message{}
	for _, c := range r.chats {
		msgs, err := r.history(ctx, c, r.rec.fromOf(c.uri))
		if err != nil {
			return nil, err
		}
		out[c.uri] = msgs
	}
	return out, nil
}

// history pages forward from after; the contract's after must be
// positive, so a chat read from its start is paged backwards instead.
func (r *Run) history(ctx context.Context, c *chat, after int64) ([]wire.Message, error) {
	var all []wire.Message
	var before int64
	for {
		q := url.Values{"limit": {"500"}}
		switch {
		case after > 0:
			q.Set("after", fmt.Sprint(after))
		case before > 0:
			q.Set("before", fmt.Sprint(before))
		}
		page, more, err := r.page(ctx, c, q)
		if err != nil {
			return nil, err
		}
		if after > 0 {
			all = append(all, page...)
		} else {
			all = append(page, all...)
		}
		if !more || len(page) == 0 {
			return all, nil
		}
		if after > 0 {
			after = page[len(page)-1].ID
		} else {
			before = page[0].ID
		}
	}
}

func (r *Run) page(ctx context.Context, c *chat, q url.Values) ([]wire.Message, bool, error) {
	tok, err := r.freshToken(ctx, c.members[0])
	if err != nil {
		return nil, false, err
	}
	var page struct {
		Messages []wire.Message `json:"messages"`
		HasMore  bool           `json:"has_more"`
	}
	path := r.cfg.APIURL + "/api/chats/" + c.uri + "/messages/?" + q.Encode()
	if err := r.call(ctx, "GET", path, tok, nil, 200, &page); err != nil {
		return nil, false, fmt.Errorf("reading history of %s: %w", c.uri, err)
	}
	return page.Messages, page.HasMore, nil
}

// call makes one API request, retrying while the answer is 503 or 429
// or the service cannot be reached, as during a fault or a burst of
// sign-ups, and decodes the answer.
func (r *Run) call(ctx context.Context, method, url, tok string, body any, want int, into any) error {
	var last error
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 2*time.Second) {
		status, data, retry, err := r.do(ctx, method, url, tok, body)
		switch {
		case err == nil && status == want:
			if into == nil {
				return nil
			}
			return json.Unmarshal(data, into)
		case err == nil && status != http.StatusServiceUnavailable && status != http.StatusTooManyRequests:
			return fmt.Errorf("%s %s: status %d: %s", method, url, status, strings.TrimSpace(string(data)))
		case err == nil:
			last = fmt.Errorf("%s %s: status %d", method, url, status)
			wait = max(wait, retry)
		default:
			last = err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (last: %w)", ctx.Err(), last)
		case <-t.C:
		}
	}
}

// do makes one request; it returns the status, the body and how long
// Retry-After asks to wait.
func (r *Run) do(ctx context.Context, method, url, tok string,
	body any) (int, []byte, time.Duration, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, nil, 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "JWT "+tok)
	}
	resp, err := r.http.Do(req)
	if err != nil {
		return 0, nil, 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	return resp.StatusCode, data, time.Duration(secs) * time.Second, err
}
