import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeCbor } from '../../protocol/cbor.js'
import { PublishKeysArgs } from '../../protocol/e2e.js'
import { DirectSend, ErrorNotice, ReadWatermark, ResumeRequest, SendRequest, TypingSignal } from '../../protocol/envelopes.js'
import { ERROR_CODES, errorName } from '../../protocol/errors.js'
import { CreateGroupArgs, GroupInfo, OP, Request, Response } from '../../protocol/requests.js'
import { startTestBroker, type TestBroker } from '../helpers/broker.js'
import { request, sendRaw } from '../helpers/chat.js'
import { cbor, errorLines, expectServing, HOSTILE_IDS, HOSTILE_VALUES, rawArray, rawMap, seeded, type Raw } from '../helpers/adversary.js'
import { onEveryStore } from '../helpers/arena.js'
import { Inbox } from '../helpers/messages.js'

/*
 * Random mutations of valid envelopes — fields replaced by hostile or other users' values, removed,
 * added and swapped (in a request's args too); bit flips, truncations, inserted and deleted bytes,
 * bytes of CBOR's special values, swapped and repeated slices, two envelopes spliced — each published
 * by one device on its envelope's topic. Whatever a mutation makes, the broker must answer as for
 * any payload: acknowledge it, keep the connection, and either take it or refuse it with a
 * documented code (never STORE_FAILED, which would mean the input broke something), log no error,
 * keep serving a bystander pair and keep every message stored before.
 *
 * Seeded and deterministic: LOWBAND_FUZZ_SEED picks another seed (default 12) and
 * LOWBAND_FUZZ_ROUNDS another number of mutations (default 300, a few seconds), e.g.
 *   LOWBAND_FUZZ_ROUNDS=20000 LOWBAND_FUZZ_SEED=7 npx vitest run test/broker/adversarial-mutations.test.ts
 */
const SEED = Number(process.env.LOWBAND_FUZZ_SEED ?? 12)
const ROUNDS = Number(process.env.LOWBAND_FUZZ_ROUNDS ?? 300)
/** A bystander message after this many mutations. */
const BATCH = 50

/** Bytes that mean the most to a CBOR decoder: heads of 8-byte arguments, indefinite lengths, break, tags, undefined. */
const SPECIAL = [0x00, 0x17, 0x18, 0x1b, 0x3b, 0x5b, 0x5f, 0x7b, 0x7f, 0x9b, 0x9f, 0xbb, 0xbf, 0xc0, 0xc2, 0xd8, 0xd9, 0xdb, 0xf7, 0xf9, 0xfb, 0xff]

type Mutation = (bytes: Uint8Array, other: Uint8Array, random: () => number) => Uint8Array

const at = (random: () => number, length: number): number => Math.floor(random() * Math.max(1, length))
const pick = <T>(random: () => number, items: readonly T[]): T => items[at(random, items.length)]!

/** Values a field may be given: wrong types and shapes, ids of others, edge numbers, unknown ops and kinds. */
const VALUES: Raw[] = [...HOSTILE_VALUES, ...HOSTILE_IDS].map(([, raw]) => raw).concat(
  [0, 1, 2, 3, 5, 6, 7, 23, 24, 239, 240, 255, 256, 2 ** 32, Number.MAX_SAFE_INTEGER, ...Object.values(OP), 99].map((n) => cbor(n)),
  ['alice', 'bob', 'carol', 'mallory', 'nobody', 'gnone', '', 'x'.repeat(300), 'image/jpeg'].map((t) => cbor(t)),
  [true, null, new Uint8Array(0), new Uint8Array(32), new Uint8Array(64), [], ['bob'], [[1, new Uint8Array(32)]], new Map()].map((v) => cbor(v)))

/** The fields of a map- or array-form envelope as raw items, and how to put them back together. */
function fieldsOf (bytes: Uint8Array): { fields: Array<[number, Raw]>, build: (fields: Array<[number, Raw]>) => Raw } {
  const item = decodeCbor(bytes)
  if (item instanceof Map) return { fields: [...item].map(([k, v]) => [k as number, cbor(v)]), build: rawMap }
  const elements = item as unknown[]
  return {
    fields: elements.map((v, i) => [i, cbor(v)]),
    build: (fields) => rawArray(fields.sort(([a], [b]) => a - b).map(([, v]) => v))
  }
}

