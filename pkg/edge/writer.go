package edge

import (
	"io"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-chat/parley/pkg/hub"
)

var newline = []byte{'\n'}

// writeLoop is the writer goroutine: it packs whatever waits in the queue
// into as few frames as possible, and on its one timer pings the peer and
// enforces the token's expiry.
func (c *conn) writeLoop() {
	defer c.wg.Done()
	interval := c.s.cfg.PingInterval
	nextPing := time.Now().Add(interval)
	due := nextPing
	timer := time.NewTimer(interval)
	defer timer.Stop()

	var spare []*hub.Frame
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-c.q.Ready():
			items, slow := c.q.Drain(spare)
			if err := c.write(items); err != nil {
				c.writeFailed(err)
				return
			}
			clear(items) // the frames may be large; do not keep them alive
			spare = items
			if slow {
				c.closeWith(closeTryLater, "too slow")
			}
		case now := <-timer.C:
			if c.closing.Load() {
				continue // nothing more to enforce; the timer stays stopped
			}
			if c.expired(now) {
				c.closeWith(closeAuth, reasonExpired)
				continue
			}
			if !now.Before(nextPing) {
				if err := c.ping(now); err != nil {
					c.writeFailed(err)
					return
				}
				nextPing = now.Add(interval)
			}
			due = time.Time{} // the timer has fired: arm it again below
		}
		due = c.rearm(timer, due, nextPing)
	}
}

// rearm points the timer at the earlier of the next ping and the token's
// expiry, when that differs from where it points now. A new auth frame
// moves the expiry; the writer learns of it when its ready frame wakes
// the loop.
func (c *conn) rearm(timer *time.Timer, due, nextPing time.Time) time.Time {
	if c.closing.Load() {
		return due
	}
	want := nextPing
	if exp := c.expires.Load(); exp != 0 && exp < want.UnixNano() {
		want = time.Unix(0, exp)
	}
	if !want.Equal(due) {
		timer.Reset(time.Until(want))
	}
	return want
}

func (c *conn) expired(now time.Time) bool {
	exp := c.expires.Load()
	return exp != 0 && now.UnixNano() >= exp
}

func (c *conn) ping(now time.Time) error {
	return c.ws.WriteControl(websocket.PingMessage, nil, now.Add(c.s.cfg.WriteTimeout))
}

// writeFailed handles a failed write. After our close frame went out that
// is expected; otherwise the peer is gone or stuck, and cutting the
// connection wakes the reader, which cleans up.
func (c *conn) writeFailed(err error) {
	if c.closing.Load() {
		return
	}
	c.s.log.Debug("socket write failed", "conn", c.id, "err", err)
	c.cut()
}

// write sends items as frames of objects joined by newlines, each frame
// at most MaxFrame bytes unless one object alone is larger.
func (c *conn) write(items []*hub.Frame) error {
	if len(items) == 0 {
		return nil
	}
	if err := c.ws.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteTimeout)); err != nil {
		return err
	}
	var w io.WriteCloser
	size := 0
	for _, f := range items {
		if w != nil && size+1+len(f.Data) > c.s.cfg.MaxFrame {
			if err := w.Close(); err != nil {
				return err
			}
			w = nil
		}
		var err error
		if w == nil {
			w, err = c.ws.NextWriter(websocket.TextMessage)
			size = 0
		} else {
			_, err = w.Write(newline)
			size++
		}
		if err != nil {
			return err
		}
		if _, err := w.Write(f.Data); err != nil {
			return err
		}
		size += len(f.Data)
	}
	return w.Close()
}
