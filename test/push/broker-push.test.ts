import type { MqttClient } from 'mqtt'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { FCM_ANSWERS, FcmEndpoint, fixedCredential, hasOpenssl, makeTestCa, type TestCa } from '../../bench/fcm-endpoint.js'
import { ReadWatermark, SendRequest, TypingSignal } from '../../protocol/envelopes.js'
import { OP, PushTokenInfo } from '../../protocol/requests.js'
import { createFcmProvider } from '../../push/fcm.js'
import { startTestBroker, type TestBroker } from '../helpers/broker.js'
import { request, sendRaw } from '../helpers/chat.js'

const PROJECT = 'lowband-test'

const registerArgs = (token: string, platform: 0 | 1 | 2 = 0): Map<number, unknown> => new Map<number, unknown>([[1, token], [2, platform]])

async function metric (broker: TestBroker, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${broker.ports.http}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
  return line === undefined ? 0 : Number(line.split(' ').at(-1))
}

async function until (check: () => Promise<boolean> | boolean): Promise<void> {
  // Up to 12 s: a push passes a worker thread and a TLS endpoint, slow on a loaded machine.
  for (let i = 0; i < 480 && !await check(); i++) await new Promise((resolve) => setTimeout(resolve, 25))
  expect(await check()).toBe(true)
}

describe.skipIf(!hasOpenssl())('push fallback through a broker, firebase-admin and a local FCM endpoint (needs openssl for the test CA)', () => {
  let ca: TestCa
  let fcm: FcmEndpoint
  let broker: TestBroker
  beforeAll(async () => {
    ca = makeTestCa()
    fcm = await FcmEndpoint.start(ca, PROJECT)
    // No coalescing window, and a short grace, so each case sees its own pushes at once.
    broker = await startTestBroker({ pushWindow: 0, pushGrace: 0.5 }, undefined, {
      push: createFcmProvider({ projectId: PROJECT, credential: fixedCredential, httpAgent: fcm.agent })
    })
  })
  afterAll(async () => {
    await broker.close()
    await fcm.close()
  })
  afterEach(() => { fcm.answer = () => FCM_ANSWERS.ok(PROJECT) })

  /** A device of `user` that registers `token`, then goes to sleep (disconnects). */
  async function sleepingDevice (user: string, device: string, token: string, platform: 0 | 1 | 2 = 0): Promise<void> {
    const client = await broker.device(user, device)
    expect(await request(client, user, OP.registerPush, registerArgs(token, platform))).toEqual({ rid: expect.any(Number) })
    await client.endAsync()
  }

  const pushesTo = (token: string) => fcm.requests.filter((r) => r.body.message.token === token)

  it('registers, lists and unregisters a device\'s token with requests on c/q', async () => {
    const phone = await broker.device('ann', 'phone')
    await request(phone, 'ann', OP.registerPush, registerArgs('tok-ann-phone', 1))
    const tablet = await broker.device('ann', 'tablet')
    await request(tablet, 'ann', OP.registerPush, registerArgs('tok-ann-tablet', 0))
    const listed = await request(phone, 'ann', OP.listPush)
    expect((listed.result as unknown[]).map((item) => PushTokenInfo.fromCbor(item))).toEqual([
      { device: 'phone', platform: 1, token: 'tok-ann-phone' },
      { device: 'tablet', platform: 0, token: 'tok-ann-tablet' }
    ])
    // Another user registering the same token takes it over; ann's device no longer has it.
    const other = await broker.device('ben', 'phone')
    await request(other, 'ben', OP.registerPush, registerArgs('tok-ann-tablet', 0))
    await request(phone, 'ann', OP.unregisterPush)
    expect(await broker.storage.directory.pushTokensOf('ann')).toEqual([])
    expect(await broker.storage.directory.pushTokensOf('ben')).toEqual([{ deviceId: 'phone', token: 'tok-ann-tablet', platform: 'android' }])
    expect(await request(phone, 'ann', OP.registerPush, registerArgs('has space'))).toMatchObject({ code: 30 })
    expect(await request(phone, 'ann', OP.registerPush, registerArgs('tok', 7 as 0))).toMatchObject({ code: 2 })
    for (const client of [phone, tablet, other]) await client.endAsync()
  })

  it('pushes a message to a sleeping phone as data only, and prunes the token FCM calls unregistered', async () => {
    await sleepingDevice('bob', 'phone', 'tok-bob')
    const alice = await broker.device('alice', 'phone')
    await sendRaw(alice, 'bob', 'the body never leaves the broker')
    await until(() => pushesTo('tok-bob').length === 1)
    const [push] = pushesTo('tok-bob')
    expect(push!.url).toBe(`/v1/projects/${PROJECT}/messages:send`)
    expect(push!.body.message).toEqual({ token: 'tok-bob', data: { c: 'alice', q: '1', n: '1' }, android: { priority: 'high', collapse_key: 'u:alice', ttl: '86400s' } })
    expect(JSON.stringify(push!.body)).not.toContain('body never leaves')

    fcm.answer = () => FCM_ANSWERS.unregistered()
    await sendRaw(alice, 'bob', 'again')
    await until(async () => (await broker.storage.directory.pushTokensOf('bob')).length === 0)
    expect(await metric(broker, 'lowband_push_sent_total')).toBeGreaterThanOrEqual(1)
    expect(await metric(broker, 'lowband_push_tokens_pruned_total')).toBe(1)
    await alice.endAsync()
  })

  it('never pushes a group system message, a receipt or typing', async () => {
    await sleepingDevice('cid', 'phone', 'tok-cid')
    await sleepingDevice('dora', 'phone', 'tok-dora', 1)
    const dora = await broker.device('dora', 'laptop')
    const created = await request(dora, 'dora', OP.createGroup, new Map<number, unknown>([[1, 'quiet'], [2, ['cid']]]))
    expect(created.code).toBeUndefined()
    await dora.publishAsync('c/t', Buffer.from(TypingSignal.encode({ to: 'cid', state: 1 })), { qos: 0 })
    await sendRaw(dora, 'cid', 'hello cid')
    // Pushed before cid reads it: a read that overtakes the push cancels it.
    await until(() => pushesTo('tok-cid').length === 1)
    // cid reads it on another device: dora gets a read receipt, which must not wake her phone.
    const cid = await broker.device('cid', 'laptop')
    await cid.publishAsync('c/d', Buffer.from(ReadWatermark.encode({ peer: 'dora', cseq: 1 })), { qos: 1 })
    await sendRaw(cid, 'dora', 'the first thing that may push dora')
    await until(() => pushesTo('tok-dora').length === 1)
    // The first push to each phone is for the 1:1 message: nothing before it pushed.
    expect(pushesTo('tok-cid')[0]!.body.message.data).toEqual({ c: 'dora', q: '1', n: '1' })
    expect(pushesTo('tok-dora')[0]!.body.message).toMatchObject({ data: { c: 'cid', q: '2', n: '1' }, apns: { payload: { aps: { 'content-available': 1 } } } })
    for (const client of [dora, cid]) await client.endAsync()
  })

  it('lets a connected device\'s PUBACK, or a read watermark, cancel the push its grace period held back', async () => {
    // eve's phone receives and acknowledges (mqtt.js PUBACKs each delivery; a persistent session,
    // as the SDK uses, is what makes Aedes report which message a PUBACK acknowledged). gil's phone
    // is connected but not subscribed, so it acknowledges nothing, and reads instead.
    const eve = await broker.device('eve', 'phone', { clean: false })
    await request(eve, 'eve', OP.registerPush, registerArgs('tok-eve'))
    const gil = await broker.device('gil', 'phone', { subscribe: false })
    await request(gil, 'gil', OP.registerPush, registerArgs('tok-gil'))
    const frank = await broker.device('frank', 'phone')
    await sendRaw(frank, 'eve', 'acknowledged by the connected phone')
    await sendRaw(frank, 'gil', 'read on the connected phone')
    await gil.publishAsync('c/d', Buffer.from(ReadWatermark.encode({ peer: 'frank', cseq: 1 })), { qos: 1 })
    await new Promise((resolve) => setTimeout(resolve, 1500)) // three grace periods
    await eve.endAsync()
    await gil.endAsync()
    await sendRaw(frank, 'eve', 'to a sleeping phone')
    await sendRaw(frank, 'gil', 'to a sleeping phone')
    await until(() => pushesTo('tok-eve').length === 1 && pushesTo('tok-gil').length === 1)
    // Each phone's first push is for the second message: the first was cancelled.
    expect(pushesTo('tok-eve')[0]!.body.message.data).toMatchObject({ c: 'frank', q: '2' })
    expect(pushesTo('tok-gil')[0]!.body.message.data).toMatchObject({ c: 'frank', q: '2', n: '1' })
    await frank.endAsync()
  })
})

