import { describe, expect, it } from 'vitest'
import { TypingNotice, TypingSignal } from '../../protocol/envelopes.js'
import type { TypingChange } from '../../clients/sdk/index.js'
import { inboxMessage, open, statusAfter } from './helpers/fake-client.js'
import { connectedFake } from './helpers/fake-connected.js'
import type { FakeTransport } from './helpers/fake-transport.js'

const signals = (transport: FakeTransport) => transport.published('c/t').map((p) => TypingSignal.decode(p.payload))

describe('typing (fake transport, fake clock)', () => {
  it('sends "typing" at most once per 3 s while keys keep coming, and "stopped" 5 s after the last one', async () => {
    const { client, clock, transport } = await connectedFake()
    client.typing('bob')
    for (let t = 500; t < 3000; t += 500) {
      clock.advance(500)
      client.typing('bob')
    }
    expect(clock.now()).toBe(2500)
    expect(signals(transport)).toEqual([{ to: 'bob', state: 1 }])
    clock.advance(499)
    client.typing('bob')
    expect(signals(transport)).toHaveLength(1)
    clock.advance(1)
    client.typing('bob') // 3000 ms after the first: the refresh
    expect(signals(transport)).toEqual([{ to: 'bob', state: 1 }, { to: 'bob', state: 1 }])
    expect(transport.publishes.filter((p) => p.topic === 'c/t').every((p) => p.qos === 0)).toBe(true)

    clock.advance(4999)
    expect(signals(transport)).toHaveLength(2)
    clock.advance(1)
    expect(signals(transport)).toEqual([{ to: 'bob', state: 1 }, { to: 'bob', state: 1 }, { to: 'bob', state: 0 }])
    expect(clock.pending).toEqual([])
  })

  it('sends "stopped" on send, and per conversation (a group carries its flag)', async () => {
    const { client, clock, transport } = await connectedFake()
    client.typing({ group: 'g1' })
    client.typing('bob')
    void client.send('bob', 'hi').catch(() => {})
    expect(signals(transport)).toEqual([{ to: 'g1', state: 1, group: true }, { to: 'bob', state: 1 }, { to: 'bob', state: 0 }])
    client.stopTyping('bob') // nothing was typed since: nothing to say
    client.stopTyping({ group: 'g1' })
    expect(signals(transport)).toHaveLength(4)
    expect(signals(transport)[3]).toEqual({ to: 'g1', state: 0, group: true })
    expect(clock.pending.filter((ms) => ms === 5000)).toEqual([])
  })

  it('sends nothing offline, and types afresh once connected again', async () => {
    const { client, clock, transports, transport } = await connectedFake()
    await statusAfter(client, 'reconnecting', () => transport.drop())
    client.typing('bob')
    expect(signals(transport)).toEqual([])
    clock.advance(250)
    const second = await transports.waitFor(2)
    await statusAfter(client, 'connected', () => { void open(second) })
    client.typing('bob')
    expect(signals(second)).toEqual([{ to: 'bob', state: 1 }])
    expect(() => client.typing('not a valid id!')).toThrow(/not a user id/)
  })

  it('reports others typing once, refreshed by each notice, and expires it after exactly 5 s of silence', async () => {
    const { client, clock, transport } = await connectedFake()
    const changes: TypingChange[] = []
    client.onTyping((c) => changes.push(c))
    transport.deliver('u/alice/t', TypingNotice.encode({ from: 'bob', state: 1 }))
    clock.advance(3000)
    transport.deliver('u/alice/t', TypingNotice.encode({ from: 'bob', state: 1 }))
    expect(changes).toEqual([{ conversation: { user: 'bob' }, from: 'bob', typing: true }])
    expect(client.typingIn('bob')).toEqual(['bob'])
    clock.advance(4999)
    expect(changes).toHaveLength(1)
    clock.advance(1)
    expect(changes).toEqual([
      { conversation: { user: 'bob' }, from: 'bob', typing: true },
      { conversation: { user: 'bob' }, from: 'bob', typing: false }
    ])
    expect(client.typingIn('bob')).toEqual([])
    expect(clock.pending).toEqual([])
  })

  it('ends typing on "stopped" or on the typist\'s message, per conversation', async () => {
    const { client, clock, transport } = await connectedFake()
    const changes: TypingChange[] = []
    client.onTyping((c) => changes.push(c))
    transport.deliver('u/alice/t', TypingNotice.encode({ from: 'carol', state: 1, group: 'g1' }))
    transport.deliver('u/alice/t', TypingNotice.encode({ from: 'bob', state: 1 }))
    expect(client.typingIn({ group: 'g1' })).toEqual(['carol'])
    transport.deliver('u/alice/t', TypingNotice.encode({ from: 'carol', state: 0, group: 'g1' }))
    transport.deliver('u/alice', inboxMessage(1, { from: 'bob' }))
    expect(changes.map((c) => [c.conversation, c.from, c.typing])).toEqual([
      [{ group: 'g1' }, 'carol', true], [{ user: 'bob' }, 'bob', true], [{ group: 'g1' }, 'carol', false], [{ user: 'bob' }, 'bob', false]
    ])
    expect(clock.pending.filter((ms) => ms === 5000)).toEqual([])
  })
})
