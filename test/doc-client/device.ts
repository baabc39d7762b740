import { connect as tcpConnect, type Socket } from 'node:net'
import { Decoder, encode } from 'cbor-x'
import mqttPacket, { type IPublishPacket, type Packet } from 'mqtt-packet'

/**
 * A lowband device written from docs/PROTOCOL.md alone, as a stranger would: MQTT 3.1.1 packets from
 * mqtt-packet over a plain TCP socket, payloads from cbor-x with its defaults (a JavaScript Map with
 * integer keys, which cbor-x writes under CBOR tag 259). It imports nothing of lowband's.
 */

/** A payload: a CBOR map with small integer keys (PROTOCOL.md, Envelopes). */
export type Envelope = Map<number, unknown>

/** Maps decode as Maps, so integer keys stay integers (cbor-x's default would make them object keys). */
const cbor = new Decoder({ mapsAsObjects: false })

/**
 * Positional envelopes (PROTOCOL.md, Envelopes): the broker sends these as arrays in a fixed order.
 * Each position's key in the keyed form, by topic suffix ('' for the inbox, `u/<user>` itself), so
 * the rest of the client reads one form.
 */
const POSITIONS: Record<string, readonly number[]> = {
  '': [2, 4, 6, 7, 9, 5, 10, 11, 3, 8], // InboxMessage: from, body, seq, ts, cseq, kind, group, device, to, clientMsgId
  o: [2, 4, 6, 7, 9, 5, 10, 11, 3, 8],
  a: [1, 3, 5], // StoredAck: clientMsgId, seq, cseq
  r: [1, 2, 4, 5, 3, 6], // Receipt: seq, peer, cseq, ts, status (absent: 1 delivered), group
  t: [1, 2, 3] // TypingNotice: from, state, group
}

/** A received payload in its keyed form: a positional array becomes the map it stands for; `null` is an absent field. */
function keyed (topic: string, payload: unknown): Envelope {
  const positions = POSITIONS[topic.split('/')[2] ?? '']
  if (positions === undefined || !Array.isArray(payload)) return payload as Envelope
  const map: Envelope = new Map()
  positions.forEach((key, i) => { if (payload[i] !== undefined && payload[i] !== null) map.set(key, payload[i]) })
  if (topic.endsWith('/r') && !map.has(3)) map.set(3, 1)
  return map
}

/** How long a step waits for what the broker must send; generous, the machine is shared. */
const WAIT_MS = 10_000

export interface Received {
  readonly topic: string
  readonly qos: number
  readonly payload: Envelope
}

export function isPublish (entry: Received | Packet): entry is Received { return !('cmd' in entry) }

export class Device {
  readonly #socket: Socket
  /** Everything received, in order: PUBLISHes decoded, other packets as they came. */
  readonly log: Array<Received | Packet> = []
  readonly #waiters = new Set<() => void>()
  #nextId = 1
  closed = false

  private constructor (socket: Socket) {
    this.#socket = socket
    const parser = mqttPacket.parser({ protocolVersion: 4 })
    parser.on('packet', (packet: Packet) => this.#received(packet))
    socket.on('data', (chunk: Buffer) => parser.parse(chunk))
    socket.on('error', () => { /* a reset is a close */ })
    socket.on('close', () => { this.closed = true; this.#wake() })
  }

  /**
   * Connecting (PROTOCOL.md): client id `<user>/<device>`, username the user, password the token;
   * clean session false for a device that receives, or delivered receipts never come.
   */
  static async connect (port: number, user: string, device: string, token: string, clean = false): Promise<{ device: Device, returnCode: number, sessionPresent: boolean }> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = tcpConnect({ host: '127.0.0.1', port }, () => resolve(s))
      s.once('error', reject)
    })
    const d = new Device(socket)
    d.#write({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean, keepalive: 60, clientId: `${user}/${device}`, username: user, password: Buffer.from(token) })
    const connack = await d.waitPacket((p) => p.cmd === 'connack')
    if (connack.cmd !== 'connack') throw new Error('unreachable')
    return { device: d, returnCode: connack.returnCode ?? -1, sessionPresent: connack.sessionPresent }
  }