describe.skipIf(!hasOpenssl())('push fallback when FCM never answers (needs openssl for the test CA)', () => {
  let fcm: FcmEndpoint
  let broker: TestBroker
  const recipients = Array.from({ length: 12 }, (_, i) => `sleeper${i}`)
  beforeAll(async () => {
    fcm = await FcmEndpoint.start(makeTestCa(), PROJECT)
    fcm.answer = () => 'hang'
    broker = await startTestBroker({}, undefined, { push: createFcmProvider({ projectId: PROJECT, credential: fixedCredential, httpAgent: fcm.agent }) })
    for (const user of recipients) {
      const client = await broker.device(user, 'phone')
      await request(client, user, OP.registerPush, registerArgs(`tok-${user}`))
      await client.endAsync()
    }
  })
  afterAll(async () => {
    await broker.close()
    await fcm.close()
  })

  it('acknowledges every send while every push request is still pending', async () => {
    const sender: MqttClient = await broker.device('sender', 'phone')
    let acked = 0
    await Promise.all(recipients.map(async (to, i) => {
      await sender.publishAsync('c/s', Buffer.from(SendRequest.encode({ clientMsgId: i + 1, to, body: 'hi' })), { qos: 1 })
      acked++
    }))
    await fcm.received(recipients.length)
    expect(acked).toBe(recipients.length)
    expect(fcm.pending).toBe(recipients.length)
    await sender.endAsync()
  })
})
