package edge

import (
	"time"

	"github.com/gorilla/websocket"
)

// A socket's clock is one timer, set for the earlier of the next ping
// and the token's expiry. Its function runs on a goroutine of its own
// only while it fires, so an idle socket holds no goroutine for it.

func (c *conn) startClock() {
	c.tmu.Lock()
	defer c.tmu.Unlock()
	c.nextPing = time.Now().Add(c.s.cfg.PingInterval)
	c.clock = time.AfterFunc(c.s.cfg.PingInterval, c.tick)
}

// tick closes a socket whose token expired, or pings it when due.
func (c *conn) tick() {
	if !c.enter() {
		return
	}
	defer c.wg.Done()
	if c.closing.Load() {
		return
	}
	now := time.Now()
	if c.expired(now) {
		c.closeWith(closeAuth, reasonExpired)
		return
	}
	c.tmu.Lock()
	ping := !now.Before(c.nextPing)
	if ping {
		c.nextPing = now.Add(c.s.cfg.PingInterval)
	}
	c.tmu.Unlock()
	if ping {
		err := c.ws.WriteControl(websocket.PingMessage, nil, now.Add(c.s.cfg.WriteTimeout))
		if err != nil {
			c.writeFailed(err)
			return
		}
	}
	c.rearm()
}

// rearm points the clock at the earlier of the next ping and the token's
// expiry. It runs after each tick and whenever an auth frame moves the
// expiry.
func (c *conn) rearm() {
	if c.closing.Load() {
		return
	}
	c.tmu.Lock()
	defer c.tmu.Unlock()
	due := c.nextPing
	if exp := c.expires.Load(); exp != 0 && exp < due.UnixNano() {
		due = time.Unix(0, exp)
	}
	c.clock.Reset(time.Until(due))
}

func (c *conn) expired(now time.Time) bool {
	exp := c.expires.Load()
	return exp != 0 && now.UnixNano() >= exp
}

// enter counts the calling goroutine as the socket's, unless the socket
// is finishing.
func (c *conn) enter() bool {
	c.gmu.Lock()
	defer c.gmu.Unlock()
	if c.stopped {
		return false
	}
	c.wg.Add(1)
	return true
}
