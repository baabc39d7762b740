import { connect as netConnect, type Socket } from 'node:net'
import { generate, parser, type IPublishPacket, type Packet } from 'mqtt-packet'

export interface RawClientOptions {
  host?: string
  port: number
  clientId: string
  username?: string
  password?: string
  clean: boolean
  /** Seconds; the broker closes a silent client after 1.5× this. */
  keepalive: number
  /** Source address (127.0.0.x): each one has its own ~28k ephemeral ports. */
  localAddress?: string
  connectTimeoutMs?: number
}

export type MessageHandler = (topic: string, payload: Buffer) => void

/** Shared by every client: a PINGREQ never changes. */
const PINGREQ = generate({ cmd: 'pingreq' })

/**
 * A minimal MQTT 3.1.1 client: a socket, a packet parser and a table of unacknowledged publishes.
 * mqtt.js keeps tens of kilobytes per client (stores, timers, streams); this keeps a few hundred
 * bytes, so one process can hold 25 000 idle devices or drive 200 chat clients without becoming the
 * bottleneck it measures. Incoming QoS 1 PUBLISHes are acknowledged at once, as a device would.
 */
export class RawClient {
  readonly #socket: Socket
  /** Callbacks of unacknowledged packets by id; a SUBACK passes its granted QoS. */
  readonly #pending = new Map<number, (granted: number) => void>()
  #nextId = 0
  #onConnack: ((code: number) => void) | undefined
  onMessage: MessageHandler = () => undefined
  onClose: () => void = () => undefined

  private constructor (socket: Socket) {
    this.#socket = socket
    const packets = parser({ protocolVersion: 4 })
    packets.on('packet', (packet: Packet) => this.#receive(packet))
    packets.on('error', () => socket.destroy())
    socket.on('data', (chunk: Buffer) => packets.parse(chunk))
    socket.on('error', () => undefined)
    socket.on('close', () => this.onClose())
  }

  /** Connects and resolves on a successful CONNACK. */
  static connect (options: RawClientOptions): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ host: options.host ?? '127.0.0.1', port: options.port, noDelay: true, ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }) })
      const client = new RawClient(socket)
      const timer = setTimeout(() => fail(new Error(`no CONNACK for ${options.clientId}`)), options.connectTimeoutMs ?? 30_000)
      const fail = (error: Error): void => {
        clearTimeout(timer)
        socket.destroy()
        reject(error)
      }
      socket.once('error', fail)
      client.onClose = () => fail(new Error(`connection of ${options.clientId} closed before CONNACK`))
      client.#onConnack = (code) => {
        clearTimeout(timer)
        socket.off('error', fail)
        client.onClose = () => undefined
        if (code === 0) resolve(client)
        else fail(new Error(`CONNACK ${code} for ${options.clientId}`))
      }
      socket.write(generate({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clientId: options.clientId,
        clean: options.clean,
        keepalive: options.keepalive,
        ...(options.username === undefined ? {} : { username: options.username }),
        ...(options.password === undefined ? {} : { password: Buffer.from(options.password) })
      }))
    })
  }

  get inFlight (): number {
    return this.#pending.size
  }

  /** Subscribes to one filter; resolves with the granted QoS (0x80 = refused). */
  subscribe (topic: string, qos: 0 | 1): Promise<number> {
    return new Promise((resolve) => {
      const messageId = this.#allocateId()
      this.#pending.set(messageId, resolve)
      this.#socket.write(generate({ cmd: 'subscribe', messageId, subscriptions: [{ topic, qos }] }))
    })
  }

  /** QoS 1 resolves on PUBACK; QoS 0 once written. `onAck` avoids a promise per message under load. */
  publish (topic: string, payload: Buffer, qos: 0 | 1, onAck?: () => void): void {
    if (qos === 0) {
      this.#socket.write(generate({ cmd: 'publish', topic, payload, qos: 0, retain: false, dup: false }))
      onAck?.()
      return
    }
    const messageId = this.#allocateId()
    this.#pending.set(messageId, onAck ?? (() => undefined))
    this.#socket.write(generate({ cmd: 'publish', topic, payload, qos: 1, messageId, retain: false, dup: false }))
  }

  publishAsync (topic: string, payload: Buffer, qos: 0 | 1): Promise<void> {
    return new Promise((resolve) => this.publish(topic, payload, qos, resolve))
  }

  ping (): void {
    this.#socket.write(PINGREQ)
  }

  end (): void {
    if (this.#socket.destroyed) return
    this.#socket.end(generate({ cmd: 'disconnect' }))
  }

  destroy (): void {
    this.#socket.destroy()
  }

  #allocateId (): number {
    // Packet ids are 1..65535 and must not be reused while in flight [MQTT-2.3.1-2].
    do {
      this.#nextId = this.#nextId % 65_535 + 1
    } while (this.#pending.has(this.#nextId))
    return this.#nextId
  }

  #receive (packet: Packet): void {
    switch (packet.cmd) {
      case 'connack':
        this.#onConnack?.(packet.returnCode ?? 0)
        return
      case 'publish':
        this.#deliver(packet)
        return
      case 'puback':
      case 'suback':
      case 'unsuback': {
        const id = packet.messageId ?? 0
        const done = this.#pending.get(id)
        this.#pending.delete(id)
        done?.(packet.cmd === 'suback' ? Number(packet.granted[0] ?? 0x80) : 0)
        return
      }
      default:
    }
  }

  #deliver (packet: IPublishPacket): void {
    // [MQTT-4.3.2-2]: QoS 1 is acknowledged with a PUBACK carrying the packet identifier.
    if (packet.qos === 1) this.#socket.write(generate({ cmd: 'puback', messageId: packet.messageId ?? 0 }))
    this.onMessage(packet.topic, packet.payload as Buffer)
  }
}
