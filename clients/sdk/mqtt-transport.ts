// The default export, not named imports: mqtt.js's browser build (chosen by bundlers through its
// `browser` export condition) is one bundled object with no named exports.
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import type { Duplex } from 'node:stream'
import { concat } from './bytes.js'
import { ConnectionRefusedError, SubscriptionRefusedError } from './errors.js'
import type { Transport, TransportFactory, TransportOptions, TransportPublish } from './transport.js'

/**
 * mqtt.js types payloads as Node's Buffer, but any Uint8Array works: mqtt-packet measures and
 * writes byte views as they are. No copy, and no use of the Buffer global, which exists in Node
 * only (the SDK also runs in browsers and React Native). A type-only cast.
 */
function asBuffer (bytes: Uint8Array): Buffer {
  return bytes as Buffer
}

/** TLS settings for mqtts:// and wss:// (a private CA in development, for instance). */
export interface MqttTlsOptions {
  ca?: string | Uint8Array
  rejectUnauthorized?: boolean
}

/** A TCP connection a {@link Dialer} opened, and how to hear that its handshake is done. */
export interface DialedSocket {
  readonly stream: Duplex
  onEstablished (listener: () => void): void
}

/**
 * Opens the TCP connection of an mqtt:// URL itself (TCP Fast Open: fast-open-transport.ts, Node
 * only), or resolves undefined to leave it to mqtt.js. Kept out of this file: the SDK also runs in
 * browsers and React Native.
 */
export type Dialer = (host: string, port: number) => Promise<DialedSocket | undefined>

/** A transport factory on mqtt.js; the URL scheme picks TCP, TLS, WebSocket or secure WebSocket. */
export function mqttTransportFactory (tls: MqttTlsOptions = {}, dial?: Dialer): TransportFactory {
  return (options) => new MqttTransport(options, tls, dial)
}

/** The host and port of an mqtt:// URL (1883 when it names none); undefined for other schemes. */
function tcpAddress (url: string): { host: string, port: number } | undefined {
  const parsed = new URL(url)
  return parsed.protocol === 'mqtt:' ? { host: parsed.hostname, port: Number(parsed.port === '' ? 1883 : parsed.port) } : undefined
}

/** One mqtt.js client for exactly one network connection: its own reconnect is switched off. */
export class MqttTransport implements Transport {
  readonly #options: IClientOptions
  readonly #url: string
  #client: MqttClient | undefined
  #onMessage: (topic: string, payload: Uint8Array) => void = () => {}
  #onClose: (error?: Error) => void = () => {}
  #onEstablished: () => void = () => {}
  #open = false
  #lastError: Error | undefined
  readonly #pipelined: readonly TransportPublish[]
  readonly #noDelay: boolean
  readonly #dial: Dialer | undefined
  /** close() was called: a connection dialed after it is dropped at once. */
  #closed = false
  /** Settled by hand on close: mqtt.js keeps QoS 1 callbacks waiting for a reconnect that never comes. */
  readonly #pending = new Set<(error: Error) => void>()

