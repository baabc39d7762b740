import type { Aedes, Client } from 'aedes'
import bl from 'bl'
import type { Duplex } from 'node:stream'

/**
 * What Aedes 1.2 keeps per connection beyond what the connection needs, cut at the one place every
 * connection passes (`broker.handle`). An idle device costs the broker mostly these per-connection
 * objects, so each one here is a fixed share of every idle device (measured at 19 000 devices in
 * docs/BENCH.md, section 2):
 *
 * - **The parser's byte list.** mqtt-packet keeps unparsed bytes in a `bl` BufferListStream, a full
 *   Duplex stream (two stream states, an event table) used only as a list, and makes a new one after
 *   every packet. bl's plain BufferList is the same list without the stream (≈ 0.7 KiB less).
 * - **The CONNECT packet.** The parser keeps the whole CONNECT as its settings for the rest of the
 *   connection — password (the device's JWT) and will included — though it only reads the protocol
 *   version and bridge flag from it afterwards. Only those two are kept (≈ 0.4 KiB less, and the
 *   token no longer lingers in memory).
 * - **End-of-stream watching.** Aedes closes a client on the socket's `end` and `error` (its own
 *   listeners) and also through `stream.finished`, which adds seven closures and listener arrays to
 *   catch the remaining case, a socket closed without either. One shared `close` listener does the
 *   same (≈ 0.7 KiB less).
 *
 * Each change checks that the internals it replaces are there; if an Aedes or mqtt-packet upgrade
 * moves them, that change is skipped (the broker works as before, only larger) and
 * test/broker/lean-connections.test.ts fails.
 */
export function leanConnections (broker: Aedes): void {
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
  settings: { protocolVersion?: number, bridgeMode?: boolean }
  _resetState: () => void
  _parseConnect: () => unknown
}

/** The parts of Aedes 1.2's Client (lib/client.js) changed here. */
interface ClientInternals {
  conn: Duplex
  _parser: ParserInternals
  _eos: () => void
}

const { BufferList } = bl

/** Which of the changes applied to a client; the test reads it to notice an upgrade that moved internals. */
export interface Leaned { byteList: boolean, connectPacket: boolean, endOfStream: boolean }

export function leanClient (client: Client): Leaned {
  const internals = client as unknown as Partial<ClientInternals>
  const parser = internals._parser
  const leaned: Leaned = { byteList: false, connectPacket: false, endOfStream: false }
  if (parser !== undefined && typeof parser._resetState === 'function' && parser._stateCounter === 0 && isEmptyList(parser._list)) {
    parser._resetState = resetState
    parser._list = new BufferList()
    leaned.byteList = true
  }
  if (parser !== undefined && typeof parser._parseConnect === 'function') {
    parser._parseConnect = parseConnect
    leaned.connectPacket = true
  }
  if (typeof internals._eos === 'function' && internals.conn !== undefined) {
    internals._eos() // removes stream.finished's listeners
    internals._eos = noop
    internals.conn.once('close', closeClient)
    leaned.endOfStream = true
  }
  return leaned
}

/** mqtt-packet's `_resetState` with a plain list (no bytes are pending at any reset). */
function resetState (this: ParserInternals): void {
  this.packet = new (this.packet.constructor as new () => object)()
  this.error = null
  this._list = new BufferList()
  this._stateCounter = 0
}

/** Parses the CONNECT as mqtt-packet does, then keeps only what later packets are parsed by. */
function parseConnect (this: ParserInternals): unknown {
  const parse = (Object.getPrototypeOf(this) as ParserInternals)._parseConnect
  const packet = parse.call(this)
  const settings = this.settings
  if (packet !== null && packet !== undefined && settings === packet) {
    this.settings = { protocolVersion: settings.protocolVersion, ...(settings.bridgeMode === true ? { bridgeMode: true } : {}) }
  }
  return packet
}

/** Aedes sets `conn.client`; its `close` is idempotent, so a close after `end` or `error` is harmless. */
function closeClient (this: Duplex & { client?: Client }): void {
  this.client?.close()
}

function isEmptyList (list: unknown): boolean {
  return typeof list === 'object' && list !== null && (list as { length?: unknown }).length === 0
}

function noop (): void {}
