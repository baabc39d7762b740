import { connect as netConnect, type Socket } from 'node:net'
import { Duplex } from 'node:stream'
import { Aedes, type Client } from 'aedes'
import mqttPacket, { type Packet } from 'mqtt-packet'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { isolateSlowConsumers } from '../../broker/slow-consumers.js'
import { InboxMessage, ResumeRequest } from '../../protocol/envelopes.js'
import { startTestBroker, type TestBroker } from '../helpers/broker.js'
import { sendRaw } from '../helpers/chat.js'
import { Inbox } from '../helpers/messages.js'

const connectPacket = (clientId: string, clean = true): Buffer => mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId, clean, keepalive: 0 })
const subscribePacket = (...topics: string[]): Buffer => mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: topics.map((topic) => ({ topic, qos: 1 as const })) })

/** A connection whose peer never reads: after `highWaterMark` bytes every write waits for a 'drain' that never comes. */
function stalledConnection (): Duplex {
  return new Duplex({ highWaterMark: 1024, read () {}, write () { /* never completes */ } })
}

/** A connection whose peer reads everything; its PUBLISHes are collected. */
function readingConnection (): { conn: Duplex, published: () => string[] } {
  const received: Packet[] = []
  const parser = mqttPacket.parser({ protocolVersion: 4 })
  parser.on('packet', (packet: Packet) => received.push(packet))
  const conn = new Duplex({ read () {}, write (chunk: Buffer, _encoding, done) { parser.parse(chunk); done() } })
  return { conn, published: () => received.flatMap((p) => p.cmd === 'publish' ? [String(p.payload)] : []) }
}

async function eventually (check: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

describe('slow consumers (patch points in Aedes 1.2 / mqemitter 7)', () => {
  let broker: Aedes
  let closed: Array<{ client: Client, queuedBytes: number }>
  beforeEach(async () => {
    broker = await Aedes.createBroker()
    closed = []
  })
  afterEach(() => new Promise<void>((resolve) => broker.close(() => resolve())))

  const subscribe = async (conn: Duplex, clientId: string, topic: string, clean = true): Promise<Client> => {
    const subscribed = new Promise<void>((resolve) => broker.on('subscribe', (_subs, client) => { if (client.id === clientId) resolve() }))
    const client = broker.handle(conn)
    conn.push(Buffer.concat([connectPacket(clientId, clean), subscribePacket(topic)]))
    await subscribed
    return client
  }
  const publish = (topic: string, payload: Buffer): void => {
    broker.publish({ cmd: 'publish', topic, payload, qos: 1, retain: false, dup: false }, () => undefined)
  }

  it('finds the internals it replaces in the installed Aedes and mqemitter', () => {
    expect(isolateSlowConsumers(broker, { maxQueuedBytes: 2 ** 30, closed: () => undefined, resumable: () => true })).toEqual({ dispatching: true })
    const client = broker.handle(stalledConnection())
    expect(Object.hasOwn(client, 'waitForDrain')).toBe(true)
  })

  it('delivers to a reading subscriber while 300 deliveries wait on a socket that never drains', async () => {
    isolateSlowConsumers(broker, { maxQueuedBytes: 2 ** 30, closed: (client, queuedBytes) => closed.push({ client, queuedBytes }), resumable: () => true })
    await subscribe(stalledConnection(), 'stalled', 'slow/#')
    const reader = readingConnection()
    await subscribe(reader.conn, 'reader', 'fast')
    // Aedes lets 100 publishes be under way at once; each of these waits for the stalled socket.
    for (let i = 0; i < 300; i++) publish('slow/x', Buffer.alloc(100))
    publish('fast', Buffer.from('not held up'))
    await eventually(() => reader.published().includes('not held up'), 'the reading subscriber\'s message')
    expect(closed).toEqual([])
  })

  it('closes a connection once its outgoing backlog passes the limit, and says so once', async () => {
    isolateSlowConsumers(broker, { maxQueuedBytes: 64 * 1024, closed: (client, queuedBytes) => closed.push({ client, queuedBytes }), resumable: () => true })
    const conn = stalledConnection()
    const client = await subscribe(conn, 'stalled', 'slow/#')
    const gone = new Promise<Client>((resolve) => broker.once('clientDisconnect', resolve))
    for (let i = 0; i < 100; i++) publish('slow/x', Buffer.alloc(1000))
    expect(await gone).toBe(client)
    expect(conn.destroyed).toBe(true)
    expect(closed).toHaveLength(1)
    expect(closed[0]!.client).toBe(client)
    expect(closed[0]!.queuedBytes).toBeGreaterThan(64 * 1024)
  })

  it('drops what a closed persistent session held in flight on resumable topics, and keeps the rest', async () => {
    isolateSlowConsumers(broker, { maxQueuedBytes: 64 * 1024, closed: () => undefined, resumable: (topic) => topic.startsWith('slow/') })
    const conn = stalledConnection()
    const client = await subscribe(conn, 'stalled', '#', false)
    const gone = new Promise<Client>((resolve) => broker.once('clientDisconnect', resolve))
    for (let i = 0; i < 100; i++) publish(i % 10 === 0 ? 'keep/x' : 'slow/x', Buffer.alloc(1000))
    await gone
    const queue = (broker as unknown as { persistence: { outgoingStream (c: Client): AsyncIterable<{ topic: string }> } }).persistence
    const inFlight = async (): Promise<string[]> => { const topics: string[] = []; for await (const p of queue.outgoingStream(client)) topics.push(p.topic); return topics }
    let topics = await inFlight()
    for (let i = 0; i < 100 && topics.some((t) => t.startsWith('slow/')); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10))
      topics = await inFlight()
    }
    expect(topics).toEqual(Array.from({ length: 10 }, () => 'keep/x'))
  })
})