/** One change to one field: replaced by any value, removed, added, or swapped with another. */
function mutateFields (bytes: Uint8Array, random: () => number, nested: boolean): Raw {
  let parts: ReturnType<typeof fieldsOf>
  try {
    parts = fieldsOf(bytes)
  } catch {
    return bytes // a value changed before (a cycle, a tag) that does not decode and encode again as it was
  }
  const { fields, build } = parts
  // A request's args (key 3) are an envelope of their own: half the time the change goes there.
  const args = fields.findIndex(([k]) => k === 3)
  if (nested && args >= 0 && random() < 0.5) {
    const inner = fields[args]![1]
    if (decodeCbor(inner) instanceof Map) fields[args] = [3, mutateFields(inner, random, false)]
    return build(fields)
  }
  const i = at(random, fields.length)
  switch (at(random, 4)) {
    case 0: if (fields.length > 0) fields[i] = [fields[i]![0], pick(random, VALUES)]; break
    case 1: fields.splice(i, 1); break
    case 2: fields.push([fields.length + at(random, 3), pick(random, VALUES)]); break
    default: {
      const j = at(random, fields.length)
      if (fields.length > 1 && i !== j) [fields[i], fields[j]] = [[fields[i]![0], fields[j]![1]], [fields[j]![0], fields[i]![1]]]
    }
  }
  return build(fields)
}

const mutations: Array<[string, Mutation]> = [
  ['field changed', (b, _o, r) => mutateFields(b, r, true)],
  ['two fields changed', (b, _o, r) => mutateFields(mutateFields(b, r, true), r, true)],
  ['bit flip', (b, _o, r) => { const c = Uint8Array.from(b); for (let n = 1 + at(r, 3); n > 0; n--) { const i = at(r, c.length); c[i] = c[i]! ^ (1 << at(r, 8)) } return c }],
  ['truncation', (b, _o, r) => b.subarray(0, at(r, b.length))],
  ['trailing bytes', (b, _o, r) => Buffer.concat([b, Uint8Array.from({ length: 1 + at(r, 4) }, () => at(r, 256))])],
  ['deleted byte', (b, _o, r) => { const i = at(r, b.length); return Buffer.concat([b.subarray(0, i), b.subarray(i + 1)]) }],
  ['inserted byte', (b, _o, r) => { const i = at(r, b.length + 1); return Buffer.concat([b.subarray(0, i), Uint8Array.of(at(r, 256)), b.subarray(i)]) }],
  ['special byte', (b, _o, r) => { const c = Uint8Array.from(b); c[at(r, c.length)] = SPECIAL[at(r, SPECIAL.length)]!; return c }],
  ['swapped slices', (b, _o, r) => {
    const i = at(r, b.length)
    const j = i + at(r, b.length - i)
    const k = j + at(r, b.length - j)
    return Buffer.concat([b.subarray(0, i), b.subarray(j, k), b.subarray(i, j), b.subarray(k)])
  }],
  ['repeated slice', (b, _o, r) => { const i = at(r, b.length); const j = i + at(r, b.length - i); return Buffer.concat([b.subarray(0, j), b.subarray(i, j), b.subarray(j)]) }],
  ['spliced envelopes', (b, o, r) => Buffer.concat([b.subarray(0, at(r, b.length)), o.subarray(at(r, o.length))])]
]

