import { describe, expect, it } from 'vitest'
import { RawClient, uniqueClientId, uniqueTopic } from './raw-client.js'
import { TARGET, useTarget } from './target.js'

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
})
