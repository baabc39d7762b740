import { parser, type Packet } from 'mqtt-packet'
import type { CountProxy, Direction } from './count-proxy.js'

/** One packet or frame seen crossing a counting proxy, parsed from the bytes that were counted. */
export interface WirePacket {
  device: string
  /** up: device → broker (or server); down: the other way. */
  direction: Direction
  /** e.g. "PUBLISH c/s q1 (38 B payload)", "PUBACK", "text frame (150 B JSON)". */
  what: string
  bytes: number
}

export function describePacket (packet: WirePacket): string {
  const arrow = packet.direction === 'up' ? `${packet.device} → broker` : `broker → ${packet.device}`
  return `${arrow}: ${packet.what}, ${packet.bytes} B`
}

/**
 * Names each MQTT packet crossing a counting proxy, parsed from the very bytes that were counted,
 * so the report can say exactly what a figure includes.
 */
export class PacketLabels {
  readonly labels: WirePacket[] = []

  watch (proxy: CountProxy, device: string): void {
    const parsers = { up: parser({ protocolVersion: 4 }), down: parser({ protocolVersion: 4 }) }
    for (const direction of ['up', 'down'] as const) {
      parsers[direction].on('packet', (packet: Packet) => this.labels.push(label(packet, device, direction)))
    }
    proxy.tap = (direction, chunk) => { parsers[direction].parse(chunk) }
  }

  /** The labels of packets seen since the last call. */
  take (): WirePacket[] {
    return this.labels.splice(0)
  }
}

function label (packet: Packet, device: string, direction: Direction): WirePacket {
  const what = packet.cmd === 'publish' ? `PUBLISH ${packet.topic} q${packet.qos} (${packet.payload.length} B payload)` : packet.cmd.toUpperCase()
  return { device, direction, what, bytes: wireSize(packet.length ?? 0) }
}

/** Fixed header byte + the remaining length's variable-length encoding + the remaining length. */
export function wireSize (remainingLength: number): number {
  const lengthBytes = remainingLength < 128 ? 1 : remainingLength < 16_384 ? 2 : remainingLength < 2_097_152 ? 3 : 4
  return 1 + lengthBytes + remainingLength
}