describe('a device that stops reading', () => {
  let broker: TestBroker
  beforeAll(async () => { broker = await startTestBroker({ maxQueuedBytes: '64KiB', rateLimit: 10_000, rateBurst: 10_000, rateBytes: '1GiB' }) })
  afterAll(() => broker.close())

  /** A raw MQTT device on a socket the test controls: `pause()` stops reading. */
  const rawDevice = async (user: string, device: string): Promise<{ socket: Socket, published: Packet[] }> => {
    const socket = netConnect(broker.ports.tcp, '127.0.0.1')
    const published: Packet[] = []
    const parser = mqttPacket.parser({ protocolVersion: 4 })
    const suback = new Promise<void>((resolve) => parser.on('packet', (packet: Packet) => {
      if (packet.cmd === 'suback') resolve()
      if (packet.cmd !== 'publish') return
      published.push(packet)
      if (packet.qos === 1) socket.write(mqttPacket.generate({ cmd: 'puback', messageId: packet.messageId! }))
    }))
    socket.on('data', (chunk) => parser.parse(chunk))
    socket.on('error', () => undefined)
    socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: `${user}/${device}`, clean: false, keepalive: 0, username: user, password: Buffer.from(await broker.token(user)) }))
    socket.write(subscribePacket(`u/${user}/#`))
    await suback
    return { socket, published }
  }

  it('is disconnected once its backlog passes --max-queued-bytes, never holds up others, and resumes everything from the store', async () => {
    const alice = await broker.device('alice', 'phone')
    const carol = await broker.device('carol', 'phone')
    const bob = new Inbox(await broker.device('bob', 'phone'))
    const slow = await rawDevice('slow', 'phone')
    slow.socket.pause()
    // Until the kernel's socket buffers (~4 MiB on loopback) and then the broker's own are full.
    const body = 'x'.repeat(60_000)
    const closedForBacklog = (): boolean => broker.logs.some((line) => line.includes('outgoing backlog is over --max-queued-bytes'))
    let count = 0
    while (!closedForBacklog() && count < 300) await sendRaw(alice, 'slow', body, `big-${count++}`)
    await eventually(closedForBacklog, 'the backlog closure')
    await sendRaw(carol, 'bob', 'meanwhile')
    await bob.wait('inbox')
    const metrics = await (await fetch(`http://127.0.0.1:${broker.ports.http}/metrics`)).text()
    expect(metrics).toMatch(/^lowband_connections_closed_total\{reason="backlog"\} 1$/m)

    slow.socket.destroy()
    const back = await rawDevice('slow', 'phone')
    back.socket.write(mqttPacket.generate({ cmd: 'publish', topic: 'c/r', payload: Buffer.from(ResumeRequest.encode({ cursor: 0 })), qos: 1, messageId: 2, retain: false, dup: false }))
    await eventually(() => new Set(back.published.flatMap((p) => p.cmd === 'publish' && p.topic === 'u/slow' ? [InboxMessage.decode(p.payload as Buffer).seq] : [])).size === count, 'every message replayed', 10_000)
    back.socket.destroy()
  })
})
