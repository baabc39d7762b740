import { SignJWT } from 'jose'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { DirectSend, ErrorNotice, SendRequest } from '../../protocol/envelopes.js'
import type { ErrorName } from '../../protocol/errors.js'
import { GroupInfo, OP } from '../../protocol/requests.js'
import { MAX_WATCHES } from '../../protocol/topics.js'
import { SECRET, startTestBroker, type TestBroker } from '../helpers/broker.js'
import { request, sendRaw } from '../helpers/chat.js'
import {
  Adversary, cbor, claimed, expectServing, hex, HOSTILE_IDS, HOSTILE_VALUES, indefiniteArray, indefiniteMap, nested,
  rawArray, rawMap, rawText, rawUint, tagged, type Raw
} from '../helpers/adversary.js'
import { Inbox } from '../helpers/messages.js'

/*
 * Adversarial probes of every input a device controls under the default topic policy (deny):
 * the publish topics (`s/<to>`, `c/s`, `c/d`, `c/t`, `c/r`, `c/q` with every op, `c/o`, and
 * those it may not use), every field of each envelope, the CONNECT's client id, username and
 * token, and SUBSCRIBE filters. Each hostile variant must earn the documented coded error (or the
 * documented close), and after each test a bystander pair still talks, the broker logged no error,
 * and every message stored before is still there. Deterministic: no randomness here (the random
 * mutations are in adversarial-mutations.test.ts).
 */

