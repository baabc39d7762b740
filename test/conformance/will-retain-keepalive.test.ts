import type { IConnectPacket, IPublishPacket } from 'mqtt-packet'
import { describe, expect, it } from 'vitest'
import { RawClient, uniqueClientId, uniqueTopic } from './raw-client.js'
import { TARGET, useTarget } from './target.js'

const publish = (topic: string, payload: string, extra: Partial<IPublishPacket> = {}): IPublishPacket =>
  ({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 0, retain: false, dup: false, ...extra })

describe(`wills, retained messages and keepalive (${TARGET})`, () => {
  const target = useTarget()
  const connect = async (name: string, options: Partial<IConnectPacket> = {}): Promise<RawClient> =>
    (await RawClient.connect(target.port(), { clientId: uniqueClientId(name), ...options })).client
  const watcher = async (topic: string): Promise<RawClient> => {
    const client = await connect('watcher')
    expect(await client.subscribe(1, { topic, qos: 1 })).toEqual([1])
    return client
  }
  const will = (topic: string, retain = false): Partial<IConnectPacket> => ({ will: { topic, payload: Buffer.from('gone'), qos: 1, retain } })

  describe('wills', () => {
    it('[MQTT-3.1.2-8] publishes the will when the connection closes without DISCONNECT', async () => {
      const topic = uniqueTopic('will')
      const sub = await watcher(topic)
      const device = await connect('device', will(topic))
      device.drop()
      const got = await sub.nextPublish()
      expect(got).toMatchObject({ topic, qos: 1, retain: false })
      expect(got.payload.toString()).toBe('gone')
      sub.send({ cmd: 'puback', messageId: got.messageId })
      await sub.disconnect()
    })

    it('[MQTT-3.14.4-3] discards the will on DISCONNECT [MQTT-3.1.2-10]', async () => {
      const topic = uniqueTopic('no-will')
      const sub = await watcher(topic)
      const device = await connect('device', will(topic))
      await device.disconnect()
      expect(await sub.drain()).toEqual([])
      await sub.disconnect()
    })

    it('[MQTT-3.1.2-16] publishes a will with Will Retain 0 as a message that is not retained', async () => {
      const topic = uniqueTopic('will-plain')
      const sub = await watcher(topic)
      const device = await connect('device', will(topic, false))
      device.drop()
      const live = await sub.nextPublish() // the will has gone out
      sub.send({ cmd: 'puback', messageId: live.messageId })
      await sub.disconnect()
      const late = await watcher(topic)
      expect(await late.drain()).toEqual([])
      await late.disconnect()
    })

    it('[MQTT-3.1.2-17] publishes a will with Will Retain 1 as a retained message', async () => {
      const topic = uniqueTopic('will-retained')
      const sub = await watcher(topic)
      const device = await connect('device', will(topic, true))
      device.drop()
      const live = await sub.nextPublish()
      sub.send({ cmd: 'puback', messageId: live.messageId })
      const late = await watcher(topic)
      const retained = await late.nextPublish()
      expect(retained).toMatchObject({ topic, retain: true })
      expect(retained.payload.toString()).toBe('gone')
      late.send({ cmd: 'puback', messageId: retained.messageId })
      await Promise.all([sub.disconnect(), late.disconnect()])
    })

    it('[MQTT-3.1.2-8] publishes the will when the server closes the connection for a protocol error', async () => {
      const topic = uniqueTopic('will-on-error')
      const sub = await watcher(topic)
      const device = await connect('device', will(topic))
      device.sendBytes([0x36, 7, 0, 3, 0x61, 0x2f, 0x62, 0, 1]) // a PUBLISH at QoS 3 [MQTT-3.3.1-4]
      await device.waitClosed()
      const got = await sub.nextPublish()
      expect(got.payload.toString()).toBe('gone')
      sub.send({ cmd: 'puback', messageId: got.messageId })
      await sub.disconnect()
    })

    it('[MQTT-3.1.2-10] publishes a will once: a session resumed without one leaves none behind', async () => {
      const topic = uniqueTopic('will-once')
      const clientId = uniqueClientId('device')
      const sub = await watcher(topic)
      const device = await connect('device', { clientId, clean: false, ...will(topic) })
      device.drop()
      const got = await sub.nextPublish()
      sub.send({ cmd: 'puback', messageId: got.messageId })
      const back = await connect('device', { clientId, clean: false })
      back.drop()
      await back.waitClosed()
      expect(await sub.drain()).toEqual([])
      await sub.disconnect()
    })

    it('[MQTT-3.1.2-12] publishes nothing when a connection without a will ends without DISCONNECT', async () => {
      const sub = await watcher('#') // '#' matches every topic a will could have, but no $ topic [MQTT-4.7.2-1]
      const device = await connect('device')
      device.drop()
      await device.waitClosed()
      // Retained messages of earlier tests arrive with RETAIN 1 [MQTT-3.3.1-8]; a will would not [MQTT-3.3.1-9].
      expect((await sub.drain()).filter((p) => p.cmd !== 'publish' || !p.retain)).toEqual([])
      await sub.disconnect()
    })

    it('[MQTT-3.1.2-11] closes a connection whose CONNECT sets Will QoS without the Will Flag [MQTT-3.1.2-13]', async () => {
      const client = await RawClient.open(target.port())
      client.sendBytes([0x10, 12, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x0a, 0, 0, 0, 0]) // clean + Will QoS 1
      await client.waitClosed()
    })
  })

  describe('retained messages', () => {
    const retainedFor = async (topic: string): Promise<IPublishPacket[]> => {
      const client = await connect('late')
      await client.subscribe(1, { topic, qos: 0 })
      const packets = await client.drain()
      await client.disconnect()
      return packets as IPublishPacket[]
    }

    it('[MQTT-3.3.1-5] keeps a retained message for later subscribers, sent with RETAIN 1 [MQTT-3.3.1-6] [MQTT-3.3.1-8]', async () => {
      const topic = uniqueTopic('retained')
      const pub = await connect('pub')
      pub.send(publish(topic, 'kept', { qos: 1, messageId: 1, retain: true }))
      await pub.next('puback')
      const [got, ...more] = await retainedFor(topic)
      expect(got).toMatchObject({ topic, retain: true })
      expect(got!.payload.toString()).toBe('kept')
      expect(more).toEqual([])
      await pub.disconnect()
    })

    it('[MQTT-3.3.1-9] sends a retained message to existing subscribers with RETAIN 0', async () => {
      const topic = uniqueTopic('live')
      const sub = await watcher(topic)
      const pub = await connect('pub')
      pub.send(publish(topic, 'live', { retain: true }))
      expect(await sub.nextPublish()).toMatchObject({ topic, retain: false })
      await Promise.all([sub.disconnect(), pub.disconnect()])
    })

    it('[MQTT-3.3.1-7] replaces the retained message with a newer one, QoS 0 included', async () => {
      const topic = uniqueTopic('replaced')
      const pub = await connect('pub')
      pub.send(publish(topic, 'old', { qos: 1, messageId: 1, retain: true }))
      await pub.next('puback')
      pub.send(publish(topic, 'new', { retain: true }))
      const retained = await retainedFor(topic)
      expect(retained.map((p) => [p.payload.toString(), p.qos])).toEqual([['new', 0]])
      await pub.disconnect()
    })

    it('[MQTT-3.3.1-10] clears the retained message with an empty retained PUBLISH, which still reaches subscribers [MQTT-3.3.1-11]', async () => {
      const topic = uniqueTopic('cleared')
      const sub = await watcher(topic)
      const pub = await connect('pub')
      pub.send(publish(topic, 'soon gone', { retain: true }))
      await sub.nextPublish()
      pub.send(publish(topic, '', { retain: true }))
      const empty = await sub.nextPublish()
      expect(empty.payload.length).toBe(0)
      expect(await retainedFor(topic)).toEqual([])
      await Promise.all([sub.disconnect(), pub.disconnect()])
    })

    it('[MQTT-3.3.1-12] neither stores nor replaces a retained message for a PUBLISH with RETAIN 0', async () => {
      const topic = uniqueTopic('kept')
      const pub = await connect('pub')
      pub.send(publish(topic, 'retained', { retain: true }))
      pub.send(publish(topic, 'not retained'))
      await pub.drain()
      const retained = await retainedFor(topic)
      expect(retained.map((p) => p.payload.toString())).toEqual(['retained'])
      await pub.disconnect()
    })

    it('[MQTT-3.1.2-7] keeps retained messages when the session that published them ends', async () => {
      const topic = uniqueTopic('outlives')
      const pub = await connect('pub', { clean: true })
      pub.send(publish(topic, 'still here', { qos: 1, messageId: 1, retain: true }))
      await pub.next('puback')
      await pub.disconnect()
      expect((await retainedFor(topic)).map((p) => p.payload.toString())).toEqual(['still here'])
    })
  })

  describe('keepalive', () => {
    it('[MQTT-3.1.2-24] disconnects a client silent for 1.5 × its keepalive, as a network failure (its will is published)', async () => {
      const topic = uniqueTopic('silent')
      const sub = await watcher(topic)
      const silent = await connect('silent', { keepalive: 1, ...will(topic) })
      await silent.waitClosed(5000)
      expect((await sub.nextPublish()).payload.toString()).toBe('gone')
      await sub.disconnect()
    })

    it('[MQTT-3.1.2-23] keeps a client that sends PINGREQ or another packet within its keepalive connected [MQTT-3.12.4-1]', async () => {
      const client = await connect('pinging', { keepalive: 1 })
      const topic = uniqueTopic('alive')
      for (let i = 0; i < 5; i++) { // 2.5 s: past 1.5 × the keepalive
        await new Promise((resolve) => setTimeout(resolve, 500))
        // Any control packet counts, not only PINGREQ: every other one is a PUBLISH.
        if (i % 2 === 0) {
          client.send({ cmd: 'pingreq' })
          await client.next('pingresp')
        } else {
          client.send(publish(topic, 'still here', { qos: 1, messageId: i }))
          await client.next('puback')
        }
      }
      expect(client.closed).toBe(false)
      await client.disconnect()
    })
  })
})
