import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ReadWatermark, Receipt, TypingNotice, TypingSignal } from '../../protocol/envelopes.js'
import { HistoryItem, HistoryPage, OP } from '../../protocol/requests.js'
import { startTestBroker, type TestBroker } from '../helpers/broker.js'
import { request, sendRaw } from '../helpers/chat.js'
import { Inbox } from '../helpers/messages.js'

const typing = (state: 0 | 1, to: string) => Buffer.from(TypingSignal.encode({ to, state }))

describe('typing', () => {
  let broker: TestBroker
  beforeAll(async () => { broker = await startTestBroker({ rateBurst: 1000, rateLimit: 1000 }) })
  afterAll(() => broker.close())

  it('reaches the recipient\'s devices at QoS 0 and is never stored', async () => {
    const bob = await broker.device('bob', 'phone')
    const seen = new Inbox(bob)
    const alice = await broker.device('alice', 'phone')
    const heads = async () => [await broker.storage.messages.inboxHead('alice'), await broker.storage.messages.inboxHead('bob')]
    const before = await heads()
    await alice.publishAsync('c/t', typing(1, 'bob'), { qos: 0 })
    await alice.publishAsync('c/t', typing(0, 'bob'), { qos: 0 })
    await seen.wait('/t', 2)
    expect(seen.on('/t').map((r) => TypingNotice.decode(r.payload))).toEqual([{ from: 'alice', state: 1 }, { from: 'alice', state: 0 }])
    await broker.storage.flush()
    expect(await heads()).toEqual(before)
    expect(await broker.storage.messages.readInbox('bob', 0, 100)).toEqual([])
  })

  it('is dropped when the recipient has no connected device', async () => {
    const carol = await broker.device('carol', 'phone', { clean: false })
    const seen = new Inbox(carol)
    await carol.endAsync()
    const alice = await broker.device('alice', 'laptop')
    await alice.publishAsync('c/t', typing(1, 'carol'), { qos: 1 })
    await sendRaw(alice, 'carol', 'a real message')
    const back = await broker.device('carol', 'phone', { clean: false, subscribe: false })
    const backSeen = new Inbox(back)
    await back.publishAsync('c/r', Buffer.from([0xa1, 0x01, 0x00]), { qos: 1 })
    await backSeen.wait('/y')
    expect([...seen.received, ...backSeen.received].filter((r) => r.topic.endsWith('/t'))).toEqual([])
    expect(backSeen.on('inbox')).toHaveLength(1)
  })
})

describe('history', () => {
  let broker: TestBroker
  beforeAll(async () => { broker = await startTestBroker({ rateBurst: 1000, rateLimit: 1000 }) })
  afterAll(() => broker.close())

  const page = async (client: import('mqtt').MqttClient, user: string, peer: string, before?: number, limit?: number) => {
    const args = new Map<number, unknown>([[1, peer]])
    if (before !== undefined) args.set(2, before)
    if (limit !== undefined) args.set(3, limit)
    const response = await request(client, user, OP.history, args)
    if (response.code !== undefined) return { code: response.code }
    const result = HistoryPage.fromCbor(response.result)
    return { more: result.more, items: result.items.map((item) => HistoryItem.fromCbor(item)) }
  }

  it('pages back through a conversation in contiguous pages that end at its start, with statuses', async () => {
    const gina = await broker.device('gina', 'phone', { clean: false })
    const hank = await broker.device('hank', 'phone')
    const hankInbox = new Inbox(hank)
    for (let i = 1; i <= 230; i++) await sendRaw(i % 3 === 0 ? gina : hank, i % 3 === 0 ? 'hank' : 'gina', `h${i}`)
    const receipts = () => hankInbox.on('/r').map((r) => Receipt.decode(r.payload))
    // gina's phone acknowledged every message of hank's: delivered up to his last (cseq 230).
    await hankInbox.until(() => receipts().some((r) => r.status === 1 && r.cseq === 230))
    await gina.publishAsync('c/d', Buffer.from(ReadWatermark.encode({ peer: 'hank', cseq: 200 })), { qos: 1 })
    await hankInbox.until(() => receipts().some((r) => r.status === 2))

    const first = await page(hank, 'hank', 'gina', undefined, 100)
    expect(first.items!.map((m) => m.cseq)).toEqual(Array.from({ length: 100 }, (_, i) => 131 + i))
    expect(first.more).toBe(true)
    const second = await page(hank, 'hank', 'gina', 131, 100)
    expect(second.items!.map((m) => m.cseq)).toEqual(Array.from({ length: 100 }, (_, i) => 31 + i))
    const last = await page(hank, 'hank', 'gina', 31, 100)
    expect(last.items!.map((m) => m.cseq)).toEqual(Array.from({ length: 30 }, (_, i) => 1 + i))
    expect(last.more).toBe(false)
    expect((await page(hank, 'hank', 'gina', 1)).items).toEqual([])

    const byCseq = new Map([...first.items!, ...second.items!, ...last.items!].map((m) => [m.cseq, m]))
    expect(byCseq.get(1)).toMatchObject({ from: 'hank', body: 'h1', status: 2 }) // hank's, read by gina
    expect(byCseq.get(202)).toMatchObject({ from: 'hank', status: 1 }) // hank's, delivered, not read
    expect(byCseq.get(3)).toMatchObject({ from: 'gina', status: 1 }) // gina's, hank has not read it
    expect(byCseq.size).toBe(230)
  })

  it('answers a page over 100 with BAD_ENVELOPE', async () => {
    const ivy = await broker.device('ivy', 'phone')
    expect(await page(ivy, 'ivy', 'gina', undefined, 101)).toEqual({ code: 2 })
  })
})