  /** One SUBSCRIBE; resolves with the granted QoS list of its SUBACK. */
  async subscribe (topic: string, qos: 0 | 1 = 1): Promise<number[]> {
    const messageId = this.#nextId++
    this.#write({ cmd: 'subscribe', messageId, subscriptions: [{ topic, qos }] })
    const suback = await this.waitPacket((p) => p.cmd === 'suback' && p.messageId === messageId)
    return suback.cmd === 'suback' ? suback.granted as number[] : []
  }

  async unsubscribe (topic: string): Promise<void> {
    const messageId = this.#nextId++
    this.#write({ cmd: 'unsubscribe', messageId, unsubscriptions: [topic] })
    await this.waitPacket((p) => p.cmd === 'unsuback' && p.messageId === messageId)
  }

  /** PUBLISH a CBOR payload (or raw bytes); at QoS 1 resolves on its PUBACK, with its packet id. */
  async publish (topic: string, payload: Envelope | Uint8Array, qos: 0 | 1 = 1): Promise<number | undefined> {
    const bytes = payload instanceof Map ? encode(payload) : payload
    if (qos === 0) {
      this.#write({ cmd: 'publish', topic, payload: Buffer.from(bytes), qos: 0, retain: false, dup: false })
      return undefined
    }
    const messageId = this.#nextId++
    this.#write({ cmd: 'publish', topic, payload: Buffer.from(bytes), qos: 1, messageId, retain: false, dup: false })
    await this.waitPacket((p) => p.cmd === 'puback' && p.messageId === messageId)
    return messageId
  }

  /** The payloads received so far on `topic`, in order. */
  received (topic: string): Envelope[] {
    return this.log.flatMap((entry) => isPublish(entry) && entry.topic === topic ? [entry.payload] : [])
  }

  /** Where in the log the first entry passing `test` is (-1: none). */
  indexOf (test: (entry: Received | Packet) => boolean): number { return this.log.findIndex(test) }

  /** The first PUBLISH received (already or later) on `topic` whose payload passes `test`. */
  async next (topic: string, test: (payload: Envelope) => boolean = () => true): Promise<Envelope> {
    const found = await this.#until(topic, () => this.log.find((entry): entry is Received => isPublish(entry) && entry.topic === topic && test(entry.payload)))
    return found.payload
  }

  /** The first non-PUBLISH packet received that passes `test`. */
  waitPacket (test: (packet: Packet) => boolean): Promise<Packet> {
    return this.#until('a packet', () => this.log.find((entry): entry is Packet => 'cmd' in entry && test(entry)))
  }

  /** Resolves when the broker closes the connection. */
  async waitClosed (): Promise<void> {
    await this.#until('the close', () => this.closed ? true : undefined)
  }

  /** A clean DISCONNECT. */
  async disconnect (): Promise<void> {
    this.#write({ cmd: 'disconnect' })
    this.#socket.end()
    await this.waitClosed()
  }

  /** Drops the socket without DISCONNECT (a lost link). */
  drop (): void { this.#socket.destroy() }

  #received (packet: Packet): void {
    if (packet.cmd === 'publish') {
      const publish = packet as IPublishPacket
      // Every message and receipt is QoS 1 to a receiving device: PUBACK it (the broker derives ✓✓ from it).
      if (publish.qos === 1) this.#write({ cmd: 'puback', messageId: publish.messageId! })
      this.log.push({ topic: publish.topic, qos: publish.qos, payload: keyed(publish.topic, cbor.decode(publish.payload as Buffer)) })
    } else {
      this.log.push(packet)
    }
    this.#wake()
  }

  #write (packet: Packet): void { this.#socket.write(mqttPacket.generate(packet)) }

  #wake (): void { for (const waiter of [...this.#waiters]) waiter() }

  #until<T> (what: string, find: () => T | undefined): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = find()
        if (found !== undefined) { done(); resolve(found) }
      }
      const timer = setTimeout(() => { done(); reject(new Error(`${what}: not received within ${WAIT_MS} ms`)) }, WAIT_MS)
      const done = (): void => { clearTimeout(timer); this.#waiters.delete(check) }
      this.#waiters.add(check)
      check()
    })
  }
}
