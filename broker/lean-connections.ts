import type { Aedes, Client } from 'aedes'
import bl from 'bl'
import mqttPacket from 'mqtt-packet'
import type { Duplex } from 'node:stream'

/**
 * What Aedes 1.2 keeps per connection beyond what the connection needs, cut at the one place every
 * connection passes (`broker.handle`). An idle device costs the broker mostly these per-connection
 * objects, so each one here is a fixed share of every idle device (V8 heap, measured at 19 000
 * idle devices; docs/BENCH.md, section 2):
 *
 * - **The parser's byte list.** mqtt-packet keeps unparsed bytes in a `bl` BufferListStream, a full
 *   Duplex stream (two stream states, an event table) used only as a list. bl's plain BufferList is
 *   the same list without the stream, and once empty it drops its grown array; the parser's list of
 *   state names is shared (≈ 0.9 KiB).
 * - **The CONNECT packet.** The parser keeps the whole CONNECT as its settings for the rest of the
 *   connection — password (the device's JWT) and will included — though it only reads the protocol
 *   version and bridge flag from it afterwards. A shared record of those two replaces it (≈ 0.4 KiB,
 *   and the token no longer lingers in memory).
 * - **End-of-stream watching.** Aedes closes a client on the socket's `end` and `error` (its own
 *   listeners) and also through `stream.finished`, which adds seven closures and grows listener
 *   arrays to catch the remaining case, a socket closed without either. One shared `close` listener
 *   does the same (≈ 0.8 KiB).
 * - **Bookkeeping made on first use.** The set of inbound QoS 2 ids awaiting PUBREL (chat uses QoS 1)
 *   becomes a Set when the first one arrives, and the per-broker dedupe counters live in a plain
 *   fast-mode record instead of a hash table (`Object.create(null)`), still with no inherited keys
 *   (≈ 0.25 KiB).
 *
 * And one for the broker as a whole: mqtt-packet's writer builds, on its first packet, a cache of
 * 65 536 two-byte Buffers, one per packet id (≈ 7 MiB of V8 heap for the broker's life). Without it,
 * writing an id takes two bytes from Node's buffer pool (its documented `cacheNumbers` switch).
 *
 * Each change checks that the internals it replaces are there; if an Aedes or mqtt-packet upgrade
 * moves them, that change is skipped (the broker works as before, only larger) and
 * test/broker/lean-connections.test.ts fails.
 */
export function leanConnections (broker: Aedes): void {
  mqttPacket.writeToStream.cacheNumbers = false
  const handle = broker.handle
  broker.handle = (conn, req) => {
    const client = handle(conn, req)
    leanClient(client)
    return client
  }
}

/** The parts of mqtt-packet 9's Parser (parser.js) changed here. */
interface ParserInternals {
  packet: object
  error: Error | null
  _list: unknown
  _stateCounter: number
  settings: Readonly<{ protocolVersion?: number, bridgeMode?: boolean }>
  _resetState: () => void
  _parseConnect: () => unknown
  _states: readonly string[]
}

/** The parts of Aedes 1.2's Client (lib/client.js) changed here. */
interface ClientInternals {
  conn: Duplex
  _parser: ParserInternals
  _eos: () => void
  _inboundInflight: IdSet
  duplicates: Record<string, number>
}

/** What Aedes does with `_inboundInflight` (lib/handlers/publish.js, pubrel.js). */
interface IdSet {
  has (id: number): boolean
  add (id: number): unknown
  delete (id: number): boolean
  readonly size: number
}

/**
 * bl's BufferList, which also lets go of its array of chunks once everything is consumed: an idle
 * connection's list is empty, but the array, grown by the first push, would keep its capacity.
 */
class ByteList extends bl.BufferList {
  declare _bufs: Buffer[]

  override consume (bytes: number): this {
    super.consume(bytes)
    if (this.length === 0 && this._bufs.length === 0) this._bufs = []
    return this
  }
}

/** Which changes applied to a client; the test reads it to notice an upgrade that moved internals. */
export interface Leaned { byteList: boolean, parserStates: boolean, connectPacket: boolean, endOfStream: boolean, inflight: boolean, duplicates: boolean }

