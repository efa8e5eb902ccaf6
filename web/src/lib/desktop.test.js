import { describe, expect, it } from 'vitest'
import { createDesktop, notificationText } from './desktop.js'

function fakeNotification(permission) {
  const made = []
  class Notification {
    constructor(title, opts) {
      this.title = title
      this.opts = opts
      made.push(this)
    }
    close() {
      this.closed = true
    }
  }
  Notification.permission = permission
  Notification.asked = 0
  Notification.requestPermission = async () => {
    Notification.asked++
    Notification.permission = 'granted'
    return 'granted'
  }
  return { Notification, made }
}

const msg = (id, username, text) => ({ id, user: { id, username }, message: text })

describe('createDesktop', () => {
  it('shows nothing, and asks nothing, until permission is granted on request', async () => {
    const { Notification, made } = fakeNotification('default')
    const desktop = createDesktop({ Notification, win: {} })
    expect(desktop.show('c1', [msg(1, 'bob', 'hi')])).toBeNull()
    expect(Notification.asked).toBe(0)
    expect(await desktop.ask()).toBe('granted')
    desktop.show('c1', [msg(1, 'bob', 'hi')])
    expect(made.map((n) => [n.title, n.opts.body, n.opts.tag])).toEqual([
      ['bob wrote', 'bob: hi', 'parley:c1'],
    ])
  })

  it('brings the chat forward when clicked', () => {
    const { Notification, made } = fakeNotification('granted')
    let focused = 0
    let opened = 0
    const desktop = createDesktop({ Notification, win: { focus: () => focused++ } })
    desktop.show('c1', [msg(1, 'bob', 'hi')], () => opened++)
    made[0].onclick()
    expect([focused, opened, made[0].closed]).toEqual([1, 1, true])
  })

  it('does nothing where notifications do not exist', async () => {
    const desktop = createDesktop({ Notification: undefined })
    expect(desktop.permission()).toBe('unsupported')
    expect(await desktop.ask()).toBe('unsupported')
    expect(desktop.show('c1', [msg(1, 'bob', 'hi')])).toBeNull()
  })
})

describe('notificationText', () => {
  it('names the writers of several messages and quotes the last', () => {
    const text = notificationText([msg(1, 'bob', 'a'), msg(2, 'cy', 'b'), msg(3, 'bob', 'c')])
    expect(text).toEqual({ title: '3 new messages', body: 'From bob, cy. bob: c' })
  })

  it('shortens a long message', () => {
    const { body } = notificationText([msg(1, 'bob', 'x'.repeat(500))])
    expect([...body]).toHaveLength(180)
    expect(body.endsWith('…')).toBe(true)
  })
})