onEveryStore('random mutations of valid envelopes', (store, flags) => {
  describe(`random mutations of valid envelopes on ${store} (seed ${SEED}, ${ROUNDS} rounds)`, () => {
    let broker: TestBroker
    let alice: MqttClient
    let bob: Inbox
    let mallory: MqttClient
    let malloryInbox: Inbox
    let before: string[]

    const stored = async (): Promise<string[]> =>
      (await broker.storage.messages.history('bob', 'alice', 0, 100)).items.map(({ message }) => `${message.cseq}:${String(message.body)}`)

    beforeAll(async () => {
      broker = await startTestBroker({ maxPayload: 8192, rateLimit: 100_000, rateBurst: 100_000, rateBytes: '64MiB', rateBytesBurst: '64MiB', ...await flags() })
      await (await broker.device('carol', 'phone')).endAsync()
      alice = await broker.device('alice', 'phone')
      bob = new Inbox(await broker.device('bob', 'phone'))
      mallory = await broker.device('mallory', 'phone')
      malloryInbox = new Inbox(mallory)
      for (let i = 1; i <= 3; i++) await sendRaw(alice, 'bob', `before ${i}`)
      before = await stored()
    })
    afterAll(() => broker.close())

    it('acknowledges every mutation, answers it with a documented code or takes it, and breaks nothing', async () => {
      const group = GroupInfo.fromCbor((await request(mallory, 'mallory', OP.createGroup, new Map<number, unknown>([[1, 'fuzz'], [2, ['bob', 'carol']]]))).result).id
      const req = (rid: number, op: number, args?: Map<number, unknown>): Uint8Array => Request.encode({ rid, op, ...(args === undefined ? {} : { args }) })
      const key = new Uint8Array(32).fill(7)
      const valid: Array<[string, Uint8Array]> = [
        ['s/bob', DirectSend.encode({ clientMsgId: new Uint8Array(7).fill(1), body: 'a twenty-byte text..' })],
        ['s/bob', DirectSend.encode({ clientMsgId: 'c2', body: new Uint8Array(40).fill(9), kind: 0 })],
        ['c/s', SendRequest.encode({ clientMsgId: 3, group, body: 'to the group' })],
        ['c/s', SendRequest.encode({ clientMsgId: 'c4', to: 'carol', body: 'the old way' })],
        ['c/d', ReadWatermark.encode({ peer: 'alice', cseq: 2 })],
        ['c/d', ReadWatermark.encode({ peer: group, cseq: 1, group: true })],
        ['c/t', TypingSignal.encode({ to: 'bob', state: 1 })],
        ['c/t', TypingSignal.encode({ to: group, state: 0, group: true })],
        ['c/r', ResumeRequest.encode({ cursor: 3 })],
        ['c/q', req(1, OP.history, new Map<number, unknown>([[1, 'alice'], [3, 10]]))],
        ['c/q', req(2, OP.createGroup, CreateGroupArgs.toCbor({ name: 'spawned', members: ['bob', 'carol'] }))],
        ['c/q', req(3, OP.rename, new Map<number, unknown>([[1, group], [2, 'renamed']]))],
        ['c/q', req(4, OP.addMembers, new Map<number, unknown>([[1, group], [2, ['alice']]]))],
        ['c/q', req(5, OP.groupInfo, new Map<number, unknown>([[1, group]]))],
        ['c/q', req(6, OP.setPrivacy, new Map<number, unknown>([[1, 1]]))],
        ['c/q', req(7, OP.addContact, new Map<number, unknown>([[1, 'bob']]))],
        ['c/q', req(8, OP.registerPush, new Map<number, unknown>([[1, 'token:abc'], [2, 0]]))],
        ['c/q', req(9, OP.publishKeys, PublishKeysArgs.toCbor({ identityKey: key, signedPreKeyId: 1, signedPreKey: key, signature: new Uint8Array(64), preKeys: [[1, key], [2, key]] }))],
        ['c/q', req(10, OP.fetchBundles, new Map<number, unknown>([[1, 'mallory']]))],
        ['c/q', req(11, OP.listGroups)]
      ]
      const random = seeded(SEED)
      const counts = new Map<string, number>()
      for (let first = 1; first <= ROUNDS; first += BATCH) {
        let what = ''
        for (let round = first; round < first + BATCH && round <= ROUNDS; round++) {
          const [topic, bytes] = pick(random, valid)
          const [name, mutate] = pick(random, mutations)
          const payload = mutate(bytes, pick(random, valid)[1], random)
          counts.set(name, (counts.get(name) ?? 0) + 1)
          what = `round ${round}: ${name} on ${topic}: ${Buffer.from(payload).toString('hex')}`
          // Resolves on the PUBACK: every mutation is acknowledged, taken or refused.
          await mallory.publishAsync(topic, Buffer.from(payload), { qos: 1 })
          expect(mallory.connected, what).toBe(true)
        }
        await expectServing(broker, alice, bob, 'bob', `bystander ${first}`, ` after ${what}`)
      }
      // Requests are answered after their PUBACK: one more round trip, then every answer is in.
      await request(mallory, 'mallory', OP.listGroups)
      const codes = [...malloryInbox.on('/e').map((r) => ErrorNotice.decode(r.payload).code), ...malloryInbox.on('/q').map((r) => Response.decode(r.payload).code)]
        .filter((code): code is number => code !== undefined)
      for (const code of codes) {
        expect(errorName(code), `code ${code}`).toBeDefined()
        expect(code, 'a request the input broke').not.toBe(ERROR_CODES.STORE_FAILED.code)
        // The protocol keeps from every store what one of them would refuse.
        expect(code, 'a value the store refused').not.toBe(ERROR_CODES.STORE_REFUSED.code)
      }
      expect(errorLines(broker)).toEqual([])
      expect((await stored()).slice(0, before.length)).toEqual(before)
      // Every kind of mutation ran, and most were refused with a code.
      expect([...counts.keys()].sort()).toEqual(mutations.map(([name]) => name).sort())
      expect(codes.length).toBeGreaterThan(ROUNDS / 3)
    })
  })
})
