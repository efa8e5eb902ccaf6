package revocation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/nats-io/nats.go"
)

// Subject is the NATS subject on which the auth service announces
// revocations, and every edge listens, so that the sockets of a revoked
// session close at once instead of when their access token expires.
const Subject = "parley.revoked"

// maxBatch is how many session ids one announcement carries, which keeps
// each message far below the NATS default payload limit of 1 MB.
const maxBatch = 1000

// maxAnnouncement is the largest announcement a listener decodes.
const maxAnnouncement = 64 << 10

// Announcement is the body of a message on Subject: the ids of sessions
// just revoked. Revoking every session of a user announces each of them,
// so a listener needs nothing but session ids.
type Announcement struct {
	Sessions []string `json:"sessions"`
}

// Announce publishes sids on Subject, in batches. Publishing only
// queues the message: while NATS is unreachable it waits in the
// client's reconnect buffer, and a listener that misses it anyway is
// covered by the denylist, which it consults on every auth frame.
func Announce(nc *nats.Conn, sids []string) error {
	for len(sids) > 0 {
		n := min(len(sids), maxBatch)
		data, err := json.Marshal(Announcement{Sessions: sids[:n]})
		if err != nil {
			return fmt.Errorf("encoding revocation: %w", err)
		}
		if err := nc.Publish(Subject, data); err != nil {
			return fmt.Errorf("announcing revocation: %w", err)
		}
		sids = sids[n:]
	}
	return nil
}

// Announcer returns a function for auth.Config.OnRevoke that announces
// on nc. A failure is logged rather than returned: the revocation is
// already stored, and the denylist still refuses the session at the next
// auth frame.
func Announcer(nc *nats.Conn, log *slog.Logger) func(context.Context, []string) {
	return func(_ context.Context, sids []string) {
		if err := Announce(nc, sids); err != nil {
			log.Error("announcing revocation", "err", err)
		}
	}
}

// DecodeAnnouncement parses the body of a message on Subject. Anything
// that can publish on NATS can send one, so it is bounded in size and
// must name only non-empty session ids.
func DecodeAnnouncement(data []byte) (Announcement, error) {
	if len(data) > maxAnnouncement {
		return Announcement{}, fmt.Errorf("revocation of %d bytes is too large", len(data))
	}
	var a Announcement
	if err := json.Unmarshal(data, &a); err != nil {
		return Announcement{}, fmt.Errorf("decoding revocation: %w", err)
	}
	for _, sid := range a.Sessions {
		if sid == "" {
			return Announcement{}, errors.New("decoding revocation: empty session id")
		}
	}
	return a, nil
}

// Listen subscribes to Subject on nc and calls revoked with the session
// ids of each announcement, on the subscription's goroutine, one at a
// time. Malformed announcements are logged and skipped. The caller owns
// the subscription and unsubscribes it to stop.
func Listen(nc *nats.Conn, log *slog.Logger, revoked func(sids []string)) (*nats.Subscription, error) {
	sub, err := nc.Subscribe(Subject, func(m *nats.Msg) {
		a, err := DecodeAnnouncement(m.Data)
		if err != nil {
			log.Warn("ignoring revocation announcement", "err", err)
			return
		}
		if len(a.Sessions) > 0 {
			revoked(a.Sessions)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("subscribing to revocations: %w", err)
	}
	return sub, nil
}
