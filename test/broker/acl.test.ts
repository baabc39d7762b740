import mqtt from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DirectSend, ErrorNotice, InboxMessage } from '../../protocol/envelopes.js'
import { encodeCbor } from '../../protocol/cbor.js'
import { ERROR_CODES } from '../../protocol/errors.js'
import { connectMqtt, startTestBroker, type TestBroker } from '../helpers/broker.js'
import { sendRaw } from '../helpers/chat.js'
import { Inbox } from '../helpers/messages.js'

const granted = async (client: import('mqtt').MqttClient, filter: string): Promise<number | undefined> => {
  try {
    return (await client.subscribeAsync(filter, { qos: 1 }))[0]?.qos
  } catch (error) {
    return (error as { packet?: { granted?: number[] } }).packet?.granted?.[0]
  }
}

describe('topic ACL (policy deny)', () => {
  let broker: TestBroker
  beforeAll(async () => { broker = await startTestBroker() })
  afterAll(() => broker.close())

  it('grants a device its own subtree and refuses everything else with 0x80', async () => {
    const alice = await broker.device('alice', 'phone', { subscribe: false })
    expect(await granted(alice, 'u/alice/#')).toBe(1)
    // The inbox alone (`u/<self>`, what u/<self>/# also matches) is the device's own too.
    expect(await granted(alice, 'u/alice')).toBe(1)
    for (const filter of ['u/bob/#', 'u/bob', 'u/+', 'u/+/m', 'u/#', '#', '+/bob/m', '+/bob', 'c/#', 'c/s', 's/#', 's/bob', 's/+', '$SYS/#', '$lb/#', 'sensors/temp']) {
      expect(await granted(alice, filter), filter).toBe(128)
    }
  })

  it('refuses a publish into another user\'s subtree: coded error, nothing delivered, connection up', async () => {
    const bob = await broker.device('bob', 'phone')
    const bobInbox = new Inbox(bob)
    const alice = await broker.device('alice', 'laptop')
    const aliceInbox = new Inbox(alice)
    const fake = InboxMessage.encode({ from: 'carol', body: 'spoofed', seq: 99, cseq: 1, ts: 1 })
    await alice.publishAsync('u/bob', Buffer.from(fake), { qos: 1 })
    const [error] = await aliceInbox.wait('/e')
    expect(ErrorNotice.decode(error!.payload).code).toBe(ERROR_CODES.FORBIDDEN_TOPIC.code)
    // Into its own subtree is refused too: only the broker publishes there, after stamping.
    await alice.publishAsync('u/alice', Buffer.from(fake), { qos: 1 })
    await aliceInbox.wait('/e', 2)
    await alice.publishAsync('$lb/sink', Buffer.from('x'), { qos: 1 })
    await aliceInbox.wait('/e', 3)
    // The connection is still usable, and bob got nothing but the real message.
    await sendRaw(alice, 'bob', 'real one')
    const [delivered] = await bobInbox.wait('inbox')
    expect(bobInbox.received).toHaveLength(1)
    expect(InboxMessage.decode(delivered!.payload)).toMatchObject({ from: 'alice', body: 'real one' })
  })

  it('stamps the sender from the connection, whatever the payload says', async () => {
    const bob = await broker.device('bob', 'tablet')
    const bobInbox = new Inbox(bob)
    const mallory = await broker.device('mallory', 'phone')
    // A send request has no sender field; an extra key claiming one is ignored.
    const payload = encodeCbor(new Map<number, unknown>([[1, 'c1'], [2, 'bob'], [3, 'hi'], [9, 'alice']]))
    await mallory.publishAsync('c/s', Buffer.from(payload), { qos: 1 })
    const [delivered] = await bobInbox.wait('inbox')
    expect(InboxMessage.decode(delivered!.payload).from).toBe('mallory')
    // On s/<to> the same: no sender field, and a `to` key cannot redirect it (the topic names the recipient).
    const direct = encodeCbor(new Map<number, unknown>([[1, 'c2'], [2, 'carol'], [3, 'hi again'], [9, 'alice']]))
    await mallory.publishAsync('s/bob', Buffer.from(direct), { qos: 1 })
    const [, second] = await bobInbox.wait('inbox', 2)
    expect(InboxMessage.decode(second!.payload)).toMatchObject({ from: 'mallory', body: 'hi again' })
  })

  it('refuses a device\'s publish to a send topic that names no one user, and a will in the send space', async () => {
    const alice = await broker.device('alice', 'tablet')
    const aliceInbox = new Inbox(alice)
    const headBefore = await broker.storage.messages.inboxHead('alice')
    for (const [i, topic] of ['s/bob/m', 's/', 's'].entries()) {
      await alice.publishAsync(topic, Buffer.from(DirectSend.encode({ clientMsgId: `x${i}`, body: 'lost' })), { qos: 1 })
      const errors = await aliceInbox.wait('/e', i + 1)
      expect(ErrorNotice.decode(errors[i]!.payload), topic).toMatchObject({ code: ERROR_CODES.FORBIDDEN_TOPIC.code, topic })
    }
    expect(await broker.storage.messages.inboxHead('alice')).toBe(headBefore)
    // A will on s/<to> is no way to send as a device that is gone: it is never stored nor delivered.
    const dan = await broker.device('dan', 'phone')
    const danInbox = new Inbox(dan)
    const ghost = await broker.device('ghost', 'phone', { will: { topic: 's/dan', payload: Buffer.from(DirectSend.encode({ clientMsgId: 'w1', body: 'from the grave' })), qos: 1, retain: false } })
    ghost.stream.destroy()
    await sendRaw(alice, 'dan', 'after the will')
    await danInbox.wait('inbox')
    expect(danInbox.on('inbox').map((r) => InboxMessage.decode(r.payload).body)).toEqual(['after the will'])
    expect(await broker.storage.messages.inboxHead('ghost')).toBe(0)
  })

  it('refuses topics outside the chat namespace under policy deny', async () => {
    const alice = await broker.device('alice', 'sensor')
    const inbox = new Inbox(alice)
    await alice.publishAsync('sensors/temp', Buffer.from('21.5'), { qos: 1 })
    const [error] = await inbox.wait('/e')
    expect(ErrorNotice.decode(error!.payload).code).toBe(ERROR_CODES.FORBIDDEN_TOPIC.code)
  })
})

