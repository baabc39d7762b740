import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DirectSend } from '../../protocol/envelopes.js'
import { mqttTransportFactory, type ChatMessage, type Status } from '../../clients/sdk/index.js'
import { TestBroker } from './helpers/broker.js'
import { collect, next } from './helpers/events.js'
import { loseFirstConfirmation } from './helpers/lossy-transport.js'
import { TcpProxy } from './helpers/tcp-proxy.js'

describe('SDK recovery over a real broker', () => {
  let broker: TestBroker
  beforeAll(async () => { broker = await TestBroker.start() })
  afterAll(async () => { await broker.stop() })

  it('an offline device resumes from its cursor and gets every missed message, in order, once', async () => {
    const alice = await broker.connected('alice', 'phone')
    const bobPhone = await broker.connected('bob', 'phone')
    const delivered = next<ChatMessage>((h) => bobPhone.onMessage(h))
    await alice.send('bob', 'before')
    await delivered
    const cursor = bobPhone.cursor
    await bobPhone.close()

    const sent = []
    for (let i = 0; i < 50; i++) sent.push(await alice.send('bob', `missed ${i}`))

    const bobAgain = await broker.client('bob', 'phone', { cursor })
    const cursors: number[] = []
    bobAgain.onCursor((c) => cursors.push(c))
    const received = collect<ChatMessage>((h) => bobAgain.onMessage(h), 50)
    await bobAgain.connect()
    const head = await bobAgain.synced()
    const messages = await received.done
    expect(messages.map((m) => m.text)).toEqual(sent.map((_, i) => `missed ${i}`))
    expect(messages.map((m) => m.id)).toEqual(sent.map((s) => s.id))
    const seqs = messages.map((m) => m.seq)
    expect(seqs).toEqual(seqs.map((_, i) => cursor + 1 + i))
    expect(head).toBe(cursor + 50)
    expect(cursors).toEqual(seqs)
  })

  it('resends an unconfirmed send after the link drops; it is stored and delivered once', async () => {
    const bob = await broker.connected('bob', 'tablet')
    const lossy = loseFirstConfirmation(mqttTransportFactory())
    const alice = await broker.client('alice', 'flaky', { transportFactory: lossy.factory, backoff: { baseMs: 20, capMs: 100 } })
    await alice.connect()
    await alice.synced()
    const bobGot: ChatMessage[] = []
    bob.onMessage((m) => bobGot.push(m))

    const reconnected = next<Status>((h) => alice.onStatus(h), (s) => s.type === 'connected')
    const result = await alice.send('bob', 'exactly once')
    await lossy.lost
    await reconnected
    const bobGotAfter = next<ChatMessage>((h) => bob.onMessage(h), (m) => m.text === 'and then this')
    await alice.send('bob', 'and then this')
    await bobGotAfter

    // Published twice with the same client id (before and after the drop), stored once.
    const ids = lossy.sends.map((payload) => Buffer.from(DirectSend.decode(payload).clientMsgId as Uint8Array).toString('hex'))
    expect(ids).toEqual([Buffer.from(result.clientMsgId).toString('hex'), ids[0], expect.not.stringMatching(ids[0]!)])
    expect(bobGot.map((m) => m.text)).toEqual(['exactly once', 'and then this'])
    expect(bobGot[0]!.id).toBe(result.id)
    const inbox = await broker.broker.storage.messages.readInbox('bob', 0, 1000)
    expect(inbox.filter((e) => e.message?.body === 'exactly once')).toHaveLength(1)
  })

  it('reconnects after the network drops every connection, and catches up both ways', async () => {
    const proxy = await TcpProxy.start(broker.broker.ports.tcp)
    try {
      const bob = await broker.connected('bob', 'laptop')
      const alice = await broker.connected('alice', 'train', { url: proxy.url, backoff: { baseMs: 20, capMs: 100 } })
      const aliceGot: ChatMessage[] = []
      alice.onMessage((m) => aliceGot.push(m))

      const statuses: string[] = []
      alice.onStatus((s) => statuses.push(s.type + (s.type === 'disconnected' && s.error !== undefined ? `: ${s.error.message}` : '')))
      const disconnected = next<Status>((h) => alice.onStatus(h), (s) => s.type === 'disconnected')
      const resynced = next<number>((h) => alice.onSynced(h))
      proxy.cut()
      await disconnected
      // Sent while the link is down: bob's is stored for alice, alice's waits in her outbox.
      const fromBob = await bob.send('alice', 'while you were in the tunnel')
      const fromAlice = alice.send('bob', 'typed in the tunnel')
      const bobReceives = next<ChatMessage>((h) => bob.onMessage(h), (m) => m.text === 'typed in the tunnel')

      await expect(fromAlice).resolves.toMatchObject({ id: expect.any(String) })
      await bobReceives
      await resynced
      expect(aliceGot.filter((m) => m.id === fromBob.id)).toHaveLength(1)
      // (The exact sequence is the fake-clock tests' business; a real link may need more attempts.)
      expect(statuses[0]).toMatch(/^disconnected/)
      expect(statuses[1]).toMatch(/^reconnecting/)
      expect(statuses).toContain('connected')
    } finally {
      await proxy.stop()
    }
  })
})
