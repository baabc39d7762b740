import { describe, expect, it } from 'vitest'
import { RawClient, uniqueClientId, uniqueTopic } from './raw-client.js'
import { TARGET, useTarget } from './target.js'

/** A UTF-8 string on the wire: two-byte length, then the bytes as given (well-formed or not). */
const wireString = (bytes: Buffer): Buffer => Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 0xff]), bytes])
const packet = (header: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([header, body.length]), body])

const publishTo = (topic: Buffer): Buffer => packet(0x30, Buffer.concat([wireString(topic), Buffer.from('x')]))
const subscribeTo = (filter: Buffer): Buffer => packet(0x82, Buffer.concat([Buffer.from([0, 1]), wireString(filter), Buffer.from([0])]))
const connectAs = (clientId: Buffer): Buffer => packet(0x10, Buffer.concat([wireString(Buffer.from('MQTT')), Buffer.from([4, 0x02, 0, 0]), wireString(clientId)]))

const bytes = (prefix: string, ...raw: number[]): Buffer => Buffer.concat([Buffer.from(prefix), Buffer.from(raw)])

/** Ill-formed UTF-8: a stray continuation byte, an overlong "/", an encoded surrogate, a code point past U+10FFFF. */
const ILL_FORMED: Array<[string, Buffer]> = [
  ['a stray byte', bytes('conf/', 0xff)],
  ['an overlong encoding', bytes('conf', 0xc0, 0xaf, 0x78)],
  ['an encoded surrogate U+D800', bytes('conf/', 0xed, 0xa0, 0x80)],
  ['a code point above U+10FFFF', bytes('conf/', 0xf4, 0x90, 0x80, 0x80)]
]

describe(`UTF-8 strings (${TARGET})`, () => {
  const target = useTarget()
  const connect = async (): Promise<RawClient> => (await RawClient.connect(target.port(), { clientId: uniqueClientId('utf8') })).client

  for (const [what, topic] of ILL_FORMED) {
    it(`[MQTT-1.5.3-1] closes the connection on a PUBLISH topic with ${what} [MQTT-3.3.2-1]`, async () => {
      const client = await connect()
      client.sendBytes(publishTo(topic))
      await client.waitClosed()
    })
  }

  it('[MQTT-1.5.3-1] closes the connection on a SUBSCRIBE filter that is ill-formed UTF-8 [MQTT-3.8.3-1]', async () => {
    const client = await connect()
    client.sendBytes(subscribeTo(bytes('conf/', 0xfe)))
    await client.waitClosed()
  })

  it('[MQTT-3.10.3-1] closes the connection on an UNSUBSCRIBE filter that is ill-formed UTF-8 [MQTT-1.5.3-1]', async () => {
    const client = await connect()
    client.sendBytes(packet(0xa2, Buffer.concat([Buffer.from([0, 1]), wireString(bytes('conf/', 0xe0, 0x80, 0x80))])))
    await client.waitClosed()
  })

  it('[MQTT-1.5.3-1] closes the connection, without CONNACK, on a client id that is ill-formed UTF-8 [MQTT-3.1.4-1]', async () => {
    const client = await RawClient.open(target.port())
    client.sendBytes(connectAs(bytes('id', 0xff)))
    await client.waitClosed()
    expect(client.unread()).toEqual([])
  })

  it('[MQTT-3.1.3-10] closes the connection, without CONNACK, on a will topic that is ill-formed UTF-8 [MQTT-1.5.3-1]', async () => {
    const client = await RawClient.open(target.port())
    // Connect flags: Will Flag + CleanSession; payload: client id, will topic, will message.
    client.sendBytes(packet(0x10, Buffer.concat([wireString(Buffer.from('MQTT')), Buffer.from([4, 0x06, 0, 0]),
      wireString(Buffer.from(uniqueClientId('will'))), wireString(bytes('conf/', 0xc0, 0x80)), wireString(Buffer.from('gone'))])))
    await client.waitClosed()
    expect(client.unread()).toEqual([])
  })

  it('[MQTT-3.1.3-11] closes the connection, without CONNACK, on a user name that is ill-formed UTF-8 [MQTT-1.5.3-1]', async () => {
    const client = await RawClient.open(target.port())
    // Connect flags: User Name Flag + CleanSession; payload: client id, user name.
    client.sendBytes(packet(0x10, Buffer.concat([wireString(Buffer.from('MQTT')), Buffer.from([4, 0x82, 0, 0]),
      wireString(Buffer.from(uniqueClientId('user'))), wireString(bytes('user', 0xed, 0xbf, 0xbf))])))
    await client.waitClosed()
    expect(client.unread()).toEqual([])
  })

  it('[MQTT-1.5.3-2] closes the connection on a topic name holding U+0000 [MQTT-4.7.3-2]', async () => {
    const client = await connect()
    client.sendBytes(publishTo(bytes('conf/', 0x00, 0x61)))
    await client.waitClosed()
  })

  it('[MQTT-1.5.3-2] closes the connection on a topic filter holding U+0000', async () => {
    const client = await connect()
    client.sendBytes(subscribeTo(bytes('conf/', 0x00)))
    await client.waitClosed()
  })

  it('[MQTT-4.7.3-4] delivers a well-formed U+FFFD and U+FEFF unchanged, matching byte for byte [MQTT-1.5.3-3]', async () => {
    // U+FFFD is what a lenient decoder makes of bad bytes; encoded properly it is a valid character.
    const topic = `${uniqueTopic('odd')}/\uFFFD/\uFEFFbom`
    const sub = await connect()
    expect(await sub.subscribe(1, { topic, qos: 0 })).toEqual([0])
    const pub = await connect()
    pub.send({ cmd: 'publish', topic, payload: Buffer.from('ok'), qos: 0, retain: false, dup: false })
    // The BOM is neither stripped nor skipped: a topic without it is another topic.
    pub.send({ cmd: 'publish', topic: topic.replace('\uFEFF', ''), payload: Buffer.from('other'), qos: 0, retain: false, dup: false })
    const got = await sub.nextPublish()
    expect(Buffer.from(got.topic)).toEqual(Buffer.from(topic))
    expect(got.payload.toString()).toBe('ok')
    expect(await sub.drain(pub)).toEqual([])
    await Promise.all([sub.disconnect(), pub.disconnect()])
  })
})
