import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LowbandClient } from '../../clients/sdk/index.js'
import { ErrorNotice, InboxMessage, SendRequest } from '../../protocol/envelopes.js'
import { ERROR_CODES } from '../../protocol/errors.js'
import type { MessageStore } from '../../storage/contracts.js'
import { RetriableError } from '../../storage/retriable.js'
import { startTestBroker, type TestBroker } from '../helpers/broker.js'
import { Inbox, pubacks } from '../helpers/messages.js'

const closed = (client: MqttClient): Promise<void> => new Promise((resolve) => client.once('close', () => resolve()))
const send = (clientMsgId: string, to: string, body: string): Buffer => Buffer.from(SendRequest.encode({ clientMsgId, to, body }))

/** Makes the broker's store refuse the next `count` sends with `error`, as a suspect store does. */
function refuseSends (messages: MessageStore, count: number, error: () => Error): { attempts: () => number } {
  const appendDirect = messages.appendDirect.bind(messages)
  let attempts = 0
  messages.appendDirect = async (draft) => {
    attempts++
    if (attempts <= count) throw error()
    return appendDirect(draft)
  }
  return { attempts: () => attempts }
}

describe('a PUBACK always means stored', () => {
  let broker: TestBroker
  beforeAll(async () => { broker = await startTestBroker() })
  afterAll(() => broker.close())

  it('closes the connection without a PUBACK when the message could not be stored, and stores the resend once', async () => {
    const bob = new Inbox(await broker.device('bob', 'phone'))
    const alice = await broker.device('alice', 'phone')
    const acks = pubacks(alice)
    const notices = new Inbox(alice)
    const refused = refuseSends(broker.storage.messages, 1, () => new RetriableError('the store is suspect after a failed write'))
    const gone = closed(alice)
    alice.publish('c/s', send('r1', 'bob', 'resent after a refusal'), { qos: 1 })
    await gone
    expect(acks).toEqual([])
    expect(notices.on('/e')).toEqual([])

    // An unexpected failure is treated the same way: the client can only resend.
    const second = await broker.device('alice', 'phone')
    const secondAcks = pubacks(second)
    const secondGone = closed(second)
    const unexpected = refuseSends(broker.storage.messages, 1, () => new Error('disk on fire'))
    second.publish('c/s', send('r1', 'bob', 'resent after a refusal'), { qos: 1 })
    await secondGone
    expect(secondAcks).toEqual([])

    const third = await broker.device('alice', 'phone')
    await third.publishAsync('c/s', send('r1', 'bob', 'resent after a refusal'), { qos: 1 })
    await bob.wait('inbox')
    expect([refused.attempts(), unexpected.attempts()]).toEqual([2, 2])
    expect(bob.on('inbox').map((r) => InboxMessage.decode(r.payload).body)).toEqual(['resent after a refusal'])
  })

  it('acknowledges a permanent refusal with its code and keeps the connection', async () => {
    const carol = await broker.device('carol', 'phone')
    const notices = new Inbox(carol)
    const acks = pubacks(carol)
    await carol.publishAsync('c/s', send('p1', 'nobody-here', 'to no one'), { qos: 1 })
    const [notice] = await notices.wait('/e')
    expect(ErrorNotice.decode(notice!.payload).code).toBe(ERROR_CODES.UNKNOWN_RECIPIENT.code)
    expect(acks).toHaveLength(1)
    expect(carol.connected).toBe(true)
  })

  it('the SDK resends a send whose connection closed unacknowledged; it is stored and delivered once', async () => {
    const bob = new Inbox(await broker.device('bob', 'tablet'))
    const dave = new LowbandClient({ url: broker.url, userId: 'dave', deviceId: 'sdk', token: await broker.token('dave'), backoff: { baseMs: 20, capMs: 100 } })
    await dave.connect()
    await dave.synced()
    try {
      const refused = refuseSends(broker.storage.messages, 2, () => new RetriableError('the store is reopening'))
      const result = await dave.send('bob', 'from the SDK, third time lucky')
      await bob.wait('inbox')
      expect(refused.attempts()).toBe(3)
      expect(result.cseq).toBe(1)
      expect(bob.on('inbox').map((r) => InboxMessage.decode(r.payload).body)).toEqual(['from the SDK, third time lucky'])
    } finally {
      await dave.close()
    }
  })
})

describe('over the publish rate', () => {
  let broker: TestBroker
  // A burst of 3, refilled at one publish per 1000 s: nothing refills during the test.
  beforeAll(async () => { broker = await startTestBroker({ rateLimit: 0.001, rateBurst: 3 }) })
  afterAll(() => broker.close())

  it('closes a connection whose QoS 1 send is over its rate, without acknowledging it', async () => {
    await broker.device('erin', 'phone')
    const frank = await broker.device('frank', 'phone')
    for (let i = 0; i < 3; i++) await frank.publishAsync('c/s', send(`q${i}`, 'erin', `within the burst ${i}`), { qos: 1 })
    const acks = pubacks(frank)
    const gone = closed(frank)
    frank.publish('c/s', send('q3', 'erin', 'over the rate'), { qos: 1 })
    await gone
    expect(acks).toEqual([])
    expect(await broker.storage.messages.inboxHead('erin')).toBe(3)
  })

  it('keeps the allowance spent across a reconnect: a closed device does not come back with a fresh burst', async () => {
    await broker.device('gina', 'phone')
    const harry = await broker.device('harry', 'phone')
    for (let i = 0; i < 3; i++) await harry.publishAsync('c/s', send(`r${i}`, 'gina', `within the burst ${i}`), { qos: 1 })
    const gone = closed(harry)
    harry.publish('c/s', send('r3', 'gina', 'over the rate'), { qos: 1 })
    await gone
    harry.end(true)
    const again = await broker.device('harry', 'phone')
    const acks = pubacks(again)
    const goneAgain = closed(again)
    again.publish('c/s', send('r3', 'gina', 'over the rate, after reconnecting'), { qos: 1 })
    await goneAgain
    expect(acks).toEqual([])
    expect(await broker.storage.messages.inboxHead('gina')).toBe(3)
  })
})
