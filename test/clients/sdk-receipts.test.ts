import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ReadWatermark } from '../../protocol/envelopes.js'
import type { ChatMessage, ChatReceipt, MessageStatusChange, UnreadChange } from '../../clients/sdk/index.js'
import { TestBroker } from './helpers/broker.js'
import { collect, next } from './helpers/events.js'
import { recordingTransports } from './helpers/recording-transport.js'

describe('message statuses and read watermarks over a real broker', () => {
  let broker: TestBroker
  beforeAll(async () => { broker = await TestBroker.start() })
  afterAll(async () => { await broker.stop() })

  it('moves each of my messages sent → delivered → read, once each, and answers messageStatus()', async () => {
    const bob = await broker.connected('bob', 'phone')
    const alice = await broker.connected('alice', 'phone')
    const changes: MessageStatusChange[] = []
    alice.onMessageStatus((c) => changes.push(c))
    const bobGot = collect<ChatMessage>((h) => bob.onMessage(h), 2)

    const delivered = next<MessageStatusChange>((h) => alice.onMessageStatus(h), (c) => c.status === 'delivered' && c.cseq === 2)
    const first = await alice.send('bob', 'one')
    const second = await alice.send('bob', 'two')
    await delivered
    expect(alice.messageStatus(first.id)).toBe('delivered')

    const [, last] = await bobGot.done
    const read = collect<MessageStatusChange>((h) => alice.onMessageStatus(h), 2)
    expect(bob.markRead('alice', last!.cseq)).toBe(true)
    await read.done
    expect(alice.messageStatus(first.id)).toBe('read')
    expect(alice.messageStatus(second.id)).toBe('read')
    // Per message, each step once and in order (the two messages' steps may interleave).
    for (const sent of [first, second]) {
      expect(changes.filter((c) => c.id === sent.id).map((c) => c.status)).toEqual(['sent', 'delivered', 'read'])
    }
    expect(changes[0]).toEqual({ id: first.id, conversation: { user: 'bob' }, cseq: first.cseq, status: 'sent' })
  })

  it('sends one watermark per forward step and one read receipt for it; another device of the reader learns it', async () => {
    const recorded = recordingTransports()
    const carol = await broker.connected('carol', 'phone', { transportFactory: recorded.factory })
    const carolTablet = await broker.connected('carol', 'tablet')
    const dave = await broker.connected('dave', 'phone')
    const carolGot = collect<ChatMessage>((h) => carol.onMessage(h), 3)
    const tabletGot = collect<ChatMessage>((h) => carolTablet.onMessage(h), 3)
    for (const text of ['a', 'b', 'c']) await dave.send('carol', text)
    const messages = await carolGot.done
    await tabletGot.done
    expect(carol.unread('dave')).toBe(3)
    expect(carolTablet.unread({ user: 'dave' })).toBe(3)

    const daveReads: ChatReceipt[] = []
    dave.onReceipt((r) => { if (r.status === 'read') daveReads.push(r) })
    const tabletLearns = next<UnreadChange>((h) => carolTablet.onUnread(h))
    expect(carol.markRead('dave', messages[1]!.cseq)).toBe(true)
    expect(carol.markRead('dave', messages[0]!.cseq)).toBe(false)
    expect(carol.markRead('dave', messages[1]!.cseq)).toBe(false)
    expect(carol.unread('dave')).toBe(1)
    expect(await tabletLearns).toEqual({ conversation: { user: 'dave' }, count: 1, readUpTo: messages[1]!.cseq })

    // What the tablet learnt is not sent again from there either.
    expect(carolTablet.markRead('dave', messages[1]!.cseq)).toBe(false)
    // A later step is the control: its receipt comes after any the repeated calls could have caused.
    const lastRead = next<ChatReceipt>((h) => dave.onReceipt(h), (r) => r.status === 'read' && r.cseq === messages[2]!.cseq)
    expect(carol.markRead('dave', messages[2]!.cseq)).toBe(true)
    await lastRead
    expect(daveReads.map((r) => [r.peer, r.cseq])).toEqual([['carol', messages[1]!.cseq], ['carol', messages[2]!.cseq]])
    expect(recorded.published('c/d').map((p) => ReadWatermark.decode(p))).toEqual([
      { peer: 'dave', cseq: messages[1]!.cseq }, { peer: 'dave', cseq: messages[2]!.cseq }
    ])
  })

  it('does not count my own messages as unread', async () => {
    const erin = await broker.connected('erin', 'phone')
    const frank = await broker.connected('frank', 'phone')
    const got = collect<ChatMessage>((h) => erin.onMessage(h), 1)
    await frank.send('erin', 'hi erin')
    await erin.send('frank', 'hi frank')
    await got.done
    expect(erin.unread('frank')).toBe(1)
  })
})
