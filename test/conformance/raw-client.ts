import { randomUUID } from 'node:crypto'
import { connect as tcpConnect, type Socket } from 'node:net'
import mqttPacket, { type IConnackPacket, type IConnectPacket, type IPublishPacket, type ISubackPacket, type Packet } from 'mqtt-packet'

/** How long a test waits for a packet or a close that must come. Generous: the machine is shared. */
export const WAIT_MS = 3000

/** The packet id `drain` subscribes with; tests use small ids. */
const SENTINEL_ID = 65_000

/**
 * An MQTT 3.1.1 client made of nothing but a socket and mqtt-packet: it sends exactly the packets a
 * test builds (or raw bytes, for malformed ones) and records exactly what the broker answers, so a
 * conformance test sees the wire and not a client library's interpretation of it.
 */
export class RawClient {
  readonly #socket: Socket
  readonly #received: Packet[] = []
  readonly #waiters = new Set<() => void>()
  #closed = false
  /** Set when the broker's bytes did not parse: a broker bug, failed by `next`. */
  #parseError: Error | undefined

  private constructor (socket: Socket) {
    this.#socket = socket
    const parser = mqttPacket.parser({ protocolVersion: 4 })
    parser.on('packet', (packet: Packet) => { this.#received.push(packet); this.#wake() })
    parser.on('error', (error: Error) => { this.#parseError = error; this.#wake() })
    socket.on('data', (chunk: Buffer) => parser.parse(chunk))
    socket.on('error', () => { /* a reset is a close, which tests observe */ })
    socket.on('close', () => { this.#closed = true; this.#wake() })
  }

  static open (port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = tcpConnect({ host: '127.0.0.1', port }, () => {
        socket.off('error', reject)
        resolve(new RawClient(socket))
      })
      socket.once('error', reject)
    })
  }

  /** Opens a socket, sends CONNECT and returns the client with the CONNACK it got. */
  static async connect (port: number, options: Partial<IConnectPacket> = {}): Promise<{ client: RawClient, connack: IConnackPacket }> {
    const client = await RawClient.open(port)
    client.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, clientId: '', ...options })
    const connack = await client.next('connack')
    return { client, connack }
  }

  get closed (): boolean {
    return this.#closed
  }

  send (packet: Packet): void {
    this.#socket.write(mqttPacket.generate(packet))
  }

  sendBytes (bytes: Buffer | number[]): void {
    this.#socket.write(Buffer.from(bytes))
  }

  /** The next packet from the broker (of `cmd`, skipping none: another command first fails the test). */
  next<C extends Packet['cmd']> (cmd: C, timeoutMs = WAIT_MS): Promise<Extract<Packet, { cmd: C }>> {
    return this.#until(() => {
      const packet = this.#received.shift()
      if (packet === undefined) return undefined
      if (packet.cmd !== cmd) throw new Error(`expected ${cmd}, got ${JSON.stringify(summary(packet))}`)
      return packet as Extract<Packet, { cmd: C }>
    }, cmd, timeoutMs)
  }

  nextPublish (timeoutMs = WAIT_MS): Promise<IPublishPacket> {
    return this.next('publish', timeoutMs)
  }

  /** Subscribes and returns the SUBACK's return codes. */
  async subscribe (messageId: number, ...subscriptions: Array<{ topic: string, qos: 0 | 1 | 2 }>): Promise<ISubackPacket['granted']> {
    this.send({ cmd: 'subscribe', messageId, subscriptions })
    const suback = await this.next('suback')
    if (suback.messageId !== messageId) throw new Error(`SUBACK for ${suback.messageId}, sent ${messageId}`)
    return suback.granted
  }

  /** Resolves once the broker has closed the connection; rejects if it stays open past the timeout. */
  waitClosed (timeoutMs = WAIT_MS): Promise<void> {
    return this.#until(() => this.#closed ? true : undefined, 'close', timeoutMs, { closeEnds: false }).then(() => undefined)
  }

  /**
   * Every packet the broker sends this client before a sentinel message comes back through it. A
   * test that must show something was *not* sent asks this: the client subscribes to a topic of its
   * own and `via` (the client whose traffic is in question; by default this one) publishes to it.
   * The broker delivers one publisher's messages in order [MQTT-4.6.0-6], and whatever it had queued
   * or routed for this client before comes first. `sentinel` must be a topic both may use.
   */
  async drain (via: RawClient = this, sentinel = uniqueTopic('sentinel')): Promise<Packet[]> {
    const packets: Packet[] = []
    const collectUntil = async (isEnd: (packet: Packet) => boolean): Promise<void> => {
      for (;;) {
        const packet = await this.#until(() => this.#received.shift(), 'the sentinel', WAIT_MS)
        if (isEnd(packet)) return
        packets.push(packet)
      }
    }
    this.send({ cmd: 'subscribe', messageId: SENTINEL_ID, subscriptions: [{ topic: sentinel, qos: 0 }] })
    await collectUntil((p) => p.cmd === 'suback' && p.messageId === SENTINEL_ID)
    via.send({ cmd: 'publish', topic: sentinel, payload: Buffer.alloc(0), qos: 0, retain: false, dup: false })
    await collectUntil((p) => p.cmd === 'publish' && p.topic === sentinel)
    return packets
  }

  /** Packets received and not yet taken by `next`. */
  unread (): Packet[] {
    return this.#received.splice(0)
  }

  /** Closes the socket without DISCONNECT: to the broker, a network failure. */
  drop (): void {
    this.#socket.destroy()
  }

  /** Sends DISCONNECT and closes. */
  async disconnect (): Promise<void> {
    if (this.#closed) return
    this.send({ cmd: 'disconnect' })
    this.#socket.end()
    await this.waitClosed()
  }

  #wake (): void {
    for (const waiter of [...this.#waiters]) waiter()
  }

  #until<T> (take: () => T | undefined, what: string, timeoutMs: number, { closeEnds = true } = {}): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        try {
          if (this.#parseError !== undefined) throw this.#parseError
          const value = take()
          if (value !== undefined) return finish(() => resolve(value))
          if (this.#closed && closeEnds) return finish(() => reject(new Error(`connection closed while waiting for ${what}`)))
        } catch (error) {
          finish(() => reject(error as Error))
        }
      }
      const timer = setTimeout(() => finish(() => reject(new Error(`no ${what} within ${timeoutMs} ms`))), timeoutMs)
      const finish = (settle: () => void): void => {
        clearTimeout(timer)
        this.#waiters.delete(check)
        settle()
      }
      this.#waiters.add(check)
      check()
    })
  }
}

function summary (packet: Packet): Record<string, unknown> {
  const { cmd } = packet
  const fields = packet as unknown as Record<string, unknown>
  return { cmd, topic: fields.topic, messageId: fields.messageId, returnCode: fields.returnCode }
}

/** A topic of its own for each test, so tests sharing one broker never see each other's messages. */
export function uniqueTopic (name: string): string {
  return `conf/${randomUUID().slice(0, 8)}/${name}`
}

/** A client id of its own for each test (session state is kept by client id). */
export function uniqueClientId (name: string): string {
  return `${name}-${randomUUID().slice(0, 8)}`
}
