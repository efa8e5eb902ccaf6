package edge

import (
	"context"
	"errors"
	"time"

	"github.com/parley-chat/parley/pkg/authn"
	"github.com/parley-chat/parley/pkg/history"
	"github.com/parley-chat/parley/pkg/hub"
	"github.com/parley-chat/parley/pkg/membership"
	"github.com/parley-chat/parley/pkg/metrics"
	"github.com/parley-chat/parley/pkg/stream"
	"github.com/parley-chat/parley/pkg/token"
	"github.com/parley-chat/parley/pkg/wire"
)

// handle acts on one client frame, object by object.
func (c *conn) handle(data []byte) {
	parseFrames(data, func(f frame, err *wireError) bool {
		if c.closing.Load() {
			return false
		}
		countReceived(f, err)
		if !c.authed && (err != nil || f.Type != typeAuth) {
			metrics.EdgeAuthFailure(metrics.AuthNotFirst).Inc()
			c.closeWith(closeAuth, reasonNotAuth)
			return false
		}
		if err != nil {
			c.violation(err)
			return true
		}
		c.dispatch(f)
		return true
	})
}

func (c *conn) dispatch(f frame) {
	switch f.Type {
	case typeAuth:
		c.authenticate(f.Token)
	case typeSubscribe:
		c.subscribe(f.Chat, f.Since)
	case typeUnsubscribe:
		c.unsubscribe(f.Chat)
	case typeSend:
		c.send(f)
	}
}

// violation answers a malformed frame, and closes the socket with 1008
// once it has sent more than MaxViolations.
func (c *conn) violation(err *wireError) {
	c.violations++
	if c.violations > c.s.cfg.MaxViolations {
		c.closeWith(closePolicy, "too many protocol violations")
		return
	}
	c.fail(err)
}

// reply queues a server frame. A full queue marks the socket slow, and
// its writer closes it.
func (c *conn) reply(f *hub.Frame) { c.q.Push(f) }

func (c *conn) fail(err *wireError) {
	c.reply(encode(errorFrame{Type: "error", Code: err.Code, Detail: err.Detail, Ref: err.Ref}))
}

// request returns a context for one call to a backend. The reader makes
// these calls and waits for them, so a socket that goes away meanwhile
// is cleaned up when the call returns, within RequestTimeout.
func (c *conn) request() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), c.s.cfg.RequestTimeout)
}

// authenticate handles an auth frame: the first one admits the socket,
// later ones extend it for the same user.
func (c *conn) authenticate(raw string) {
	ctx, cancel := c.request()
	id, err := c.s.deps.Authn.Access(ctx, raw)
	cancel()
	// The verifier allows some clock skew; a token already past its
	// expiry would only buy a socket that closes at once.
	if err == nil && !time.Now().Before(id.Claims.Expiry()) {
		err = token.ErrExpired
	}
	if r := authFailure(err, err == nil && c.authed && id.User.ID != c.user.ID); r != "" {
		metrics.EdgeAuthFailure(r).Inc()
	}
	switch {
	case errors.Is(err, authn.ErrUnavailable) && !c.authed:
		c.s.log.Error("checking revocation", "conn", c.id, "err", err)
		c.closeWith(closeTryLater, "authentication unavailable")
	case errors.Is(err, authn.ErrUnavailable):
		c.s.log.Error("checking revocation", "conn", c.id, "err", err)
		c.fail(errUnavailable)
	case errors.Is(err, token.ErrExpired):
		c.closeWith(closeAuth, reasonExpired)
	case errors.Is(err, authn.ErrRevoked):
		c.closeWith(closeAuth, reasonRevoked)
	case err != nil:
		c.s.log.Debug("refusing token", "conn", c.id, "err", err)
		c.closeWith(closeAuth, reasonNotAuth)
	case c.authed && id.User.ID != c.user.ID:
		c.closeWith(closeOtherUser, "token is for another user")
	default:
		c.admit(id)
	}
}

func (c *conn) admit(id authn.Identity) {
	first := !c.authed
	c.authed, c.user = true, id.User
	sid := id.Claims.SessionID
	c.sid.Store(&sid)
	if c.s.revoked.revoked(sid) {
		// Revoked after the denylist check passed, and announced before
		// sid was stored where closeSessions looks for it.
		c.closeWith(closeAuth, reasonRevoked)
		return
	}
	exp := id.Claims.Expiry()
	c.expires.Store(exp.UnixNano())
	c.rearm()
	if first {
		c.alive()
		c.s.log.Debug("socket authenticated", "conn", c.id, "user", c.user.ID)
	}
	c.reply(encode(readyFrame{Type: "ready", User: c.user, ExpiresAt: wire.Time(exp)}))
}

// member asks the archiver whether the user may use chat, answering the
// client with ref when not. It reports the archiver's reply and whether
// to go on.
func (c *conn) member(chat, ref string) (membership.Reply, bool) {
	if !validChat(chat) {
		c.fail(errNotFound.with(ref))
		return membership.Reply{}, false
	}
	ctx, cancel := c.request()
	defer cancel()
	rep, err := c.s.deps.Members.Check(ctx, membership.Request{Chat: chat, UserID: c.user.ID})
	switch {
	case err != nil:
		c.s.log.Error("checking membership", "conn", c.id, "chat", chat, "err", err)
		c.fail(errUnavailable.with(ref))
	case !rep.Exists:
		c.fail(errNotFound.with(ref))
	case !rep.Member:
		c.fail(errForbidden.with(ref))
	default:
		return rep, true
	}
	return rep, false
}

// send posts a message. The ack goes out only once JetStream has stored
// it, so an acked message survives the loss of this edge.
func (c *conn) send(f frame) {
	start := time.Now()
	ref := f.ref()
	if f.ClientID != nil {
		if err := wire.CheckClientID(*f.ClientID); err != nil {
			c.fail(invalid("client_id: "+err.Error(), ref))
			return
		}
	}
	if err := wire.CheckMessage(*f.Message); err != nil {
		c.fail(invalid("message: "+err.Error(), ref))
		return
	}
	if wait, ok := c.bucket.take(time.Now(), c.s.cfg.SendRate, c.s.cfg.SendBurst); !ok {
		c.fail(rateLimited(wait, ref))
		return
	}
	if _, ok := c.member(f.Chat, ref); !ok {
		return
	}
	ctx, cancel := c.request()
	defer cancel()
	// history.Publish asks the archive about a client_id first: it
	// remembers client_ids past the stream's dedupe window.
	archive := &history.Client{NC: c.s.deps.NC, Timeout: c.s.cfg.RequestTimeout}
	pub, err := history.Publish(ctx, c.s.js, archive, stream.Payload{
		Chat: f.Chat, User: c.user, Message: *f.Message, ClientID: f.ClientID,
	})
	if err != nil {
		c.s.log.Error("publishing", "conn", c.id, "chat", f.Chat, "err", err)
		c.fail(errUnavailable.with(ref))
		return
	}
	c.reply(encode(ackFrame{Type: "ack", ClientID: f.ClientID, ID: pub.ID}))
	metrics.EdgeSendAck.Observe(time.Since(start).Seconds())
}
