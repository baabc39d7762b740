import { generate } from 'mqtt-packet'
import { encodeCbor } from '../protocol/cbor.js'
import { CLIENT_MSG_ID_BYTES } from '../protocol/envelopes.js'
import type { WirePacket } from './packet-labels.js'

/** A QoS 1 PUBLISH's size, header included, as mqtt-packet encodes it. */
const publishBytes = (topic: string, payload: Buffer): number =>
  generate({ cmd: 'publish', topic, payload, qos: 1, messageId: 1, retain: false, dup: false }).length
const PUBACK_BYTES = generate({ cmd: 'puback', messageId: 1 }).length

export interface MqttFloor {
  total: number
  packets: WirePacket[]
}

/**
 * The least MQTT 3.1.1 can spend to carry the same message (computed: there is no such broker to
 * count): a QoS 1 PUBLISH with the bare 20-byte text each way, whose topic is all the addressing
 * there is — the recipient's id on the way in ("bob"), the sender's on the way out ("alice") —
 * and the two PUBACKs. No message id, sequence, timestamp, stored-ack or receipt.
 */
export function mqttFloor (textBytes: number): MqttFloor {
  const payload = Buffer.alloc(textBytes, 0x61)
  const packets: WirePacket[] = [
    { device: 'alice', direction: 'up', what: `PUBLISH bob q1 (${textBytes} B payload)`, bytes: publishBytes('bob', payload) },
    { device: 'alice', direction: 'down', what: 'PUBACK', bytes: PUBACK_BYTES },
    { device: 'bob', direction: 'down', what: `PUBLISH alice q1 (${textBytes} B payload)`, bytes: publishBytes('alice', payload) },
    { device: 'bob', direction: 'up', what: 'PUBACK', bytes: PUBACK_BYTES }
  ]
  return { total: packets.reduce((sum, p) => sum + p.bytes, 0), packets }
}

/** The least the four core packets could spend on the fields lowband's protocol promises, one encoding choice per row. */
export interface LeastEncoding {
  clientMsgId: string
  sequences: string
  send: number
  delivery: number
  total: number
}

/**
 * The core packets of a 1:1 text with every field the protocol promises (client message id for
 * dedup, sender, inbox seq, server time, conversation seq) in the most compact form CBOR allows:
 * positional arrays instead of keyed maps, the recipient in the send topic (`s/bob`), the inbox
 * on `u/bob` — as the protocol sends them since issue 18, so the random-id rows are what lowband
 * spends. Computed, like the floor, to show what other id choices would take.
 */
export function leastEncodings (textBytes: number, now = Date.now()): LeastEncoding[] {
  const text = 'a'.repeat(textBytes)
  const ts = Math.floor(now / 1000)
  const publish = (topic: string, fields: unknown[]): number => publishBytes(topic, Buffer.from(encodeCbor(fields)))
  const variants: Array<[string, unknown, string, number, number]> = [
    ['8 random bytes', Buffer.alloc(8, 1), '< 24 (the bench\'s)', 5, 3],
    [`${CLIENT_MSG_ID_BYTES} random bytes (the SDK's)`, Buffer.alloc(CLIENT_MSG_ID_BYTES, 1), '< 24 (the bench\'s)', 5, 3],
    ['4 random bytes', Buffer.alloc(4, 1), '< 24', 5, 3],
    ['a per-device counter < 24', 9, '< 24', 5, 3],
    ['a per-device counter < 24', 9, '1000 / 300', 1000, 300]
  ]
  return variants.map(([clientMsgId, id, sequences, seq, cseq]) => {
    const send = publish('s/bob', [id, text])
    const delivery = publish('u/bob', ['alice', text, seq, ts, cseq])
    return { clientMsgId, sequences, send, delivery, total: send + PUBACK_BYTES + delivery + PUBACK_BYTES }
  })
}
