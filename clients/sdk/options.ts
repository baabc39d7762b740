import { SENDS_IN_FLIGHT } from '../../protocol/flow-control.js'
import { isValidId } from '../../protocol/ids.js'
import { DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js'
import { systemClock, type Clock } from './clock.js'
import type { MediaFetch } from './media.js'
import { mqttTransportFactory } from './mqtt-transport.js'
import type { TransportFactory } from './transport.js'
import type { EndToEndOptions } from './crypto/end-to-end.js'

/** A device token, or a function that fetches a fresh one for every connection attempt. */
export type TokenSource = string | (() => string | Promise<string>)

export interface ClientOptions {
  /** mqtt://host:1883, mqtts://…, ws://host:8080, wss://… (or `urls`). */
  url?: string
  /**
   * Several brokers of one cluster, tried in turn: each connection attempt takes the next (the
   * first at random), so a device whose node fails reconnects to another. Instead of `url`.
   */
  urls?: readonly string[]
  userId: string
  deviceId: string
  token: TokenSource
  /** The inbox seq this device has seen up to; the caller keeps it (see onCursor). Default 0: everything. */
  cursor?: number
  /**
   * A device that only sends (the CLI's `send`, a sensor): it hears its stored-acks and errors but
   * no messages, asks for no replay, and so never PUBACKs (marks delivered) a message nobody reads.
   * Default false.
   */
  sendOnly?: boolean
  clock?: Clock
  /** [0, 1) like Math.random; the backoff jitter. */
  random?: () => number
  transportFactory?: TransportFactory
  backoff?: BackoffOptions
  /** How long a gap in the inbox seqs may stay open before a replay is requested, ms. Default 3000. */
  gapTimeoutMs?: number
  /**
   * The most sends awaiting their PUBACK at once; below it the window follows the link's
   * bandwidth-delay product (send-window.ts). Default 100, half the broker's default publish burst
   * (`--rate-burst` 200, protocol/flow-control.ts): lower it for a broker configured below that.
   */
  maxInFlight?: number
  /** Pause of the outbox after a RATE_LIMITED error, ms. Default 1000. */
  rateLimitPauseMs?: number
  /** MQTT keepalive, s. Default 60. */
  keepaliveSeconds?: number
  /** Wait for the CONNACK, ms. Default 30 000 (a 2G handshake with TLS can take seconds). */
  connectTimeoutMs?: number
  /**
   * TCP_NODELAY on mqtt:// and mqtts:// sockets: each packet leaves at once instead of waiting
   * behind an unacknowledged small segment. Default false: measured under emulated 2G and 3G it cost
   * 26–90 % more bytes per message in a burst and made typing no faster (docs/netem/README.md, "TCP_NODELAY").
   */
  noDelay?: boolean
  /** Message ids remembered to drop duplicates. Default 1000. */
  recentIds?: number
  /** How long a request (history, group operations, privacy) waits for its response, ms, per attempt. Default 10 000. */
  requestTimeoutMs?: number
  /** Own messages whose status (sent / delivered / read) is remembered for messageStatus(). Default 1000. */
  trackedMessages?: number
  /** HTTP for media blobs (uploads and downloads go to object storage, not the broker). Default the global fetch. */
  fetch?: MediaFetch
  /** Tries per media upload or download; a multipart upload resumes from its stored parts on each. Default 5. */
  mediaAttempts?: number
  /**
   * End-to-end encryption (crypto/end-to-end.ts): this device's state and where to save it. With it,
   * send() and sendToGroup() encrypt, and received messages are decrypted before onMessage.
   */
  e2e?: EndToEndOptions
}

export type ResolvedOptions = Readonly<Required<Omit<ClientOptions, 'backoff' | 'e2e' | 'url'>> & { backoff: Required<BackoffOptions> }>

/** Validates the options once, fills the defaults, and freezes the result (after nats.js parseOptions). */
export function resolveOptions (options: ClientOptions): ResolvedOptions {
  const urls = brokerUrls(options)
  if (!isValidId(options.userId)) throw new TypeError(`userId: 1-64 of A-Z a-z 0-9 _ . @ -, got ${JSON.stringify(options.userId)}`)
  if (!isValidId(options.deviceId)) throw new TypeError(`deviceId: 1-64 of A-Z a-z 0-9 _ . @ -, got ${JSON.stringify(options.deviceId)}`)
  if (typeof options.token !== 'function' && (typeof options.token !== 'string' || options.token === '')) throw new TypeError('token: a non-empty string or a function returning one')
  const resolved: ResolvedOptions = {
    urls,
    userId: options.userId,
    deviceId: options.deviceId,
    token: options.token,
    cursor: count('cursor', options.cursor, 0),
    sendOnly: options.sendOnly ?? false,
    clock: options.clock ?? systemClock,
    random: options.random ?? Math.random,
    transportFactory: options.transportFactory ?? mqttTransportFactory(),
    backoff: {
      baseMs: count('backoff.baseMs', options.backoff?.baseMs, DEFAULT_BACKOFF.baseMs, 1),
      capMs: count('backoff.capMs', options.backoff?.capMs, DEFAULT_BACKOFF.capMs, 1)
    },
    gapTimeoutMs: count('gapTimeoutMs', options.gapTimeoutMs, 3000, 1),
    maxInFlight: count('maxInFlight', options.maxInFlight, SENDS_IN_FLIGHT, 1),
    rateLimitPauseMs: count('rateLimitPauseMs', options.rateLimitPauseMs, 1000),
    keepaliveSeconds: count('keepaliveSeconds', options.keepaliveSeconds, 60),
    connectTimeoutMs: count('connectTimeoutMs', options.connectTimeoutMs, 30_000, 1),
    noDelay: options.noDelay ?? false,
    recentIds: count('recentIds', options.recentIds, 1000, 1),
    requestTimeoutMs: count('requestTimeoutMs', options.requestTimeoutMs, 10_000, 1),
    trackedMessages: count('trackedMessages', options.trackedMessages, 1000, 1),
    // Looked up on use, not here: an app that never sends media needs no fetch at all.
    // (RequestInit: under TypeScript's DOM lib a Uint8Array body must be ArrayBuffer-backed, which ours are.)
    fetch: options.fetch ?? ((url, init) => globalThis.fetch(url, init as RequestInit)),
    mediaAttempts: count('mediaAttempts', options.mediaAttempts, 5, 1)
  }
  if (resolved.backoff.capMs < resolved.backoff.baseMs) throw new TypeError('backoff.capMs must be at least backoff.baseMs')
  return Object.freeze(resolved)
}

function brokerUrls ({ url, urls }: ClientOptions): readonly string[] {
  if ((url === undefined) === (urls === undefined)) throw new TypeError('give url or urls (one of them)')
  const list = urls ?? [url!]
  if (list.length === 0) throw new TypeError('urls: at least one broker URL')
  for (const each of list) {
    if (!/^(mqtts?|wss?):\/\//i.test(each)) throw new TypeError(`url: use mqtt://, mqtts://, ws:// or wss://, got ${JSON.stringify(each)}`)
  }
  return Object.freeze([...list])
}

function count (name: string, value: number | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value < min) throw new TypeError(`${name}: an integer >= ${min}, got ${value}`)
  return value
}