export function leanClient (client: Client): Leaned {
  const internals = client as unknown as Partial<ClientInternals>
  const parser = internals._parser
  const conn = internals.conn
  const leaned: Leaned = { byteList: false, parserStates: false, connectPacket: false, endOfStream: false, inflight: false, duplicates: false }
  if (parser !== undefined && typeof parser._resetState === 'function' && parser._stateCounter === 0 && isEmptyList(parser._list)) {
    parser._resetState = resetState
    parser._list = new ByteList()
    leaned.byteList = true
  }
  if (parser !== undefined && sameStates(parser._states)) {
    parser._states = PARSER_STATES
    leaned.parserStates = true
  }
  if (parser !== undefined && typeof parser._parseConnect === 'function') {
    parser._parseConnect = parseConnect
    leaned.connectPacket = true
  }
  if (typeof internals._eos === 'function' && conn !== undefined) {
    internals._eos() // removes stream.finished's listeners
    internals._eos = noop
    conn.on('close', closeClient)
    leaned.endOfStream = true
  }
  if (internals._inboundInflight instanceof Set && internals._inboundInflight.size === 0) {
    internals._inboundInflight = new IdsOnDemand()
    leaned.inflight = true
  }
  if (isEmptyRecord(internals.duplicates)) {
    internals.duplicates = Object.create(NO_INHERITED_KEYS) as Record<string, number>
    leaned.duplicates = true
  }
  return leaned
}

/** mqtt-packet's `_resetState` (at start and after a parse error) with a plain list. */
function resetState (this: ParserInternals): void {
  this.packet = new (this.packet.constructor as new () => object)()
  this.error = null
  this._list = new ByteList()
  this._stateCounter = 0
}

/** The parser's state names, which it only reads: one array for every connection instead of one each. */
const PARSER_STATES: readonly string[] = Object.freeze(['_parseHeader', '_parseLength', '_parsePayload', '_newPacket'])

function sameStates (states: unknown): boolean {
  return Array.isArray(states) && states.length === PARSER_STATES.length && states.every((state, i) => state === PARSER_STATES[i])
}

/** The settings later packets are parsed by, one record per protocol version, shared by every connection. */
const SETTINGS = new Map<string, ParserInternals['settings']>()

/** Parses the CONNECT as mqtt-packet does, then keeps only what later packets are parsed by. */
function parseConnect (this: ParserInternals): unknown {
  const parse = (Object.getPrototypeOf(this) as ParserInternals)._parseConnect
  const packet = parse.call(this)
  const connect = this.settings
  if (packet !== null && packet !== undefined && connect === packet) {
    const bridgeMode = connect.bridgeMode === true
    const key = `${connect.protocolVersion}/${bridgeMode}`
    let settings = SETTINGS.get(key)
    if (settings === undefined) {
      settings = Object.freeze({ protocolVersion: connect.protocolVersion, ...(bridgeMode ? { bridgeMode } : {}) })
      SETTINGS.set(key, settings)
    }
    this.settings = settings
  }
  return packet
}

/** Aedes sets `conn.client`; its `close` is idempotent, so a close after `end` or `error` is harmless. */
function closeClient (this: Duplex & { client?: Client }): void {
  this.client?.close()
}

/** A set of packet ids that allocates its Set only when the first id is added. */
class IdsOnDemand implements IdSet {
  #ids: Set<number> | undefined

  has (id: number): boolean {
    return this.#ids?.has(id) ?? false
  }

  add (id: number): this {
    (this.#ids ??= new Set()).add(id)
    return this
  }

  delete (id: number): boolean {
    return this.#ids?.delete(id) ?? false
  }

  get size (): number {
    return this.#ids?.size ?? 0
  }
}

/**
 * The prototype of the dedupe records: itself without a prototype, so a broker id from another node
 * can never read an inherited key ('constructor', '__proto__'), while the record, unlike one made by
 * `Object.create(null)`, starts in V8's compact fast mode.
 */
const NO_INHERITED_KEYS: object = Object.freeze(Object.create(null) as object)

function isEmptyList (list: unknown): boolean {
  return typeof list === 'object' && list !== null && (list as { length?: unknown }).length === 0
}

function isEmptyRecord (value: unknown): boolean {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === null && Object.keys(value).length === 0
}

function noop (): void {}
