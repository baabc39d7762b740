import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ChatMessage, Presence, Status, TypingChange } from '../../clients/sdk/index.js'
import { TestBroker } from './helpers/broker.js'
import { next } from './helpers/events.js'
import { recordingTransports } from './helpers/recording-transport.js'
import { TcpProxy } from './helpers/tcp-proxy.js'

describe('presence and typing over a real broker', () => {
  let broker: TestBroker
  beforeAll(async () => { broker = await TestBroker.start() })
  afterAll(async () => { await broker.stop() })

  it('reports a watched contact online, then offline with last seen when its link is cut, then online again', async () => {
    const proxy = await TcpProxy.start(broker.broker.ports.tcp)
    try {
      const recorded = recordingTransports()
      // Alice comes back after the broker has seen her link go (~0.3 s, not at once): a CONNECT
      // that overtakes the old socket's close is a takeover, and a takeover is never an offline.
      const alice = await broker.connected('alice', 'phone', { url: proxy.url, backoff: { baseMs: 300, capMs: 400 }, transportFactory: recorded.factory })
      expect(recorded.options[0]!.will).toEqual({ topic: 'c/o', payload: new Uint8Array(0), qos: 0 })
      const bob = await broker.connected('bob', 'phone')
      const seen: Presence[] = []
      bob.onPresence((p) => seen.push(p))

      const online = next<Presence>((h) => bob.onPresence(h))
      bob.watch('alice')
      expect(await online).toEqual({ contact: 'alice', online: true })

      const before = Math.floor(Date.now() / 1000)
      const offline = next<Presence>((h) => bob.onPresence(h), (p) => !p.online)
      const back = next<Presence>((h) => bob.onPresence(h), (p) => p.online)
      const aliceReconnected = next<Status>((h) => alice.onStatus(h), (s) => s.type === 'connected')
      proxy.cut()
      const gone = await offline
      expect(gone.lastSeen).toBeGreaterThanOrEqual(before)
      await aliceReconnected
      await back
      expect(bob.presence('alice')).toEqual({ contact: 'alice', online: true })
      expect(seen.map((p) => p.online)).toEqual([true, false, true])
    } finally {
      await proxy.stop()
    }
  })

  it('watches again after its own reconnect, and stops after unwatch()', async () => {
    const proxy = await TcpProxy.start(broker.broker.ports.tcp)
    try {
      await broker.connected('carol', 'phone')
      const dave = await broker.connected('dave', 'phone', { url: proxy.url, backoff: { baseMs: 20, capMs: 50 } })
      const first = next<Presence>((h) => dave.onPresence(h))
      dave.watch('carol')
      await first
      const again = next<Presence>((h) => dave.onPresence(h))
      proxy.cut()
      // The broker forgot the watch with the connection; the SDK subscribed again and got the state at once.
      expect(await again).toEqual({ contact: 'carol', online: true })

      dave.unwatch('carol')
      const updates: Presence[] = []
      dave.onPresence((p) => updates.push(p))
      const control = next<Presence>((h) => dave.onPresence(h))
      dave.watch('dave')
      await control
      expect(updates).toEqual([{ contact: 'dave', online: true }])
      expect(dave.presence('carol')).toBeUndefined()
    } finally {
      await proxy.stop()
    }
  })

  it('applies presence privacy: "contacts" shows a contact and hides from a stranger', async () => {
    const erin = await broker.connected('erin', 'phone')
    const friend = await broker.connected('frank', 'phone')
    const stranger = await broker.connected('gina', 'phone')
    await erin.addContact('frank')
    await erin.setPresencePrivacy('contacts')
    const friendSees = next<Presence>((h) => friend.onPresence(h))
    friend.watch('erin')
    expect(await friendSees).toEqual({ contact: 'erin', online: true })
    const strangerSaw: Presence[] = []
    stranger.onPresence((p) => strangerSaw.push(p))
    stranger.watch('erin')
    // Control: a contact without restrictions is seen by the same watcher after erin's would have been.
    const control = next<Presence>((h) => stranger.onPresence(h), (p) => p.contact === 'frank')
    stranger.watch('frank')
    await control
    expect(strangerSaw.map((p) => p.contact)).toEqual(['frank'])
    await expect(erin.addContact('nobody-here')).rejects.toMatchObject({ errorName: 'UNKNOWN_RECIPIENT' })
  })

  it('shows typing to the recipient, and its end when the message comes', async () => {
    const hank = await broker.connected('hank', 'phone')
    const ivy = await broker.connected('ivy', 'phone')
    const started = next<TypingChange>((h) => ivy.onTyping(h))
    hank.typing('ivy')
    expect(await started).toEqual({ conversation: { user: 'hank' }, from: 'hank', typing: true })
    expect(ivy.typingIn('hank')).toEqual(['hank'])
    const stopped = next<TypingChange>((h) => ivy.onTyping(h))
    const message = next<ChatMessage>((h) => ivy.onMessage(h))
    await hank.send('ivy', 'done typing')
    expect(await stopped).toEqual({ conversation: { user: 'hank' }, from: 'hank', typing: false })
    await message
    expect(ivy.typingIn('hank')).toEqual([])
  })
})
