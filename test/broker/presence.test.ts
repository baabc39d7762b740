import { connect as tcpConnect } from 'node:net'
import mqttPacket from 'mqtt-packet'
import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PresenceUpdate } from '../../protocol/envelopes.js'
import { OP, PRIVACY } from '../../protocol/requests.js'
import { startTestBroker, type TestBroker } from '../helpers/broker.js'
import { request } from '../helpers/chat.js'
import { Inbox } from '../helpers/messages.js'

const updates = (inbox: Inbox, contact: string) => inbox.on(`/p/${contact}`).map((r) => PresenceUpdate.decode(r.payload))
const watch = async (client: MqttClient, watcher: string, contact: string) => { await client.subscribeAsync(`u/${watcher}/p/${contact}`, { qos: 0 }) }

describe('presence', () => {
  let broker: TestBroker
  beforeAll(async () => { broker = await startTestBroker() })
  afterAll(() => broker.close())

  it('tells a watcher the current state at once, then online and offline with last seen', async () => {
    const carol = await broker.device('carol', 'phone')
    const seen = new Inbox(carol)
    const alice = await broker.device('alice', 'phone')
    await watch(carol, 'carol', 'alice')
    await seen.wait('/p/alice')
    expect(updates(seen, 'alice')).toEqual([{ online: true }])
    const before = Math.floor(Date.now() / 1000)
    await alice.endAsync()
    await seen.wait('/p/alice', 2)
    const offline = updates(seen, 'alice')[1]!
    expect(offline.online).toBe(false)
    expect(offline.lastSeen).toBeGreaterThanOrEqual(before)
    await broker.device('alice', 'phone')
    await seen.wait('/p/alice', 3)
    expect(updates(seen, 'alice')[2]).toEqual({ online: true })
  })

  it('stays online until the last of several devices leaves', async () => {
    const watcher = await broker.device('dave', 'phone')
    const seen = new Inbox(watcher)
    const phone = await broker.device('erin', 'phone')
    const laptop = await broker.device('erin', 'laptop')
    await watch(watcher, 'dave', 'erin')
    await seen.wait('/p/erin')
    await phone.endAsync()
    const marker = await broker.device('erin', 'marker')
    await marker.endAsync() // a device joining and leaving while the laptop stays: still online throughout
    await laptop.endAsync()
    await seen.wait('/p/erin', 2)
    expect(updates(seen, 'erin').map((u) => u.online)).toEqual([true, false])
  })

  it('goes offline on a keepalive timeout', async () => {
    const watcher = await broker.device('frank', 'phone')
    const seen = new Inbox(watcher)
    await watch(watcher, 'frank', 'gina')
    const last = () => updates(seen, 'gina').at(-1)
    // A phone that says keepalive 1 s and then falls silent, without closing its socket.
    const socket = tcpConnect(Number(new URL(broker.url).port), '127.0.0.1')
    socket.on('error', () => undefined)
    socket.resume() // read (and ignore) the CONNACK, so the broker's close is seen
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
    socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'gina/phone', keepalive: 1, username: 'gina', password: Buffer.from(await broker.token('gina')) }))
    await seen.until(() => last()?.online === true)
    await seen.until(() => last()?.online === false, 5000)
    await closed
    expect(last()?.lastSeen).toBeGreaterThan(0)
  })

  it('goes offline when a device with the c/o will loses its connection without DISCONNECT', async () => {
    const watcher = await broker.device('olga', 'phone')
    const seen = new Inbox(watcher)
    const phone = await broker.device('pete', 'phone', { will: { topic: 'c/o', payload: Buffer.alloc(0), qos: 0, retain: false } })
    await watch(watcher, 'olga', 'pete')
    await seen.until(() => updates(seen, 'pete').at(-1)?.online === true)
    phone.stream.destroy() // no DISCONNECT: the will fires
    await seen.until(() => updates(seen, 'pete').at(-1)?.online === false)
    expect(updates(seen, 'pete').at(-1)?.lastSeen).toBeGreaterThan(0)
  })

  it('enforces "nobody" and "contacts" privacy for online and last seen alike', async () => {
    const hank = await broker.device('hank', 'phone')
    const friend = await broker.device('ivy', 'phone')
    const stranger = await broker.device('jack', 'phone')
    expect((await request(hank, 'hank', OP.addContact, new Map([[1, 'ivy']]))).code).toBeUndefined()
    expect((await request(hank, 'hank', OP.setPrivacy, new Map([[1, PRIVACY.contacts]]))).code).toBeUndefined()
    const friendSees = new Inbox(friend)
    const strangerSees = new Inbox(stranger)
    await watch(friend, 'ivy', 'hank')
    await watch(stranger, 'jack', 'hank')
    await friendSees.wait('/p/hank')
    expect(updates(friendSees, 'hank')).toEqual([{ online: true }])

    expect((await request(hank, 'hank', OP.setPrivacy, new Map([[1, PRIVACY.nobody]]))).code).toBeUndefined()
    await hank.endAsync()
    // Control: an unrestricted user's change reaches the stranger after hank's would have.
    const open = await broker.device('kate', 'phone')
    await watch(stranger, 'jack', 'kate')
    await strangerSees.wait('/p/kate')
    await open.endAsync()
    await strangerSees.wait('/p/kate', 2)
    expect(updates(strangerSees, 'hank')).toEqual([])
    expect(updates(friendSees, 'hank')).toHaveLength(1)
  })

  it('stops updates after unwatching', async () => {
    const lee = await broker.device('lee', 'phone')
    const seen = new Inbox(lee)
    const mia = await broker.device('mia', 'phone')
    await watch(lee, 'lee', 'mia')
    await seen.wait('/p/mia')
    await lee.unsubscribeAsync('u/lee/p/mia')
    await mia.endAsync()
    await watch(lee, 'lee', 'lee') // a control update that comes after mia's would have
    await seen.wait('/p/lee')
    expect(updates(seen, 'mia')).toHaveLength(1)
  })

  it('refuses bad request arguments with a coded response', async () => {
    const nora = await broker.device('nora', 'phone')
    const response = await request(nora, 'nora', OP.setPrivacy, new Map([[1, 7]]))
    expect(response.code).toBe(2)
    expect((await request(nora, 'nora', 99, new Map())).code).toBe(8)
    expect((await request(nora, 'nora', OP.addContact, new Map([[1, 'nobody-at-all']]))).code).toBe(4)
  })
})