describe('adversarial input', () => {
  let broker: TestBroker
  let alice: MqttClient
  let bob: Inbox
  let mallory: Adversary
  let group: string
  let before: { direct: string[], group: string[] }
  let checks = 0

  const stored = async (): Promise<{ direct: string[], group: string[] }> => {
    const bodies = async (peer: string, isGroup: boolean): Promise<string[]> =>
      (await broker.storage.messages.history('bob', peer, 0, 100, isGroup)).items.map(({ message }) => `${message.cseq}:${String(message.body)}`)
    return { direct: await bodies('alice', false), group: await bodies(group, true) }
  }

  beforeAll(async () => {
    // Rates far above the probes': rate limiting has its own tests (bad-input.test.ts).
    broker = await startTestBroker({ maxPayload: 8192, rateLimit: 100_000, rateBurst: 100_000, rateBytes: '64MiB', rateBytesBurst: '64MiB' })
    await (await broker.device('carol', 'phone')).endAsync()
    alice = await broker.device('alice', 'phone')
    bob = new Inbox(await broker.device('bob', 'phone'))
    mallory = new Adversary(await broker.device('mallory', 'phone'), 'mallory')
    for (let i = 1; i <= 3; i++) await sendRaw(alice, 'bob', `before ${i}`)
    const created = await request(alice, 'alice', OP.createGroup, new Map<number, unknown>([[1, 'team'], [2, ['bob', 'mallory']]]))
    group = GroupInfo.fromCbor(created.result).id
    for (let i = 1; i <= 2; i++) {
      await alice.publishAsync('c/s', Buffer.from(SendRequest.encode({ clientMsgId: `g${i}`, group, body: `group ${i}` })), { qos: 1 })
    }
    before = await stored()
    expect(before.direct).toHaveLength(3)
    expect(before.group.length).toBeGreaterThanOrEqual(3)
  })
  afterAll(() => broker.close())

  // After every batch: a bystander's message still arrives, nothing was logged as an error, and
  // everything stored before the batch is still stored.
  afterEach(async () => {
    await expectServing(broker, alice, bob, 'bob', `check ${++checks}`)
    const now = await stored()
    expect(now.direct.slice(0, before.direct.length)).toEqual(before.direct)
    expect(now.group.slice(0, before.group.length)).toEqual(before.group)
  })

  const send = (fields: Array<[number, Raw]>): Raw => rawMap(fields)

  it('refuses payloads that are not one well-formed CBOR item with BAD_ENCODING, on every topic', async () => {
    const valid = DirectSend.encode({ clientMsgId: 'c1', body: 'hello' })
    const broken: Array<[string, Raw]> = [
      ['empty', new Uint8Array(0)],
      ['a break byte', hex('ff')],
      ['truncated by one byte', valid.subarray(0, valid.length - 1)],
      ['a trailing byte', Buffer.concat([valid, hex('00')])],
      ['two items', Buffer.concat([valid, valid])],
      ['a string claiming 4 GiB', claimed(3, 2n ** 32n)],
      ['bytes claiming 2^64-1', claimed(2, 2n ** 64n - 1n)],
      ['an indefinite-length text body', rawArray([cbor('c'), hex('7f 6161 6162 ff')])],
      ['an indefinite-length byte body', rawArray([cbor('c'), hex('5f 4161 ff')])],
      ['reserved additional information', hex('1c')],
      ['an unterminated indefinite array', hex('9f 01 02')],
      ['a lone break inside an array', hex('82 01 ff')],
      ['a two-byte simple value below 32', hex('f8 10')]
    ]
    for (const topic of ['s/bob', 'c/s', 'c/d', 'c/t', 'c/r', 'c/q']) {
      for (const [what, payload] of broken) await mallory.expectRefused({ topic, payload }, 'BAD_ENCODING', `${what} on ${topic}`)
    }
  })

  it('refuses structure no envelope has with BAD_ENVELOPE before decoding it', async () => {
    const deep: Array<[string, Raw]> = [
      ['arrays nested 5 deep', rawArray([cbor('c'), nested(4)])],
      ['nested tags', rawArray([cbor('c'), tagged(24, tagged(24, tagged(24, tagged(24, cbor('x')))))])],
      ['an array of 1025 elements', rawArray([cbor('c'), rawArray(Array.from({ length: 1025 }, () => cbor(0)))])],
      ['an array claiming 2^64-1 elements', rawArray([cbor('c'), claimed(4, 2n ** 64n - 1n)])],
      ['a map claiming 2^32 pairs', claimed(5, 2n ** 32n)],
      ['257 empty arrays', rawArray([cbor('c'), rawArray(Array.from({ length: 4 }, () => rawArray(Array.from({ length: 70 }, () => hex('80')))))])]
    ]
    for (const topic of ['s/bob', 'c/s', 'c/q']) {
      for (const [what, payload] of deep) await mallory.expectRefused({ topic, payload }, 'BAD_ENVELOPE', `${what} on ${topic}`)
    }
  })

  it('refuses every wrong type and shape in each field of a send, on s/<to> and c/s', async () => {
    // clientMsgId: bytes 1-16, text 1-64 or a safe unsigned integer; body: text or bytes; kind: 0-255.
    const badIds: Array<[string, Raw]> = [...HOSTILE_VALUES, ['empty text', cbor('')], ['65 characters', cbor('x'.repeat(65))],
      ['empty bytes', cbor(Buffer.alloc(0))], ['17 bytes', cbor(Buffer.alloc(17))], ['true', cbor(true)]]
    const badBodies: Array<[string, Raw]> = [...HOSTILE_VALUES, ['a number', cbor(7)], ['true', cbor(true)]]
    // (CBOR undefined in an optional field is that field left off, as null is in the array form.)
    const badKinds: Array<[string, Raw]> = [...HOSTILE_VALUES.filter(([what]) => what !== 'undefined'), ['256', cbor(256)], ['text', cbor('0')]]
    for (const [topic, to] of [['s/bob', []], ['c/s', [[2, cbor('bob')]]]] as Array<[string, Array<[number, Raw]>]>) {
      for (const [what, id] of badIds) await mallory.expectRefused({ topic, payload: send([[1, id], ...to, [3, cbor('x')]]) }, 'BAD_ENVELOPE', `clientMsgId ${what} on ${topic}`)
      for (const [what, body] of badBodies) await mallory.expectRefused({ topic, payload: send([[1, cbor('c')], ...to, [3, body]]) }, 'BAD_ENVELOPE', `body ${what} on ${topic}`)
      for (const [what, kind] of badKinds) await mallory.expectRefused({ topic, payload: send([[1, cbor('c')], ...to, [3, cbor('x')], [4, kind]]) }, 'BAD_ENVELOPE', `kind ${what} on ${topic}`)
      await mallory.expectRefused({ topic, payload: send([[1, cbor('c')], ...to]) }, 'BAD_ENVELOPE', `no body on ${topic}`)
      await mallory.expectRefused({ topic, payload: send([...to, [3, cbor('x')]]) }, 'BAD_ENVELOPE', `no clientMsgId on ${topic}`)
      await mallory.expectRefused({ topic, payload: cbor('a string') }, 'BAD_ENVELOPE', `a string on ${topic}`)
      await mallory.expectRefused({ topic, payload: cbor(null) }, 'BAD_ENVELOPE', `null on ${topic}`)
      await mallory.expectRefused({ topic, payload: rawArray([]) }, 'BAD_ENVELOPE', `an empty array on ${topic}`)
      for (const kind of [2, 240, 255]) await mallory.expectRefused({ topic, payload: send([[1, cbor(`k${kind}`)], ...to, [3, cbor('x')], [4, cbor(kind)]]) }, 'FORBIDDEN_KIND', `system kind ${kind} on ${topic}`)
      await mallory.expectRefused({ topic, payload: send([[1, cbor('big')], ...to, [3, cbor('x'.repeat(9000))]]) }, 'TOO_LARGE', `a body over --max-payload on ${topic}`)
    }
    // The recipient of a c/s send, and the group.
    for (const [what, id, expected] of HOSTILE_IDS) {
      await mallory.expectRefused({ topic: 'c/s', payload: send([[1, cbor('c')], [2, id], [3, cbor('x')]]) }, expected, `to ${what}`)
      await mallory.expectRefused({ topic: 'c/s', payload: send([[1, cbor('c')], [3, cbor('x')], [5, id]]) }, expected, `group ${what}`)
    }
    await mallory.expectRefused({ topic: 'c/s', payload: send([[1, cbor('c')], [2, cbor('bob')], [3, cbor('x')], [5, cbor(group)]]) }, 'BAD_ENVELOPE', 'both to and group')
    await mallory.expectRefused({ topic: 'c/s', payload: send([[1, cbor('c')], [2, cbor('nobody')], [3, cbor('x')]]) }, 'UNKNOWN_RECIPIENT', 'an unknown recipient')
    await mallory.expectRefused({ topic: 'c/s', payload: send([[1, cbor('c')], [3, cbor('x')], [5, cbor('gnone')]]) }, 'UNKNOWN_GROUP', 'an unknown group')
  })

  it('refuses duplicate map keys, whose meaning depends on the decoder, with BAD_ENCODING', async () => {
    await mallory.expectRefused({ topic: 's/bob', payload: send([[1, cbor('dup')], [3, cbor('first')], [3, cbor('second')]]) }, 'BAD_ENCODING', 'a body twice')
    await mallory.expectRefused({ topic: 'c/s', payload: send([[1, cbor('dup')], [2, cbor('bob')], [2, cbor('carol')], [3, cbor('x')]]) }, 'BAD_ENCODING', 'two recipients')
    await mallory.expectRefused({ topic: 'c/d', payload: send([[1, cbor('alice')], [2, cbor(1)], [2, cbor(1)]]) }, 'BAD_ENCODING', 'a cseq twice')
    await mallory.expectRefused({ topic: 'c/q', payload: send([[1, cbor(1)], [2, cbor(OP.listGroups)], [2, cbor(OP.leave)]]) }, 'BAD_ENCODING', 'two ops')
    // Inside a request's args too.
    await mallory.expectRequestRefused(OP.groupInfo, rawMap([[1, cbor(group)], [1, cbor('gother')]]), 'BAD_ENCODING', 'a group twice in args')
  })

  it('refuses text that is not UTF-8 (lone surrogates included) with BAD_ENCODING instead of storing it altered', async () => {
    await mallory.expectRefused({ topic: 's/bob', payload: send([[1, cbor('u1')], [3, rawText(hex('6869 eda080'))]]) }, 'BAD_ENCODING', 'a CESU-8 lone surrogate in a body')
    await mallory.expectRefused({ topic: 's/bob', payload: send([[1, cbor('u2')], [3, rawText(hex('68 c3 28'))]]) }, 'BAD_ENCODING', 'a broken sequence in a body')
    await mallory.expectRefused({ topic: 's/bob', payload: send([[1, rawText(hex('ff'))], [3, cbor('x')]]) }, 'BAD_ENCODING', 'invalid UTF-8 in a clientMsgId')
  })

  it('refuses every topic a device may not publish to with FORBIDDEN_TOPIC or UNKNOWN_COMMAND, and closes on wildcards', async () => {
    const payload = DirectSend.encode({ clientMsgId: 't', body: 'x' })
    const forbidden = ['s/', 's', 's/bob/x', 's/bob/', 's//bob', 's/a'.padEnd(68, 'a'), 's/bob\u202e', 's/bob ', 'u/bob', 'u/bob/e', 'u/mallory', 'u/mallory/a',
      'u/mallory/o/phone', 'u', 'u/', 'c', '$lb/sink', '$SYS/broker', 'x', 'x/y', 'S/bob', ' s/bob', '/s/bob', 'ｓ/bob']
    for (const topic of forbidden) await mallory.expectRefused({ topic, payload }, 'FORBIDDEN_TOPIC', `publish to '${topic}'`)
    for (const topic of ['c/', 'c/x', 'c/s/x', 'c/q/', 'c/S', 'c/ss', 'c/o/x']) await mallory.expectRefused({ topic, payload }, 'UNKNOWN_COMMAND', `publish to '${topic}'`)
    await mallory.expectRefused({ topic: 's/..', payload }, 'UNKNOWN_RECIPIENT', 'a send to a user id of dots')
    // A will-only topic published live: nothing to do for a device.
    await mallory.expectRefused({ topic: 'c/o', payload }, 'UNKNOWN_COMMAND', 'a live publish to c/o')
    // Wildcards [MQTT-3.3.2-2] and NUL [MQTT-1.5.3-2] in a PUBLISH topic break MQTT itself: the connection is closed.
    for (const topic of ['s/+', 's/#', 'c/+', 'u/bob/#', 's/b\u0000ob']) {
      const device = await broker.device('mallory', `wild${topic.length}`, { subscribe: false })
      const closed = new Promise<void>((resolve) => device.once('close', () => resolve()))
      device.publish(topic, Buffer.from(payload), { qos: 1 })
      await closed
    }
  })

  it('treats QoS 0, QoS 2 and the retain flag on chat topics as documented', async () => {
    const inbox = mallory.inbox
    // QoS 2: stored once, PUBCOMP; QoS 0: stored, with its StoredAck (there is no PUBACK to wait for).
    for (const [qos, id] of [[2, 'q2'], [0, 'q0']] as Array<[0 | 2, string]>) {
      const acks = inbox.on('/a').length
      await mallory.client.publishAsync('s/bob', Buffer.from(DirectSend.encode({ clientMsgId: id, body: `qos ${qos}` })), { qos })
      await inbox.until(() => inbox.on('/a').length > acks, 5000, () => `the StoredAck at QoS ${qos}`)
    }
    // Retained: stored like any send, never kept as a retained message for a later subscriber.
    const acks = inbox.on('/a').length
    await mallory.client.publishAsync('s/bob', Buffer.from(DirectSend.encode({ clientMsgId: 'ret', body: 'retained?' })), { qos: 1, retain: true })
    await inbox.until(() => inbox.on('/a').length > acks)
    await mallory.client.publishAsync('c/t', Buffer.from(cbor(['bob', 1])), { qos: 0, retain: true })
    const retained: string[] = []
    const late = await broker.device('bob', 'late', { clean: true, subscribe: false })
    late.on('message', (topic, _payload, packet) => { if (packet.retain) retained.push(topic) })
    await late.subscribeAsync('u/bob/#', { qos: 1 })
    // Nothing retained comes with a SUBACK's answer; a round trip through the broker bounds the wait.
    await request(late, 'bob', OP.listGroups)
    expect(retained).toEqual([])
    await late.endAsync()
  })

  it('refuses hostile read watermarks (c/d) and typing signals (c/t)', async () => {
    for (const [topic, fields] of [['c/d', ['peer', 'cseq']], ['c/t', ['to', 'state']]] as const) {
      const valid: Raw[] = topic === 'c/d' ? [cbor('alice'), cbor(1)] : [cbor('alice'), cbor(1)]
      for (const [what, value, expected = 'BAD_ENVELOPE'] of [...HOSTILE_VALUES.filter(([w]) => w !== 'undefined'), ...HOSTILE_IDS]) {
        await mallory.expectRefused({ topic, payload: rawArray([value, valid[1]!]) }, expected, `${fields[0]} ${what} on ${topic}`)
      }
      for (const [what, value] of [...HOSTILE_VALUES, ['text', cbor('1')]] as Array<[string, Raw]>) {
        await mallory.expectRefused({ topic, payload: rawArray([valid[0]!, value]) }, 'BAD_ENVELOPE', `${fields[1]} ${what} on ${topic}`)
      }
      await mallory.expectRefused({ topic, payload: rawArray([valid[0]!, valid[1]!, cbor(1)]) }, 'BAD_ENVELOPE', `group 1 (not a bool) on ${topic}`)
      await mallory.expectRefused({ topic, payload: rawMap([[1, valid[0]!]]) }, 'BAD_ENVELOPE', `a missing ${fields[1]} on ${topic}`)
    }
    await mallory.expectRefused({ topic: 'c/d', payload: cbor(['alice', 0]) }, 'BAD_ENVELOPE', 'a read watermark at cseq 0')
    await mallory.expectRefused({ topic: 'c/t', payload: cbor(['alice', 2]) }, 'BAD_ENVELOPE', 'typing state 2')
    await mallory.expectRefused({ topic: 'c/d', payload: cbor(['nobody', 1]) }, 'UNKNOWN_RECIPIENT', 'a read of an unknown user')
    await mallory.expectRefused({ topic: 'c/d', payload: cbor(['gnone', 1, true]) }, 'UNKNOWN_GROUP', 'a read of an unknown group')
    const others = GroupInfo.fromCbor((await request(alice, 'alice', OP.createGroup, new Map<number, unknown>([[1, 'private'], [2, ['bob']]]))).result).id
    await mallory.expectRefused({ topic: 'c/d', payload: cbor([others, 1, true]) }, 'NOT_MEMBER', 'a read of a group of others')
    await mallory.expectRefused({ topic: 'c/t', payload: cbor([others, 1, true]) }, 'NOT_MEMBER', 'typing in a group of others')
    await mallory.expectRefused({ topic: 'c/t', payload: cbor(['nobody', 1]) }, 'UNKNOWN_RECIPIENT', 'typing to an unknown user')
  })

  it('reads past the end of a conversation without marking later messages read', async () => {
    await sendRaw(alice, 'mallory', 'to be read')
    await mallory.client.publishAsync('c/d', Buffer.from(cbor(['alice', Number.MAX_SAFE_INTEGER])), { qos: 1 })
    await sendRaw(alice, 'mallory', 'sent after the read')
    const page = await broker.storage.messages.history('alice', 'mallory', 0, 100)
    const statuses = new Map(page.items.map(({ message, status }) => [message.body, status]))
    expect(statuses.get('to be read')).toBe(2)
    expect(statuses.get('sent after the read')).not.toBe(2)
  })

  it('refuses hostile resume requests (c/r), and a cursor from the future neither replays nor loses anything', async () => {
    for (const [what, value] of HOSTILE_VALUES.filter(([w]) => w !== 'undefined')) {
      await mallory.expectRefused({ topic: 'c/r', payload: rawMap([[1, value]]) }, 'BAD_ENVELOPE', `cursor ${what}`)
    }
    await mallory.expectRefused({ topic: 'c/r', payload: rawMap([]) }, 'BAD_ENVELOPE', 'no cursor')
    await mallory.expectRefused({ topic: 'c/r', payload: cbor([5]) }, 'BAD_ENVELOPE', 'an array')
    // A cursor past the inbox head: nothing to replay, synced at the head — and the device still
    // gets what arrives later when it comes back (the future cursor is not taken as its own).
    // Not subscribed: nothing reaches it live, so only its replays say what it has.
    const device = await broker.device('mallory', 'future', { subscribe: false })
    const inbox = new Inbox(device)
    await device.publishAsync('c/r', Buffer.from(rawMap([[1, cbor(Number.MAX_SAFE_INTEGER)]])), { qos: 1 })
    await inbox.wait('/y')
    expect(inbox.on('inbox')).toEqual([])
    expect(await broker.storage.messages.deviceCursor('mallory', 'future')).toBeLessThanOrEqual(await broker.storage.messages.inboxHead('mallory'))
    await device.endAsync()
    await sendRaw(alice, 'mallory', 'while away')
    // The replay follows the CONNACK at once: listen before connecting.
    const again = mqtt.connect(broker.url, { clientId: 'mallory/future', username: 'mallory', password: await broker.token('mallory'), clean: false, reconnectPeriod: 0 })
    const back = new Inbox(again)
    await back.until(() => back.on('inbox').some((r) => r.payload.includes(Buffer.from('while away'))), 5000, () => 'the message sent while away')
    await again.endAsync()
  })

  it('answers hostile requests (c/q) with a coded Response: the envelope, unknown ops, and every op\'s args', async () => {
    // The Request envelope itself: no rid to answer under, so the refusal is an ErrorNotice.
    for (const [what, rid] of HOSTILE_VALUES.filter(([w]) => w !== 'undefined')) {
      await mallory.expectRefused({ topic: 'c/q', payload: rawMap([[1, rid], [2, cbor(OP.listGroups)]]) }, 'BAD_ENVELOPE', `rid ${what}`)
    }
    await mallory.expectRefused({ topic: 'c/q', payload: rawMap([[2, cbor(OP.listGroups)]]) }, 'BAD_ENVELOPE', 'no rid')
    await mallory.expectRefused({ topic: 'c/q', payload: rawMap([[1, cbor(1)]]) }, 'BAD_ENVELOPE', 'no op')
    for (const [what, op] of HOSTILE_VALUES.filter(([w]) => w !== 'undefined')) {
      await mallory.expectRefused({ topic: 'c/q', payload: rawMap([[1, cbor(9)], [2, op]]) }, 'BAD_ENVELOPE', `op ${what}`)
    }
    for (const op of [0, 5, 9, 19, 23, 29, 34, 39, 42, 49, 99, 255, 2 ** 32]) await mallory.expectRequestRefused(op, undefined, 'UNKNOWN_COMMAND', `op ${op}`)
    // Every op with args that are not a map, or a map of the wrong things.
    const ops = Object.entries(OP).filter(([name]) => !['listGroups', 'unregisterPush', 'listPush'].includes(name))
    for (const [name, op] of ops) {
      const expected: ErrorName = name.startsWith('media') ? 'MEDIA_NOT_CONFIGURED' : 'BAD_ENVELOPE'
      for (const [what, args] of [['no args', undefined], ['args 7', cbor(7)], ['args text', cbor('x')], ['args an array', cbor([1, 2])], ['an empty map', rawMap([])],
        ['args a cycle', tagged(28, rawArray([tagged(29, cbor(0))]))], ...HOSTILE_VALUES.map(([w, v]) => [`every field ${w}`, rawMap([[1, v], [2, v], [3, v], [4, v], [5, v]])])] as Array<[string, Raw | undefined]>) {
        // Without object storage a media op refuses before it reads its args.
        if (expected === 'MEDIA_NOT_CONFIGURED' && what.startsWith('every field')) continue
        // A cycle nests past the depth limit inside args: refused before any op looks at it.
        await mallory.expectRequestRefused(op, args, what === 'every field shared-reference cycle' ? 'BAD_ENVELOPE' : expected, `${name} with ${what}`)
      }
      for (const [what, id, code] of HOSTILE_IDS) {
        if (expected !== 'BAD_ENVELOPE') continue
        await mallory.expectRequestRefused(op, rawMap([[1, id], [2, id], [3, id], [4, id], [5, id]]), code, `${name} with ids ${what}`)
      }
    }
  })

  it('refuses requests on what is not the requester\'s, and requests before or after the state they need', async () => {
    const args = (...fields: unknown[]): Raw => cbor(new Map(fields.map((value, i) => [i + 1, value])))
    const others = GroupInfo.fromCbor((await request(alice, 'alice', OP.createGroup, new Map<number, unknown>([[1, 'theirs'], [2, ['bob']]]))).result).id
    const cases: Array<[string, number, Raw, ErrorName]> = [
      ['history of a group of others', OP.history, cbor(new Map<number, unknown>([[1, others], [4, true]])), 'NOT_MEMBER'],
      ['history of an unknown group', OP.history, cbor(new Map<number, unknown>([[1, 'gnone'], [4, true]])), 'UNKNOWN_GROUP'],
      ['history with limit 0', OP.history, args('alice', 0, 0), 'BAD_ENVELOPE'],
      ['history with limit 101', OP.history, args('alice', 0, 101), 'BAD_ENVELOPE'],
      ['privacy 3', OP.setPrivacy, args(3), 'BAD_ENVELOPE'],
      ['a contact who does not exist', OP.addContact, args('nobody'), 'UNKNOWN_RECIPIENT'],
      ['a group with an unknown member', OP.createGroup, args('g', ['bob', 'nobody']), 'UNKNOWN_RECIPIENT'],
      ['a group of 1025 members', OP.createGroup, args('g', Array.from({ length: 1025 }, (_, i) => `u${i}`)), 'BAD_ENVELOPE'],
      ['a group name of spaces', OP.createGroup, args('   '), 'BAD_ENVELOPE'],
      ['a group name of 101 characters', OP.createGroup, args('n'.repeat(101)), 'BAD_ENVELOPE'],
      
      
      
      ['adding to a group of others', OP.addMembers, args(others, ['carol']), 'NOT_MEMBER'],
      ['adding as a plain member', OP.addMembers, args(group, ['carol']), 'NOT_ADMIN'],
      ['adding to an unknown group', OP.addMembers, args('gnone', ['carol']), 'UNKNOWN_GROUP'],
      ['removing as a plain member', OP.removeMember, args(group, 'alice'), 'NOT_ADMIN'],
      ['promoting oneself as a plain member', OP.promote, args(group, 'mallory'), 'NOT_ADMIN'],
      ['demoting the admin as a plain member', OP.demote, args(group, 'alice'), 'NOT_ADMIN'],
      ['renaming a group of others', OP.rename, args(others, 'mine'), 'NOT_MEMBER'],
      ['the info of a group of others', OP.groupInfo, args(others), 'NOT_MEMBER'],
      ['leaving a group of others', OP.leave, args(others), 'NOT_MEMBER'],
      ['a push token with a space', OP.registerPush, args('a b', 0), 'PUSH_TOKEN_INVALID'],
      ['a push token of 4097 characters', OP.registerPush, args('t'.repeat(4097), 0), 'PUSH_TOKEN_INVALID'],
      ['an empty push token', OP.registerPush, args('', 0), 'PUSH_TOKEN_INVALID'],
      ['push platform 3', OP.registerPush, args('token', 3), 'BAD_ENVELOPE'],
      ['keys of the wrong sizes', OP.publishKeys, args(Buffer.alloc(31), 1, Buffer.alloc(32), Buffer.alloc(64)), 'BAD_ENVELOPE'],
      ['201 one-time prekeys', OP.publishKeys, args(Buffer.alloc(32), 1, Buffer.alloc(32), Buffer.alloc(64), Array.from({ length: 201 }, (_, i) => [i + 1, Buffer.alloc(32)])), 'BAD_ENVELOPE'],
      ['a prekey id twice', OP.publishKeys, args(Buffer.alloc(32), 1, Buffer.alloc(32), Buffer.alloc(64), [[1, Buffer.alloc(32)], [1, Buffer.alloc(32, 1)]]), 'BAD_KEYS'],
      ['a prekey id 0', OP.publishKeys, args(Buffer.alloc(32), 1, Buffer.alloc(32), Buffer.alloc(64), [[0, Buffer.alloc(32)]]), 'BAD_ENVELOPE'],
      ['bundles of an unknown user', OP.fetchBundles, args('nobody'), 'UNKNOWN_RECIPIENT'],
      ['bundles of a user without keys', OP.fetchBundles, args('carol'), 'NO_KEYS'],
      ['bundles except 65 devices', OP.fetchBundles, args('carol', Array.from({ length: 65 }, (_, i) => `d${i}`)), 'BAD_ENVELOPE']
    ]
    for (const [what, op, raw, expected] of cases) await mallory.expectRequestRefused(op, raw, expected, what)
    // Leave twice: the second time there is nothing to leave.
    const mine = GroupInfo.fromCbor((await request(mallory.client, 'mallory', OP.createGroup, new Map<number, unknown>([[1, 'leave twice'], [2, ['carol']]]))).result).id
    expect((await mallory.request(OP.leave, args(mine))).code).toBeUndefined()
    await mallory.expectRequestRefused(OP.leave, args(mine), 'NOT_MEMBER', 'leaving twice')
  })

  it('keeps a group administrable: an admin who removes itself hands admin on, as leaving does', async () => {
    const args = (...fields: unknown[]): Raw => cbor(new Map(fields.map((value, i) => [i + 1, value])))
    const id = GroupInfo.fromCbor((await request(mallory.client, 'mallory', OP.createGroup, new Map<number, unknown>([[1, 'self-removal'], [2, ['carol']]]))).result).id
    expect((await mallory.request(OP.removeMember, args(id, 'mallory'))).code).toBeUndefined()
    const after = await broker.storage.directory.group(id)
    expect(after?.members).toEqual(['carol'])
    expect(after?.admins).toEqual(['carol'])
  })

  it('refuses group names with control characters or invalid text, and keeps right-to-left and emoji names as given', async () => {
    const args = (...fields: unknown[]): Raw => cbor(new Map(fields.map((value, i) => [i + 1, value])))
    for (const [what, name] of [['NUL', cbor('a\u0000b')], ['a bell', cbor('a\u0007b')], ['a newline', cbor('line\nbreak')], ['DEL', cbor('a\u007fb')], ['a C1 control', cbor('a\u0085b')],
      ['a lone surrogate (CESU-8)', rawText(hex('61 eda080'))], ['invalid UTF-8', rawText(hex('61 c328'))]] as Array<[string, Raw]>) {
      await mallory.expectRequestRefused(OP.createGroup, rawMap([[1, name]]), what.includes('UTF-8') || what.includes('surrogate') ? 'BAD_ENCODING' : 'BAD_ENVELOPE', `a group name with ${what}`)
      await mallory.expectRequestRefused(OP.rename, rawMap([[1, cbor(group)], [2, name]]), what.includes('UTF-8') || what.includes('surrogate') ? 'BAD_ENCODING' : 'BAD_ENVELOPE', `a rename to ${what}`)
    }
    for (const name of ['\u202eevil\u202c', 'עברית', '👨‍👩‍👧 family', 'n'.repeat(100)]) {
      const response = await mallory.request(OP.createGroup, args(name))
      expect(response.code, name).toBeUndefined()
      expect(GroupInfo.fromCbor(response.result).name).toBe(name)
    }
  })

  it('refuses hostile CONNECTs with CONNACK 4 or 5, and serves the same device right after', async () => {
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

  it('stores the edge cases a send may have, as sent', async () => {
    const inbox = mallory.inbox
    const edge: Array<[string, Raw]> = [
      ['an indefinite-length array', indefiniteArray([cbor('e1'), cbor('indefinite')])],
      ['an indefinite-length map', indefiniteMap([[1, cbor('e2')], [3, cbor('indefinite map')]])],
      ['a map under tag 259', tagged(259, send([[1, cbor('e3')], [3, cbor('tagged')]]))],
      ['bytes under tag 64', send([[1, cbor('e4')], [3, tagged(64, cbor(Buffer.from('raw')))]])],
      ['an unknown key', send([[1, cbor('e5')], [3, cbor('x')], [99, cbor('ignored')]])],
      ['extra positions', rawArray([cbor('e6'), cbor('x'), cbor(0), cbor('extra'), cbor(7)])],
      ['the largest clientMsgId', send([[1, rawUint(2n ** 53n - 1n)], [3, cbor('x')]])],
      ['NUL, RTL and emoji in a body', send([[1, cbor('e8')], [3, cbor('a\u0000b\u202ec \u{1F600}')]])],
      ['an empty body', send([[1, cbor('e9')], [3, cbor('')]])]
    ]
    for (const [what, payload] of edge) {
      const acks = inbox.on('/a').length
      const errors = inbox.on('/e').length
      await mallory.client.publishAsync('s/bob', Buffer.from(payload), { qos: 1 })
      await inbox.until(() => inbox.on('/a').length > acks || inbox.on('/e').length > errors, 5000, () => `the StoredAck for ${what}`)
      expect(inbox.on('/e').slice(errors).map((r) => ErrorNotice.decode(r.payload).detail), what).toEqual([])
      expect(inbox.on('/a').length, `${what} stored`).toBe(acks + 1)
    }
    const history = await broker.storage.messages.history('bob', 'mallory', 0, 100)
    expect(history.items.map(({ message }) => message.body)).toContain('a\u0000b\u202ec \u{1F600}')
  })
})

