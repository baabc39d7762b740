import mqtt from 'mqtt'
import { describe, expect, it } from 'vitest'
import { DirectSend, ErrorNotice } from '../../protocol/envelopes.js'
import { GroupInfo, OP } from '../../protocol/requests.js'
import { request, sendRaw } from '../helpers/chat.js'
import {
  cbor, claimed, hex, HOSTILE_IDS, HOSTILE_VALUES, indefiniteArray, indefiniteMap, nested, rawArray, rawMap, rawText, rawUint, tagged, type Raw
} from '../helpers/adversary.js'
import { onEveryStore, useArena } from '../helpers/arena.js'
import { Inbox } from '../helpers/messages.js'

/*
 * Adversarial probes of every input a device controls under the default topic policy (deny), by
 * area; this file: payloads and topics — invalid CBOR, too much structure, every field of the send
 * envelopes with wrong types and shapes, duplicate keys, invalid UTF-8, the topics a device may
 * not use, QoS and retain, read watermarks, typing and resume requests. Requests (c/q) are in
 * adversarial-requests.test.ts, connections (CONNECT, SUBSCRIBE, wills, bursts, takeovers) in
 * adversarial-sessions.test.ts, media and encrypted bodies in adversarial-bodies.test.ts, random
 * mutations in adversarial-mutations.test.ts. Each hostile variant must earn the documented coded
 * error (or the documented close), and after each test a bystander pair still talks, the broker
 * logged no error, and every message stored before is still there (test/helpers/arena.ts).
 */

onEveryStore('adversarial input: payloads and topics', (store, flags) => {
  describe(`adversarial input: payloads and topics on ${store}`, () => {
    const arena = useArena(flags)

    const send = (fields: Array<[number, Raw]>): Raw => rawMap(fields)

    it('refuses payloads that are not one well-formed CBOR item with BAD_ENCODING, on every topic', async () => {
      const { mallory } = arena
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
      const { mallory } = arena
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
      const { mallory, group } = arena
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
      const { mallory, group } = arena
      await mallory.expectRefused({ topic: 's/bob', payload: send([[1, cbor('dup')], [3, cbor('first')], [3, cbor('second')]]) }, 'BAD_ENCODING', 'a body twice')
      await mallory.expectRefused({ topic: 'c/s', payload: send([[1, cbor('dup')], [2, cbor('bob')], [2, cbor('carol')], [3, cbor('x')]]) }, 'BAD_ENCODING', 'two recipients')
      await mallory.expectRefused({ topic: 'c/d', payload: send([[1, cbor('alice')], [2, cbor(1)], [2, cbor(1)]]) }, 'BAD_ENCODING', 'a cseq twice')
      await mallory.expectRefused({ topic: 'c/q', payload: send([[1, cbor(1)], [2, cbor(OP.listGroups)], [2, cbor(OP.leave)]]) }, 'BAD_ENCODING', 'two ops')
      // Inside a request's args too.
      await mallory.expectRequestRefused(OP.groupInfo, rawMap([[1, cbor(group)], [1, cbor('gother')]]), 'BAD_ENCODING', 'a group twice in args')
    })

    it('refuses text that is not UTF-8 (lone surrogates included) with BAD_ENCODING instead of storing it altered', async () => {
      const { mallory } = arena
      await mallory.expectRefused({ topic: 's/bob', payload: send([[1, cbor('u1')], [3, rawText(hex('6869 eda080'))]]) }, 'BAD_ENCODING', 'a CESU-8 lone surrogate in a body')
      await mallory.expectRefused({ topic: 's/bob', payload: send([[1, cbor('u2')], [3, rawText(hex('68 c3 28'))]]) }, 'BAD_ENCODING', 'a broken sequence in a body')
      await mallory.expectRefused({ topic: 's/bob', payload: send([[1, rawText(hex('ff'))], [3, cbor('x')]]) }, 'BAD_ENCODING', 'invalid UTF-8 in a clientMsgId')
    })

    it('refuses every topic a device may not publish to with FORBIDDEN_TOPIC or UNKNOWN_COMMAND, and closes on wildcards', async () => {
      const { broker, mallory } = arena
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
      const { broker, mallory } = arena
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
      const { alice, mallory } = arena
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
      const { broker, alice, mallory } = arena
      await sendRaw(alice, 'mallory', 'to be read')
      await mallory.client.publishAsync('c/d', Buffer.from(cbor(['alice', Number.MAX_SAFE_INTEGER])), { qos: 1 })
      await sendRaw(alice, 'mallory', 'sent after the read')
      const page = await broker.storage.messages.history('alice', 'mallory', 0, 100)
      const statuses = new Map(page.items.map(({ message, status }) => [message.body, status]))
      expect(statuses.get('to be read')).toBe(2)
      expect(statuses.get('sent after the read')).not.toBe(2)
    })

    it('refuses hostile resume requests (c/r), and a cursor from the future neither replays nor loses anything', async () => {
      const { broker, alice, mallory } = arena
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

    it('stores the edge cases a send may have, as sent', async () => {
      const { broker, mallory } = arena
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
})
