import { describe, expect, it } from 'vitest'
import { RawClient, uniqueClientId, uniqueTopic } from './raw-client.js'
import { TARGET, useTarget } from './target.js'

/** "a/b" as a length-prefixed string. */
const AB = [0, 3, 0x61, 0x2f, 0x62]

describe(`fixed header, packet identifiers and malformed packets (${TARGET})`, () => {
  const target = useTarget()
  const connect = async (name = 'packets'): Promise<RawClient> => (await RawClient.connect(target.port(), { clientId: uniqueClientId(name) })).client

  /** Each packet, sent by a connected client, must close its connection. */
  const closes = (statement: string, what: string, bytes: number[]): void => {
    it(`${statement} closes the connection on ${what}`, async () => {
      const client = await connect()
      client.sendBytes(bytes)
      await client.waitClosed()
    })
  }

  // Table 2.2: PUBACK, PUBREC, PUBCOMP, PINGREQ flags 0000; PUBREL 0010.
  closes('[MQTT-2.2.2-2]', 'a PUBACK whose reserved flags are not 0000 [MQTT-2.2.2-1]', [0x41, 2, 0, 1])
  closes('[MQTT-2.2.2-2]', 'a PUBREC whose reserved flags are not 0000', [0x52, 2, 0, 1])
  closes('[MQTT-2.2.2-2]', 'a PUBCOMP whose reserved flags are not 0000', [0x78, 2, 0, 1])
  closes('[MQTT-2.2.2-2]', 'a PINGREQ whose reserved flags are not 0000', [0xc1, 0])
  closes('[MQTT-3.6.1-1]', 'a PUBREL whose reserved flags are not 0010', [0x60, 2, 0, 1])

  it('[MQTT-2.2.2-2] closes the connection, without CONNACK, on a CONNECT whose reserved flags are not 0000', async () => {
    const client = await RawClient.open(target.port())
    client.sendBytes([0x11, 12, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 0, 0, 0])
    await client.waitClosed()
    expect(client.unread()).toEqual([])
  })

  // [MQTT-2.3.1-1]: SUBSCRIBE, UNSUBSCRIBE and PUBLISH at QoS > 0 carry a non-zero packet id.
  closes('[MQTT-2.3.1-1]', 'a QoS 1 PUBLISH with packet id 0', [0x32, 8, ...AB, 0, 0, 0x78])
  closes('[MQTT-2.3.1-1]', 'a QoS 2 PUBLISH with packet id 0', [0x34, 8, ...AB, 0, 0, 0x78])
  closes('[MQTT-2.3.1-1]', 'a SUBSCRIBE with packet id 0', [0x82, 8, 0, 0, ...AB, 0])
  closes('[MQTT-2.3.1-1]', 'an UNSUBSCRIBE with packet id 0', [0xa2, 7, 0, 0, ...AB])

  // A client sending what only a server sends, or a reserved packet type, violates the protocol.
  closes('[MQTT-4.8.0-1]', 'a CONNACK from the client', [0x20, 2, 0, 0])
  closes('[MQTT-4.8.0-1]', 'a SUBACK from the client', [0x90, 3, 0, 1, 0])
  closes('[MQTT-4.8.0-1]', 'an UNSUBACK from the client', [0xb0, 2, 0, 1])
  closes('[MQTT-4.8.0-1]', 'a PINGRESP from the client', [0xd0, 0])
  closes('[MQTT-4.8.0-1]', 'a packet of the reserved type 0', [0x00, 0])
  closes('[MQTT-4.8.0-1]', 'a packet of the reserved type 15 (AUTH is MQTT 5)', [0xf0, 0])
  closes('[MQTT-4.8.0-1]', 'a Remaining Length of more than four bytes', [0x30, 0xff, 0xff, 0xff, 0xff, 0x01])
  closes('[MQTT-4.8.0-1]', 'a PUBLISH whose topic is longer than its Remaining Length', [0x30, 4, 0, 9, 0x61, 0x62])

  it('[MQTT-2.3.1-4] gives every QoS 1 PUBLISH in flight to a client its own non-zero packet id', async () => {
    const topic = uniqueTopic('ids')
    const sub = await connect('sub')
    await sub.subscribe(1, { topic, qos: 1 })
    const pub = await connect('pub')
    for (let i = 1; i <= 10; i++) pub.send({ cmd: 'publish', topic, payload: Buffer.from(String(i)), qos: 1, messageId: i, retain: false, dup: false })
    const ids: number[] = []
    for (let i = 1; i <= 10; i++) ids.push((await sub.nextPublish()).messageId!) // none acknowledged yet
    expect(ids.every((id) => id > 0)).toBe(true)
    expect(new Set(ids).size).toBe(10)
    for (const messageId of ids) sub.send({ cmd: 'puback', messageId })
    await Promise.all([sub.disconnect(), pub.disconnect()])
  })
})