  constructor (options: TransportOptions, tls: MqttTlsOptions = {}, dial?: Dialer) {
    if (!/^(mqtts?|wss?):\/\//i.test(options.url)) throw new TypeError(`unsupported broker URL ${JSON.stringify(options.url)}: use mqtt://, mqtts://, ws:// or wss://`)
    // lowband serves MQTT over WebSocket at /mqtt; mqtt.js would ask for / when no path is given.
    this.#url = /^wss?:\/\/[^/?#]+$/i.test(options.url) ? `${options.url}/mqtt` : options.url
    this.#pipelined = options.pipelined ?? []
    this.#noDelay = options.noDelay ?? false
    this.#dial = dial
    this.#options = {
      clientId: options.clientId,
      username: options.username,
      password: options.password,
      // aedes 1.2 speaks MQTT 3.1.1 only.
      protocolVersion: 4,
      clean: options.clean,
      keepalive: options.keepaliveSeconds,
      connectTimeout: options.connectTimeoutMs,
      // The SDK owns reconnection (backoff with jitter, resubscribe, resume, outbox).
      reconnectPeriod: 0,
      resubscribe: false,
      queueQoSZero: false,
      ...(options.will === undefined ? {} : { will: { topic: options.will.topic, payload: asBuffer(options.will.payload), qos: options.will.qos, retain: false } }),
      ...(tls.ca === undefined ? {} : { ca: typeof tls.ca === 'string' ? tls.ca : asBuffer(tls.ca) }),
      ...(tls.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: tls.rejectUnauthorized })
    }
  }

  onMessage (handler: (topic: string, payload: Uint8Array) => void): void {
    this.#onMessage = handler
  }

  onClose (handler: (error?: Error) => void): void {
    this.#onClose = handler
  }

  onEstablished (handler: () => void): void {
    this.#onEstablished = handler
  }

  async connect (): Promise<void> {
    if (this.#client !== undefined) throw new Error('a transport connects once')
    const address = this.#dial === undefined ? undefined : tcpAddress(this.#url)
    const dialed = address === undefined ? undefined : await this.#dial!(address.host, address.port)
    if (this.#closed) {
      dialed?.stream.destroy()
      throw new Error('transport closed while connecting')
    }
    return new Promise((resolve, reject) => {
      const client = dialed === undefined ? mqtt.connect(this.#url, this.#options) : new mqtt.MqttClient(() => dialed.stream, { ...this.#options })
      this.#client = client
      // A net or TLS socket (Node) has setNoDelay; a WebSocket stream does not, and is left as it is.
      if (this.#noDelay) (client.stream as { setNoDelay?: (noDelay: boolean) => unknown }).setNoDelay?.(true)
      // A net or TLS socket says when its TCP handshake is done ('connect'). A WebSocket stream
      // does not: it counts as established at once, so its attempts wait for the CONNACK alone.
      const socket = client.stream as { connecting?: unknown, once: (event: 'connect', listener: () => void) => unknown }
      if (dialed !== undefined) dialed.onEstablished(() => this.#onEstablished())
      else if (socket.connecting === true) socket.once('connect', () => this.#onEstablished())
      else this.#onEstablished()
      // mqtt.js holds every publish until the CONNACK; these go on the stream right behind the
      // CONNECT it has just written there (a stream still opening buffers them all, in order), in
      // one write: over TCP Fast Open they share the SYN as far as it holds.
      if (this.#pipelined.length > 0) client.stream.write(concat(...this.#pipelined.map(qos0Publish)))
      client.on('message', (topic, payload) => this.#onMessage(topic, payload))
      client.on('error', (error: Error & { code?: unknown }) => {
        this.#lastError = error
        if (this.#open) return
        // A CONNACK refusal: mqtt.js reports the return code as the error's numeric code.
        reject(typeof error.code === 'number' ? new ConnectionRefusedError(error.code, { cause: error }) : error)
      })
      client.once('connect', () => {
        this.#open = true
        resolve()
      })
      client.on('close', () => {
        if (!this.#open) {
          client.end(true)
          reject(this.#lastError ?? new Error(`connection to ${this.#url} closed before CONNACK`))
          return
        }
        this.#open = false
        const error = this.#lastError ?? new Error('connection closed')
        for (const fail of this.#pending) fail(error)
        this.#pending.clear()
        client.end(true)
        this.#onClose(this.#lastError)
      })
    })
  }

  publish (topic: string, payload: Uint8Array, qos: 0 | 1): Promise<void> {
    return this.#call((client, done) => {
      client.publish(topic, asBuffer(payload), { qos }, (error) => done(error))
    })
  }

  subscribe (filter: string, qos: 0 | 1): Promise<void> {
    return this.#call((client, done) => {
      client.subscribe(filter, { qos }, (error, granted) => {
        // 0x80 is the SUBACK failure return code [MQTT-3.9.3-2].
        const refused = granted?.find((grant) => grant.qos === 128)
        done(error ?? (refused === undefined ? undefined : new SubscriptionRefusedError(filter)))
      })
    })
  }

  unsubscribe (filter: string): Promise<void> {
    return this.#call((client, done) => {
      client.unsubscribe(filter, (error) => done(error))
    })
  }

  ping (): Promise<void> {
    return this.#call((client, done) => {
      // A lost connection rejects this call (#call); its listener goes with the client.
      const answered = (packet: { cmd: string }): void => {
        if (packet.cmd !== 'pingresp') return
        client.off('packetreceive', answered)
        done()
      }
      client.on('packetreceive', answered)
      client.sendPing()
    })
  }

  close (force = false): Promise<void> {
    this.#closed = true
    const client = this.#client
    // A forced close gives up on the link: the kernel drops what the connection has not sent yet,
    // which would otherwise still cross the link once it returns, beside the next connection.
    if (force && client !== undefined) reset(client.stream)
    if (client === undefined || client.disconnected || !this.#open) {
      client?.end(true)
      return Promise.resolve()
    }
    return new Promise((resolve) => {
      client.once('close', () => resolve())
      // A polite DISCONNECT [MQTT-3.14.4-1] unless PUBACKs are still awaited: mqtt.js would wait
      // for them, a dead link would hang close(), and the SDK's outbox owns those sends anyway.
      client.end(force || this.#pending.size > 0)
    })
  }

  #call (start: (client: MqttClient, done: (error?: Error) => void) => void): Promise<void> {
    const client = this.#client
    if (client === undefined || !this.#open) return Promise.reject(new Error('not connected'))
    return new Promise((resolve, reject) => {
      const fail = (error: Error): void => reject(error)
      this.#pending.add(fail)
      start(client, (error) => {
        if (!this.#pending.delete(fail)) return
        if (error === undefined || error === null) resolve()
        else reject(error)
      })
    })
  }
}

/**
 * Closes a TCP connection with a reset (RST) instead of a FIN: its unsent and unacknowledged bytes
 * are discarded. Node's sockets only (a TLS socket's handle is not TCP, a WebSocket stream is no
 * socket): the others are destroyed by mqtt.js as before, politely.
 */
function reset (stream: unknown): void {
  const socket = stream as { resetAndDestroy?: () => unknown, connecting?: unknown, destroyed?: unknown }
  if (typeof socket.resetAndDestroy !== 'function' || socket.connecting === true || socket.destroyed === true) return
  try {
    socket.resetAndDestroy()
  } catch {
    // ERR_INVALID_HANDLE_TYPE: not a TCP handle.
  }
}

/**
 * A QoS 0 PUBLISH packet (MQTT 3.1.1 §3.3): fixed header 0x30 (no DUP, QoS 0, no RETAIN), the
 * remaining length as a variable byte integer (§2.2.3), the topic as a length-prefixed UTF-8
 * string, no packet id at QoS 0 [MQTT-2.3.1-5], then the payload.
 */
export function qos0Publish (packet: TransportPublish): Uint8Array {
  const topic = new TextEncoder().encode(packet.topic)
  let remaining = 2 + topic.length + packet.payload.length
  const length: number[] = []
  do {
    const digit = remaining % 128
    remaining = Math.floor(remaining / 128)
    length.push(remaining > 0 ? digit | 0x80 : digit)
  } while (remaining > 0)
  const bytes = new Uint8Array(1 + length.length + 2 + topic.length + packet.payload.length)
  bytes.set([0x30, ...length, topic.length >> 8, topic.length & 0xff])
  bytes.set(topic, 1 + length.length + 2)
  bytes.set(packet.payload, 1 + length.length + 2 + topic.length)
  return bytes
}
