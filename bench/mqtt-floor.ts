import { generate } from 'mqtt-packet'
import type { WirePacket } from './packet-labels.js'

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
  const publish = (topic: string): number => generate({ cmd: 'publish', topic, payload, qos: 1, messageId: 1, retain: false, dup: false }).length
  const puback = generate({ cmd: 'puback', messageId: 1 }).length
  const packets: WirePacket[] = [
    { device: 'alice', direction: 'up', what: `PUBLISH bob q1 (${textBytes} B payload)`, bytes: publish('bob') },
    { device: 'alice', direction: 'down', what: 'PUBACK', bytes: puback },
    { device: 'bob', direction: 'down', what: `PUBLISH alice q1 (${textBytes} B payload)`, bytes: publish('alice') },
    { device: 'bob', direction: 'up', what: 'PUBACK', bytes: puback }
  ]
  return { total: packets.reduce((sum, p) => sum + p.bytes, 0), packets }
}
