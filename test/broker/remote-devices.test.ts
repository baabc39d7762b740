import { describe, expect, it } from 'vitest'
import { RemoteDevices } from '../../broker/cluster/remote-devices.js'

function setup () {
  const changes: Array<{ user: string, reaped: boolean }> = []
  const remote = new RemoteDevices((user, change, reaped) => {
    changes.push({ user, reaped })
    change()
  })
  const view = (user: string) => Object.fromEntries(remote.of(user) ?? [])
  return { remote, changes, view }
}

describe('the mirror of the devices on other nodes', () => {
  it('keeps each user\'s devices with their nodes, and tells each change once', () => {
    const { remote, changes, view } = setup()
    remote.set('n1', 'ann/phone', true)
    remote.set('n2', 'ann/laptop', true)
    remote.set('n1', 'ann/phone', true) // already known: no change
    expect(view('ann')).toEqual({ phone: 'n1', laptop: 'n2' })
    expect(changes.map((c) => c.user)).toEqual(['ann', 'ann'])
    expect(remote.nodes().sort()).toEqual(['n1', 'n2'])
    remote.set('n2', 'ann/laptop', false)
    expect(view('ann')).toEqual({ phone: 'n1' })
    expect(remote.nodes()).toEqual(['n1'])
    remote.set('n1', 'ann/phone', false)
    expect(remote.of('ann')).toBeUndefined()
    expect(remote.nodes()).toEqual([])
  })

  it('moves a device taken over by another node, and ignores the old node\'s late "off"', () => {
    const { remote, view } = setup()
    remote.set('n1', 'bob/phone', true)
    remote.set('n2', 'bob/phone', true)
    expect(view('bob')).toEqual({ phone: 'n2' })
    expect(remote.nodes()).toEqual(['n2'])
    remote.set('n1', 'bob/phone', false)
    expect(view('bob')).toEqual({ phone: 'n2' })
  })

  it('replaces one node\'s devices with a reloaded list, leaving other nodes\' alone', () => {
    const { remote, changes, view } = setup()
    remote.set('n1', 'ann/phone', true)
    remote.set('n10', 'ann/laptop', true) // a node id that n1 is a prefix of
    remote.set('n1', 'cat/phone', true)
    changes.length = 0
    remote.replace('n1', ['cat/phone', 'dan/phone'])
    expect(view('ann')).toEqual({ laptop: 'n10' })
    expect(view('cat')).toEqual({ phone: 'n1' })
    expect(view('dan')).toEqual({ phone: 'n1' })
    expect(changes).toEqual([{ user: 'ann', reaped: false }, { user: 'dan', reaped: false }])
  })

  it('drops every device of a dead node, saying they were reaped', () => {
    const { remote, changes, view } = setup()
    remote.set('n1', 'ann/phone', true)
    remote.set('n1', 'ann/tablet', true)
    remote.set('n2', 'ann/laptop', true)
    changes.length = 0
    remote.replace('n1', [], true)
    expect(view('ann')).toEqual({ laptop: 'n2' })
    expect(changes).toEqual([{ user: 'ann', reaped: true }, { user: 'ann', reaped: true }])
    expect(remote.nodes()).toEqual(['n2'])
  })

  it('ignores a client id that names no user', () => {
    const { remote, changes } = setup()
    remote.set('n1', 'no-slash', true)
    remote.set('n1', '/phone', true)
    expect(changes).toEqual([])
    expect(remote.nodes()).toEqual([])
  })
})
