import type { IPublishPacket } from 'mqtt-packet'
import { describe, expect, it } from 'vitest'
import { RawClient, uniqueClientId, uniqueTopic } from './raw-client.js'
import { TARGET, useTarget } from './target.js'

const publish = (topic: string, payload: string, qos: 0 | 1 | 2, messageId?: number, extra: Partial<IPublishPacket> = {}): IPublishPacket =>
  ({ cmd: 'publish', topic, payload: Buffer.from(payload), qos, retain: false, dup: false, ...(qos > 0 ? { messageId } : {}), ...extra })

/** Publishes and completes the publisher's side of the flow (a broker may forward QoS 2 only after PUBREL). */
async function publishFully (pub: RawClient, topic: string, payload: string, qos: 0 | 1 | 2, messageId: number): Promise<void> {
  pub.send(publish(topic, payload, qos, messageId))
  if (qos === 1) expect((await pub.next('puback')).messageId).toBe(messageId)
  if (qos !== 2) return
  expect((await pub.next('pubrec')).messageId).toBe(messageId)
  pub.send({ cmd: 'pubrel', messageId })
  expect((await pub.next('pubcomp')).messageId).toBe(messageId)
}

describe(`PUBLISH and its acknowledgements (${TARGET})`, () => {
  const target = useTarget()
  const connect = async (name: string, options: { clean?: boolean, clientId?: string } = {}): Promise<RawClient> =>
    (await RawClient.connect(target.port(), { clientId: options.clientId ?? uniqueClientId(name), clean: options.clean ?? true })).client

  /** A publisher and a subscriber to `topic` at `qos`. */
  const pair = async (topic: string, qos: 0 | 1 | 2, subscriber: { clean?: boolean, clientId?: string } = {}): Promise<{ pub: RawClient, sub: RawClient }> => {
    const sub = await connect('sub', subscriber)
    expect(await sub.subscribe(1, { topic, qos })).toEqual([qos])
    return { pub: await connect('pub'), sub }
  }

  it('[MQTT-3.3.2-2] disconnects a client that publishes to a topic name with a wildcard [MQTT-4.7.1-1]', async () => {
    for (const topic of ['conf/+/x', 'conf/#']) {
      const client = await connect('wild')
      client.send(publish(topic, 'x', 1, 1))
      await client.waitClosed()
    }
  })

  it('[MQTT-4.7.3-1] disconnects a client that publishes to a zero-length topic name', async () => {
    const client = await connect('empty')
    client.sendBytes([0x30, 3, 0, 0, 0x78]) // QoS 0 PUBLISH, topic length 0, payload "x"
    await client.waitClosed()
  })

  it('[MQTT-3.3.1-4] disconnects a client that sends a PUBLISH with both QoS bits set', async () => {
    const client = await connect('qos3')
    client.sendBytes([0x36, 7, 0, 3, 0x61, 0x2f, 0x62, 0, 1]) // "a/b", QoS 3, id 1
    await client.waitClosed()
  })

  it('[MQTT-4.3.1-1] delivers QoS 0 with QoS 0, DUP 0 [MQTT-3.3.1-2] and no packet id [MQTT-2.3.1-5]', async () => {
    const topic = uniqueTopic('q0')
    const { pub, sub } = await pair(topic, 0)
    pub.send(publish(topic, 'zero', 0))
    const got = await sub.nextPublish()
    expect(got).toMatchObject({ topic, qos: 0, dup: false, retain: false })
    expect(got.messageId).toBeUndefined()
    expect(got.payload.toString()).toBe('zero') // a packet id would have been read as payload
    await Promise.all([pub.disconnect(), sub.disconnect()])
  })

  it('[MQTT-4.3.2-2] acknowledges a QoS 1 PUBLISH with a PUBACK of its packet id [MQTT-2.3.1-6]', async () => {
    const client = await connect('q1')
    client.send(publish(uniqueTopic('q1'), 'one', 1, 4711))
    expect((await client.next('puback')).messageId).toBe(4711)
    await client.disconnect()
  })

  it('[MQTT-4.3.2-1] sends QoS 1 with a non-zero packet id and DUP 0 [MQTT-2.3.1-1]', async () => {
    const topic = uniqueTopic('q1')
    const { pub, sub } = await pair(topic, 1)
    pub.send(publish(topic, 'one', 1, 1))
    await pub.next('puback')
    const got = await sub.nextPublish()
    expect(got).toMatchObject({ topic, qos: 1, dup: false })
    expect(got.messageId).toBeGreaterThan(0)
    sub.send({ cmd: 'puback', messageId: got.messageId })
    expect(await sub.drain()).toEqual([]) // acknowledged: never sent again
    await Promise.all([pub.disconnect(), sub.disconnect()])
  })

  it('[MQTT-4.3.3-2] receives QoS 2 exactly once: PUBREC, a resent PUBLISH delivered once, PUBCOMP for PUBREL', async () => {
    const topic = uniqueTopic('q2-in')
    const { pub, sub } = await pair(topic, 2)
    pub.send(publish(topic, 'two', 2, 9))
    expect((await pub.next('pubrec')).messageId).toBe(9)
    // Until PUBREL, the same packet id is the same message [MQTT-4.3.3-2].
    pub.send(publish(topic, 'two', 2, 9, { dup: true }))
    expect((await pub.next('pubrec')).messageId).toBe(9)
    pub.send({ cmd: 'pubrel', messageId: 9 })
    expect((await pub.next('pubcomp')).messageId).toBe(9)
    const got = await sub.nextPublish()
    sub.send({ cmd: 'pubrec', messageId: got.messageId })
    await sub.next('pubrel')
    sub.send({ cmd: 'pubcomp', messageId: got.messageId })
    expect(await sub.drain(pub)).toEqual([]) // no duplicate onward delivery
    await Promise.all([pub.disconnect(), sub.disconnect()])
  })

  for (const clean of [true, false]) {
    it(`[MQTT-4.3.3-1] sends QoS 2 to a ${clean ? 'clean' : 'persistent'} session: PUBLISH, PUBREL (flags 0010 [MQTT-2.2.2-1]) of its id on PUBREC [MQTT-2.3.1-6], done on PUBCOMP`, async () => {
      const topic = uniqueTopic('q2-out')
      const { pub, sub } = await pair(topic, 2, { clean })
      await publishFully(pub, topic, 'two', 2, 2)
      const got = await sub.nextPublish()
      expect(got).toMatchObject({ topic, qos: 2, dup: false })
      sub.send({ cmd: 'pubrec', messageId: got.messageId })
      expect((await sub.next('pubrel')).messageId).toBe(got.messageId)
      sub.send({ cmd: 'pubcomp', messageId: got.messageId })
      expect(await sub.drain()).toEqual([])
      await Promise.all([pub.disconnect(), sub.disconnect()])
    })
  }

  it('[MQTT-4.5.0-1] delivers a message to its own publisher when it has a matching subscription', async () => {
    const topic = uniqueTopic('own')
    const client = await connect('self')
    expect(await client.subscribe(1, { topic, qos: 1 })).toEqual([1])
    client.send(publish(topic, 'to myself', 1, 2))
    // The PUBACK and the delivery, in whatever order the server sends them.
    const packets = await client.drain()
    expect(packets.map((p) => p.cmd).sort()).toEqual(['puback', 'publish'])
    const own = packets.find((p) => p.cmd === 'publish') as IPublishPacket
    expect(own).toMatchObject({ topic, qos: 1 })
    client.send({ cmd: 'puback', messageId: own.messageId })
    await client.disconnect()
  })

  it('[MQTT-3.3.4-1] answers a QoS 0 PUBLISH with nothing', async () => {
    const client = await connect('q0')
    client.send(publish(uniqueTopic('q0'), 'zero', 0))
    expect(await client.drain()).toEqual([])
    await client.disconnect()
  })

  it('[MQTT-4.3.3-2] answers a PUBREL of a packet id it holds no state for with PUBCOMP', async () => {
    const client = await connect('stray-pubrel')
    client.send({ cmd: 'pubrel', messageId: 42 })
    expect((await client.next('pubcomp')).messageId).toBe(42)
    expect(client.closed).toBe(false)
    await client.disconnect()
  })

  it('[MQTT-4.3.3-2] delivers a QoS 2 PUBLISH resent by its publisher after a reconnect once, and completes it', async () => {
    const topic = uniqueTopic('q2-resent')
    const clientId = uniqueClientId('q2-pub')
    const { sub } = await pair(topic, 2)
    const first = await connect('pub', { clientId, clean: false })
    first.send(publish(topic, 'exactly once', 2, 11))
    expect((await first.next('pubrec')).messageId).toBe(11)
    first.drop() // before PUBREL: the publisher must resend the PUBLISH (or the PUBREL)
    await first.waitClosed()
    const again = await connect('pub', { clientId, clean: false })
    again.send(publish(topic, 'exactly once', 2, 11, { dup: true }))
    expect((await again.next('pubrec')).messageId).toBe(11)
    again.send({ cmd: 'pubrel', messageId: 11 })
    expect((await again.next('pubcomp')).messageId).toBe(11)
    const got = await sub.nextPublish()
    expect(got.payload.toString()).toBe('exactly once')
    sub.send({ cmd: 'pubrec', messageId: got.messageId })
    await sub.next('pubrel')
    sub.send({ cmd: 'pubcomp', messageId: got.messageId })
    expect(await sub.drain(again)).toEqual([])
    await Promise.all([again.disconnect(), sub.disconnect()])
  })

  it('[MQTT-3.8.4-6] delivers at the lower of the published QoS and the granted QoS', async () => {
    const topic = uniqueTopic('downgrade')
    const { pub, sub } = await pair(topic, 1)
    await publishFully(pub, topic, 'two', 2, 3)
    pub.send(publish(topic, 'zero', 0))
    const first = await sub.nextPublish()
    expect(first).toMatchObject({ qos: 1 })
    sub.send({ cmd: 'puback', messageId: first.messageId })
    expect(await sub.nextPublish()).toMatchObject({ qos: 0 })
    await Promise.all([pub.disconnect(), sub.disconnect()])
  })

  it('[MQTT-3.3.1-3] does not pass a publisher\'s DUP flag on to subscribers', async () => {
    const topic = uniqueTopic('dup-in')
    const { pub, sub } = await pair(topic, 1)
    pub.send(publish(topic, 'resent by its publisher', 1, 5, { dup: true }))
    expect((await pub.next('puback')).messageId).toBe(5)
    expect(await sub.nextPublish()).toMatchObject({ topic, dup: false })
    await Promise.all([pub.disconnect(), sub.disconnect()])
  })

  it('[MQTT-3.3.1-2] delivers a QoS 0 PUBLISH its publisher sent with DUP 1 with DUP 0 (accepted, as Mosquitto does)', async () => {
    const topic = uniqueTopic('dup-q0')
    const { pub, sub } = await pair(topic, 0)
    pub.send(publish(topic, 'zero', 0, undefined, { dup: true }))
    expect(await sub.nextPublish()).toMatchObject({ topic, qos: 0, dup: false })
    await Promise.all([pub.disconnect(), sub.disconnect()])
  })

  it('[MQTT-4.6.0-6] delivers one publisher\'s messages to a subscriber in the order they were sent (an ordered topic [MQTT-4.6.0-5])', async () => {
    const topic = uniqueTopic('order')
    const { pub, sub } = await pair(topic, 1)
    for (let i = 1; i <= 20; i++) pub.send(publish(topic, String(i), 1, i))
    const order: string[] = []
    for (let i = 1; i <= 20; i++) {
      const got = await sub.nextPublish()
      order.push(got.payload.toString())
      sub.send({ cmd: 'puback', messageId: got.messageId })
    }
    expect(order).toEqual(Array.from({ length: 20 }, (_, i) => String(i + 1)))
    await Promise.all([pub.disconnect(), sub.disconnect()])
  })

  it('[MQTT-4.6.0-2] sends PUBACKs in the order of the PUBLISHes, and PUBRECs likewise [MQTT-4.6.0-3]', async () => {
    const client = await connect('acks')
    const topic = uniqueTopic('acks')
    for (let id = 1; id <= 10; id++) client.send(publish(topic, String(id), 1, id))
    for (let id = 11; id <= 20; id++) client.send(publish(topic, String(id), 2, id))
    const acks = await client.drain()
    expect(acks.map((p) => [p.cmd, (p as { messageId?: number }).messageId])).toEqual([
      ...Array.from({ length: 10 }, (_, i) => ['puback', i + 1]),
      ...Array.from({ length: 10 }, (_, i) => ['pubrec', i + 11])
    ])
    for (let id = 11; id <= 20; id++) client.send({ cmd: 'pubrel', messageId: id })
    expect((await client.drain()).map((p) => [p.cmd, (p as { messageId?: number }).messageId]))
      .toEqual(Array.from({ length: 10 }, (_, i) => ['pubcomp', i + 11]))
    await client.disconnect()
  })

  describe('persistent sessions', () => {
    it('[MQTT-4.6.0-1] resends unacknowledged PUBLISHes on reconnect in the order they were first sent', async () => {
      const topic = uniqueTopic('resend-order')
      const clientId = uniqueClientId('resend-order')
      const { pub, sub } = await pair(topic, 1, { clean: false, clientId })
      for (let i = 1; i <= 5; i++) pub.send(publish(topic, String(i), 1, i))
      const first: number[] = []
      for (let i = 1; i <= 5; i++) first.push((await sub.nextPublish()).messageId!)
      sub.drop() // none acknowledged
      await sub.waitClosed()
      const { client: back } = await RawClient.connect(target.port(), { clientId, clean: false })
      const again: IPublishPacket[] = []
      for (let i = 1; i <= 5; i++) again.push(await back.nextPublish())
      expect(again.map((p) => [p.payload.toString(), p.messageId])).toEqual(first.map((id, i) => [String(i + 1), id]))
      for (const p of again) back.send({ cmd: 'puback', messageId: p.messageId })
      await Promise.all([pub.disconnect(), back.disconnect()])
    })

    for (const qos of [1, 2] as const) {
      it(`[MQTT-3.1.2-5] queues QoS ${qos} messages for a disconnected persistent session and sends them on its return`, async () => {
        const topic = uniqueTopic(`offline-q${qos}`)
        const clientId = uniqueClientId('offline')
        const { pub, sub } = await pair(topic, qos, { clean: false, clientId })
        await sub.disconnect()
        await publishFully(pub, topic, 'while away', qos, 7)
        const { client: back, connack } = await RawClient.connect(target.port(), { clientId, clean: false })
        expect(connack.sessionPresent).toBe(true)
        const got = await back.nextPublish()
        expect(got).toMatchObject({ topic, qos, dup: false })
        expect(got.payload.toString()).toBe('while away')
        // QoS 1 ends with the PUBACK; QoS 2 with PUBREC → PUBREL (same id) → PUBCOMP.
        const rel = qos === 1 ? undefined : (back.send({ cmd: 'pubrec', messageId: got.messageId }), await back.next('pubrel'))
        expect(rel?.messageId).toBe(qos === 1 ? undefined : got.messageId)
        back.send(qos === 1 ? { cmd: 'puback', messageId: got.messageId } : { cmd: 'pubcomp', messageId: got.messageId })
        expect(await back.drain()).toEqual([])
        await Promise.all([pub.disconnect(), back.disconnect()])
      })

      it(`[MQTT-4.4.0-1] resends an unacknowledged QoS ${qos} PUBLISH on reconnect with its packet id and DUP 1 [MQTT-3.3.1-1]`, async () => {
        const topic = uniqueTopic(`redeliver-q${qos}`)
        const clientId = uniqueClientId('redeliver')
        const { pub, sub } = await pair(topic, qos, { clean: false, clientId })
        await publishFully(pub, topic, 'unacknowledged', qos, 8)
        const first = await sub.nextPublish()
        expect(first.dup).toBe(false)
        sub.drop() // no PUBACK / PUBREC: the delivery is unacknowledged
        await sub.waitClosed()
        const { client: back } = await RawClient.connect(target.port(), { clientId, clean: false })
        const again = await back.nextPublish()
        expect(again).toMatchObject({ topic, qos, messageId: first.messageId, dup: true })
        expect(again.payload.toString()).toBe('unacknowledged')
        back.send(qos === 1 ? { cmd: 'puback', messageId: again.messageId } : { cmd: 'pubrec', messageId: again.messageId })
        if (qos === 2) {
          await back.next('pubrel')
          back.send({ cmd: 'pubcomp', messageId: again.messageId })
        }
        expect(await back.drain()).toEqual([])
        await Promise.all([pub.disconnect(), back.disconnect()])
      })
    }

    it('[MQTT-3.1.2-6] discards unacknowledged deliveries when the client returns with CleanSession 1', async () => {
      const topic = uniqueTopic('discarded')
      const clientId = uniqueClientId('discard')
      const { pub, sub } = await pair(topic, 1, { clean: false, clientId })
      await publishFully(pub, topic, 'unacknowledged', 1, 9)
      await sub.nextPublish()
      sub.drop() // no PUBACK
      await sub.waitClosed()
      const clean = await connect('discard', { clientId, clean: true })
      expect(await clean.drain()).toEqual([])
      await clean.disconnect()
      const { client: again, connack } = await RawClient.connect(target.port(), { clientId, clean: false })
      expect(connack.sessionPresent).toBe(false)
      expect(await again.drain()).toEqual([])
      await Promise.all([pub.disconnect(), again.disconnect()])
    })

    it('[MQTT-4.4.0-1] resends an unacknowledged PUBLISH with DUP 1 to a connection that takes the session over [MQTT-3.1.4-2]', async () => {
      const topic = uniqueTopic('takeover')
      const clientId = uniqueClientId('takeover')
      const { pub, sub } = await pair(topic, 1, { clean: false, clientId })
      await publishFully(pub, topic, 'in flight', 1, 10)
      const first = await sub.nextPublish() // not acknowledged
      const { client: next, connack } = await RawClient.connect(target.port(), { clientId, clean: false })
      expect(connack.sessionPresent).toBe(true)
      await sub.waitClosed()
      const again = await next.nextPublish()
      expect(again).toMatchObject({ topic, messageId: first.messageId, dup: true })
      next.send({ cmd: 'puback', messageId: again.messageId })
      expect(await next.drain()).toEqual([])
      await Promise.all([pub.disconnect(), next.disconnect()])
    })

    it('[MQTT-4.4.0-1] resends an unacknowledged PUBREL on reconnect, and not the PUBLISH [MQTT-4.3.3-1]', async () => {
      const topic = uniqueTopic('pubrel')
      const clientId = uniqueClientId('pubrel')
      const { pub, sub } = await pair(topic, 2, { clean: false, clientId })
      await publishFully(pub, topic, 'half done', 2, 6)
      const got = await sub.nextPublish()
      sub.send({ cmd: 'pubrec', messageId: got.messageId })
      await sub.next('pubrel')
      sub.drop() // no PUBCOMP
      await sub.waitClosed()
      const { client: back } = await RawClient.connect(target.port(), { clientId, clean: false })
      expect((await back.next('pubrel')).messageId).toBe(got.messageId)
      back.send({ cmd: 'pubcomp', messageId: got.messageId })
      expect(await back.drain()).toEqual([])
      await Promise.all([pub.disconnect(), back.disconnect()])
    })
  })
})
