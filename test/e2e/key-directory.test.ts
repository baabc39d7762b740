import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeDeviceState } from '../../clients/sdk/crypto/device-state.js'
import { LowbandClient, type ChatMessage } from '../../clients/sdk/index.js'
import { Bundle, encodeEncryptedBody, FetchBundlesArgs, FetchBundlesResult } from '../../protocol/e2e.js'
import { ErrorNotice, SendRequest } from '../../protocol/envelopes.js'
import { OP, Request, Response } from '../../protocol/requests.js'
import { connectMqtt, startTestBroker, type TestBroker } from '../helpers/broker.js'
import { e2eDevice } from './helpers.js'
import { TestBroker as SdkBroker } from '../clients/helpers/broker.js'

/** Raw request/response on c/q for a plain MQTT device: answers by rid. */
function requester (device: MqttClient, user: string): (op: number, args: Map<number, unknown>) => Promise<Response> {
  const waiting = new Map<number, (response: Response) => void>()
  device.on('message', (topic, payload) => {
    if (topic !== `u/${user}/q`) return
    const response = Response.decode(payload)
    waiting.get(response.rid)?.(response)
  })
  let rid = 1
  return (op, args) => new Promise((resolve) => {
    const id = rid++
    waiting.set(id, resolve)
    device.publish('c/q', Buffer.from(Request.encode({ rid: id, op, args })), { qos: 1 })
  })
}

describe('the key directory over a real broker', { timeout: 60_000 }, () => {
  let broker: SdkBroker
  beforeAll(async () => { broker = await SdkBroker.start() })
  afterAll(async () => { await broker.stop() })

  it('hands concurrent fetchers different one-time prekeys, and tells the device to publish more when they run low', async () => {
    let replenished: () => void = () => {}
    const done = new Promise<void>((resolve) => { replenished = resolve })
    const bob = await broker.client('bob', 'phone', {
      e2e: { save: (bytes) => { const s = decodeDeviceState(bytes); if (s.keys.nextPreKeyId > 51 && s.keys.unpublished.length === 0) replenished() } }
    })
    await bob.connect()
    await bob.publishKeys()
    const raw = rawBroker(broker)
    const carol = await raw.device('carol', 'phone')
    const ask = requester(carol, 'carol')
    const fetches = await Promise.all(Array.from({ length: 41 }, () => ask(OP.fetchBundles, FetchBundlesArgs.toCbor({ user: 'bob' }))))
    const ids = fetches.map((r) => Bundle.fromCbor(FetchBundlesResult.fromCbor(r.result).bundles[0]).preKeyId)
    expect(new Set(ids).size).toBe(41)
    // 9 left, under the threshold of 10: bob's device hears it on u/bob/k and publishes 50 more.
    await done
    expect(await broker.broker.storage.directory.preKeyCount('bob', 'phone')).toBe(59)
    const unknown = await ask(OP.fetchBundles, FetchBundlesArgs.toCbor({ user: 'nobody' }))
    expect(unknown.code).toBe(4)
    const keyless = await ask(OP.fetchBundles, FetchBundlesArgs.toCbor({ user: 'carol' }))
    expect(keyless.code).toBe(63)
  })

  it('refuses a 1:1 encrypted body that misses a device, naming it', async () => {
    await e2eDevice(broker, 'dana', 'phone')
    await e2eDevice(broker, 'dana', 'laptop')
    const raw = rawBroker(broker)
    const eve = await raw.device('eve', 'phone')
    const notice = new Promise<Buffer>((resolve) => eve.on('message', (topic, payload) => { if (topic === 'u/eve/e') resolve(payload) }))
    const body = encodeEncryptedBody({ copies: new Map([['dana', new Map([['phone', new Uint8Array(40)]])]]) })
    eve.publish('c/s', Buffer.from(SendRequest.encode({ clientMsgId: 'x1', to: 'dana', body, kind: 3 })), { qos: 1 })
    expect(ErrorNotice.decode(await notice)).toMatchObject({ code: 61, detail: expect.stringContaining('missing dana/laptop') })
  })
})

describe('--require-e2e', { timeout: 60_000 }, () => {
  let broker: TestBroker
  beforeAll(async () => { broker = await startTestBroker({ requireE2e: true }) })
  afterAll(async () => { await broker.close() })

  it('refuses plaintext chat bodies with E2E_REQUIRED and stores encrypted ones', async () => {
    const client = (user: string, e2e: boolean): LowbandClient => new LowbandClient({ url: broker.url, userId: user, deviceId: 'phone', token: () => broker.token(user), ...(e2e ? { e2e: {} } : {}) })
    const plain = client('frank', false)
    const alice = client('alice', true)
    const bob = client('bob', true)
    try {
      await Promise.all([plain.connect(), alice.connect(), bob.connect()])
      await Promise.all([alice.publishKeys(), bob.publishKeys()])
      await expect(plain.send('bob', 'in clear')).rejects.toMatchObject({ errorName: 'E2E_REQUIRED', code: 60 })
      const got = new Promise<ChatMessage>((resolve) => bob.onMessage(resolve))
      await alice.send('bob', 'sealed')
      expect(await got).toMatchObject({ text: 'sealed', encrypted: true })
    } finally {
      await Promise.all([plain.close(), alice.close(), bob.close()])
    }
  })
})

/** The raw-MQTT side of the SDK test broker (same process, same data). */
function rawBroker (broker: SdkBroker): { device: (user: string, device: string) => Promise<MqttClient> } {
  return {
    async device (user, device) {
      const client = await connectMqtt(broker.url, { clientId: `${user}/${device}`, username: user, password: await broker.token(user) })
      await client.subscribeAsync(`u/${user}/#`, { qos: 1 })
      return client
    }
  }
}
