package archive

import (
	"context"
	"errors"
	"fmt"

	"github.com/parley-chat/parley/pkg/membership"
	"github.com/parley-chat/parley/pkg/store"
	"github.com/parley-chat/parley/pkg/stream"
)

// errLookup is what the membership server hears when a lookup fails: it
// answers "unavailable" and drops the error, so the cause is logged here.
var errLookup = errors.New("membership lookup failed")

// lookup answers an edge's membership question.
func (s *Service) lookup(ctx context.Context, req membership.Request) (membership.Reply, error) {
	rep, err := s.member(ctx, req)
	if err != nil {
		s.log.Error("answering membership", "chat", req.Chat, "user", req.UserID, "err", err)
		return membership.Reply{}, errLookup
	}
	return rep, nil
}

func (s *Service) member(ctx context.Context, req membership.Request) (membership.Reply, error) {
	ok, err := s.chats.IsMember(ctx, req.Chat, req.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return membership.Reply{}, nil
	}
	if err != nil {
		return membership.Reply{}, fmt.Errorf("checking membership: %w", err)
	}
	if !ok {
		// A stranger learns nothing about the chat's activity.
		return membership.Reply{Exists: true}, nil
	}
	last, err := s.lastID(ctx, req.Chat)
	if err != nil {
		return membership.Reply{}, err
	}
	return membership.Reply{Exists: true, Member: true, LastID: last}, nil
}

// lastID is the newest id of chat uri, stored or still only in the
// stream: the edge subscribes from there, so it must not be behind what
// the stream already acknowledged.
func (s *Service) lastID(ctx context.Context, uri string) (int64, error) {
	stored, err := s.chats.LastMessageID(ctx, uri)
	if err != nil {
		return 0, fmt.Errorf("reading last stored id: %w", err)
	}
	str, err := s.lookupStream(ctx)
	if err != nil {
		return 0, err
	}
	streamed, err := stream.LastID(ctx, str, uri)
	if err != nil {
		return 0, err
	}
	return max(stored, streamed), nil
}
