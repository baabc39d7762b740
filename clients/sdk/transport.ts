/**
 * What the SDK needs from a connection, and nothing more (after nats.js `core/src/transport.ts`):
 * the client core never knows whether it runs over TCP, TLS or WebSocket. One transport object
 * serves one network connection; the SDK asks its factory for a fresh one on every (re)connect and
 * owns reconnection itself.
 */
export interface Transport {
  /** Opens the connection; resolves on a successful CONNACK, rejects if it cannot be established. */
  connect (): Promise<void>
  /** QoS 1 resolves on the PUBACK; QoS 0 once written. Rejects if the connection ends first. */
  publish (topic: string, payload: Uint8Array, qos: 0 | 1): Promise<void>
  /** Resolves on a SUBACK granting the filter; rejects with a refusal (0x80) or a lost connection. */
  subscribe (filter: string, qos: 0 | 1): Promise<void>
  /** Resolves on the UNSUBACK; rejects with a lost connection. */
  unsubscribe (filter: string): Promise<void>
  /** Set before connect(); called for every PUBLISH the broker sends. */
  onMessage (handler: (topic: string, payload: Uint8Array) => void): void
  /**
   * Set before connect(); called exactly once when a connection that was established ends, for
   * whatever reason (peer, network, keepalive or close()). Not called when connect() rejects.
   */
  onClose (handler: (error?: Error) => void): void
  /**
   * Optional: `handler` is called once the network connection itself is up (the TCP handshake
   * done), before the CONNACK. With it the SDK bounds how long an attempt may hear nothing from the
   * network and starts a fresh one (connection.ts); without it an attempt waits for its CONNACK
   * up to `connectTimeoutMs`.
   */
  onEstablished? (handler: () => void): void
  /**
   * Ends the connection politely (DISCONNECT) and releases it; resolves when it is closed. With
   * `force`, drops it at once without a DISCONNECT (a dead link would hold a polite close).
   */
  close (force?: boolean): Promise<void>
  /**
   * Sends a PINGREQ; resolves on the PINGRESP, rejects if the connection ends first. Optional: the
   * SDK's dead-link probe (link-watchdog.ts) goes straight to a new connection without it.
   */
  ping? (): Promise<void>
}

/** Everything a transport needs to open one connection of one device. */
export interface TransportOptions {
  /** mqtt://, mqtts://, ws:// or wss:// */
  readonly url: string
  /** `<userId>/<deviceId>` */
  readonly clientId: string
  readonly username: string
  readonly password: string
  /**
   * MQTT clean session. A reading device keeps a session (false): the broker reports "delivered"
   * from the PUBACKs of a persistent session only. The message store, not the session, is what
   * a device resumes from either way.
   */
  readonly clean: boolean
  /** Seconds between PINGREQs when idle. */
  readonly keepaliveSeconds: number
  /** How long to wait for the CONNACK, ms. */
  readonly connectTimeoutMs: number
  /**
   * TCP_NODELAY on the socket, where the transport has one (TCP and TLS; a browser's WebSocket
   * decides for itself): each packet leaves at once instead of waiting behind an unacknowledged
   * small segment (Nagle's algorithm, RFC 896).
   */
  readonly noDelay?: boolean
  /** The MQTT will: what the broker publishes for this device when its connection is lost. */
  readonly will?: TransportWill
  /**
   * QoS 0 PUBLISHes written right behind the CONNECT, in order, before the CONNACK: MQTT 3.1.1 lets
   * a client send further packets without waiting (§3.1.4), and a server that refuses the CONNECT
   * must not process them [MQTT-3.1.4-5]. They save a round trip on a reconnect (the resume
   * request; the sends a link's return found unconfirmed). A transport that cannot write before
   * the CONNACK publishes them first thing after.
   */
  readonly pipelined?: readonly TransportPublish[]
}

export interface TransportPublish {
  readonly topic: string
  readonly payload: Uint8Array
}

export interface TransportWill {
  readonly topic: string
  readonly payload: Uint8Array
  readonly qos: 0 | 1
}

export type TransportFactory = (options: TransportOptions) => Transport
