import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ReadWatermark, Receipt, ResumeRequest, StoredAck } from '../../protocol/envelopes.js'
import { HistoryPage, OP } from '../../protocol/requests.js'
import { startTestBroker, type TestBroker } from '../helpers/broker.js'
import { request, sendRaw } from '../helpers/chat.js'
import { Inbox } from '../helpers/messages.js'

const receipts = (inbox: Inbox) => inbox.on('/r').map((r) => Receipt.decode(r.payload))
const publishesOf = (client: MqttClient): string[] => {
  const topics: string[] = []
  client.on('packetsend', (packet) => { if (packet.cmd === 'publish') topics.push(packet.topic) })
  return topics
}
const read = (client: MqttClient, peer: string, cseq: number) =>
  client.publishAsync('c/d', Buffer.from(ReadWatermark.encode({ peer, cseq })), { qos: 1 })

describe('receipts', () => {
  let broker: TestBroker
  beforeAll(async () => { broker = await startTestBroker({ rateBurst: 1000, rateLimit: 1000 }) })
  afterAll(() => broker.close())

  it('derives "delivered" from the recipient\'s PUBACK: the recipient publishes nothing', async () => {
    const bob = await broker.device('bob', 'phone', { clean: false })
    const bobPublishes = publishesOf(bob)
    const alice = await broker.device('alice', 'phone')
    const aliceInbox = new Inbox(alice)
    const receiptQos: number[] = []
    alice.on('message', (topic, _payload, packet) => { if (topic.endsWith('/r')) receiptQos.push(packet.qos) })
    const aliceLaptop = new Inbox(await broker.device('alice', 'laptop'))
    await sendRaw(alice, 'bob', 'are you there?')
    const [delivered] = await aliceInbox.wait('/r')
    expect(Receipt.decode(delivered!.payload)).toMatchObject({ peer: 'bob', status: 1, cseq: 1 })
    // Live receipts are QoS 0 (no PUBACK back): the inbox seq and the resume cover a lost one.
    expect(receiptQos).toEqual([0])
    // Every device of the sender hears it, once.
    await aliceLaptop.wait('/r')
    expect(receipts(aliceLaptop)).toHaveLength(1)
    expect(bobPublishes).toEqual([])
  })

  it('sends one read receipt for a watermark over 100 messages, and tells the reader\'s other devices', async () => {
    const carol = await broker.device('carol', 'phone', { clean: false })
    const carolTablet = new Inbox(await broker.device('carol', 'tablet'))
    const dave = await broker.device('dave', 'phone')
    const daveInbox = new Inbox(dave)
    for (let i = 0; i < 100; i++) await sendRaw(dave, 'carol', `n${i}`)
    // Delivered is a watermark: the last receipt covers all 100. Each receipt (fanned out) races the
    // stored-ack (to one client) of dave's next send to the same device: this also guards against
    // Aedes' cross-path dedupe (moscajs/aedes#994).
    await daveInbox.until(() => receipts(daveInbox).some((r) => r.status === 1 && r.cseq === 100))
    await read(carol, 'dave', 100)
    await daveInbox.until(() => receipts(daveInbox).some((r) => r.status === 2))
    const reads = receipts(daveInbox).filter((r) => r.status === 2)
    expect(reads).toEqual([expect.objectContaining({ peer: 'carol', cseq: 100 })])
    await carolTablet.wait('/r')
    expect(receipts(carolTablet)).toEqual([expect.objectContaining({ peer: 'dave', status: 3, cseq: 100 })])
  })

  it('coalesces delivered receipts per conversation within a window: the first at once, the rest held', async () => {
    const coalescing = await startTestBroker({ rateBurst: 1000, rateLimit: 1000, receiptWindow: 10_000 })
    try {
      const ivan = await coalescing.device('ivan', 'phone', { clean: false })
      const ivanInbox = new Inbox(ivan)
      const jane = await coalescing.device('jane', 'phone')
      const janeInbox = new Inbox(jane)
      for (let i = 0; i < 20; i++) await sendRaw(jane, 'ivan', `h${i}`)
      await ivanInbox.wait('inbox', 20)
      // ivan reads everything: the read receipt comes, the held delivered one (up to 20) never
      // does — the window is 10 s, and when it ends the read receipt already covers it.
      await read(ivan, 'jane', 20)
      await janeInbox.until(() => receipts(janeInbox).some((r) => r.status === 2))
      expect(receipts(janeInbox).map((r) => [r.status, r.cseq])).toEqual([[1, 1], [2, 20]])
    } finally {
      await coalescing.close()
    }
  })

  it('sends what a window held when the window ends', async () => {
    const windowed = await startTestBroker({ receiptWindow: 200 })
    try {
      const kim = await windowed.device('kim', 'phone', { clean: false })
      const lee = await windowed.device('lee', 'phone')
      const leeInbox = new Inbox(lee)
      for (let i = 0; i < 3; i++) await sendRaw(lee, 'kim', `w${i}`)
      await leeInbox.until(() => receipts(leeInbox).some((r) => r.status === 1 && r.cseq === 3))
      // The first at once; then only forward.
      const delivered = receipts(leeInbox).map((r) => r.cseq)
      expect(delivered[0]).toBe(1)
      expect(delivered).toEqual([...new Set(delivered)].sort((a, b) => a - b))
      await kim.endAsync()
    } finally {
      await windowed.close()
    }
  })

  it('only moves forward: a lower watermark or a late delivery after read changes nothing', async () => {
    const erin = await broker.device('erin', 'phone')
    await erin.endAsync()
    const frank = await broker.device('frank', 'phone')
    const frankInbox = new Inbox(frank)
    for (let i = 0; i < 5; i++) await sendRaw(frank, 'erin', `f${i}`)
    // Erin reads everything on a device that has not acknowledged the messages yet...
    const erinWeb = await broker.device('erin', 'web')
    await read(erinWeb, 'frank', 5)
    await frankInbox.wait('/r')
    // ...then her phone resumes and acknowledges all five, and she sends an older watermark.
    const phone = await broker.device('erin', 'phone', { clean: false })
    const phoneInbox = new Inbox(phone)
    await phone.publishAsync('c/r', Buffer.from(ResumeRequest.encode({ cursor: 0 })), { qos: 1 })
    await phoneInbox.wait('/y')
    await read(erinWeb, 'frank', 3)
    // A positive control: a new message is acknowledged after the replayed ones, and its receipt comes.
    await sendRaw(frank, 'erin', 'f5')
    await frankInbox.wait('/r', 2)
    expect(receipts(frankInbox).map((r) => [r.status, r.cseq])).toEqual([[2, 5], [1, 6]])
  })

  it('names a message by conversation and cseq only: no packet a device gets carries its server id', async () => {
    const mia = await broker.device('mia', 'phone', { clean: false })
    const miaInbox = new Inbox(mia)
    const ned = await broker.device('ned', 'phone')
    const nedInbox = new Inbox(ned)
    const nedTablet = new Inbox(await broker.device('ned', 'tablet'))
    await sendRaw(ned, 'mia', 'which id?')
    await nedInbox.until(() => receipts(nedInbox).some((r) => r.status === 1))
    await read(mia, 'ned', 1)
    await nedInbox.until(() => receipts(nedInbox).some((r) => r.status === 2))
    const history = await request(ned, 'ned', OP.history, new Map<number, unknown>([[1, 'mia']]))
    expect(HistoryPage.fromCbor(history.result).items).toHaveLength(1)
    await mia.publishAsync('c/r', Buffer.from(ResumeRequest.encode({ cursor: 0 })), { qos: 1 })
    await miaInbox.until(() => miaInbox.on('/y').length > 0)
    const [entry] = await broker.storage.messages.readInbox('mia', 0, 1)
    const serverId = Buffer.from(entry!.message!.id)
    const everything = [miaInbox, nedInbox, nedTablet].flatMap((inbox) => inbox.received)
    expect(everything.map((r) => r.topic)).toEqual(expect.arrayContaining(['u/mia', 'u/ned/a', 'u/ned/o/phone', 'u/ned/r', 'u/ned/q', 'u/mia/r', 'u/mia/y']))
    expect(everything.filter((r) => r.payload.includes(serverId)).map((r) => r.topic)).toEqual([])
  })

  it('stores receipts for an offline sender and hands them over when it resumes', async () => {
    const gina = await broker.device('gina', 'phone', { clean: false })
    const ginaInbox = new Inbox(gina)
    const hank = await broker.device('hank', 'phone')
    const hankInbox = new Inbox(hank)
    await sendRaw(hank, 'gina', 'see you')
    const ack = StoredAck.decode(hankInbox.on('/a')[0]!.payload)
    await hank.endAsync()
    await ginaInbox.wait('inbox')
    await read(gina, 'hank', ack.cseq)

    const back = await broker.device('hank', 'phone')
    const backInbox = new Inbox(back)
    await back.publishAsync('c/r', Buffer.from(ResumeRequest.encode({ cursor: ack.seq })), { qos: 1 })
    await backInbox.wait('/y')
    expect(receipts(backInbox).map((r) => [r.peer, r.status, r.cseq])).toEqual([['gina', 1, 1], ['gina', 2, 1]])
  })
})
