import type { IPublishPacket } from 'mqtt-packet'
import { describe, expect, it } from 'vitest'
import { RawClient, uniqueClientId, uniqueTopic } from './raw-client.js'
import { TARGET, useTarget } from './target.js'

const publish = (topic: string, payload: string, qos: 0 | 1 = 0, messageId?: number): IPublishPacket =>
  ({ cmd: 'publish', topic, payload: Buffer.from(payload), qos, retain: false, dup: false, ...(qos > 0 ? { messageId } : {}) })

describe(`SUBSCRIBE and UNSUBSCRIBE (${TARGET})`, () => {
  const target = useTarget()
  const connect = async (name = 'sub'): Promise<RawClient> => (await RawClient.connect(target.port(), { clientId: uniqueClientId(name) })).client

  /** Topics that reached `sub` when each of `topics` is published once (QoS 0), in order. */
  const delivered = async (sub: RawClient, topics: string[]): Promise<string[]> => {
    const pub = await connect('pub')
    for (const topic of topics) pub.send(publish(topic, topic))
    const packets = await sub.drain(pub)
    await pub.disconnect()
    return packets.map((p) => (p as IPublishPacket).topic)
  }

  /** A publisher that has had `topic`'s retained message ('kept', QoS 1) acknowledged; it stays connected. */
  const retainedOn = async (topic: string): Promise<RawClient> => {
    const pub = await connect('pub')
    pub.send({ ...publish(topic, 'kept', 1, 1), retain: true })
    await pub.next('puback')
    return pub
  }

  it('[MQTT-3.8.4-1] answers SUBSCRIBE with a SUBACK of the same packet id [MQTT-3.8.4-2] [MQTT-2.3.1-7]', async () => {
    const client = await connect()
    client.send({ cmd: 'subscribe', messageId: 321, subscriptions: [{ topic: uniqueTopic('a'), qos: 1 }] })
    expect(await client.next('suback')).toMatchObject({ messageId: 321, granted: [1] })
    await client.disconnect()
  })

  it('[MQTT-3.8.4-4] answers several filters in one SUBACK, one code per filter, in order [MQTT-3.9.3-1] [MQTT-3.8.4-5], each a valid code [MQTT-3.9.3-2]', async () => {
    const client = await connect()
    const granted = await client.subscribe(2, { topic: uniqueTopic('two'), qos: 2 }, { topic: uniqueTopic('zero'), qos: 0 }, { topic: uniqueTopic('one'), qos: 1 })
    expect(granted).toEqual([2, 0, 1])
    await client.disconnect()
  })

  it('[MQTT-3.8.3-3] closes the connection on a SUBSCRIBE without a filter', async () => {
    const client = await connect()
    client.sendBytes([0x82, 2, 0, 1])
    await client.waitClosed()
  })

  it('[MQTT-3.8.3-4] closes the connection on a requested QoS of 3', async () => {
    const client = await connect()
    client.sendBytes([0x82, 8, 0, 1, 0, 3, 0x61, 0x2f, 0x62, 3])
    await client.waitClosed()
  })

  it('[MQTT-3.8.1-1] closes the connection on a SUBSCRIBE whose reserved header bits are not 0010', async () => {
    const client = await connect()
    client.sendBytes([0x80, 8, 0, 1, 0, 3, 0x61, 0x2f, 0x62, 0])
    await client.waitClosed()
  })

  for (const filter of ['conf/#/x', 'conf/x#', 'conf/x+/y']) {
    it(`[MQTT-4.7.1-2] [MQTT-4.7.1-3] closes the connection on the malformed filter "${filter}"`, async () => {
      const client = await connect()
      client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos: 0 }] })
      await client.waitClosed()
    })
  }

  it('[MQTT-4.5.0-1] matches "+" to exactly one level and "#" to any number, including the parent, sending the topic name as published [MQTT-3.3.2-3]', async () => {
    const root = uniqueTopic('match')
    const client = await connect()
    expect(await client.subscribe(1, { topic: `${root}/+/temp`, qos: 0 }, { topic: `${root}/alerts/#`, qos: 0 })).toEqual([0, 0])
    const topics = [`${root}/kitchen/temp`, `${root}/kitchen/hall/temp`, `${root}/temp`, `${root}/alerts`, `${root}/alerts/door/open`, `${root}/other`]
    expect(await delivered(client, topics)).toEqual([`${root}/kitchen/temp`, `${root}/alerts`, `${root}/alerts/door/open`])
    await client.disconnect()
  })

  it('[MQTT-4.7.2-1] does not match a filter starting with a wildcard to topics starting with $', async () => {
    const client = await connect()
    expect(await client.subscribe(1, { topic: '#', qos: 0 }, { topic: '+/+/+/+', qos: 0 })).toEqual([0, 0])
    // Every broker here publishes $SYS topics (Aedes on each connect); the sentinel orders them.
    const other = await connect('other')
    const topics = (await client.drain()).map((p) => (p as IPublishPacket).topic)
    expect(topics.filter((topic) => topic.startsWith('$'))).toEqual([])
    await Promise.all([client.disconnect(), other.disconnect()])
  })

  it('[MQTT-4.7.2-1] does not send retained messages of topics starting with $ to a filter starting with a wildcard', async () => {
    const dollar = `$${uniqueTopic('retained').replace('/', '-')}`
    const pub = await retainedOn(`${dollar}/x`)
    const client = await connect()
    expect(await client.subscribe(1, { topic: '#', qos: 0 }, { topic: '+/x', qos: 0 })).toEqual([0, 0])
    const topics = (await client.drain()).map((p) => (p as IPublishPacket).topic)
    expect(topics.filter((topic) => topic.startsWith('$'))).toEqual([])
    pub.send({ ...publish(`${dollar}/x`, '', 1, 2), retain: true }) // cleared again
    await pub.next('puback')
    await Promise.all([client.disconnect(), pub.disconnect()])
  })

  it('[MQTT-3.8.4-3] replaces a subscription with an identical filter instead of adding a second', async () => {
    const topic = uniqueTopic('replace')
    const client = await connect()
    expect(await client.subscribe(1, { topic, qos: 0 })).toEqual([0])
    expect(await client.subscribe(2, { topic, qos: 1 })).toEqual([1])
    const pub = await connect('pub')
    pub.send(publish(topic, 'once', 1, 1))
    const got = await client.nextPublish()
    expect(got).toMatchObject({ topic, qos: 1 }) // the new maximum QoS
    client.send({ cmd: 'puback', messageId: got.messageId })
    expect(await client.drain(pub)).toEqual([]) // and only one copy
    await Promise.all([client.disconnect(), pub.disconnect()])
  })

  for (const order of ['QoS 0 first', 'QoS 1 first']) {
    it(`[MQTT-3.3.5-1] delivers a message matching overlapping subscriptions at the highest of their QoS (${order})`, async () => {
      const root = uniqueTopic('overlap')
      const client = await connect()
      const single = { topic: `${root}/+`, qos: 0 as const }
      const multi = { topic: `${root}/#`, qos: 1 as const }
      const subscriptions = order === 'QoS 0 first' ? [single, multi] : [multi, single]
      expect(await client.subscribe(1, ...subscriptions)).toEqual(subscriptions.map((s) => s.qos))
      const pub = await connect('pub')
      pub.send(publish(`${root}/x`, 'both', 1, 1))
      const copies = [await client.nextPublish(), ...(await client.drain(pub)) as IPublishPacket[]]
      for (const copy of copies) if (copy.qos > 0) client.send({ cmd: 'puback', messageId: copy.messageId })
      // One copy per matching subscription is allowed; at least one must carry QoS 1.
      expect(copies.map((c) => c.topic)).toContain(`${root}/x`)
      expect(Math.max(...copies.map((c) => c.qos))).toBe(1)
      await Promise.all([client.disconnect(), pub.disconnect()])
    })
  }

  it('[MQTT-3.10.4-4] answers UNSUBSCRIBE with an UNSUBACK of the same packet id, and stops delivery [MQTT-3.10.4-2]', async () => {
    const topic = uniqueTopic('unsub')
    const client = await connect()
    await client.subscribe(1, { topic, qos: 0 })
    client.send({ cmd: 'unsubscribe', messageId: 77, unsubscriptions: [topic] })
    expect((await client.next('unsuback')).messageId).toBe(77)
    expect(await delivered(client, [topic])).toEqual([])
    await client.disconnect()
  })

  it('[MQTT-3.10.4-1] removes only a filter that matches byte for byte; [MQTT-3.10.4-5] answers even when none does', async () => {
    const root = uniqueTopic('exact')
    const client = await connect()
    await client.subscribe(1, { topic: `${root}/a`, qos: 0 })
    client.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: [`${root}/+`] })
    expect((await client.next('unsuback')).messageId).toBe(2)
    expect(await delivered(client, [`${root}/a`])).toEqual([`${root}/a`])
    await client.disconnect()
  })

  it('[MQTT-3.10.4-6] handles several filters in one UNSUBSCRIBE with one UNSUBACK', async () => {
    const root = uniqueTopic('several')
    const client = await connect()
    await client.subscribe(1, { topic: `${root}/a`, qos: 0 }, { topic: `${root}/b`, qos: 0 }, { topic: `${root}/c`, qos: 0 })
    client.send({ cmd: 'unsubscribe', messageId: 3, unsubscriptions: [`${root}/a`, `${root}/c`] })
    expect((await client.next('unsuback')).messageId).toBe(3)
    expect(await delivered(client, [`${root}/a`, `${root}/b`, `${root}/c`])).toEqual([`${root}/b`])
    await client.disconnect()
  })

  it('[MQTT-3.10.4-3] completes a QoS 1 delivery it had started when the subscription is removed', async () => {
    const topic = uniqueTopic('unsub-in-flight')
    const clientId = uniqueClientId('unsub')
    const { client } = await RawClient.connect(target.port(), { clientId, clean: false })
    await client.subscribe(1, { topic, qos: 1 })
    const pub = await connect('pub')
    pub.send(publish(topic, 'in flight', 1, 1))
    const sent = await client.nextPublish()
    client.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: [topic] })
    await client.next('unsuback')
    client.drop() // without PUBACK: the delivery is still owed
    await client.waitClosed()
    const { client: back } = await RawClient.connect(target.port(), { clientId, clean: false })
    const again = await back.nextPublish()
    expect(again).toMatchObject({ topic, messageId: sent.messageId, dup: true })
    back.send({ cmd: 'puback', messageId: again.messageId })
    expect(await delivered(back, [topic])).toEqual([]) // and nothing new: the subscription is gone
    await Promise.all([back.disconnect(), pub.disconnect()])
  })

  it('[MQTT-3.10.3-2] closes the connection on an UNSUBSCRIBE without a filter', async () => {
    const client = await connect()
    client.sendBytes([0xa2, 2, 0, 1])
    await client.waitClosed()
  })

  it('[MQTT-3.10.1-1] closes the connection on an UNSUBSCRIBE whose reserved header bits are not 0010', async () => {
    const client = await connect()
    client.sendBytes([0xa0, 7, 0, 1, 0, 3, 0x61, 0x2f, 0x62])
    await client.waitClosed()
  })

  it('[MQTT-3.8.4-5] answers a filter named twice in one SUBSCRIBE with a return code for each [MQTT-3.9.3-1], the last one standing [MQTT-3.8.4-3]', async () => {
    const topic = uniqueTopic('twice')
    const client = await connect()
    expect(await client.subscribe(1, { topic, qos: 0 }, { topic: uniqueTopic('between'), qos: 2 }, { topic, qos: 1 })).toEqual([0, 2, 1])
    const pub = await connect('pub')
    pub.send(publish(topic, 'once', 1, 1))
    const got = await client.nextPublish()
    expect(got).toMatchObject({ topic, qos: 1 })
    client.send({ cmd: 'puback', messageId: got.messageId })
    expect(await client.drain(pub)).toEqual([])
    await Promise.all([client.disconnect(), pub.disconnect()])
  })

  it('[MQTT-3.8.3-4] closes the connection when the reserved bits of a requested QoS byte are set', async () => {
    const client = await connect()
    client.sendBytes([0x82, 8, 0, 1, 0, 3, 0x61, 0x2f, 0x62, 0x04])
    await client.waitClosed()
  })

  it('[MQTT-3.8.4-3] sends the retained message again when a subscription is replaced', async () => {
    const topic = uniqueTopic('resubscribed')
    const pub = await retainedOn(topic)
    const client = await connect()
    for (const messageId of [1, 2]) {
      expect(await client.subscribe(messageId, { topic, qos: 0 })).toEqual([0])
      expect(await client.nextPublish()).toMatchObject({ topic, retain: true })
    }
    await Promise.all([client.disconnect(), pub.disconnect()])
  })

  it('[MQTT-4.7.1-3] matches "+" to a zero-length level, and "#" to the level after a trailing "/" [MQTT-4.7.1-2]', async () => {
    const root = uniqueTopic('empty-levels')
    const client = await connect()
    expect(await client.subscribe(1, { topic: `${root}/+/x`, qos: 0 }, { topic: `${root}/y/#`, qos: 0 })).toEqual([0, 0])
    expect(await delivered(client, [`${root}//x`, `${root}/y/`, `${root}/x`])).toEqual([`${root}//x`, `${root}/y/`])
    await client.disconnect()
  })

  it('[MQTT-3.8.4-6] sends a retained message at the lower of its QoS and the granted QoS', async () => {
    const topic = uniqueTopic('retained-qos')
    const pub = await retainedOn(topic)
    const client = await connect()
    expect(await client.subscribe(1, { topic, qos: 0 })).toEqual([0])
    expect(await client.nextPublish()).toMatchObject({ topic, qos: 0, retain: true })
    await Promise.all([client.disconnect(), pub.disconnect()])
  })
})
