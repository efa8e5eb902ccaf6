package edge

import (
	"io"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-chat/parley/pkg/hub"
	"github.com/parley-chat/parley/pkg/metrics"
)

var newline = []byte{'\n'}

// wake is the queue's hook after a push: it starts a writer unless one
// is running. A writer lives only while frames wait, so an idle socket
// keeps no goroutine stack for it.
func (c *conn) wake() {
	c.gmu.Lock()
	start := !c.writing && !c.stopped
	if start {
		c.writing = true
		c.wg.Add(1)
	}
	c.gmu.Unlock()
	if start {
		go c.writeLoop()
	}
}

// writeLoop is the writer: each round it drains everything queued and
// packs it into as few frames as possible, then waits Coalesce for more,
// until a round finds nothing.
func (c *conn) writeLoop() {
	defer c.wg.Done()
	var spare []*hub.Frame
	for {
		items, slow := c.q.Drain(spare)
		if err := c.write(items); err != nil {
			c.writeFailed(err)
			c.parkWriter(true)
			return
		}
		countWritten(items)
		clear(items) // the frames may be large; do not keep them alive
		spare = items
		if slow {
			metrics.EdgeSlowDisconnects.Inc()
			c.closeWith(closeTryLater, "too slow")
			c.parkWriter(true)
			return
		}
		if c.s.cfg.Coalesce > 0 {
			// Not a timer of the socket's: the writer exists only while
			// the socket is busy, and this wait is what makes it cheap.
			time.Sleep(c.s.cfg.Coalesce)
		}
		if c.parkWriter(false) {
			return
		}
	}
}

// parkWriter lets the writer end unless frames arrived since its last
// drain. With forever, it ends for good: the socket is being closed.
func (c *conn) parkWriter(forever bool) bool {
	c.gmu.Lock()
	defer c.gmu.Unlock()
	if !forever && c.q.Pending() {
		return false
	}
	c.writing = false
	if forever {
		c.stopped = true
	}
	return true
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