describe('topic ACL (policy open, anonymous allowed)', () => {
  let broker: TestBroker
  beforeAll(async () => { broker = await startTestBroker({ topicPolicy: 'open', allowAnonymous: true }) })
  afterAll(() => broker.close())

  it('is a plain MQTT broker outside the chat namespace', async () => {
    const sensor = await connectMqtt(broker.url, { clientId: 'sensor-1' })
    const display = await connectMqtt(broker.url, { clientId: 'display-1' })
    expect(await granted(display, 'sensors/+')).toBe(1)
    const inbox = new Inbox(display)
    await sensor.publishAsync('sensors/temp', Buffer.from('21.5'), { qos: 1 })
    const [reading] = await inbox.wait('sensors/temp')
    expect(reading!.payload.toString()).toBe('21.5')
    await Promise.all([sensor.endAsync(), display.endAsync()])
  })

  it('queues QoS 1 messages for an offline persistent session and sends them when it returns', async () => {
    const display = await connectMqtt(broker.url, { clientId: 'display-2', clean: false })
    expect(await granted(display, 'alerts/+')).toBe(1)
    await display.endAsync()
    const sensor = await connectMqtt(broker.url, { clientId: 'sensor-2' })
    await sensor.publishAsync('alerts/door', Buffer.from('open'), { qos: 1 })
    await sensor.publishAsync('alerts/window', Buffer.from('shut'), { qos: 1 })
    // Listening before the CONNACK: the queued messages follow it at once.
    const back = mqtt.connect(broker.url, { clientId: 'display-2', clean: false, reconnectPeriod: 0 })
    const inbox = new Inbox(back)
    await inbox.until(() => inbox.received.length >= 2)
    expect(inbox.received.map((r) => `${r.topic} ${r.payload.toString()}`)).toEqual(['alerts/door open', 'alerts/window shut'])
    await Promise.all([sensor.endAsync(), back.endAsync()])
  })

  it('assigns an id to a zero-length client id with a clean session [MQTT-3.1.3-6]', async () => {
    const client = await connectMqtt(broker.url, { clientId: '', clean: true })
    expect(client.connected).toBe(true)
    await client.endAsync()
  })

  it('keeps chat traffic out of wildcard subscriptions and away from anonymous clients', async () => {
    const snoop = await connectMqtt(broker.url, { clientId: 'snoop' })
    expect(await granted(snoop, '#')).toBe(1)
    expect(await granted(snoop, 'u/bob/#')).toBe(128)
    const snoopInbox = new Inbox(snoop)
    const bob = await broker.device('bob', 'phone')
    const bobInbox = new Inbox(bob)
    const alice = await broker.device('alice', 'phone')
    expect(await granted(alice, '#')).toBe(1)
    const aliceInbox = new Inbox(alice)
    await sendRaw(alice, 'bob', 'private')
    await bobInbox.wait('inbox')
    await snoop.publishAsync('public/x', Buffer.from('marker'), { qos: 1 })
    await snoopInbox.wait('public/x')
    await aliceInbox.wait('public/x')
    expect(snoopInbox.received.map((r) => r.topic)).toEqual(['public/x'])
    expect(aliceInbox.received.filter((r) => r.topic.startsWith('u/bob'))).toEqual([])
    // Anonymous clients cannot send chat messages: nothing reaches bob.
    await sendRaw(snoop, 'bob', 'from nobody')
    await sendRaw(alice, 'bob', 'second')
    await bobInbox.wait('inbox', 2)
    expect(bobInbox.on('inbox').map((r) => InboxMessage.decode(r.payload).body)).toEqual(['private', 'second'])
    await snoop.endAsync()
  })
})
