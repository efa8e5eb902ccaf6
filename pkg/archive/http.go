package archive

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/parley-chat/parley/pkg/rest"
	"github.com/parley-chat/parley/pkg/store"
	"github.com/parley-chat/parley/pkg/wire"
)

// Handler serves the contract's /api/ paths. Bodies may be JSON or
// form-encoded; paths answer with or without their trailing slash.
func (s *Service) Handler() http.Handler {
	rt := rest.NewRouter()
	rt.Handle("POST", "/api/chats/", s.authed(s.createChat))
	rt.Handle("GET", "/api/chats/", s.authed(s.listChats))
	rt.Handle("GET", "/api/chats/{uri}/", s.authed(s.getChat))
	rt.Handle("PATCH", "/api/chats/{uri}/", s.authed(s.joinChat))
	rt.Handle("GET", "/api/chats/{uri}/messages/", s.authed(s.history))
	rt.Handle("POST", "/api/chats/{uri}/messages/", s.authed(s.post))
	return rt
}

// authedFunc is an endpoint for an authenticated caller; an error it
// returns is the answer.
type authedFunc func(w http.ResponseWriter, r *http.Request, who wire.User) error

func (s *Service) authed(f authedFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := s.auth.Request(r)
		if err == nil {
			err = f(w, r, id.User)
		}
		if err != nil {
			s.fail(w, r, err)
		}
	}
}

// fail answers err; a server-side failure is logged here, once, since the
// client only ever sees the contract's generic sentence.
func (s *Service) fail(w http.ResponseWriter, r *http.Request, err error) {
	var e *rest.Error
	switch {
	case !errors.As(err, &e):
		s.log.Error("api request", "chat", r.PathValue("uri"), "err", err)
	case e.Status >= 500:
		s.log.Warn("api request", "chat", r.PathValue("uri"), "err", err)
	}
	rest.WriteError(w, err)
}

// The contract's answers.
type (
	createdReply struct {
		Status  string `json:"status"`
		URI     string `json:"uri"`
		Message string `json:"message"`
	}
	chatsReply struct {
		Chats []wire.Chat `json:"chats"`
	}
	joinedReply struct {
		Status  string      `json:"status"`
		Members []wire.User `json:"members"`
		Message string      `json:"message"`
		User    wire.User   `json:"user"`
	}
	historyReply struct {
		ID       int64          `json:"id"`
		URI      string         `json:"uri"`
		Messages []wire.Message `json:"messages"`
		HasMore  bool           `json:"has_more"`
	}
	postedReply struct {
		Status  string    `json:"status"`
		URI     string    `json:"uri"`
		ID      int64     `json:"id"`
		Message string    `json:"message"`
		User    wire.User `json:"user"`
	}
)

const success = "SUCCESS"

// newURI returns 128 random bits, URL-safe: unguessable, as the contract
// asks for at least 80.
func newURI() string {
	var b [16]byte
	// crypto/rand.Read never fails on supported platforms.
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (s *Service) createChat(w http.ResponseWriter, r *http.Request, who wire.User) error {
	chat, err := s.chats.CreateChat(r.Context(), newURI(), who, time.Now())
	if err != nil {
		return fmt.Errorf("creating chat: %w", err)
	}
	rest.WriteJSON(w, http.StatusCreated, createdReply{
		Status: success, URI: chat.URI, Message: "New chat session created",
	})
	return nil
}

func (s *Service) listChats(w http.ResponseWriter, r *http.Request, who wire.User) error {
	chats, err := s.chats.ChatsOf(r.Context(), who.ID)
	if err != nil {
		return fmt.Errorf("listing chats: %w", err)
	}
	if chats == nil {
		chats = []wire.Chat{}
	}
	rest.WriteJSON(w, http.StatusOK, chatsReply{Chats: chats})
	return nil
}

func (s *Service) getChat(w http.ResponseWriter, r *http.Request, who wire.User) error {
	chat, err := s.chats.Chat(r.Context(), r.PathValue("uri"))
	if errors.Is(err, store.ErrNotFound) {
		return rest.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("reading chat: %w", err)
	}
	isMember := func(u wire.User) bool { return u.ID == who.ID }
	if !slices.ContainsFunc(chat.Members, isMember) {
		return rest.ErrForbidden
	}
	rest.WriteJSON(w, http.StatusOK, chat)
	return nil
}

// joinChat adds the caller, and only the caller, to a chat.
func (s *Service) joinChat(w http.ResponseWriter, r *http.Request, who wire.User) error {
	f, err := rest.ReadFields(w, r)
	if err != nil {
		return err
	}
	uri := r.PathValue("uri")
	// A stranger may join; an unknown chat cannot be joined.
	if err := s.mustBeMember(r, uri, who); err != nil && !errors.Is(err, rest.ErrForbidden) {
		return err
	}
	// An empty username is what a form sends for a blank field: it names
	// nobody else.
	if name := f["username"]; name != "" && !strings.EqualFold(name, who.Username) {
		return rest.ErrForbidden
	}
	chat, err := s.chats.Join(r.Context(), uri, who, time.Now())
	if errors.Is(err, store.ErrNotFound) {
		return rest.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("joining chat: %w", err)
	}
	rest.WriteJSON(w, http.StatusOK, joinedReply{
		Status:  success,
		Members: chat.Members,
		Message: who.Username + " joined the chat",
		User:    who,
	})
	return nil
}

// mustBeMember is nil for a member, ErrForbidden for a stranger and
// ErrNotFound for an unknown chat.
func (s *Service) mustBeMember(r *http.Request, uri string, who wire.User) error {
	ok, err := s.chats.IsMember(r.Context(), uri, who.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return rest.ErrNotFound
	case err != nil:
		return fmt.Errorf("checking membership: %w", err)
	case !ok:
		return rest.ErrForbidden
	}
	return nil
}

// history answers a page of a chat's history in ascending id order: the
// newest messages without bounds or with before, the oldest above after.
// With both, the page is the oldest messages strictly between them and
// has_more says whether more lie between its end and before, so a client
// fills a gap by repeating with after set to the answer's id.
func (s *Service) history(w http.ResponseWriter, r *http.Request, who wire.User) error {
	uri := r.PathValue("uri")
	if err := s.mustBeMember(r, uri, who); err != nil {
		return err
	}
	page, err := parsePage(r.URL.Query())
	if err != nil {
		return err
	}
	if err := s.catchUp(r.Context(), uri, page); err != nil {
		return err
	}
	msgs, more, err := s.chats.Messages(r.Context(), uri, page)
	if err != nil {
		return fmt.Errorf("reading history: %w", err)
	}
	reply := historyReply{URI: uri, Messages: msgs, HasMore: more}
	if len(msgs) > 0 {
		reply.ID = msgs[len(msgs)-1].ID
	} else {
		reply.Messages = []wire.Message{}
	}
	rest.WriteJSON(w, http.StatusOK, reply)
	return nil
}
