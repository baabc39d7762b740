import { SignJWT } from 'jose'
import mqtt, { type IClientOptions } from 'mqtt'
import { describe, expect, it } from 'vitest'
import { DirectSend } from '../../protocol/envelopes.js'
import { OP } from '../../protocol/requests.js'
import { MAX_WATCHES } from '../../protocol/topics.js'
import { SECRET } from '../helpers/broker.js'
import { request, sendRaw } from '../helpers/chat.js'
import { cbor, rawMap } from '../helpers/adversary.js'
import { onEveryStore, useArena } from '../helpers/arena.js'
import { Inbox } from '../helpers/messages.js'

/*
 * Adversarial probes (see adversarial.test.ts for the whole set), this file: connections — hostile
 * CONNECTs (client id, username, token), SUBSCRIBE filters and presence watches, pipelined
 * requests and takeovers, wills into the chat namespace, bursts of resume requests.
 */

onEveryStore('adversarial input: connections', (store, flags) => {
  describe(`adversarial input: connections on ${store}`, () => {
    const arena = useArena(flags)

    it('refuses hostile CONNECTs with CONNACK 4 or 5, and serves the same device right after', async () => {
      const { broker } = arena
      // The CONNACK return code; 'closed' for a CONNECT closed without one (a malformed packet).
      const refusal = (options: IClientOptions): Promise<number | 'closed'> => new Promise((resolve) => {
        const client = mqtt.connect(broker.url, { reconnectPeriod: 0, connectTimeout: 10_000, ...options })
        client.once('connect', () => { client.end(true); resolve(0) })
        client.once('error', (error: Error & { code?: number }) => { client.end(true); resolve(error.code ?? -1) })
        client.once('close', () => resolve('closed'))
      })
      const password = await broker.token('mallory')
      // NUL is no character of an MQTT string [MQTT-1.5.3-2]: that CONNECT is malformed and closed.
      expect(await refusal({ clientId: 'mallory/ph\u0000', username: 'mallory', password })).toBe('closed')
      for (const clientId of ['mallory', 'mallory/', '/phone', 'mallory/phone/x', 'mallory/ph+one', 'mallory/ph#', `mallory/${'d'.repeat(65)}`,
        'mallory/\u202ephone', 'alice/phone', 'mallory//phone', ' mallory/phone']) {
        expect(await refusal({ clientId, username: 'mallory', password }), `client id ${JSON.stringify(clientId)}`).toBe(5)
      }
      for (const username of ['alice', 'mallory ', '', 'm'.repeat(65)]) {
        expect(await refusal({ clientId: 'mallory/phone2', username, password }), `username ${JSON.stringify(username)}`).toBeOneOf([4, 5])
      }
      const header = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url')
      const [, body] = password.split('.')
      for (const [what, token] of [['alg none', `${header({ alg: 'none' })}.${body}.`], ['a cut signature', password.slice(0, -5)], ['garbage', 'x'.repeat(10)],
        ['65 000 bytes', 'x'.repeat(65_000)], ['NUL', `${password}\u0000`], ['another user\'s', await broker.token('alice')],
        ['expired', await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('mallory').setExpirationTime(Math.floor(Date.now() / 1000) - 60).sign(new TextEncoder().encode(SECRET))],
        ['without exp', await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('mallory').sign(new TextEncoder().encode(SECRET))]]) {
        expect(await refusal({ clientId: 'mallory/phone2', username: 'mallory', password: token }), `token ${what}`).toBe(4)
      }
      expect(await refusal({ clientId: 'mallory/phone2', username: 'mallory', password })).toBe(0)
    })

    it('refuses SUBSCRIBE filters outside the device\'s subtree with 0x80, granting its own', async () => {
      const { broker } = arena
      const device = await broker.device('mallory', 'subs', { subscribe: false })
      const refused = ['#', '+', '+/+', 'u/#', 'u/+', 'u/+/#', 'u/bob/#', 'u/bob', 'u/+/q', 'c/#', 'c/q', 's/#', 's/bob', '$SYS/#', '$lb/#', 'x/y',
        'u/mallor', 'u/mallory2/#', 'U/mallory/#']
      // mqtt.js rejects a SUBACK of 0x80 with the packet.
      const granted = (filter: string): Promise<number | undefined> => device.subscribeAsync(filter, { qos: 1 })
        .then(([grant]) => grant?.qos, (error: { packet?: { granted?: number[] } }) => error.packet?.granted?.[0])
      for (const filter of refused) expect(await granted(filter), filter).toBe(128)
      for (const filter of ['u/mallory/#', 'u/mallory', 'u/mallory/q', 'u/mallory/p/alice', 'u/mallory/p/+', 'u/mallory/p/\u202ealice', 'u/mallory/../bob/#']) expect(await granted(filter), filter).toBe(1)
      expect(device.connected).toBe(true)
      await device.endAsync()
    })

    it('refuses presence watches past MAX_WATCHES per connection with 0x80, keeping the connection', async () => {
      const { broker } = arena
      const device = await broker.device('mallory', 'watcher', { subscribe: false })
      const filters = Array.from({ length: MAX_WATCHES + 10 }, (_, i) => `u/mallory/p/contact${i}`)
      const granted = await device.subscribeAsync(filters, { qos: 0 }).then((grants) => grants.map((g) => g.qos),
        (error: { packet?: { granted?: number[] } }) => error.packet?.granted ?? [])
      expect(granted.filter((qos) => qos === 0)).toHaveLength(MAX_WATCHES)
      expect(granted.slice(MAX_WATCHES)).toEqual(Array.from({ length: 10 }, () => 128))
      // One it watches already is no new watch; after an unsubscribe there is room for another.
      expect((await device.subscribeAsync('u/mallory/p/contact0', { qos: 0 }))[0]?.qos).toBe(0)
      await device.unsubscribeAsync('u/mallory/p/contact1')
      expect((await device.subscribeAsync('u/mallory/p/someone-else', { qos: 0 }))[0]?.qos).toBe(0)
      expect(device.connected).toBe(true)
      await device.endAsync()
    })

    it('answers pipelined requests each under its rid, and survives a takeover in the middle of requests and sends', async () => {
      const { broker } = arena
      const device = await broker.device('mallory', 'pipe')
      const inbox = new Inbox(device)
      for (let rid = 1; rid <= 50; rid++) device.publish('c/q', Buffer.from(rawMap([[1, cbor(rid)], [2, cbor(rid % 2 === 0 ? OP.listGroups : 99)]])), { qos: 1 })
      await inbox.wait('/q', 50)
      // Taken over (same client id) while requests and sends are in flight: the old connection is
      // closed, nothing is logged as an error, and each send is stored at most once.
      for (let round = 0; round < 5; round++) {
        const old = await broker.device('mallory', 'takeover')
        for (let i = 0; i < 10; i++) {
          old.publish('c/q', Buffer.from(rawMap([[1, cbor(i)], [2, cbor(OP.createGroup)], [3, cbor(new Map([[1, `race ${round}`]]))]])), { qos: 1 })
          old.publish('s/alice', Buffer.from(DirectSend.encode({ clientMsgId: `race-${round}-${i}`, body: 'racing' })), { qos: 1 })
        }
        const closed = new Promise<void>((resolve) => old.once('close', () => resolve()))
        const next = await broker.device('mallory', 'takeover')
        await closed
        await next.endAsync()
      }
      const racing = (await broker.storage.messages.history('alice', 'mallory', 0, 100)).items.filter(({ message }) => message.body === 'racing')
      expect(new Set(racing.map(({ message }) => String(message.clientMsgId))).size).toBe(racing.length)
    })

    it('drops wills into the chat namespace: nothing stored or delivered, and no resend asked for', async () => {
      const { broker, alice, bob } = arena
      for (const topic of ['s/bob', 'c/s', 'c/q', 'c/t', 'c/d', 'c/r', 'u/bob', 'u/mallory/e', '$SYS/x', 'x/y']) {
        const will = { topic, payload: Buffer.from(DirectSend.encode({ clientMsgId: 'will', body: 'from the grave' })), qos: 1 as const, retain: false }
        const device = await broker.device('mallory', `will${topic.replace(/\W/g, '')}`, { will, subscribe: false })
        const closed = new Promise<void>((resolve) => device.once('close', () => resolve()))
        device.stream.destroy()
        await closed
      }
      await request(alice, 'alice', OP.listGroups)
      expect(bob.received.filter((r) => r.payload.includes(Buffer.from('from the grave')))).toEqual([])
      expect((await broker.storage.messages.history('bob', 'mallory', 0, 100)).items.filter(({ message }) => message.body === 'from the grave')).toEqual([])
      expect(broker.logs.filter((line) => line.includes('"clientId":"mallory/will') && line.includes('resend later'))).toEqual([])
    })

    it('runs one replay for a burst of resume requests, not one each', async () => {
      const { broker, alice } = arena
      // 300 entries in dave's inbox, then 50 resume requests from 0 in one burst (QoS 0, unpaced).
      const dave = await broker.device('dave', 'phone', { subscribe: false })
      for (let i = 0; i < 300; i++) alice.publish('s/dave', Buffer.from(DirectSend.encode({ clientMsgId: `d${i}`, body: `to dave ${i}` })), { qos: 1 })
      await sendRaw(alice, 'dave', 'to dave, last')
      const inbox = new Inbox(dave)
      for (let i = 0; i < 50; i++) dave.publish('c/r', Buffer.from(rawMap([[1, cbor(0)]])), { qos: 0 })
      await inbox.until(() => inbox.on('/y').length > 0 && inbox.on('inbox').length >= 301, 10_000, () => `the replay (${inbox.on('inbox').length} entries)`)
      await request(dave, 'dave', OP.listGroups)
      expect(dave.connected).toBe(true)
      // The latest request's replay is whole; those it superseded stopped (each may have sent a batch).
      expect(inbox.on('inbox').length).toBeLessThan(2 * 301)
      await dave.endAsync()
    })
  })
})
