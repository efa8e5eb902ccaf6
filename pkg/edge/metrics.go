package edge

import (
	"context"
	"errors"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-chat/parley/pkg/authn"
	"github.com/parley-chat/parley/pkg/hub"
	"github.com/parley-chat/parley/pkg/metrics"
	"github.com/parley-chat/parley/pkg/token"
)

// Counters resolved once: the writer updates them for every batch it
// writes, so they must cost an atomic add and nothing more.
var (
	sentMessages  = metrics.EdgeSent("message")
	sentReady     = metrics.EdgeSent("ready")
	sentSubscribe = metrics.EdgeSent("subscribed")
	sentAck       = metrics.EdgeSent("ack")
	sentError     = metrics.EdgeSent("error")
)

// countEncoded counts a server frame other than a message when it is
// queued.
func countEncoded(v any) {
	switch v.(type) {
	case readyFrame:
		sentReady.Inc()
	case subscribedFrame:
		sentSubscribe.Inc()
	case ackFrame:
		sentAck.Inc()
	case errorFrame:
		sentError.Inc()
	}
}

// countWritten counts the messages among frames just written; the other
// frames were counted when they were queued.
func countWritten(items []*hub.Frame) {
	n := 0
	for _, f := range items {
		if f.ID != 0 {
			n++
		}
	}
	if n > 0 {
		sentMessages.Add(float64(n))
	}
}

// peerCode is the close code of a socket that the peer closed or lost.
func peerCode(err error) int {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return websocket.CloseAbnormalClosure
}

// authFailure names why an auth frame was refused, or "" when it was
// not. otherUser says the token is valid but for another user.
func authFailure(err error, otherUser bool) string {
	switch {
	case errors.Is(err, authn.ErrUnavailable):
		return metrics.AuthUnavailable
	case errors.Is(err, token.ErrExpired):
		return metrics.AuthExpired
	case errors.Is(err, authn.ErrRevoked):
		return metrics.AuthRevoked
	case err != nil:
		return metrics.AuthInvalid
	case otherUser:
		return metrics.AuthOtherUser
	}
	return ""
}

// closeSpread closes conns with 1012 spread evenly over window, so that
// their clients come back to the other edges gradually rather than all
// at once. When ctx ends it stops pacing and closes the rest at once.
func closeSpread(ctx context.Context, conns []*conn, window time.Duration) {
	start := time.Now()
	for i, c := range conns {
		at := start.Add(window * time.Duration(i) / time.Duration(len(conns)))
		if wait := time.Until(at); wait > 0 && ctx.Err() == nil {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		}
		c.closeWith(closeRestart, "server shutting down")
	}
}

// countReceived counts one client object by its type, or as invalid.
func countReceived(f frame, err *wireError) {
	if err != nil {
		metrics.EdgeReceived("invalid").Inc()
		return
	}
	metrics.EdgeReceived(f.Type).Inc()
}
