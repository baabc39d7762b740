import mqtt, { type MqttClient } from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import { qos0Publish } from '../../clients/sdk/mqtt-transport.js'
import { InboxMessage, ResumeRequest, Synced } from '../../protocol/envelopes.js'
import { COMMAND, inboxTopic, syncedTopic } from '../../protocol/topics.js'
import { startTestBroker, type TestBroker } from '../helpers/broker.js'
import { sendRaw } from '../helpers/chat.js'

/** What a device saw on one connection, from the first packet after CONNACK. */
interface Seen { inbox: number[], synced: number[] }

let broker: TestBroker | undefined
afterEach(async () => { await broker?.close(); broker = undefined })

/**
 * Connects bob's phone with a persistent session and records what arrives, listening before the
 * CONNACK; `pipelinedCursor` writes a resume request right behind the CONNECT, as the SDK does.
 */
async function connectBob (b: TestBroker, pipelinedCursor?: number): Promise<{ client: MqttClient, seen: Seen }> {
  const seen: Seen = { inbox: [], synced: [] }
  const client = mqtt.connect(b.url, { clientId: 'bob/phone', username: 'bob', password: await b.token('bob'), clean: false, reconnectPeriod: 0, protocolVersion: 4 })
  if (pipelinedCursor !== undefined) client.stream.write(qos0Publish({ topic: COMMAND.resume, payload: ResumeRequest.encode({ cursor: pipelinedCursor }) }))
  client.on('message', (topic, payload) => {
    if (topic === inboxTopic('bob')) seen.inbox.push(InboxMessage.decode(payload).seq)
    if (topic === syncedTopic('bob')) seen.synced.push(Synced.decode(payload).seq)
  })
  await new Promise<void>((resolve, reject) => { client.once('connect', () => resolve()); client.once('error', reject) })
  return { client, seen }
}

const until = async (ready: () => boolean): Promise<void> => {
  while (!ready()) await new Promise((resolve) => setTimeout(resolve, 10))
}

/** Bob's phone receives (and so PUBACKs) `live` messages, goes away, and `away` more are sent. */
async function bobAway (b: TestBroker, live: number, away: number, body = (i: number): string => `away ${i}`): Promise<void> {
  const alice = await b.device('alice', 'phone')
  const bob = await connectBob(b)
  await bob.client.subscribeAsync('u/bob/#', { qos: 1 })
  for (let i = 0; i < live; i++) await sendRaw(alice, 'bob', `live ${i}`)
  await until(() => bob.seen.inbox.length === live)
  // Its PUBACKs reach the broker before the DISCONNECT does.
  await new Promise((resolve) => setTimeout(resolve, 50))
  await bob.client.endAsync()
  for (let i = 0; i < away; i++) await sendRaw(alice, 'bob', body(i))
}

describe('resume with no request round trip', () => {
  it('replays the backlog right after the CONNACK, from the cursor the device\'s PUBACKs left, unasked', async () => {
    broker = await startTestBroker()
    await bobAway(broker, 2, 3)
    const { client, seen } = await connectBob(broker)
    await until(() => seen.synced.length === 1)
    expect(seen).toEqual({ inbox: [3, 4, 5], synced: [5] })
    await client.endAsync()
  })

  it('skips what a pipelined resume says the device holds beyond the broker\'s record', async () => {
    broker = await startTestBroker()
    await bobAway(broker, 2, 4)
    // The device holds up to 4 (another connection brought them; the record lags).
    const { client, seen } = await connectBob(broker, 4)
    await until(() => seen.synced.length === 1)
    expect(seen).toEqual({ inbox: [5, 6], synced: [6] })
    await client.endAsync()
  })

  it('sends a device behind the record only the range the broker\'s replay left out, nothing twice', async () => {
    broker = await startTestBroker()
    await bobAway(broker, 3, 2)
    // The app kept its cursor at 1 (it did not save the last two it acknowledged).
    const { client, seen } = await connectBob(broker, 1)
    await until(() => seen.synced.length === 1 && seen.inbox.length === 4)
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect([...seen.inbox].sort((a, b) => a - b)).toEqual([2, 3, 4, 5])
    expect(seen.synced).toEqual([5])
    await client.endAsync()
  })

  it('leaves a device it has no record of to ask, and a later request is a full replay (gap repair)', async () => {
    broker = await startTestBroker()
    const alice = await broker.device('alice', 'phone')
    await broker.device('bob', 'laptop', { subscribe: false }) // bob exists; his phone never connected
    for (let i = 0; i < 2; i++) await sendRaw(alice, 'bob', `m ${i}`)
    const { client, seen } = await connectBob(broker)
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(seen).toEqual({ inbox: [], synced: [] })
    await client.publishAsync(COMMAND.resume, Buffer.from(ResumeRequest.encode({ cursor: 0 })), { qos: 1 })
    await until(() => seen.synced.length === 1)
    await client.publishAsync(COMMAND.resume, Buffer.from(ResumeRequest.encode({ cursor: 1 })), { qos: 1 })
    await until(() => seen.synced.length === 2)
    expect(seen).toEqual({ inbox: [1, 2, 2], synced: [2, 2] })
    await client.endAsync()
  })

  it('writes the replay in one go: its packets reach the device in one read, not one segment each', async () => {
    broker = await startTestBroker()
    await bobAway(broker, 1, 30)
    const reads: number[] = []
    const { client, seen } = await connectBob(broker)
    client.stream.on('data', (chunk: Buffer) => reads.push(chunk.length))
    await until(() => seen.synced.length === 1)
    expect(seen.inbox).toHaveLength(30)
    // A new connection's first flight is ~10 segments (TCP's initial window): one segment per
    // replayed message would hold the rest of a 30-message backlog back by a round trip. The
    // replay leaves in one socket write, the Synced behind it in at most one more.
    expect(reads.length).toBeLessThanOrEqual(2)
    await client.endAsync()
  })

  it('hands a replay of large messages to the socket in batches, never past the slow-consumer limit', async () => {
    broker = await startTestBroker({ maxQueuedBytes: '64KiB', rateLimit: 10_000, rateBurst: 10_000, rateBytes: '1GiB' })
    // 40 × 4 kB: 160 kB, more than twice the limit, were it all handed over at once.
    await bobAway(broker, 1, 40, (i) => `${i} `.padEnd(4000, 'x'))
    const { client, seen } = await connectBob(broker)
    await until(() => seen.synced.length === 1)
    expect(seen.inbox).toEqual(Array.from({ length: 40 }, (_, i) => i + 2))
    expect(broker.logs.join('')).not.toMatch(/over the limit|outgoing backlog/)
    await client.endAsync()
  })

  it('keeps the cursor across a broker restart (written at close)', async () => {
    broker = await startTestBroker({}, undefined, {})
    await bobAway(broker, 2, 1)
    const dataDir = broker.dataDir
    await broker.stop()
    broker = await startTestBroker({}, dataDir, { removeDataDir: true })
    const { client, seen } = await connectBob(broker)
    await until(() => seen.synced.length === 1)
    expect(seen).toEqual({ inbox: [3], synced: [3] })
    await client.endAsync()
  })
})
