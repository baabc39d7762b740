import mqttPacket from 'mqtt-packet'
import { describe, expect, it } from 'vitest'
import { RawClient, uniqueClientId, uniqueTopic } from './raw-client.js'
import { TARGET, useTarget } from './target.js'

/** A UTF-8 string or binary field on the wire: two-byte length, then the bytes. */
const field = (value: string | Buffer): Buffer => {
  const bytes = typeof value === 'string' ? Buffer.from(value) : value
  return Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 0xff]), bytes])
}

/** A level 4 CONNECT with these connect flags, keepalive 0 and these payload fields, as raw bytes. */
const rawConnect = (flags: number, ...payload: Buffer[]): Buffer => {
  const body = Buffer.concat([field('MQTT'), Buffer.from([4, flags, 0, 0]), ...payload])
  return Buffer.concat([Buffer.from([0x10, body.length]), body])
}

/** Connect flags (Figure 3.4). */
const CLEAN = 0x02
const WILL = 0x04
const WILL_QOS_1 = 0x08
const WILL_QOS_3 = 0x18
const WILL_RETAIN = 0x20
const PASSWORD = 0x40
const USERNAME = 0x80

describe(`CONNECT and CONNACK (${TARGET})`, () => {
  const target = useTarget()

  it('[MQTT-3.1.0-1] closes a connection whose first packet is not CONNECT', async () => {
    const client = await RawClient.open(target.port())
    client.send({ cmd: 'pingreq' })
    await client.waitClosed()
  })

  it('[MQTT-3.1.0-2] treats a second CONNECT as a protocol violation and disconnects', async () => {
    const { client, connack } = await RawClient.connect(target.port(), { clientId: uniqueClientId('twice') })
    expect(connack.returnCode).toBe(0)
    client.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, clientId: uniqueClientId('twice') })
    await client.waitClosed()
  })

  it('[MQTT-3.1.2-1] disconnects a client whose protocol name is not MQTT', async () => {
    const client = await RawClient.open(target.port())
    // CONNECT with protocol name "MQTX", level 4, clean session, keepalive 0, empty client id.
    client.sendBytes([0x10, 12, 0, 4, 0x4d, 0x51, 0x54, 0x58, 4, 0x02, 0, 0, 0, 0])
    await client.waitClosed()
  })

  it('[MQTT-3.1.2-2] answers an unsupported protocol level with CONNACK 0x01 and disconnects', async () => {
    const client = await RawClient.open(target.port())
    client.sendBytes([0x10, 12, 0, 4, 0x4d, 0x51, 0x54, 0x54, 6, 0x02, 0, 0, 0, 0])
    const connack = await client.next('connack')
    expect(connack.returnCode).toBe(1)
    expect(connack.sessionPresent).toBe(false) // [MQTT-3.2.2-4]
    await client.waitClosed()
  })

  it('[MQTT-3.1.2-3] disconnects a client that sets the reserved connect flag', async () => {
    const client = await RawClient.open(target.port())
    client.sendBytes([0x10, 12, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x03, 0, 0, 0, 0])
    await client.waitClosed()
  })

  it('[MQTT-3.1.3-6] assigns a client id to a zero-byte client id with CleanSession 1', async () => {
    const { client, connack } = await RawClient.connect(target.port(), { clientId: '', clean: true })
    expect(connack.returnCode).toBe(0)
    await client.disconnect()
  })

  it('[MQTT-3.1.3-8] refuses a zero-byte client id with CleanSession 0: CONNACK 0x02, then close', async () => {
    // Raw bytes: mqtt-packet refuses to build this CONNECT. Level 4, no flags (CleanSession 0), id "".
    const client = await RawClient.open(target.port())
    client.sendBytes([0x10, 12, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x00, 0, 0, 0, 0])
    const connack = await client.next('connack')
    expect(connack.returnCode).toBe(2)
    expect(connack.sessionPresent).toBe(false) // [MQTT-3.2.2-4]
    await client.waitClosed() // [MQTT-3.2.2-5]
  })

  it('[MQTT-3.1.3-5] accepts every 1-23 character client id of digits and letters', async () => {
    const { client, connack } = await RawClient.connect(target.port(), { clientId: 'aZ09aZ09aZ09aZ09aZ09aZ0' })
    expect(connack.returnCode).toBe(0)
    await client.disconnect()
  })

  it('[MQTT-3.1.3-9] either accepts a client id longer than 23 characters or refuses it with CONNACK 0x02 and closes', async () => {
    const clientId = uniqueClientId('x'.repeat(200))
    const { client, connack } = await RawClient.connect(target.port(), { clientId })
    if (connack.returnCode === 0) return client.disconnect() // [MQTT-3.1.3-5]: a server may allow more
    expect(connack).toMatchObject({ returnCode: 2, sessionPresent: false })
    await client.waitClosed()
  })

  it('[MQTT-3.1.4-2] disconnects the existing client when another connects with its client id', async () => {
    const clientId = uniqueClientId('taken')
    const { client: first } = await RawClient.connect(target.port(), { clientId })
    const { client: second, connack } = await RawClient.connect(target.port(), { clientId })
    expect(connack.returnCode).toBe(0)
    await first.waitClosed()
    expect(second.closed).toBe(false)
    await second.disconnect()
  })

  it('[MQTT-3.2.2-1] sets Session Present 0 when CleanSession is 1, even after a stored session', async () => {
    const clientId = uniqueClientId('clean')
    const { client: persistent } = await RawClient.connect(target.port(), { clientId, clean: false })
    await persistent.subscribe(1, { topic: uniqueTopic('s'), qos: 1 })
    await persistent.disconnect()
    const { client, connack } = await RawClient.connect(target.port(), { clientId, clean: true })
    expect(connack).toMatchObject({ returnCode: 0, sessionPresent: false })
    await client.disconnect()
  })

  it('[MQTT-3.2.2-2] sets Session Present 1 when a stored session is resumed', async () => {
    const clientId = uniqueClientId('resume')
    const { client: first } = await RawClient.connect(target.port(), { clientId, clean: false })
    await first.subscribe(1, { topic: uniqueTopic('s'), qos: 1 })
    await first.disconnect()
    const { client, connack } = await RawClient.connect(target.port(), { clientId, clean: false })
    expect(connack).toMatchObject({ returnCode: 0, sessionPresent: true })
    await client.disconnect()
  })

  it('[MQTT-3.2.2-3] sets Session Present 0 when CleanSession is 0 but no session is stored', async () => {
    const { client, connack } = await RawClient.connect(target.port(), { clientId: uniqueClientId('fresh'), clean: false })
    expect(connack).toMatchObject({ returnCode: 0, sessionPresent: false })
    await client.disconnect()
  })

  it('[MQTT-3.1.2-6] discards the previous session when CleanSession is 1', async () => {
    const clientId = uniqueClientId('discard')
    const topic = uniqueTopic('discarded')
    const { client: first } = await RawClient.connect(target.port(), { clientId, clean: false })
    await first.subscribe(1, { topic, qos: 1 })
    await first.disconnect()
    const { client: clean } = await RawClient.connect(target.port(), { clientId, clean: true })
    await clean.disconnect()
    const { client: publisher } = await RawClient.connect(target.port(), { clientId: uniqueClientId('pub') })
    publisher.send({ cmd: 'publish', topic, payload: Buffer.from('x'), qos: 1, messageId: 1, retain: false, dup: false })
    await publisher.next('puback')
    const { client, connack } = await RawClient.connect(target.port(), { clientId, clean: false })
    expect(connack.sessionPresent).toBe(false)
    expect(await client.drain()).toEqual([]) // nothing was queued for the discarded subscription
    await Promise.all([client.disconnect(), publisher.disconnect()])
  })

  it('[MQTT-3.12.4-1] answers PINGREQ with PINGRESP', async () => {
    const { client } = await RawClient.connect(target.port(), { clientId: uniqueClientId('ping') })
    client.send({ cmd: 'pingreq' })
    expect((await client.next('pingresp')).cmd).toBe('pingresp')
    await client.disconnect()
  })

  it('[MQTT-3.14.1-1] disconnects a client whose DISCONNECT has reserved bits set', async () => {
    const { client } = await RawClient.connect(target.port(), { clientId: uniqueClientId('bad-disconnect') })
    client.sendBytes([0xe1, 0x00])
    await client.waitClosed()
  })

  /** Sends raw CONNECT bytes and expects the connection closed without a CONNACK [MQTT-3.1.4-1]. */
  const expectClosedWithoutConnack = async (bytes: Buffer): Promise<void> => {
    const client = await RawClient.open(target.port())
    client.sendBytes(bytes)
    await client.waitClosed()
    expect(client.unread()).toEqual([])
  }

  it('[MQTT-3.1.3-3] closes a connection whose CONNECT ends before the Client Identifier', async () => {
    await expectClosedWithoutConnack(rawConnect(CLEAN))
  })

  it('[MQTT-3.1.2-15] closes a connection whose CONNECT sets Will Retain without the Will Flag [MQTT-3.1.4-1]', async () => {
    await expectClosedWithoutConnack(rawConnect(CLEAN | WILL_RETAIN, field(uniqueClientId('retain'))))
  })

  it('[MQTT-3.1.2-14] closes a connection whose CONNECT asks for Will QoS 3', async () => {
    await expectClosedWithoutConnack(rawConnect(CLEAN | WILL | WILL_QOS_3, field(uniqueClientId('qos3')), field(uniqueTopic('will')), field('gone')))
  })

  it('[MQTT-3.1.2-9] closes a connection whose CONNECT sets the Will Flag without a Will Topic and Will Message', async () => {
    await expectClosedWithoutConnack(rawConnect(CLEAN | WILL | WILL_QOS_1, field(uniqueClientId('no-will'))))
  })

  for (const [what, topic] of [['a wildcard', 'conf/+/will'], ['zero length [MQTT-4.7.3-1]', '']]) {
    it(`[MQTT-3.1.2-9] closes a connection whose Will Topic is not a valid topic name: ${what} [MQTT-3.3.2-2]`, async () => {
      await expectClosedWithoutConnack(rawConnect(CLEAN | WILL, field(uniqueClientId('bad-will')), field(topic!), field('gone')))
    })
  }

  it('[MQTT-3.1.2-22] closes a connection whose CONNECT sets the Password Flag without the User Name Flag', async () => {
    await expectClosedWithoutConnack(rawConnect(CLEAN | PASSWORD, field(uniqueClientId('password')), field('secret')))
  })

  it('[MQTT-3.1.2-19] closes a connection whose CONNECT sets the User Name Flag without a user name', async () => {
    await expectClosedWithoutConnack(rawConnect(CLEAN | USERNAME, field(uniqueClientId('no-user'))))
  })

  it('[MQTT-3.1.2-21] closes a connection whose CONNECT sets the Password Flag without a password', async () => {
    await expectClosedWithoutConnack(rawConnect(CLEAN | USERNAME | PASSWORD, field(uniqueClientId('no-password')), field('user')))
  })

  it('[MQTT-3.1.2-18] closes a connection whose CONNECT carries a user name without the User Name Flag [MQTT-3.1.2-20]', async () => {
    await expectClosedWithoutConnack(rawConnect(CLEAN, field(uniqueClientId('stray-user')), field('user'), field('secret')))
  })

  it('[MQTT-3.1.4-5] processes nothing sent after a CONNECT it refuses', async () => {
    const topic = uniqueTopic('after-refusal')
    const client = await RawClient.open(target.port())
    // CleanSession 0 with a zero-byte id (refused: 0x02), then a retained PUBLISH in the same write.
    const retained = mqttPacket.generate({ cmd: 'publish', topic, payload: Buffer.from('x'), qos: 0, retain: true, dup: false })
    client.sendBytes(Buffer.concat([rawConnect(0, field('')), retained]))
    expect((await client.next('connack')).returnCode).toBe(2)
    await client.waitClosed()
    const { client: late } = await RawClient.connect(target.port(), { clientId: uniqueClientId('late') })
    await late.subscribe(1, { topic, qos: 0 })
    expect(await late.drain()).toEqual([])
    await late.disconnect()
  })

  it('[MQTT-3.2.0-1] sends CONNACK first, before answering packets pipelined behind the CONNECT', async () => {
    const topic = uniqueTopic('pipelined')
    const { client: pub } = await RawClient.connect(target.port(), { clientId: uniqueClientId('pub') })
    pub.send({ cmd: 'publish', topic, payload: Buffer.from('kept'), qos: 1, messageId: 1, retain: true, dup: false })
    await pub.next('puback')
    const client = await RawClient.open(target.port())
    client.sendBytes(Buffer.concat([
      mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, clientId: uniqueClientId('pipelined') }),
      mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 0 }] }),
      mqttPacket.generate({ cmd: 'pingreq' })
    ]))
    expect((await client.next('connack')).returnCode).toBe(0)
    // The SUBACK, the retained message and the PINGRESP, in whatever order the server answers.
    expect((await client.drain()).map((p) => p.cmd).sort()).toEqual(['pingresp', 'publish', 'suback'])
    await Promise.all([client.disconnect(), pub.disconnect()])
  })

  it('[MQTT-3.1.2-4] resumes a stored session: its subscriptions hold without subscribing again', async () => {
    const clientId = uniqueClientId('resumed')
    const topic = uniqueTopic('resumed')
    const { client: first } = await RawClient.connect(target.port(), { clientId, clean: false })
    await first.subscribe(1, { topic, qos: 1 })
    await first.disconnect()
    const { client } = await RawClient.connect(target.port(), { clientId, clean: false })
    const { client: pub } = await RawClient.connect(target.port(), { clientId: uniqueClientId('pub') })
    pub.send({ cmd: 'publish', topic, payload: Buffer.from('after'), qos: 1, messageId: 1, retain: false, dup: false })
    const got = await client.nextPublish()
    expect(got).toMatchObject({ topic, qos: 1 })
    client.send({ cmd: 'puback', messageId: got.messageId })
    await Promise.all([client.disconnect(), pub.disconnect()])
  })
})
