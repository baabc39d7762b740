import type { Aedes } from 'aedes'
import mqttPacket from 'mqtt-packet'

/** What a PUBLISH needs beyond its payload: the topic (2 + at most 65 535 bytes) and a packet id. */
const HEADER_ROOM = 2 + 65_535 + 2

/** The parts of mqtt-packet's Parser this touches (they are not in its type declarations). */
interface Parser {
  packet: { length: number }
  /** Set on the parsers of broker connections only. */
  maxLength?: number
  _parseLength (): boolean
  _emitError (error: Error): void
}

let installed = false

/**
 * mqtt-packet collects a whole packet before Aedes sees any of it, up to the 256 MiB MQTT allows,
 * so one fixed header could make the broker buffer that much for a client. Here the parser checks
 * the length as soon as it has read it, and a packet larger than the limit is a protocol error
 * that closes the connection at once. Patched once on the parser class, acting only on parsers
 * given a `maxLength` (the broker's connections, not MQTT.js clients sharing the process): one
 * number per connection instead of a closure.
 */
function install (): void {
  if (installed) return
  installed = true
  const proto = Object.getPrototypeOf(mqttPacket.parser()) as Parser
  const parseLength = proto._parseLength
  proto._parseLength = function (this: Parser): boolean {
    if (!parseLength.call(this)) return false
    if (this.maxLength === undefined || this.packet.length <= this.maxLength) return true
    this._emitError(new Error(`packet of ${this.packet.length} bytes is larger than the limit of ${this.maxLength}`))
    return false
  }
}

/** Every connection `broker.handle` takes gets a packet length limit derived from the largest accepted payload. */
export function limitPacketLength (broker: Aedes, maxPayload: number): void {
  install()
  const maxLength = maxPayload + HEADER_ROOM
  const handle = broker.handle
  broker.handle = (stream, request) => {
    const client = handle(stream, request)
    ;(client as unknown as { _parser: Parser })._parser.maxLength = maxLength
    return client
  }
}
