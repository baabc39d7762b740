import { randomBytes } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { encode } from 'cbor-x'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
// The broker under test, and a token as `lowband token` mints one: not the client's code.
import { startTestBroker, type TestBroker } from '../helpers/broker.js'
import { Device, isPublish, type Envelope } from './device.js'

/** A CBOR map with integer keys, as PROTOCOL.md's envelope tables number them. */
const m = (...entries: Array<[number, unknown]>): Envelope => new Map(entries)

/**
 * The whole chat flow by a client written from docs/PROTOCOL.md alone (./device.ts): every topic,
 * key and code below is the document's. Where the document was not enough, the document was fixed.
 */
describe('a client written from PROTOCOL.md alone', () => {
  let broker: TestBroker
  const open: Device[] = []
  const connect = async (user: string, device: string, clean = false): Promise<Device> => {
    const { device: d, returnCode } = await Device.connect(broker.ports.tcp, user, device, await broker.token(user), clean)
    expect(returnCode).toBe(0)
    open.push(d)
    return d
  }
  /** Connects, subscribes once to its subtree, and resumes from `cursor`; resolves on Synced. */
  const online = async (user: string, device: string, cursor = 0): Promise<Device> => {
    const d = await connect(user, device)
    expect(await d.subscribe(`u/${user}/#`, 1)).toEqual([1])
    await d.publish('c/r', m([1, cursor]))
    await d.next(`u/${user}/y`)
    return d
  }

  beforeAll(async () => { broker = await startTestBroker() })
  afterAll(async () => {
    for (const d of open) d.drop()
    await broker?.close()
  })

  it('imports nothing of lowband\'s: only the MQTT codec, the CBOR library and Node', async () => {
    const dir = new URL('./', import.meta.url)
    for (const file of await readdir(dir)) {
      const source = await readFile(new URL(file, dir), 'utf8')
      const imports = [...source.matchAll(/^import .* from '([^']+)'/gm)].map((match) => match[1]!)
      const allowed = (spec: string): boolean => spec.startsWith('node:') || ['cbor-x', 'mqtt-packet', 'vitest', './device.js', '../helpers/broker.js'].includes(spec)
      expect(imports.filter((spec) => !allowed(spec)), file).toEqual([])
    }
    // cbor-x writes a Map under tag 259, which the broker accepts (shown by every publish below).
    expect(Buffer.from(encode(m([1, 0]))).subarray(0, 3)).toEqual(Buffer.from([0xd9, 0x01, 0x03]))
  })

  it('connects, sends, gets ✓ then ✓✓ then read, typing, presence, resumes, reads history, and chats in a group', async () => {
    const bob = await online('bob', 'phone')
    const alice = await online('alice', 'phone')

    // Presence: subscribe to watch bob (the chat is open); his state comes at once.
    await alice.subscribe('u/alice/p/bob', 0)
    expect((await alice.next('u/alice/p/bob')).get(1)).toBe(true)

    // Typing, QoS 0, never stored.
    await alice.publish('c/t', m([1, 'bob'], [2, 1]), 0)
    expect(await bob.next('u/bob/t', (t) => t.get(2) === 1)).toEqual(m([1, 'alice'], [2, 1]))

    // Send: the StoredAck (✓) comes before the PUBACK.
    // A 1:1 message goes to s/<recipient>: the topic names bob, the payload only the id and body.
    const id = randomBytes(7)
    const packetId = await alice.publish('s/bob', m([1, id], [3, 'hello bob']))
    const ack = await alice.next('u/alice/a')
    expect(Buffer.from(ack.get(1) as Uint8Array)).toEqual(id)
    const ackAt = alice.indexOf((entry) => isPublish(entry) && entry.topic === 'u/alice/a')
    const pubackAt = alice.indexOf((entry) => !isPublish(entry) && entry.cmd === 'puback' && entry.messageId === packetId)
    expect(ackAt).toBeGreaterThanOrEqual(0)
    expect(ackAt).toBeLessThan(pubackAt)
    const cseq = ack.get(5) as number
    expect(cseq).toBe(1)

    // Delivery to bob (his client PUBACKs it), then ✓✓: a delivered receipt (status 1) to alice.
    const delivered = await bob.next('u/bob', (msg) => msg.get(4) === 'hello bob')
    expect(delivered.get(2)).toBe('alice')
    expect(delivered.get(9)).toBe(cseq)
    expect(typeof delivered.get(6)).toBe('number')
    expect(typeof delivered.get(7)).toBe('number')
    const receipt = await alice.next('u/alice/r', (r) => r.get(3) === 1)
    expect([receipt.get(2), receipt.get(4)]).toEqual(['bob', cseq])

    // Read: bob's watermark; alice gets status 2, bob's own devices status 3 (read by me).
    await bob.publish('c/d', m([1, 'alice'], [2, cseq]))
    expect((await alice.next('u/alice/r', (r) => r.get(3) === 2)).get(4)).toBe(cseq)
    expect((await bob.next('u/bob/r', (r) => r.get(3) === 3)).get(2)).toBe('alice')

    // Bob's link drops: alice sees him offline with a last-seen time; her next message waits for him.
    bob.drop()
    const offline = await alice.next('u/alice/p/bob', (p) => p.get(1) === false)
    expect(typeof offline.get(2)).toBe('number')
    await alice.publish('s/bob', m([1, randomBytes(7)], [3, 'while you were away']))

    // Resume: bob's cursor is the highest seq he handled; the replay sends what is after it, then Synced.
    // (Receipts take seqs too: key 1 of a Receipt, key 6 of an InboxMessage.)
    const cursor = Math.max(...bob.received('u/bob').map((msg) => msg.get(6) as number), ...bob.received('u/bob/r').map((r) => r.get(1) as number))
    const bobAgain = await online('bob', 'phone', cursor)
    const missed = await bobAgain.next('u/bob', (msg) => msg.get(4) === 'while you were away')
    expect(missed.get(6) as number).toBeGreaterThan(cursor)
    expect(bobAgain.received('u/bob').map((msg) => msg.get(4))).not.toContain('hello bob')

    // History: a request on c/q, its Response on u/bob/q with the same rid.
    await bobAgain.publish('c/q', m([1, 7], [2, 1], [3, m([1, 'alice'])]))
    const history = await bobAgain.next('u/bob/q', (r) => r.get(1) === 7)
    const items = (history.get(2) as Envelope).get(1) as Envelope[]
    expect(items.map((item) => item.get(3))).toEqual(['hello bob', 'while you were away'])
    expect(items[0]!.get(7)).toBe(2) // read

    // A group: createGroup answers GroupInfo; a send with `group` (key 5) reaches bob with key 10.
    await alice.publish('c/q', m([1, 8], [2, 10], [3, m([1, 'Hikers'], [2, ['bob']])]))

    const info = (await alice.next('u/alice/q', (r) => r.get(1) === 8)).get(2) as Envelope
    const group = info.get(1) as string
    expect(info.get(4)).toEqual(expect.arrayContaining(['alice', 'bob']))
    await alice.publish('c/t', m([1, group], [2, 1], [3, true]), 0)
    expect(await bobAgain.next('u/bob/t', (t) => t.get(3) === group)).toEqual(m([1, 'alice'], [2, 1], [3, group]))
    await alice.publish('c/s', m([1, 'hikers-1'], [3, 'hi hikers'], [5, group]))
    const groupCseq = (await alice.next('u/alice/a', (a) => a.get(1) === 'hikers-1')).get(5) as number
    const groupMessage = await bobAgain.next('u/bob', (msg) => msg.get(4) === 'hi hikers')
    expect([groupMessage.get(2), groupMessage.get(10), groupMessage.get(9)]).toEqual(['alice', group, groupCseq])
    // Delivered to and read by every member: receipts with group (key 6) true and peer = the group.
    expect((await alice.next('u/alice/r', (r) => r.get(6) === true && r.get(3) === 1)).get(2)).toBe(group)
    await bobAgain.publish('c/d', m([1, group], [2, groupCseq], [3, true]))
    expect((await alice.next('u/alice/r', (r) => r.get(6) === true && r.get(3) === 2)).get(4)).toBe(groupCseq)
  })

  it('gets stored-acks, errors, responses and Synced without a subscription; refused outside its subtree', async () => {
    await online('carol', 'phone')
    const sender = await connect('dave', 'sensor', true)
    await sender.publish('s/carol', m([1, 1], [3, 'from a device that subscribes to nothing']))
    expect((await sender.next('u/dave/a')).get(1)).toBe(1)
    // The older form, a SendRequest with `to` on c/s, is still taken.
    await sender.publish('c/s', m([1, 3], [2, 'carol'], [3, 'the older way']))
    expect((await sender.next('u/dave/a', (a) => a.get(1) === 3)).get(1)).toBe(3)

    // Permanent refusals are PUBACKed, with an ErrorNotice: not CBOR (1), no such recipient (4).
    await sender.publish('s/carol', Buffer.from('not cbor'))
    expect((await sender.next('u/dave/e', (e) => e.get(1) === 1)).get(4)).toBe('s/carol')
    await sender.publish('s/nobody', m([1, 2], [3, 'hi']))
    expect((await sender.next('u/dave/e', (e) => e.get(1) === 4)).get(2)).toBe(2)
    await sender.publish('c/q', m([1, 9], [2, 18]))
    expect((await sender.next('u/dave/q', (r) => r.get(1) === 9)).get(2)).toEqual([])
    // A resume replays its inbox (its own message is in it too) and ends with Synced.
    await sender.publish('c/r', m([1, 0]))
    expect((await sender.next('u/dave')).get(4)).toBe('from a device that subscribes to nothing')
    await sender.next('u/dave/y')

    // Anything else in the chat namespace is refused at subscribe time.
    expect(await sender.subscribe('u/carol/#', 1)).toEqual([0x80])
    expect(await sender.subscribe('s/#', 1)).toEqual([0x80])
    expect(sender.closed).toBe(false)
  })
})
