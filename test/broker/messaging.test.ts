import mqttPacket from 'mqtt-packet'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { InboxMessage, ResumeRequest, StoredAck, Synced } from '../../protocol/envelopes.js'
import { startTestBroker, type TestBroker } from '../helpers/broker.js'
import { sendRaw } from '../helpers/chat.js'
import { Inbox } from '../helpers/messages.js'

describe('1:1 messaging', () => {
  let broker: TestBroker
  beforeAll(async () => { broker = await startTestBroker() })
  afterAll(() => broker.close())

  it('delivers to every device of the recipient and the sender\'s other devices, and acks the sending device', async () => {
    const bobPhone = new Inbox(await broker.device('bob', 'phone'))
    const bobTablet = new Inbox(await broker.device('bob', 'tablet'))
    const alicePhoneClient = await broker.device('alice', 'phone')
    const alicePhone = new Inbox(alicePhoneClient)
    const aliceLaptop = new Inbox(await broker.device('alice', 'laptop'))

    await sendRaw(alicePhoneClient, 'bob', 'hello bob', 'c-1')
    // The stored-ack arrives no later than the PUBACK.
    const [ack] = alicePhone.on('/a')
    expect(ack).toBeDefined()
    const stored = StoredAck.decode(ack!.payload)
    expect(stored.clientMsgId).toBe('c-1')

    for (const inbox of [bobPhone, bobTablet]) {
      const [m] = await inbox.wait('inbox')
      expect(InboxMessage.decode(m!.payload)).toMatchObject({ cseq: stored.cseq, from: 'alice', body: 'hello bob' })
    }
    const [copy] = await aliceLaptop.wait('/o/phone')
    expect(InboxMessage.decode(copy!.payload)).toMatchObject({ cseq: stored.cseq, from: 'alice', to: 'bob', seq: stored.seq, clientMsgId: 'c-1' })
    // The sending device gets the compact ack instead of its own message back.
    expect(alicePhone.received.filter((r) => !r.topic.endsWith('/a'))).toEqual([])
  })

  it('sends the stored-ack and the PUBACK in one segment, the ack first', async () => {
    const ivan = await broker.device('ivan', 'phone')
    await broker.device('judy', 'phone')
    // What arrives in each read from the socket: one chunk holding both means one write.
    const chunks: string[][] = []
    ivan.stream.on('data', (chunk: Buffer) => {
      const parser = mqttPacket.parser({ protocolVersion: 4 })
      const packets: string[] = []
      parser.on('packet', (packet) => packets.push(packet.cmd === 'publish' ? packet.topic : packet.cmd))
      parser.parse(chunk)
      chunks.push(packets)
    })
    await sendRaw(ivan, 'judy', 'one segment')
    expect(chunks).toContainEqual(['u/ivan/a', 'puback'])
  })

  it('stores and delivers a resend with the same client message id once', async () => {
    const carol = new Inbox(await broker.device('carol', 'phone'))
    const dave = await broker.device('dave', 'phone')
    const daveInbox = new Inbox(dave)
    await sendRaw(dave, 'carol', 'once', new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]))
    await sendRaw(dave, 'carol', 'once', new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]))
    await sendRaw(dave, 'carol', 'marker', 'after')
    await carol.wait('inbox', 2)
    expect(carol.on('inbox').map((r) => InboxMessage.decode(r.payload).body)).toEqual(['once', 'marker'])
    const acks = daveInbox.on('/a').map((r) => StoredAck.decode(r.payload))
    expect(acks[1]).toEqual(acks[0])
    expect(await broker.storage.messages.inboxHead('carol')).toBe(2)
  })

  it('lets an offline device resume from its cursor and get every missed message in order', async () => {
    const erin = await broker.device('erin', 'phone')
    await erin.endAsync()
    const frank = await broker.device('frank', 'phone')
    for (let i = 1; i <= 150; i++) await sendRaw(frank, 'erin', `m${i}`)

    const back = await broker.device('erin', 'phone')
    const inbox = new Inbox(back)
    await back.publishAsync('c/r', Buffer.from(ResumeRequest.encode({ cursor: 20 })), { qos: 1 })
    const [synced] = await inbox.wait('/y')
    expect(Synced.decode(synced!.payload).seq).toBe(150)
    const replay = inbox.on('inbox').map((r) => InboxMessage.decode(r.payload))
    expect(replay.map((m) => m.seq)).toEqual(Array.from({ length: 130 }, (_, i) => i + 21))
    expect(replay.map((m) => m.body)).toEqual(Array.from({ length: 130 }, (_, i) => `m${i + 21}`))
  })

  it('replays a user\'s own sent messages with their recipient and client id', async () => {
    const gina = await broker.device('gina', 'phone')
    await broker.device('hank', 'phone')
    await sendRaw(gina, 'hank', 'mine', 'g-1')
    const other = await broker.device('gina', 'laptop')
    const inbox = new Inbox(other)
    await other.publishAsync('c/r', Buffer.from(ResumeRequest.encode({ cursor: 0 })), { qos: 1 })
    await inbox.wait('/y')
    const [own] = inbox.on('inbox').map((r) => InboxMessage.decode(r.payload))
    expect(own).toMatchObject({ from: 'gina', to: 'hank', body: 'mine', clientMsgId: 'g-1', seq: 1 })
  })

  it('keeps a note to self in one inbox entry', async () => {
    const ivy = await broker.device('ivy', 'phone')
    await sendRaw(ivy, 'ivy', 'remember the milk')
    expect(await broker.storage.messages.inboxHead('ivy')).toBe(1)
  })
})
